/* tables.c - the paper's tables from a report, as aligned text or Markdown:
 * a summary, Table 2 (mean loss per batch size, and per value of every
 * other swept axis), the cells by rank, the best cell and the refit, and
 * for a {"kind": "test"} run Table 1 (per epoch, per cell). Null numbers
 * print as "-"; the paper's "Divergence" where the report says so. */
#include "rcn/view.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rcn/report.h"

#define CELLW 64

static void fmt_loss(double x, char *b)
{
    if (isnan(x))
        snprintf(b, CELLW, "-");
    else
        snprintf(b, CELLW, "%.6f", x);
}

static void fmt_pct(double x, char *b)
{
    if (isnan(x))
        snprintf(b, CELLW, "-");
    else
        snprintf(b, CELLW, "%.2f", 100.0 * x);
}

static void fmt_sec(double x, char *b)
{
    if (isnan(x))
        snprintf(b, CELLW, "-");
    else
        snprintf(b, CELLW, "%.1f", x);
}

static void heading(FILE *f, int md, const char *text)
{
    if (md)
        fprintf(f, "\n### %s\n\n", text);
    else
        fprintf(f, "\n%s\n", text);
}

static void note(FILE *f, int md, const char *text)
{
    fprintf(f, md ? "\n%s\n" : "%s\n", text);
}

static int n_swept(const rcn_view_report *r)
{
    int n = 0;
    for (int a = 0; a < RCN_NAXES; a++)
        n += r->n_values[a] > 0;
    return n;
}

/* "chosen by successive halving: eta 3, rungs (1,2) (2,4) (2,10); 40 -> 14
 * -> 5 -> 1 cells; 224 of 800 fold-epochs (28%)", or while it runs "racing
 * by ...; rung 1 of 3 in progress with 14 cells; ... so far". */
static void race_headline(const rcn_view_report *r, char *b, size_t n)
{
    const rcn_view_race *x = &r->race;
    size_t u = (size_t)snprintf(b, n, "%s by successive halving: eta %d, rungs",
                                x->finished ? "chosen" : "racing", x->eta);
    for (int i = 0; i < x->n_planned && u < n; i++)
        u += (size_t)snprintf(b + u, n - u, " (%d,%d)", x->planned_epochs[i],
                              x->planned_folds[i]);
    for (int i = 0; i < x->n_rungs && u < n; i++)
        u += (size_t)snprintf(b + u, n - u, "%s%d", i ? " -> " : "; ", x->rungs[i].cells_in);
    if (x->finished && x->n_rungs && u < n)
        u += (size_t)snprintf(b + u, n - u, " -> %d cells", x->rungs[x->n_rungs - 1].kept);
    else if (u < n)
        u += (size_t)snprintf(b + u, n - u, "%s%d cell%s in rung %d of 0..%d (in progress)",
                              x->n_rungs ? " -> " : "; ", x->n_alive, x->n_alive == 1 ? "" : "s",
                              x->current, x->n_planned - 1);
    if (u < n)
        snprintf(b + u, n - u, "; %lld of %lld fold-epochs (%.3g%%)%s", x->fold_epochs,
                 x->exhaustive, 100 * x->budget_fraction, x->finished ? "" : " so far");
}

static void print_summary(FILE *f, const rcn_view_report *r, int md)
{
    char axes[200] = "";
    size_t used = 0;
    for (int a = 0; a < RCN_NAXES; a++)
        if (r->n_values[a])
            used += (size_t)snprintf(axes + used, sizeof axes - used, "%s%d %s",
                                     used ? " x " : "", r->n_values[a],
                                     r->n_values[a] == 1 ? rcn_axis_label(a)
                                                         : rcn_axis_def_of(a)->plural);
    if (md)
        fprintf(f, "## rcn report: %s\n\n", r->name);
    else
        fprintf(f, "rcn report: %s\n", r->name);
    const char *li = md ? "- " : "  ";
    fprintf(f, "%sfile: %s%s\n", li, r->source,
            r->from_journal ? " (journal of a running or unfinished search)" : "");
    if (r->kind_test)
        fprintf(f, "%svalidation: the test set (\"kind\": \"test\"), one training per cell\n", li);
    else
        fprintf(f, "%svalidation: %d-fold cross-validation on the training set\n", li, r->k);
    fprintf(f, "%sgrid: %d cell%s%s%s%s\n", li, r->n_cells, r->n_cells == 1 ? "" : "s",
            used ? " (" : "", axes, used ? ")" : "");
    fprintf(f, "%sstatus: %s, %d of %d fold trainings done", li, r->status, r->folds_done,
            r->folds_total);
    if (r->ranks > 0)
        fprintf(f, ", %d rank%s", r->ranks, r->ranks == 1 ? "" : "s");
    if (!isnan(r->wall_seconds))
        fprintf(f, ", %.1f s wall time", r->wall_seconds);
    fputc('\n', f);
    if (r->has_race) {
        char how[1024];
        race_headline(r, how, sizeof how);
        fprintf(f, "%s%s\n", li, how);
    }
    if (r->has_race ? !r->race.finished
                    : strcmp(r->status, "complete") || r->folds_done < r->folds_total)
        fprintf(f, "%spartial: the tables show the finished folds; cells still running are "
                   "\"incomplete\"\n", li);
    fprintf(f, "%slosses: %s; accuracies in %%\n", li, r->loss_convention);
}

/* How a marginal table is shown: `rcn report`'s aligned text or Markdown,
 * or the plain summary `rcn search` prints at its end. */
typedef enum { STYLE_TEXT = 0, STYLE_MD = 1, STYLE_SUMMARY = 2 } mstyle;

/* One row of a marginal table as strings, the same for every style but
 * the value's spelling (the summary: %.15g) and the incomplete note. */
typedef struct {
    char v[CELLW], tl[CELLW], vl[CELLW], nc[CELLW], nd[CELLW], nt[CELLW];
} mrow_text;

static void mrow_format(const rcn_view_mrow *x, mstyle style, mrow_text *t)
{
    if (style == STYLE_SUMMARY && !isnan(x->value))
        snprintf(t->v, CELLW, "%.15g", x->value);
    else
        rcn_view_fmt_value(x->value, t->v, CELLW);
    if (x->status == RCN_VIEW_ROW_DIVERGENCE) {
        snprintf(t->tl, CELLW, "Divergence");
        snprintf(t->vl, CELLW, "Divergence");
    } else {
        fmt_loss(x->mean_train_loss, t->tl);
        fmt_loss(x->mean_val_loss, t->vl);
    }
    snprintf(t->nc, CELLW, "%d", x->n_cells);
    snprintf(t->nd, CELLW, "%d", x->n_diverged);
    t->nt[0] = 0;
    if (x->status == RCN_VIEW_ROW_ELIMINATED && style == STYLE_SUMMARY)
        snprintf(t->nt, CELLW, "  (eliminated)");
    else if (x->status == RCN_VIEW_ROW_ELIMINATED)
        snprintf(t->nt, CELLW, "eliminated: none of the %d cells complete", x->n_cells);
    else if (x->n_eliminated && style != STYLE_SUMMARY && x->status == RCN_VIEW_ROW_OK)
        snprintf(t->nt, CELLW, "%d of %d cells complete", x->n_included, x->n_cells);
    else if (x->status == RCN_VIEW_ROW_INCOMPLETE && style == STYLE_SUMMARY)
        snprintf(t->nt, CELLW, "  (incomplete)");
    else if (x->status == RCN_VIEW_ROW_INCOMPLETE)
        snprintf(t->nt, CELLW, "incomplete: %d of %d cells in the means", x->n_included,
                 x->n_cells);
}

/* The summary's marginal table: a title saying the validation, then fixed
 * columns right-aligned to the header. */
static void print_marginal_summary(FILE *f, const rcn_view_report *r, int a)
{
    const rcn_view_marginal *m = &r->marginals[a];
    const char *label = rcn_axis_label(a);
    char how[64];
    if (r->kind_test)
        snprintf(how, sizeof how, ", validated on the test set");
    else
        snprintf(how, sizeof how, ", %d-fold cross-validation", r->k);
    const char *over = r->has_race ? "the complete cells (through the race's last rung)"
                                   : "the non-diverged cells";
    if (a == RCN_AXIS_BATCH)
        fprintf(f, "Table 2: mean losses per %s over %s%s\n", label, over, how);
    else
        fprintf(f, "Mean losses per %s over %s%s\n", label, over, how);
    int w0 = (int)strlen(label);
    fprintf(f, "%*s  %15s  %15s  %5s  %8s\n", w0, label, "mean train loss", "mean val loss",
            "cells", "diverged");
    for (int i = 0; i < m->n_rows; i++) {
        mrow_text t;
        mrow_format(&m->rows[i], STYLE_SUMMARY, &t);
        fprintf(f, "%*s  %15s  %15s  %5s  %8s%s\n", w0, t.v, t.tl, t.vl, t.nc, t.nd, t.nt);
    }
    fputc('\n', f);
}

/* The marginal table of axis a (Table 2 for the batch size). */
static void print_marginal(FILE *f, const rcn_view_report *r, int a, mstyle style)
{
    assert(a >= 0 && a < RCN_NAXES && r->marginals[a].n_rows > 0);
    if (style == STYLE_SUMMARY) {
        print_marginal_summary(f, r, a);
        return;
    }
    int md = style == STYLE_MD;
    const rcn_view_marginal *m = &r->marginals[a];
    int any_incomplete = 0, any_divergence = 0;
    for (int i = 0; i < m->n_rows; i++) {
        any_incomplete |= m->rows[i].status == RCN_VIEW_ROW_INCOMPLETE ||
                          m->rows[i].status == RCN_VIEW_ROW_ELIMINATED || m->rows[i].n_eliminated;
        any_divergence |= m->rows[i].status == RCN_VIEW_ROW_DIVERGENCE;
    }
    const char *hdr[] = {rcn_axis_label(a),
                         "mean train loss",
                         r->kind_test ? "mean test loss" : "mean val loss",
                         "cells",
                         "diverged",
                         "note"};
    rcn_texttable *t = rcn_texttable_create(any_incomplete ? 6 : 5, hdr, "rrrrrl");
    for (int i = 0; i < m->n_rows; i++) {
        mrow_text x;
        mrow_format(&m->rows[i], style, &x);
        const char *row[] = {x.v, x.tl, x.vl, x.nc, x.nd, x.nt};
        rcn_texttable_add(t, row);
    }
    char title[300];
    if (a == RCN_AXIS_BATCH)
        snprintf(title, sizeof title, "Table 2. Mean loss per %s", rcn_axis_label(a));
    else
        snprintf(title, sizeof title, "Mean loss per %s", rcn_axis_label(a));
    if (r->has_race)
        snprintf(title + strlen(title), sizeof title - strlen(title),
                 " over the complete cells (through the race's last rung; eliminated and "
                 "diverged cells excluded)");
    else if (n_swept(r) > 1)
        snprintf(title + strlen(title), sizeof title - strlen(title),
                 " (means over the row's cells; diverged cells excluded)");
    heading(f, md, title);
    rcn_texttable_print(f, t, md);
    rcn_texttable_destroy(t);
    if (any_divergence)
        note(f, md, "\"Divergence\": more than half of the row's cells diverged.");
}

/* The race's rungs: one row per planned rung (undecided ones "-"). */
static void print_rung_table(FILE *f, const rcn_view_report *r, int md)
{
    const rcn_view_race *x = &r->race;
    const char *hdr[] = {"rung", "epochs", "folds", "cells in", "kept", "eliminated",
                         "diverged", "fold-epochs"};
    rcn_texttable *t = rcn_texttable_create(8, hdr, "rrrrrrrr");
    for (int i = 0; i < x->n_planned; i++) {
        char b[8][CELLW];
        const rcn_view_rung *g = i < x->n_rungs ? &x->rungs[i] : NULL;
        snprintf(b[0], CELLW, "%d%s", i, i == x->current && !x->finished ? " (running)" : "");
        snprintf(b[1], CELLW, "%d", x->planned_epochs[i]);
        snprintf(b[2], CELLW, "%d", x->planned_folds[i]);
        if (g) {
            snprintf(b[3], CELLW, "%d", g->cells_in);
            snprintf(b[4], CELLW, "%d", g->kept);
            snprintf(b[5], CELLW, "%d", g->eliminated);
            snprintf(b[6], CELLW, "%d", g->diverged);
            snprintf(b[7], CELLW, "%lld", g->fold_epochs);
        } else {
            snprintf(b[3], CELLW, i == x->current ? "%d" : "-", x->n_alive);
            for (int k = 4; k < 8; k++)
                snprintf(b[k], CELLW, "-");
        }
        const char *row[] = {b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]};
        rcn_texttable_add(t, row);
    }
    char title[700];
    snprintf(title, sizeof title, "Rungs of the race (%s)", x->rule);
    heading(f, md, title);
    rcn_texttable_print(f, t, md);
    rcn_texttable_destroy(t);
    char msg[200];
    snprintf(msg, sizeof msg, "%lld of %lld fold-epochs trained (%.3g%% of the exhaustive grid).",
             x->fold_epochs, x->exhaustive, 100 * x->budget_fraction);
    note(f, md, msg);
}

/* Rung i's Table 2 for axis a: mean score per value over the cells in it. */
static void print_rung_marginal(FILE *f, const rcn_view_report *r, int i, int a, int md)
{
    const rcn_view_rung *g = &r->race.rungs[i];
    const rcn_view_marginal *m = &g->marginals[a];
    const char *hdr[] = {rcn_axis_label(a), "mean score", "cells in", "kept", "diverged"};
    rcn_texttable *t = rcn_texttable_create(5, hdr, "rrrrr");
    for (int k = 0; k < m->n_rows; k++) {
        const rcn_view_mrow *x = &m->rows[k];
        char b[5][CELLW];
        rcn_view_fmt_value(x->value, b[0], CELLW);
        if (x->status == RCN_VIEW_ROW_DIVERGENCE)
            snprintf(b[1], CELLW, "Divergence");
        else if (x->status == RCN_VIEW_ROW_ELIMINATED)
            snprintf(b[1], CELLW, "eliminated");
        else
            fmt_loss(x->mean_val_loss, b[1]);
        snprintf(b[2], CELLW, "%d", x->n_cells);
        snprintf(b[3], CELLW, "%d", x->n_kept);
        snprintf(b[4], CELLW, "%d", x->n_diverged);
        const char *row[] = {b[0], b[1], b[2], b[3], b[4]};
        rcn_texttable_add(t, row);
    }
    char title[600];
    snprintf(title, sizeof title, "Rung %d (%d epoch%s, %d folds): %smean score per %s over "
             "the %d cells in the rung", i, g->epochs, g->epochs == 1 ? "" : "s", g->folds,
             a == RCN_AXIS_BATCH ? "Table 2, " : "", rcn_axis_label(a), g->cells_in);
    heading(f, md, title);
    rcn_texttable_print(f, t, md);
    rcn_texttable_destroy(t);
    note(f, md, g->rule);
}

static void print_race(FILE *f, const rcn_view_report *r, int md)
{
    print_rung_table(f, r, md);
    for (int i = 0; i < r->race.n_rungs; i++)
        for (int a = 0; a < RCN_NAXES; a++)
            if (r->race.rungs[i].marginals[a].n_rows)
                print_rung_marginal(f, r, i, a, md);
}

/* The earliest divergence among a cell's folds: epoch, batch (0: none). */
static void first_divergence(const rcn_view_report *r, const rcn_view_cell *c, int *ep, int *b,
                             double *loss)
{
    *ep = *b = 0;
    *loss = NAN;
    for (int i = 0; i < c->n_fold_recs; i++) {
        const rcn_view_fold *fo = &r->folds[c->first_fold + i];
        if (fo->diverged && (!*ep || fo->div_epoch < *ep ||
                             (fo->div_epoch == *ep && fo->div_batch < *b))) {
            *ep = fo->div_epoch;
            *b = fo->div_batch;
            *loss = fo->div_loss;
        }
    }
}

static void cell_status(const rcn_view_report *r, const rcn_view_cell *c, char *b)
{
    int ep, bt;
    double loss;
    switch (c->status) {
    case RCN_VIEW_OK:
        snprintf(b, CELLW, "ok");
        break;
    case RCN_VIEW_DIVERGED:
        first_divergence(r, c, &ep, &bt, &loss);
        if (r->kind_test)
            snprintf(b, CELLW, "diverged (epoch %d)", ep);
        else
            snprintf(b, CELLW, "diverged (%d/%d folds, epoch %d)", c->n_diverged, c->n_folds, ep);
        break;
    case RCN_VIEW_INCOMPLETE:
        snprintf(b, CELLW, "incomplete (%d/%d folds)", c->n_folds_done, c->n_folds);
        break;
    case RCN_VIEW_ELIMINATED:
        snprintf(b, CELLW, "eliminated at rung %d (%d epoch%s, %d folds)", c->race_rung,
                 c->race_epochs, c->race_epochs == 1 ? "" : "s", c->race_folds);
        break;
    }
}

/* Cells in display order: ranked by rank, then the rest by index. */
static int cmp_rank(const void *pa, const void *pb)
{
    const rcn_view_cell *a = *(rcn_view_cell *const *)pa, *b = *(rcn_view_cell *const *)pb;
    if ((a->rank > 0) != (b->rank > 0))
        return a->rank > 0 ? -1 : 1;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    if (a->status != b->status)
        return a->status < b->status ? -1 : 1;
    if (a->status == RCN_VIEW_ELIMINATED && a->race_rung != b->race_rung)
        return a->race_rung > b->race_rung ? -1 : 1; /* the further, the better */
    if (a->status == RCN_VIEW_ELIMINATED && a->race_score != b->race_score)
        return a->race_score < b->race_score ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

static const rcn_view_cell **cells_by_rank(const rcn_view_report *r)
{
    const rcn_view_cell **v = malloc(((size_t)r->n_cells + 1) * sizeof *v);
    if (!v)
        return NULL;
    for (int i = 0; i < r->n_cells; i++)
        v[i] = &r->cells[i];
    qsort(v, (size_t)r->n_cells, sizeof *v, cmp_rank);
    return v;
}

static int print_cells(FILE *f, const rcn_view_report *r, const rcn_view_table_opts *o,
                       rcn_error *err)
{
    const rcn_view_cell **v = cells_by_rank(r);
    if (!v)
        return rcn_errorf(err, "%s: out of memory", r->source);
    const char *hdr[16], *val = r->kind_test ? "test" : "val";
    char h_ml[32], h_sl[32], h_ma[32];
    int nc = 0;
    char align[17] = "";
    hdr[nc] = "rank", align[nc++] = 'r';
    hdr[nc] = "cell", align[nc++] = 'r';
    for (int a = 0; a < RCN_NAXES; a++)
        if (r->n_values[a])
            hdr[nc] = rcn_axis_label(a), align[nc++] = 'r';
    snprintf(h_ml, sizeof h_ml, "mean %s loss", val);
    snprintf(h_sl, sizeof h_sl, "std %s loss", val);
    snprintf(h_ma, sizeof h_ma, "mean %s acc %%", val);
    hdr[nc] = r->kind_test ? "test loss" : h_ml, align[nc++] = 'r';
    if (!r->kind_test)
        hdr[nc] = h_sl, align[nc++] = 'r';
    hdr[nc] = r->kind_test ? "test acc %" : h_ma, align[nc++] = 'r';
    hdr[nc] = r->kind_test ? "train loss" : "mean train loss", align[nc++] = 'r';
    hdr[nc] = r->kind_test ? "fit time s" : "mean fit time s", align[nc++] = 'r';
    hdr[nc] = "status", align[nc++] = 'l';
    rcn_texttable *t = rcn_texttable_create(nc, hdr, align);
    int shown = o->top > 0 && o->top < r->n_cells ? o->top : r->n_cells;
    char buf[16][CELLW];
    for (int i = 0; i < shown; i++) {
        const rcn_view_cell *c = v[i];
        const char *row[16];
        int k = 0;
        if (c->rank)
            snprintf(buf[k], CELLW, "%d", c->rank);
        else
            snprintf(buf[k], CELLW, "-");
        row[k] = buf[k], k++;
        snprintf(buf[k], CELLW, "%d", c->index), row[k] = buf[k], k++;
        for (int a = 0; a < RCN_NAXES; a++)
            if (r->n_values[a])
                rcn_view_fmt_value(c->params.v[a], buf[k], CELLW), row[k] = buf[k], k++;
        fmt_loss(c->mean_val_loss, buf[k]), row[k] = buf[k], k++;
        if (!r->kind_test)
            fmt_loss(c->std_val_loss, buf[k]), row[k] = buf[k], k++;
        fmt_pct(c->mean_val_acc, buf[k]), row[k] = buf[k], k++;
        fmt_loss(c->mean_train_loss, buf[k]), row[k] = buf[k], k++;
        fmt_sec(c->mean_fit_time, buf[k]), row[k] = buf[k], k++;
        cell_status(r, c, buf[k]), row[k] = buf[k], k++;
        rcn_texttable_add(t, row);
    }
    char title[200];
    snprintf(title, sizeof title, "Cells by mean %s loss (%s%d of %d cells)",
             r->kind_test ? "test" : "validation", shown < r->n_cells ? "top " : "", shown,
             r->n_cells);
    if (r->kind_test)
        snprintf(title, sizeof title, "Cells by test loss (%s%d of %d cells)",
                 shown < r->n_cells ? "top " : "", shown, r->n_cells);
    heading(f, o->markdown, title);
    rcn_texttable_print(f, t, o->markdown);
    rcn_texttable_destroy(t);
    if (shown < r->n_cells)
        note(f, o->markdown, "(--top N shows more cells; --top 0 shows all)");
    free(v);
    return 0;
}

/* "batch size 64, learning rate 0.01, momentum 0.5, 10 epochs": every axis
 * as "label value", the epochs (last) as "value label". */
static void params_text(const rcn_view_params *p, char *b, size_t n)
{
    size_t used = 0;
    b[0] = 0;
    for (int a = 0; a < RCN_NAXES && used < n; a++) {
        char v[32];
        rcn_view_fmt_value(p->v[a], v, sizeof v);
        const char *sep = a ? ", " : "", *label = rcn_axis_label(a);
        if (a == RCN_AXIS_EPOCHS)
            used += (size_t)snprintf(b + used, n - used, "%s%s %s", sep, v, label);
        else
            used += (size_t)snprintf(b + used, n - used, "%s%s %s", sep, label, v);
    }
}

static void print_best(FILE *f, const rcn_view_report *r, int md)
{
    char lbl[200], p[200], l[CELLW], a[CELLW];
    heading(f, md, "Best cell");
    if (r->best < 0) {
        note(f, md, "none yet: no cell has all its folds done without diverging");
    } else {
        const rcn_view_cell *c = &r->cells[r->best];
        rcn_view_cell_label(r, c, lbl, sizeof lbl);
        params_text(&c->params, p, sizeof p);
        fmt_loss(c->mean_val_loss, l);
        fmt_pct(c->mean_val_acc, a);
        if (n_swept(r))
            fprintf(f, "%scell %d (%s): %s\n", md ? "- " : "", c->index, lbl, p);
        else
            fprintf(f, "%scell %d: %s\n", md ? "- " : "", c->index, p);
        fprintf(f, "%s%s %s, %s %s%%\n", md ? "- " : "",
                r->kind_test ? "test loss" : "mean validation loss", l,
                r->kind_test ? "test accuracy" : "mean validation accuracy", a);
        if (r->has_race && r->race.finished && r->race.n_rungs)
            fprintf(f, "%schosen by successive halving: the best of the last rung's %d cells\n",
                    md ? "- " : "", r->race.rungs[r->race.n_rungs - 1].cells_in);
        else if (r->has_race)
            fprintf(f, "%sthe best complete cell so far: the race is still running\n",
                    md ? "- " : "");
    }
    if (!r->has_refit)
        return;
    params_text(&r->refit_params, p, sizeof p);
    fmt_loss(r->test_loss, l);
    fmt_pct(r->test_acc, a);
    heading(f, md, "Refit on the whole training set, evaluated on the test set");
    fprintf(f, "%s%s\n", md ? "- " : "", p);
    fprintf(f, "%stest loss %s, test accuracy %s%%", md ? "- " : "", l, a);
    if (!isnan(r->refit_seconds))
        fprintf(f, ", %.1f s", r->refit_seconds);
    fputc('\n', f);
    if (r->refit_model[0])
        fprintf(f, "%smodel: %s\n", md ? "- " : "", r->refit_model);
}

/* Table 1: one cell's per-epoch numbers ({"kind": "test"}: fold 0). */
static void print_table1(FILE *f, const rcn_view_report *r, const rcn_view_cell *c, int md)
{
    char title[480], lbl[200], p[200];
    rcn_view_cell_label(r, c, lbl, sizeof lbl);
    params_text(&c->params, p, sizeof p);
    if (n_swept(r))
        snprintf(title, sizeof title, "Table 1. Per epoch, cell %d (%s; %s)", c->index, lbl, p);
    else
        snprintf(title, sizeof title, "Table 1. Per epoch (%s)", p);
    heading(f, md, title);
    if (c->n_fold_recs == 0) {
        note(f, md, "not trained yet");
        return;
    }
    const rcn_view_fold *fo = &r->folds[c->first_fold];
    const char *hdr[] = {"epoch", "train loss", "train acc %", "test loss", "test acc %",
                         "seconds"};
    rcn_texttable *t = rcn_texttable_create(6, hdr, "rrrrrr");
    for (int i = 0; i < fo->n_epochs; i++) {
        const rcn_view_epoch *e = &fo->epochs[i];
        char b[6][CELLW];
        snprintf(b[0], CELLW, "%d", e->epoch);
        fmt_loss(e->train_loss, b[1]);
        fmt_pct(e->train_acc, b[2]);
        fmt_loss(e->val_loss, b[3]);
        fmt_pct(e->val_acc, b[4]);
        fmt_sec(e->seconds, b[5]);
        const char *row[] = {b[0], b[1], b[2], b[3], b[4], b[5]};
        rcn_texttable_add(t, row);
    }
    if (fo->n_epochs)
        rcn_texttable_print(f, t, md);
    rcn_texttable_destroy(t);
    if (fo->diverged) {
        char msg[200], l[CELLW];
        if (isnan(fo->div_loss))
            snprintf(l, sizeof l, "not finite");
        else
            snprintf(l, sizeof l, "%g", fo->div_loss);
        snprintf(msg, sizeof msg, "Diverged in epoch %d, batch %d (batch loss %s).",
                 fo->div_epoch, fo->div_batch, l);
        note(f, md, msg);
    }
}

int rcn_view_print(FILE *f, const rcn_view_report *r, const rcn_view_table_opts *o,
                   rcn_error *err)
{
    rcn_view_table_opts def = {0, 0};
    if (!o)
        o = &def;
    print_summary(f, r, o->markdown);
    /* Table 2 first (batch size), then the other swept axes' marginals */
    for (int a = 0; a < RCN_NAXES; a++)
        if (r->marginals[a].n_rows)
            print_marginal(f, r, a, o->markdown ? STYLE_MD : STYLE_TEXT);
    if (r->has_race)
        print_race(f, r, o->markdown);
    if (r->n_cells == 0) {
        note(f, o->markdown, "\nNo cells in this report yet.");
        return 0;
    }
    if (print_cells(f, r, o, err))
        return -1;
    print_best(f, r, o->markdown);
    if (r->kind_test) {
        const rcn_view_cell **v = cells_by_rank(r);
        if (!v)
            return rcn_errorf(err, "%s: out of memory", r->source);
        int shown = o->top > 0 && o->top < r->n_cells ? o->top : r->n_cells;
        /* Table 1 in grid order, for the cells the cell table shows */
        for (int i = 0; i < r->n_cells; i++) {
            int in = 0;
            for (int j = 0; j < shown; j++)
                in |= v[j] == &r->cells[i];
            if (in)
                print_table1(f, r, &r->cells[i], o->markdown);
        }
        free(v);
    }
    if (ferror(f))
        return rcn_errorf(err, "cannot write the tables (output error)");
    return 0;
}

void rcn_report_print_summary(FILE *f, const json_t *report)
{
    rcn_view_report *r;
    rcn_error e;
    if (rcn_view_from_json(report, "report", &r, &e) == 0) {
        if (r->has_race) {
            char how[1024];
            race_headline(r, how, sizeof how);
            fprintf(f, "%s\n\n", how);
        }
        for (int a = 0; a < RCN_NAXES; a++)
            if (r->marginals[a].n_rows)
                print_marginal(f, r, a, STYLE_SUMMARY);
        rcn_view_free(r);
    } else {
        fprintf(f, "(no marginal tables: %s)\n", e.msg);
    }

    const json_t *best = json_object_get(report, "best");
    if (json_is_object(best)) {
        fprintf(f, "best: %s (cell %lld): mean val loss %.6f, mean val accuracy %.2f%%\n",
                json_string_value(json_object_get(best, "key")),
                (long long)json_integer_value(json_object_get(best, "cell")),
                json_number_value(json_object_get(best, "mean_val_loss")),
                100 * json_number_value(json_object_get(best, "mean_val_accuracy")));
    } else {
        fprintf(f, "best: none (no cell finished all its folds without diverging)\n");
    }
    const json_t *refit = json_object_get(report, "refit");
    if (json_is_object(refit)) {
        const json_t *tl = json_object_get(refit, "test_loss");
        if (json_is_number(tl))
            fprintf(f, "refit on the whole training set: test loss %.6f, test accuracy %.2f%%, "
                    "model %s\n", json_number_value(tl),
                    100 * json_number_value(json_object_get(refit, "test_accuracy")),
                    json_string_value(json_object_get(refit, "model")));
        else
            fprintf(f, "refit on the whole training set: diverged (no test numbers)\n");
    }
}

const rcn_view_cell **rcn_view_cells_by_rank(const rcn_view_report *r)
{
    return cells_by_rank(r);
}
