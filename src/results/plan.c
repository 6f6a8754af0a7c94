/* plan.c - a search's cells and folds from its normalised job JSON (see
 * include/rcn/plan.h): the one expansion of the grid, used by the job
 * loader, the search's ranks and the readers of journals and reports. */
#include "rcn/plan.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcn/job.h"

/* A job never has more (job.h); with at most 1000 folds, cells x folds fits
 * an int, which rcn_report_from_folds counts fold slots in. */
#define PLAN_MAX_CELLS RCN_MAX_CELLS

const rcn_plan_cell *rcn_plan_cell_at(const rcn_plan *p, int c)
{
    assert(c >= 0 && c < p->n_cells);
    assert(p->cells[c].index == c);
    return &p->cells[c];
}

double rcn_plan_cell_value(const rcn_plan_cell *cell, int a)
{
    switch ((rcn_axis_id)a) {
    case RCN_AXIS_BATCH: return cell->batch_size;
    case RCN_AXIS_LR: return cell->lr;
    case RCN_AXIS_MOMENTUM: return cell->momentum;
    case RCN_AXIS_EPOCHS: return cell->epochs;
    default: assert(!"axis out of range"); return NAN;
    }
}

void rcn_plan_cell_set(rcn_plan_cell *cell, int a, double v)
{
    switch ((rcn_axis_id)a) {
    case RCN_AXIS_BATCH: cell->batch_size = (int)v; break;
    case RCN_AXIS_LR: cell->lr = v; break;
    case RCN_AXIS_MOMENTUM: cell->momentum = v; break;
    case RCN_AXIS_EPOCHS: cell->epochs = (int)v; break;
    default: assert(!"axis out of range");
    }
}

/* The cell's "params": every axis by name, integers as JSON integers. */
static json_t *cell_params(const rcn_plan_cell *cell)
{
    json_t *o = json_object();
    for (int a = 0; o && a < RCN_NAXES; a++) {
        double v = rcn_plan_cell_value(cell, a);
        if (json_object_set_new(o, rcn_axis_name(a), rcn_axis_is_integer(a)
                                                         ? json_integer((json_int_t)v)
                                                         : json_real(v))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* A JSON number as a double; integer axes must hold integral values. */
static int get_number(const json_t *v, int integral, const char *where, const char *field,
                      double *out, rcn_error *err)
{
    if (!json_is_number(v))
        return rcn_errorf(err, "%s: %s: expected a number", where, field);
    double d = json_number_value(v);
    if (!isfinite(d) || (integral && (d != floor(d) || d < 1 || d > 1e9)))
        return rcn_errorf(err, "%s: %s: expected %s (got %g)", where, field,
                          integral ? "a positive integer" : "a finite number", d);
    *out = d;
    return 0;
}

/* A value as keys spell it. */
static void spell(const json_t *v, char *buf, size_t cap)
{
    rcn_num_text(json_number_value(v), buf, cap);
}

/* "axis=value,..." over the swept axes, "default" when none. */
static void cell_key(const rcn_plan *p, rcn_plan_cell *cell)
{
    size_t len = 0;
    cell->key[0] = 0;
    for (int a = 0; a < RCN_NAXES; a++) {
        if (!p->axis_values[a])
            continue;
        char text[40];
        spell(json_array_get(p->axis_values[a], cell->axis_index[a]), text, sizeof text);
        len += (size_t)snprintf(cell->key + len, sizeof cell->key - len, "%s%s=%s",
                                len ? "," : "", rcn_axis_name(a), text);
        if (len >= sizeof cell->key)
            len = sizeof cell->key - 1;
    }
    if (!len)
        snprintf(cell->key, sizeof cell->key, "default");
}

void rcn_plan_free(rcn_plan *p)
{
    if (!p)
        return;
    if (p->cells)
        for (int i = 0; i < p->n_cells; i++)
            json_decref(p->cells[i].params);
    free(p->cells);
    for (int a = 0; a < RCN_NAXES; a++)
        json_decref(p->axis_values[a]);
    memset(p, 0, sizeof *p);
}

static int parse_validation(const json_t *job, const char *where, rcn_plan *p, rcn_error *err)
{
    const json_t *v = json_object_get(job, "validation");
    const char *kind = json_string_value(json_object_get(v, "kind"));
    if (!json_is_object(v) || !kind)
        return rcn_errorf(err, "%s: validation: expected {\"kind\": \"kfold\" | \"test\", ...}", where);
    if (!strcmp(kind, "test")) {
        p->kind = RCN_VALID_TEST;
        p->n_folds = 1;
    } else if (!strcmp(kind, "kfold")) {
        const json_t *k = json_object_get(v, "folds");
        if (!json_is_integer(k) || json_integer_value(k) < 2 || json_integer_value(k) > 1000)
            return rcn_errorf(err, "%s: validation.folds: expected an integer 2..1000", where);
        p->kind = RCN_VALID_KFOLD;
        p->n_folds = (int)json_integer_value(k);
    } else {
        return rcn_errorf(err, "%s: validation.kind: unknown kind \"%s\"", where, kind);
    }
    p->refit = json_is_true(json_object_get(job, "refit"));
    return 0;
}

/* Fills p->cells: n_cells of them, the row-major product of the swept axes
 * (n_axis[a] values each; 1 when not swept, the default then applies). */
static int expand(rcn_plan *p, int n_cells, const int *n_axis, const double *defaults,
                  const char *where, rcn_error *err)
{
    p->n_cells = n_cells;
    p->cells = calloc((size_t)n_cells, sizeof *p->cells);
    if (!p->cells) {
        rcn_plan_free(p);
        return rcn_errorf(err, "%s: out of memory for %d cells", where, n_cells);
    }
    for (int c = 0; c < p->n_cells; c++) {
        rcn_plan_cell *cell = &p->cells[c];
        cell->index = c;
        int rest = c;
        for (int a = RCN_NAXES - 1; a >= 0; a--) {
            cell->axis_index[a] = rest % n_axis[a];
            rest /= n_axis[a];
            rcn_plan_cell_set(cell, a, p->axis_values[a] ? json_number_value(json_array_get(
                                                      p->axis_values[a], cell->axis_index[a]))
                                                : defaults[a]);
        }
        assert(rest == 0);
        cell_key(p, cell);
        cell->params = cell_params(cell);
        if (!cell->params) {
            rcn_plan_free(p);
            return rcn_errorf(err, "%s: out of memory", where);
        }
    }
    return 0;
}

int rcn_plan_from_json(const json_t *job, const char *where, rcn_plan *p, rcn_error *err)
{
    memset(p, 0, sizeof *p);
    if (!json_is_object(job))
        return rcn_errorf(err, "%s: expected the job object", where);
    if (parse_validation(job, where, p, err))
        return -1;

    double defaults[RCN_NAXES];
    for (int a = 0; a < RCN_NAXES; a++)
        if (get_number(json_object_get(job, rcn_axis_name(a)), rcn_axis_is_integer(a), where,
                       rcn_axis_name(a), &defaults[a], err))
            return -1;

    const json_t *grid = json_object_get(job, "grid");
    if (grid && !json_is_null(grid) && !json_is_object(grid))
        return rcn_errorf(err, "%s: grid: expected an object", where);
    long long n_cells = 1;
    int n_axis[RCN_NAXES];
    for (int a = 0; a < RCN_NAXES; a++) {
        n_axis[a] = 1;
        const json_t *ax = grid ? json_object_get(grid, rcn_axis_name(a)) : NULL;
        if (!ax || json_is_null(ax))
            continue;
        const json_t *vals = json_is_object(ax) ? json_object_get(ax, "values") : ax;
        if (!json_is_array(vals) || json_array_size(vals) == 0) {
            rcn_plan_free(p); /* the axes before this one hold references */
            return rcn_errorf(err, "%s: grid.%s: expected a non-empty list of values "
                              "(or a range with its \"values\")", where, rcn_axis_name(a));
        }
        for (size_t i = 0; i < json_array_size(vals); i++) {
            char field[64];
            double d;
            snprintf(field, sizeof field, "grid.%s[%zu]", rcn_axis_name(a), i);
            if (get_number(json_array_get(vals, i), rcn_axis_is_integer(a), where, field, &d,
                           err)) {
                rcn_plan_free(p);
                return -1;
            }
        }
        p->axis_values[a] = json_incref((json_t *)vals);
        n_axis[a] = (int)json_array_size(vals);
        n_cells *= n_axis[a];
        if (n_cells > PLAN_MAX_CELLS) {
            rcn_plan_free(p);
            return rcn_errorf(err, "%s: grid: more than %d cells", where, PLAN_MAX_CELLS);
        }
    }

    return expand(p, (int)n_cells, n_axis, defaults, where, err);
}
