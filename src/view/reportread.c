/* reportread.c - a search report (report.h) read and checked into the typed
 * records of view.h: every field `rcn report` uses is type-checked, every
 * null number becomes NAN, and every error names the file, the JSON path
 * and the reason. Also the small formatting helpers the views share. */
#include "rcn/view.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rcn/journal.h"
#include "rcn/report.h"

/* The file name and error record of one read. */
typedef struct {
    const char *where;
    rcn_error *err;
} rd;

static int fail(const rd *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(const rd *c, const char *path, const char *fmt, ...)
{
    char reason[RCN_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (path && *path)
        return rcn_errorf(c->err, "%s: %s: %s", c->where, path, reason);
    return rcn_errorf(c->err, "%s: %s", c->where, reason);
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* "parent.key" into buf. */
static const char *sub(char *buf, size_t n, const char *parent, const char *key)
{
    size_t a = strlen(parent), b = strlen(key), used;
    if (a > n - 1)
        a = n - 1;
    memcpy(buf, parent, a);
    used = a;
    if (a && used < n - 1)
        buf[used++] = '.';
    if (b > n - 1 - used)
        b = n - 1 - used;
    memcpy(buf + used, key, b);
    buf[used + b] = 0;
    return buf;
}

static int field(const rd *c, const json_t *o, const char *path, const char *key, json_t **v)
{
    char p[512];
    *v = json_object_get(o, key);
    if (!*v)
        return fail(c, sub(p, sizeof p, path, key), "missing");
    return 0;
}

/* A number or null (-> NAN); optional fields may be absent (-> NAN). */
static int num_or_null(const rd *c, const json_t *o, const char *path, const char *key,
                       int optional, double lo, double hi, double *out)
{
    char p[512];
    json_t *v = json_object_get(o, key);
    *out = NAN;
    if (!v) {
        if (optional)
            return 0;
        return fail(c, sub(p, sizeof p, path, key), "missing");
    }
    if (json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return fail(c, sub(p, sizeof p, path, key), "expected a number or null, got %s",
                    type_name(v));
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi))
        return fail(c, sub(p, sizeof p, path, key), "%g is out of range [%g, %g]", x, lo, hi);
    *out = x;
    return 0;
}

static int num_req(const rd *c, const json_t *o, const char *path, const char *key, double lo,
                   double hi, double *out)
{
    char p[512];
    json_t *v;
    if (field(c, o, path, key, &v))
        return -1;
    if (!json_is_number(v))
        return fail(c, sub(p, sizeof p, path, key), "expected a number, got %s", type_name(v));
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi))
        return fail(c, sub(p, sizeof p, path, key), "%g is out of range [%g, %g]", x, lo, hi);
    *out = x;
    return 0;
}

/* An integer in [lo, hi]; with `nullable`, null gives *out = null_value. */
static int int_field(const rd *c, const json_t *o, const char *path, const char *key, long lo,
                     long hi, int nullable, int null_value, int *out)
{
    char p[512];
    json_t *v;
    if (field(c, o, path, key, &v))
        return -1;
    if (nullable && json_is_null(v)) {
        *out = null_value;
        return 0;
    }
    if (!json_is_integer(v))
        return fail(c, sub(p, sizeof p, path, key), "expected an integer%s, got %s",
                    nullable ? " or null" : "", type_name(v));
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return fail(c, sub(p, sizeof p, path, key), "%lld is out of range [%ld, %ld]",
                    (long long)x, lo, hi);
    *out = (int)x;
    return 0;
}

static int str_field(const rd *c, const json_t *o, const char *path, const char *key,
                     char *buf, size_t n)
{
    char p[512];
    json_t *v;
    if (field(c, o, path, key, &v))
        return -1;
    if (!json_is_string(v))
        return fail(c, sub(p, sizeof p, path, key), "expected a string, got %s", type_name(v));
    if (json_string_length(v) >= n)
        return fail(c, sub(p, sizeof p, path, key), "longer than %zu characters", n - 1);
    memcpy(buf, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int obj_field(const rd *c, const json_t *o, const char *path, const char *key,
                     json_t **v)
{
    char p[512];
    if (field(c, o, path, key, v))
        return -1;
    if (!json_is_object(*v))
        return fail(c, sub(p, sizeof p, path, key), "expected an object, got %s",
                    type_name(*v));
    return 0;
}

static int arr_field(const rd *c, const json_t *o, const char *path, const char *key,
                     json_t **v)
{
    char p[512];
    if (field(c, o, path, key, v))
        return -1;
    if (!json_is_array(*v))
        return fail(c, sub(p, sizeof p, path, key), "expected an array, got %s",
                    type_name(*v));
    return 0;
}

#define BIG 1e300

static int read_params(const rd *c, const json_t *o, const char *path, rcn_view_params *p)
{
    json_t *po;
    char pp[512];
    if (obj_field(c, o, path, "params", &po))
        return -1;
    sub(pp, sizeof pp, path, "params");
    for (int a = 0; a < RCN_NAXES; a++) {
        int whole = rcn_axis_is_integer(a);
        if (num_req(c, po, pp, rcn_axis_name(a), whole ? 1 : 0, whole ? 1e7 : BIG, &p->v[a]))
            return -1;
        if (whole && p->v[a] != floor(p->v[a])) {
            char kp[600];
            return fail(c, sub(kp, sizeof kp, pp, rcn_axis_name(a)),
                        "%g is not a whole number", p->v[a]);
        }
    }
    return 0;
}

static int read_epochs(const rd *c, const json_t *o, const char *path, int *n_out,
                       rcn_view_epoch **out)
{
    json_t *arr;
    char ap[512];
    if (arr_field(c, o, path, "epochs", &arr))
        return -1;
    sub(ap, sizeof ap, path, "epochs");
    size_t n = json_array_size(arr);
    *n_out = 0;
    *out = n ? calloc(n, sizeof **out) : NULL;
    if (n && !*out)
        return fail(c, ap, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char p[560];
        snprintf(p, sizeof p, "%s[%zu]", ap, i);
        json_t *e = json_array_get(arr, i);
        rcn_view_epoch *x = &(*out)[i];
        if (!json_is_object(e))
            return fail(c, p, "expected an object, got %s", type_name(e));
        if (int_field(c, e, p, "epoch", 1, 1000000, 0, 0, &x->epoch) ||
            num_or_null(c, e, p, "train_loss", 0, 0, BIG, &x->train_loss) ||
            num_or_null(c, e, p, "train_accuracy", 0, 0, 1, &x->train_acc) ||
            num_or_null(c, e, p, "val_loss", 0, 0, BIG, &x->val_loss) ||
            num_or_null(c, e, p, "val_accuracy", 0, 0, 1, &x->val_acc) ||
            num_or_null(c, e, p, "seconds", 1, 0, BIG, &x->seconds) ||
            num_or_null(c, e, p, "images_per_second", 1, 0, BIG, &x->images_per_second))
            return -1;
        if (i > 0 && x->epoch <= (*out)[i - 1].epoch)
            return fail(c, p, "epoch %d does not follow epoch %d", x->epoch, (*out)[i - 1].epoch);
        *n_out = (int)i + 1;
    }
    return 0;
}

static int read_fold(const rd *c, const json_t *o, const char *p, rcn_view_fold *f)
{
    char st[16], dp[560];
    json_t *d;
    if (!json_is_object(o))
        return fail(c, p, "expected an object, got %s", type_name(o));
    if (int_field(c, o, p, "cell", 0, 100000000, 0, 0, &f->cell) ||
        str_field(c, o, p, "key", f->key, sizeof f->key) || read_params(c, o, p, &f->params) ||
        int_field(c, o, p, "fold", 0, 1000000, 0, 0, &f->fold) ||
        str_field(c, o, p, "status", st, sizeof st) ||
        read_epochs(c, o, p, &f->n_epochs, &f->epochs) ||
        num_or_null(c, o, p, "train_loss", 0, 0, BIG, &f->train_loss) ||
        num_or_null(c, o, p, "train_accuracy", 0, 0, 1, &f->train_acc) ||
        num_or_null(c, o, p, "val_loss", 0, 0, BIG, &f->val_loss) ||
        num_or_null(c, o, p, "val_accuracy", 0, 0, 1, &f->val_acc) ||
        num_or_null(c, o, p, "seconds", 0, 0, BIG, &f->seconds) || field(c, o, p, "diverged", &d))
        return -1;
    if (strcmp(st, "ok") && strcmp(st, "diverged"))
        return fail(c, sub(dp, sizeof dp, p, "status"), "\"%s\" is not \"ok\" or \"diverged\"", st);
    f->diverged = !strcmp(st, "diverged");
    sub(dp, sizeof dp, p, "diverged");
    if (json_is_null(d)) {
        if (f->diverged)
            return fail(c, dp, "null, but status is \"diverged\"");
        return 0;
    }
    if (!json_is_object(d))
        return fail(c, dp, "expected null or an object, got %s", type_name(d));
    if (!f->diverged)
        return fail(c, dp, "an object, but status is \"ok\"");
    return int_field(c, d, dp, "epoch", 1, 1000000, 0, 0, &f->div_epoch) ||
                   int_field(c, d, dp, "batch", 1, 1000000000, 0, 0, &f->div_batch) ||
                   num_or_null(c, d, dp, "loss", 0, -BIG, BIG, &f->div_loss)
               ? -1
               : 0;
}

/* cells[i].race of a racing report. */
static int read_cell_race(const rd *c, const json_t *o, const char *p, rcn_view_cell *x)
{
    static const char *const names[] = {"racing", "complete", "eliminated", "diverged"};
    char rp[600], st[16], sp[640];
    json_t *ro;
    if (obj_field(c, o, p, "race", &ro))
        return -1;
    sub(rp, sizeof rp, p, "race");
    if (str_field(c, ro, rp, "status", st, sizeof st) ||
        int_field(c, ro, rp, "rung", 0, RCN_VIEW_MAX_RUNGS - 1, 0, 0, &x->race_rung) ||
        int_field(c, ro, rp, "folds", 1, 1000000, 1, 0, &x->race_folds) ||
        int_field(c, ro, rp, "epochs", 1, 1000000, 1, 0, &x->race_epochs) ||
        num_or_null(c, ro, rp, "score", 0, 0, BIG, &x->race_score))
        return -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(st, names[i]))
            x->race = (rcn_view_race_status)(RCN_VIEW_RACE_RACING + i);
    if (x->race == RCN_VIEW_RACE_NONE)
        return fail(c, sub(sp, sizeof sp, rp, "status"), "\"%s\" is not \"racing\", "
                    "\"complete\", \"eliminated\" or \"diverged\"", st);
    if ((x->race == RCN_VIEW_RACE_ELIMINATED) != (x->status == RCN_VIEW_ELIMINATED))
        return fail(c, sub(sp, sizeof sp, rp, "status"), "\"%s\" does not agree with the "
                    "cell's status (\"eliminated\" goes with \"eliminated\")", st);
    return 0;
}

static int read_cell(const rd *c, const json_t *o, const char *p, int race, rcn_view_cell *x)
{
    char st[16], sp[560];
    if (!json_is_object(o))
        return fail(c, p, "expected an object, got %s", type_name(o));
    if (int_field(c, o, p, "index", 0, 100000000, 0, 0, &x->index) ||
        str_field(c, o, p, "key", x->key, sizeof x->key) || read_params(c, o, p, &x->params) ||
        str_field(c, o, p, "status", st, sizeof st) ||
        int_field(c, o, p, "n_folds", 1, 1000000, 0, 0, &x->n_folds) ||
        int_field(c, o, p, "n_folds_done", 0, 1000000, 0, 0, &x->n_folds_done) ||
        int_field(c, o, p, "n_diverged", 0, 1000000, 0, 0, &x->n_diverged) ||
        num_or_null(c, o, p, "mean_train_loss", 0, 0, BIG, &x->mean_train_loss) ||
        num_or_null(c, o, p, "std_train_loss", 0, 0, BIG, &x->std_train_loss) ||
        num_or_null(c, o, p, "mean_val_loss", 0, 0, BIG, &x->mean_val_loss) ||
        num_or_null(c, o, p, "std_val_loss", 0, 0, BIG, &x->std_val_loss) ||
        num_or_null(c, o, p, "mean_val_accuracy", 0, 0, 1, &x->mean_val_acc) ||
        num_or_null(c, o, p, "mean_fit_time", 0, 0, BIG, &x->mean_fit_time) ||
        int_field(c, o, p, "rank_val_loss", 1, 100000000, 1, 0, &x->rank))
        return -1;
    sub(sp, sizeof sp, p, "status");
    if (!strcmp(st, "ok"))
        x->status = RCN_VIEW_OK;
    else if (!strcmp(st, "diverged"))
        x->status = RCN_VIEW_DIVERGED;
    else if (!strcmp(st, "incomplete"))
        x->status = RCN_VIEW_INCOMPLETE;
    else if (!strcmp(st, "eliminated") && race)
        x->status = RCN_VIEW_ELIMINATED;
    else
        return fail(c, sp, "\"%s\" is not \"ok\", \"diverged\"%s \"incomplete\"%s", st,
                    race ? "," : " or", race ? " or \"eliminated\"" : "");
    if (x->n_folds_done > x->n_folds)
        return fail(c, p, "n_folds_done %d > n_folds %d", x->n_folds_done, x->n_folds);
    return race ? read_cell_race(c, o, p, x) : 0;
}

/* Marginal rows at `ap` into *mg. rung: a race rung's table (mean score,
 * "n_kept"); race: a racing report's Table 2 ("n_eliminated"; "eliminated"
 * rows). */
static int read_mrows(const rd *c, const json_t *rows, const char *ap, int race, int rung,
                      rcn_view_marginal *mg)
{
    if (!json_is_array(rows))
        return fail(c, ap, "expected an array, got %s", type_name(rows));
    size_t n = json_array_size(rows);
    mg->rows = n ? calloc(n, sizeof *mg->rows) : NULL;
    if (n && !mg->rows)
        return fail(c, ap, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char p[260], st[16];
        snprintf(p, sizeof p, "%s[%zu]", ap, i);
        json_t *o = json_array_get(rows, i);
        rcn_view_mrow *x = &mg->rows[i];
        if (!json_is_object(o))
            return fail(c, p, "expected an object, got %s", type_name(o));
        x->mean_train_loss = NAN;
        if (num_req(c, o, p, "value", 0, BIG, &x->value) ||
            (!rung && num_or_null(c, o, p, "mean_train_loss", 0, 0, BIG, &x->mean_train_loss)) ||
            num_or_null(c, o, p, "mean_val_loss", 0, 0, BIG, &x->mean_val_loss) ||
            int_field(c, o, p, "n_cells", 0, 100000000, 0, 0, &x->n_cells) ||
            int_field(c, o, p, "n_included", 0, 100000000, 0, 0, &x->n_included) ||
            int_field(c, o, p, "n_diverged", 0, 100000000, 0, 0, &x->n_diverged) ||
            (rung && int_field(c, o, p, "n_kept", 0, 100000000, 0, 0, &x->n_kept)) ||
            (race && !rung &&
             int_field(c, o, p, "n_eliminated", 0, 100000000, 0, 0, &x->n_eliminated)) ||
            str_field(c, o, p, "status", st, sizeof st))
            return -1;
        if (!strcmp(st, "ok"))
            x->status = RCN_VIEW_ROW_OK;
        else if (!strcmp(st, "Divergence"))
            x->status = RCN_VIEW_ROW_DIVERGENCE;
        else if (!strcmp(st, "incomplete") && !rung)
            x->status = RCN_VIEW_ROW_INCOMPLETE;
        else if (!strcmp(st, "eliminated") && race)
            x->status = RCN_VIEW_ROW_ELIMINATED;
        else {
            char sp[300];
            return fail(c, sub(sp, sizeof sp, p, "status"), "\"%s\" is not %s", st,
                        !race  ? "\"ok\", \"Divergence\" or \"incomplete\""
                        : rung ? "\"ok\", \"Divergence\" or \"eliminated\""
                               : "\"ok\", \"Divergence\", \"incomplete\" or \"eliminated\"");
        }
        mg->n_rows = (int)i + 1;
    }
    return 0;
}

/* An object of marginal tables per axis name at `path` into mg[]. */
static int read_marginal_set(const rd *c, const json_t *m, const char *path, int race, int rung,
                             rcn_view_marginal *mg)
{
    json_t *rows;
    const char *axis;
    json_object_foreach((json_t *)m, axis, rows) {
        int a = -1;
        for (int i = 0; i < RCN_NAXES; i++)
            if (!strcmp(axis, rcn_axis_name(i)))
                a = i;
        char ap[200];
        snprintf(ap, sizeof ap, "%s.%.150s", path, axis);
        if (a < 0)
            continue; /* an axis this reader does not know: not shown */
        if (read_mrows(c, rows, ap, race, rung, &mg[a]))
            return -1;
    }
    return 0;
}

static int read_marginals(const rd *c, const json_t *root, rcn_view_report *r)
{
    json_t *m;
    if (obj_field(c, root, "", "marginals", &m))
        return -1;
    return read_marginal_set(c, m, "marginals", r->has_race, 0, r->marginals);
}

/* job.grid: each swept axis a list of numbers, or an object with "values". */
static int read_job(const rd *c, const json_t *root, rcn_view_report *r)
{
    json_t *job, *val, *grid;
    char kind[16];
    if (obj_field(c, root, "", "job", &job))
        return -1;
    if (json_object_get(job, "name")) {
        if (str_field(c, job, "job", "name", r->name, sizeof r->name))
            return -1;
    }
    if (obj_field(c, job, "job", "validation", &val) ||
        str_field(c, val, "job.validation", "kind", kind, sizeof kind))
        return -1;
    if (!strcmp(kind, "test")) {
        r->kind_test = 1;
        r->k = 1;
    } else if (!strcmp(kind, "kfold")) {
        if (int_field(c, val, "job.validation", "folds", 2, 1000000, 0, 0, &r->k))
            return -1;
    } else {
        return fail(c, "job.validation.kind", "\"%s\" is not \"kfold\" or \"test\"", kind);
    }
    grid = json_object_get(job, "grid");
    if (!grid || json_is_null(grid))
        return 0;
    if (!json_is_object(grid))
        return fail(c, "job.grid", "expected an object, got %s", type_name(grid));
    for (int a = 0; a < RCN_NAXES; a++) {
        char p[64];
        json_t *ax = json_object_get(grid, rcn_axis_name(a)), *vals = ax;
        snprintf(p, sizeof p, "job.grid.%s", rcn_axis_name(a));
        if (!ax)
            continue;
        if (json_is_object(ax)) {
            vals = json_object_get(ax, "values");
            strcat(p, ".values");
            if (!vals)
                return fail(c, p, "missing (a range must be given with its values expanded)");
        }
        if (!json_is_array(vals) || json_array_size(vals) == 0)
            return fail(c, p, "expected a non-empty array of numbers, got %s", type_name(vals));
        size_t n = json_array_size(vals);
        r->values[a] = calloc(n, sizeof(double));
        if (!r->values[a])
            return fail(c, p, "out of memory");
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_array_get(vals, i);
            if (!json_is_number(v))
                return fail(c, p, "[%zu]: expected a number, got %s", i, type_name(v));
            r->values[a][i] = json_number_value(v);
        }
        r->n_values[a] = (int)n;
    }
    return 0;
}

static int read_meta(const rd *c, const json_t *root, rcn_view_report *r)
{
    json_t *meta = json_object_get(root, "meta"), *fmt;
    int version;
    if (!meta || !json_is_object(meta))
        return fail(c, NULL, "not an rcn report (no \"meta\" object at the top level)");
    fmt = json_object_get(meta, "format");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), "rcn-report"))
        return fail(c, NULL, "not an rcn report (meta.format is %s%s%s, expected \"rcn-report\")",
                    json_is_string(fmt) ? "\"" : "",
                    json_is_string(fmt) ? json_string_value(fmt) : fmt ? type_name(fmt) : "missing",
                    json_is_string(fmt) ? "\"" : "");
    if (int_field(c, meta, "meta", "format_version", 0, 1000000, 0, 0, &version))
        return -1;
    if (version != 1)
        return fail(c, "meta.format_version", "%d is not supported (this rcn reads version 1)",
                    version);
    if (str_field(c, meta, "meta", "status", r->status, sizeof r->status) ||
        int_field(c, meta, "meta", "folds_done", 0, 1000000000, 0, 0, &r->folds_done) ||
        int_field(c, meta, "meta", "folds_total", 0, 1000000000, 0, 0, &r->folds_total) ||
        num_or_null(c, meta, "meta", "wall_seconds", 1, 0, BIG, &r->wall_seconds))
        return -1;
    if (strcmp(r->status, "complete") && strcmp(r->status, "incomplete") &&
        strcmp(r->status, "interrupted"))
        return fail(c, "meta.status", "\"%s\" is not \"complete\", \"incomplete\" or \"interrupted\"",
                    r->status);
    r->ranks = 0;
    if (json_object_get(meta, "ranks") &&
        int_field(c, meta, "meta", "ranks", 0, 100000000, 1, 0, &r->ranks))
        return -1;
    snprintf(r->loss_convention, sizeof r->loss_convention, "mean per-sample cross-entropy");
    if (json_object_get(meta, "loss_convention") &&
        str_field(c, meta, "meta", "loss_convention", r->loss_convention,
                  sizeof r->loss_convention))
        return -1;
    return 0;
}

static int cmp_fold(const void *a, const void *b)
{
    const rcn_view_fold *x = a, *y = b;
    if (x->cell != y->cell)
        return x->cell < y->cell ? -1 : 1;
    return (x->fold > y->fold) - (x->fold < y->fold);
}

static int cmp_cell(const void *a, const void *b)
{
    const rcn_view_cell *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

/* Index into r->cells of the cell with `index`, or -1 (cells sorted). */
static int find_cell(const rcn_view_report *r, int index)
{
    int lo = 0, hi = r->n_cells - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (r->cells[mid].index == index)
            return mid;
        if (r->cells[mid].index < index)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static int read_best_refit(const rd *c, const json_t *root, rcn_view_report *r)
{
    json_t *best, *refit;
    r->best = -1;
    if (field(c, root, "", "best", &best) || field(c, root, "", "refit", &refit))
        return -1;
    if (!json_is_null(best)) {
        int cell;
        if (!json_is_object(best))
            return fail(c, "best", "expected null or an object, got %s", type_name(best));
        if (int_field(c, best, "best", "cell", 0, 100000000, 0, 0, &cell))
            return -1;
        r->best = find_cell(r, cell);
        if (r->best < 0)
            return fail(c, "best.cell", "%d is not a cell of \"cells\"", cell);
    }
    if (json_is_null(refit))
        return 0;
    if (!json_is_object(refit))
        return fail(c, "refit", "expected null or an object, got %s", type_name(refit));
    r->has_refit = 1;
    if (read_params(c, refit, "refit", &r->refit_params) ||
        read_epochs(c, refit, "refit", &r->refit_n_epochs, &r->refit_epochs) ||
        num_or_null(c, refit, "refit", "test_loss", 0, 0, BIG, &r->test_loss) ||
        num_or_null(c, refit, "refit", "test_accuracy", 0, 0, 1, &r->test_acc) ||
        num_or_null(c, refit, "refit", "seconds", 1, 0, BIG, &r->refit_seconds))
        return -1;
    json_t *m = json_object_get(refit, "model");
    if (m && !json_is_null(m) &&
        str_field(c, refit, "refit", "model", r->refit_model, sizeof r->refit_model))
        return -1;
    return 0;
}

/* job.schedule of a racing report: eta and the planned rungs. */
static int read_schedule(const rd *c, const json_t *root, rcn_view_race *x)
{
    json_t *job = json_object_get(root, "job"), *sch, *rungs;
    char kind[16];
    if (obj_field(c, job, "job", "schedule", &sch) ||
        str_field(c, sch, "job.schedule", "kind", kind, sizeof kind))
        return -1;
    if (strcmp(kind, "halving"))
        return fail(c, "job.schedule.kind", "\"%s\", but the report has a \"race\" (expected "
                    "\"halving\")", kind);
    if (int_field(c, sch, "job.schedule", "eta", 2, 1000000, 0, 0, &x->eta) ||
        arr_field(c, sch, "job.schedule", "rungs", &rungs))
        return -1;
    size_t n = json_array_size(rungs);
    if (n < 1 || n > RCN_VIEW_MAX_RUNGS)
        return fail(c, "job.schedule.rungs", "%zu rungs (expected 1..%d)", n, RCN_VIEW_MAX_RUNGS);
    for (size_t i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof p, "job.schedule.rungs[%zu]", i);
        json_t *o = json_array_get(rungs, i);
        if (!json_is_object(o))
            return fail(c, p, "expected an object, got %s", type_name(o));
        if (int_field(c, o, p, "epochs", 1, 1000000, 0, 0, &x->planned_epochs[i]) ||
            int_field(c, o, p, "folds", 1, 1000000, 0, 0, &x->planned_folds[i]))
            return -1;
    }
    x->n_planned = (int)n;
    return 0;
}

static int read_rung(const rd *c, const json_t *o, const char *p, rcn_view_rung *g)
{
    json_t *m;
    char mp[200];
    double fe;
    if (!json_is_object(o))
        return fail(c, p, "expected an object, got %s", type_name(o));
    if (int_field(c, o, p, "epochs", 1, 1000000, 0, 0, &g->epochs) ||
        int_field(c, o, p, "folds", 1, 1000000, 0, 0, &g->folds) ||
        int_field(c, o, p, "cells_in", 0, 100000000, 0, 0, &g->cells_in) ||
        int_field(c, o, p, "kept", 0, 100000000, 0, 0, &g->kept) ||
        int_field(c, o, p, "eliminated", 0, 100000000, 0, 0, &g->eliminated) ||
        int_field(c, o, p, "diverged", 0, 100000000, 0, 0, &g->diverged) ||
        num_req(c, o, p, "fold_epochs", 0, 1e18, &fe) ||
        str_field(c, o, p, "rule", g->rule, sizeof g->rule) ||
        obj_field(c, o, p, "marginals", &m))
        return -1;
    if (g->kept + g->eliminated + g->diverged != g->cells_in)
        return fail(c, p, "kept %d + eliminated %d + diverged %d is not cells_in %d", g->kept,
                    g->eliminated, g->diverged, g->cells_in);
    g->fold_epochs = (long long)fe;
    return read_marginal_set(c, m, sub(mp, sizeof mp, p, "marginals"), 1, 1, g->marginals);
}

/* The racing parts: job.schedule, meta's budget and the "race" object. */
static int read_race(const rd *c, const json_t *root, rcn_view_report *r)
{
    rcn_view_race *x = &r->race;
    json_t *o, *rungs, *alive, *meta = json_object_get(root, "meta");
    double fe, ex;
    if (read_schedule(c, root, x) || obj_field(c, root, "", "race", &o) ||
        num_req(c, meta, "meta", "fold_epochs", 0, 1e18, &fe) ||
        num_req(c, meta, "meta", "exhaustive_fold_epochs", 0, 1e18, &ex) ||
        num_req(c, meta, "meta", "budget_fraction", 0, 1e6, &x->budget_fraction) ||
        arr_field(c, o, "race", "rungs", &rungs) || arr_field(c, o, "race", "alive", &alive) ||
        int_field(c, o, "race", "current", 0, x->n_planned, 0, 0, &x->current) ||
        int_field(c, o, "race", "winner", 0, 100000000, 1, -1, &x->winner) ||
        str_field(c, o, "race", "rule", x->rule, sizeof x->rule))
        return -1;
    json_t *fin = json_object_get(o, "finished");
    if (!json_is_boolean(fin))
        return fail(c, "race.finished", fin ? "expected true or false, got %s" : "missing",
                    fin ? type_name(fin) : "");
    x->finished = json_is_true(fin);
    x->fold_epochs = (long long)fe;
    x->exhaustive = (long long)ex;
    x->n_alive = (int)json_array_size(alive);
    size_t n = json_array_size(rungs);
    if (n > (size_t)x->n_planned)
        return fail(c, "race.rungs", "%zu rungs decided, but the schedule has %d", n,
                    x->n_planned);
    x->rungs = n ? calloc(n, sizeof *x->rungs) : NULL;
    if (n && !x->rungs)
        return fail(c, "race.rungs", "out of memory");
    for (size_t i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof p, "race.rungs[%zu]", i);
        x->n_rungs = (int)i + 1; /* so that rcn_view_free releases its tables */
        if (read_rung(c, json_array_get(rungs, i), p, &x->rungs[i]))
            return -1;
    }
    if (x->winner >= 0 && find_cell(r, x->winner) < 0)
        return fail(c, "race.winner", "%d is not a cell of \"cells\"", x->winner);
    return 0;
}

int rcn_view_from_json(const json_t *root, const char *where, rcn_view_report **out,
                       rcn_error *err)
{
    rd c = {where, err};
    json_t *folds, *cells;
    *out = NULL;
    if (!json_is_object(root))
        return fail(&c, NULL, "not an rcn report (the top level is %s, expected an object)",
                    type_name(root));
    rcn_view_report *r = calloc(1, sizeof *r);
    if (!r)
        return fail(&c, NULL, "out of memory");
    snprintf(r->source, sizeof r->source, "%s", where);
    r->best = -1;
    r->race.winner = -1;
    r->has_race = json_object_get(root, "race") != NULL;
    if (read_meta(&c, root, r) || read_job(&c, root, r) ||
        arr_field(&c, root, "", "folds", &folds) || arr_field(&c, root, "", "cells", &cells))
        goto bad;
    if (!r->name[0]) {
        const char *b = strrchr(where, '/');
        snprintf(r->name, sizeof r->name, "%s", b ? b + 1 : where);
    }
    size_t nf = json_array_size(folds), nc = json_array_size(cells);
    r->folds = nf ? calloc(nf, sizeof *r->folds) : NULL;
    r->cells = nc ? calloc(nc, sizeof *r->cells) : NULL;
    if ((nf && !r->folds) || (nc && !r->cells)) {
        fail(&c, NULL, "out of memory");
        goto bad;
    }
    for (size_t i = 0; i < nf; i++) {
        char p[64];
        snprintf(p, sizeof p, "folds[%zu]", i);
        r->n_folds = (int)i + 1; /* so that rcn_view_free releases its epochs */
        if (read_fold(&c, json_array_get(folds, i), p, &r->folds[i]))
            goto bad;
    }
    for (size_t i = 0; i < nc; i++) {
        char p[64];
        snprintf(p, sizeof p, "cells[%zu]", i);
        if (read_cell(&c, json_array_get(cells, i), p, r->has_race, &r->cells[i]))
            goto bad;
        r->n_cells = (int)i + 1;
    }
    if (nc)
        qsort(r->cells, nc, sizeof *r->cells, cmp_cell);
    for (int i = 1; i < r->n_cells; i++)
        if (r->cells[i].index == r->cells[i - 1].index) {
            fail(&c, "cells", "cell index %d appears twice", r->cells[i].index);
            goto bad;
        }
    if (nf)
        qsort(r->folds, nf, sizeof *r->folds, cmp_fold);
    for (int i = 0; i < r->n_cells; i++)
        r->cells[i].first_fold = -1;
    for (int i = 0; i < r->n_folds; i++) {
        rcn_view_fold *f = &r->folds[i];
        if (i > 0 && f->cell == f[-1].cell && f->fold == f[-1].fold) {
            fail(&c, "folds", "cell %d fold %d appears twice", f->cell, f->fold);
            goto bad;
        }
        int ci = find_cell(r, f->cell);
        if (ci < 0) {
            fail(&c, "folds", "a fold of cell %d, which is not in \"cells\"", f->cell);
            goto bad;
        }
        if (f->fold >= r->cells[ci].n_folds) {
            fail(&c, "folds", "cell %d has fold %d, but n_folds is %d", f->cell, f->fold,
                 r->cells[ci].n_folds);
            goto bad;
        }
        if (r->cells[ci].first_fold < 0)
            r->cells[ci].first_fold = i;
        r->cells[ci].n_fold_recs++;
    }
    if (read_marginals(&c, root, r) || read_best_refit(&c, root, r) ||
        (r->has_race && read_race(&c, root, r)))
        goto bad;
    *out = r;
    return 0;
bad:
    rcn_view_free(r);
    return -1;
}

void rcn_view_free(rcn_view_report *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_folds; i++)
        free(r->folds[i].epochs);
    free(r->folds);
    free(r->cells);
    for (int a = 0; a < RCN_NAXES; a++) {
        free(r->values[a]);
        free(r->marginals[a].rows);
    }
    free(r->refit_epochs);
    for (int i = 0; i < r->race.n_rungs; i++)
        for (int a = 0; a < RCN_NAXES; a++)
            free(r->race.rungs[i].marginals[a].rows);
    free(r->race.rungs);
    free(r);
}

/* ---- loading a file: report or journal --------------------------------- */

static int read_file(const char *path, char **buf, size_t *len, rcn_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rcn_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        char *nb = realloc(b, 2 * cap + 1);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!b)
        return rcn_errorf(err, "%s: out of memory reading the file", path);
    if (bad) {
        free(b);
        return rcn_errorf(err, "%s: read error", path);
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return 0;
}

/* Journal (journal.h): aggregated into a report by the search's own
 * rcn_report_from_folds, then read like a report. */
static int load_journal(const char *path, rcn_view_report **out, rcn_error *err)
{
    json_t *header = NULL, *folds = NULL, *rep = NULL;
    int rc = -1;
    if (rcn_journal_read(path, &header, &folds, err))
        return -1;
    const json_t *job = json_object_get(header, "job");
    if (!json_is_object(job)) {
        rcn_errorf(err, "%s: line 1: header.job: expected an object", path);
        goto out;
    }
    json_t *meta = json_pack("{s:O?}", "job_hash", json_object_get(header, "job_hash"));
    rep = rcn_report_from_folds(job, folds, meta, err);
    json_decref(meta);
    if (!rep) {
        rcn_error_prefix(err, "%s", path);
        goto out;
    }
    rc = rcn_view_from_json(rep, path, out, err);
    if (rc == 0)
        (*out)->from_journal = 1;
out:
    json_decref(rep);
    json_decref(header);
    json_decref(folds);
    return rc;
}

int rcn_view_load(const char *path, rcn_view_report **out, rcn_error *err)
{
    char *text = NULL;
    size_t len = 0;
    char alt[4200];
    struct stat st;
    *out = NULL;
    if (stat(path, &st) != 0 && errno == ENOENT) {
        size_t n = strlen(path);
        if (n > 5 && !strcmp(path + n - 5, ".json") && n < 4000) {
            snprintf(alt, sizeof alt, "%.*s.journal.jsonl", (int)(n - 5), path);
            if (stat(alt, &st) == 0)
                path = alt; /* the search is still running: read its journal */
        }
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return rcn_errorf(err, "%s: is a directory, not a report", path);
    if (read_file(path, &text, &len, err))
        return -1;
    int rc;
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        i++;
    if (i == len) {
        rc = rcn_errorf(err, "%s: empty file, not an rcn report", path);
    } else if (memchr(text, 0, len)) {
        rc = rcn_errorf(err, "%s: byte %zu: a NUL byte: not a JSON report (damaged or binary file)",
                        path, (size_t)((char *)memchr(text, 0, len) - text));
    } else {
        /* A journal's first line is a header object of its own. */
        const char *nl = memchr(text + i, '\n', len - i);
        json_t *first = nl ? json_loadb(text + i, (size_t)(nl - text - i), 0, NULL) : NULL;
        const char *type = first ? json_string_value(json_object_get(first, "type")) : NULL;
        int journal = type && !strcmp(type, "header");
        json_decref(first);
        if (journal) {
            rc = load_journal(path, out, err);
        } else {
            json_error_t je;
            json_t *root = json_loadb(text, len, 0, &je);
            if (!root)
                rc = rcn_errorf(err, "%s: line %d, column %d (byte %d): not valid JSON: %s%s", path,
                                je.line, je.column, je.position, je.text,
                                je.position >= (int)len - 1 ? " (the file is truncated?)" : "");
            else
                rc = rcn_view_from_json(root, path, out, err);
            json_decref(root);
        }
    }
    free(text);
    return rc;
}

/* ---- formatting shared by tables and plots ----------------------------- */

void rcn_view_fmt_value(double v, char *buf, size_t n)
{
    if (isnan(v)) {
        snprintf(buf, n, "-");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) { /* integral: never 1.6e+02 */
        snprintf(buf, n, "%.0f", v);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, n, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

void rcn_view_cell_label(const rcn_view_report *r, const rcn_view_cell *c, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (int a = 0; a < RCN_NAXES && used < n; a++) {
        if (!r->n_values[a])
            continue;
        char v[40];
        rcn_view_fmt_value(c->params.v[a], v, sizeof v);
        used += (size_t)snprintf(buf + used, n - used, "%s%s=%s", used ? ", " : "",
                                 rcn_axis_name(a), v);
    }
    for (int a = 0; !used && a < RCN_NAXES; a++) { /* none swept: every axis */
        char v[40];
        rcn_view_fmt_value(c->params.v[a], v, sizeof v);
        snprintf(buf + strlen(buf), n - strlen(buf), "%s%s=%s", a ? ", " : "", rcn_axis_name(a),
                 v);
    }
}
