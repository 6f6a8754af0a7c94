/* html.c - a search report as one self-contained web page: DIR/index.html
 * with what `rcn report` prints (the job, its status, Table 2 and the other
 * marginal tables, the cells by rank with their per-fold spread, the best
 * cell and the refit) and the figures of `rcn report --plots`, drawn as SVG
 * into DIR/figures/ beside it. No external resource and no script library:
 * one inline script marks the figures that failed to load. A report that
 * is not complete says so, shows its progress and reloads itself. A racing
 * report's top-level "race" (rungs, eliminated cells) and the cells' "race"
 * objects are read from the report's JSON as they are, member by member. */
#include "rcn/view.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rcn/fileio.h"
#include "rcn/journal.h"
#include "rcn/report.h"

#define FIG_DIR "figures"
#define SPREAD_W 160
#define SPREAD_H 16

typedef struct {
    const rcn_view_report *r;
    const rcn_view_html_opts *o;
    FILE *f;
    json_t *raw;        /* the report as JSON (race members); NULL: unreadable */
    char **figs;        /* figure names (no .svg) found in DIR/figures */
    int n_figs;
} hctx;

static int n_swept_axes(const rcn_view_report *r);

/* ---- writing ------------------------------------------------------------- */

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void td_num(FILE *f, double x, const char *fmt, double scale)
{
    if (isnan(x))
        fputs("<td class=\"n\">-</td>", f);
    else {
        fputs("<td class=\"n\">", f);
        fprintf(f, fmt, scale * x);
        fputs("</td>", f);
    }
}

static void td_text(FILE *f, const char *s, const char *cls)
{
    fprintf(f, "<td%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    esc(f, s);
    fputs("</td>", f);
}

/* A JSON scalar as text: strings as they are, integers whole, reals to 6
 * significant digits, null "-". */
static void json_scalar_text(const json_t *v, char *b, size_t n)
{
    if (json_is_string(v))
        snprintf(b, n, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(b, n, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(b, n, "%.6g", json_real_value(v));
    else if (json_is_true(v) || json_is_false(v))
        snprintf(b, n, "%s", json_is_true(v) ? "yes" : "no");
    else
        snprintf(b, n, "-");
}

/* The scalar members of an object as "name value, ..." */
static void json_members_text(const json_t *o, char *b, size_t n)
{
    const char *k;
    const json_t *v;
    size_t used = 0;
    b[0] = 0;
    json_object_foreach((json_t *)o, k, v) {
        char t[120];
        if (json_is_object(v) || json_is_array(v) || used >= n)
            continue;
        json_scalar_text(v, t, sizeof t);
        used += (size_t)snprintf(b + used, n - used, "%s%s %s", used ? ", " : "", k, t);
    }
}

/* ---- the raw report ------------------------------------------------------ */

/* The report as JSON: the file itself, or a journal aggregated the way
 * rcn_view_load does. NULL when it cannot be read (the page then lacks
 * only the race members). */
static json_t *raw_report(const rcn_view_report *r)
{
    if (!r->from_journal)
        return json_load_file(r->source, 0, NULL);
    json_t *header = NULL, *folds = NULL, *rep = NULL;
    rcn_error e;
    if (rcn_journal_read(r->source, &header, &folds, &e) == 0) {
        json_t *meta = json_object();
        rep = rcn_report_from_folds(json_object_get(header, "job"), folds, meta, &e);
        json_decref(meta);
    }
    json_decref(header);
    json_decref(folds);
    return rep;
}

/* The raw JSON of cell `index`, or NULL. Reports list cells by index, so
 * the index'th is tried first. */
static const json_t *raw_cell(const hctx *h, int index)
{
    const json_t *cells = json_object_get(h->raw, "cells"), *c;
    size_t i;
    c = json_array_get(cells, (size_t)index);
    if (c && json_integer_value(json_object_get(c, "index")) == index)
        return c;
    json_array_foreach(cells, i, c) {
        if (json_integer_value(json_object_get(c, "index")) == index)
            return c;
    }
    return NULL;
}

/* ---- figures ------------------------------------------------------------- */

static int is_svg(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 4 && !strcmp(d->d_name + n - 4, ".svg");
}

/* Lists DIR/figures/ *.svg in natural order (lr_batch_size-32 before -128). */
static int list_figures(hctx *h, const char *figdir, rcn_error *err)
{
    struct dirent **ents;
    int n = scandir(figdir, &ents, is_svg, versionsort);
    if (n < 0 && errno == ENOENT)
        return 0; /* nothing drawn */
    if (n < 0)
        return rcn_errorf(err, "%s: cannot list the figures: %s", figdir, strerror(errno));
    h->figs = calloc((size_t)n + 1, sizeof *h->figs);
    for (int i = 0; i < n; i++) {
        if (h->figs) {
            h->figs[h->n_figs] = strndup(ents[i]->d_name, strlen(ents[i]->d_name) - 4);
            h->n_figs += h->figs[h->n_figs] != NULL;
        }
        free(ents[i]);
    }
    free(ents);
    return h->figs ? 0 : rcn_errorf(err, "out of memory");
}

static void figure(FILE *f, const char *name, const char *caption)
{
    fputs("<figure><a href=\"" FIG_DIR "/", f);
    esc(f, name);
    fputs(".svg\"><img src=\"" FIG_DIR "/", f);
    esc(f, name);
    fputs(".svg\" alt=\"", f);
    esc(f, caption);
    fputs("\"></a><figcaption>", f);
    esc(f, caption);
    fputs("</figcaption></figure>\n", f);
}

/* Figures whose name starts with `prefix` (and then '_', '-' or ends). */
static int figures_with(const hctx *h, const char *prefix, const char *what)
{
    size_t n = strlen(prefix);
    int shown = 0;
    for (int i = 0; i < h->n_figs; i++) {
        const char *s = h->figs[i];
        if (strncmp(s, prefix, n) || (s[n] && s[n] != '_' && s[n] != '-'))
            continue;
        char cap[300];
        snprintf(cap, sizeof cap, "%s%s%s", what, s[n] ? ": " : "", s[n] ? s + n + 1 : "");
        figure(h->f, s, cap);
        shown++;
    }
    return shown;
}

/* The learning curves of the best `n` ranked cells (cell_NNN.svg). */
static void best_curves(const hctx *h, const rcn_view_cell **by_rank, int n)
{
    for (int i = 0, shown = 0; i < h->r->n_cells && shown < n; i++) {
        const rcn_view_cell *c = by_rank[i];
        if (c->rank <= 0)
            break;
        for (int j = 0; j < h->n_figs; j++) {
            const char *s = h->figs[j];
            if (strncmp(s, "cell_", 5) || atoi(s + 5) != c->index)
                continue;
            char lbl[200], cap[300];
            rcn_view_cell_label(h->r, c, lbl, sizeof lbl);
            snprintf(cap, sizeof cap, "rank %d: cell %d (%s)", c->rank, c->index, lbl);
            figure(h->f, s, cap);
            shown++;
        }
    }
}

static void write_figures(const hctx *h, const rcn_view_cell **by_rank, const char *plot_note)
{
    FILE *f = h->f;
    fputs("<section id=\"figures\"><h2>Figures</h2>\n", f);
    if (plot_note) {
        fputs("<p class=\"warn\">", f);
        esc(f, plot_note);
        fputs("</p>\n", f);
    }
    fputs("<div class=\"figs\">\n", f);
    figures_with(h, "heatmap", "mean validation loss over batch size x learning rate");
    figures_with(h, "sweep", "one curve per value");
    figures_with(h, "lr", "Figure 20: mean loss against learning rate");
    fputs("</div>\n<h3>Learning curves of the best cells</h3>\n<div class=\"figs\">\n", f);
    best_curves(h, by_rank, h->o->best_curves);
    fprintf(f, "</div>\n<p>Every cell's learning curves: <a href=\"" FIG_DIR "/\">"
               FIG_DIR "/</a> (cell_NNN.svg; .png, data .dat and gnuplot scripts .gp beside "
               "them).</p>\n</section>\n");
}

/* ---- summary and progress ------------------------------------------------- */

static int complete(const rcn_view_report *r)
{
    return !strcmp(r->status, "complete") && r->folds_done >= r->folds_total && !r->from_journal;
}

static void write_summary(const hctx *h)
{
    const rcn_view_report *r = h->r;
    FILE *f = h->f;
    fputs("<section id=\"summary\"><h2>The search</h2>\n<dl>\n<dt>file</dt><dd>", f);
    esc(f, r->source);
    fprintf(f, "%s</dd>\n", r->from_journal ? " (journal of a running or unfinished search)" : "");
    const char *desc = json_string_value(json_object_get(json_object_get(h->raw, "job"),
                                                         "description"));
    if (desc) {
        fputs("<dt>job</dt><dd>", f);
        esc(f, desc);
        fputs("</dd>\n", f);
    }
    if (r->kind_test)
        fputs("<dt>validation</dt><dd>the test set (\"kind\": \"test\"), one training per cell"
              "</dd>\n", f);
    else
        fprintf(f, "<dt>validation</dt><dd>%d-fold cross-validation on the training set</dd>\n",
                r->k);
    fprintf(f, "<dt>grid</dt><dd>%d cell%s", r->n_cells, r->n_cells == 1 ? "" : "s");
    for (int a = 0, first = 1; a < RCN_NAXES; a++)
        if (r->n_values[a]) {
            fprintf(f, "%s%d %s", first ? " (" : " x ", r->n_values[a],
                    r->n_values[a] == 1 ? rcn_axis_label(a) : rcn_axis_def_of(a)->plural);
            first = 0;
        }
    fprintf(f, "%s</dd>\n", n_swept_axes(r) ? ")" : "");
    fprintf(f, "<dt>status</dt><dd id=\"status\">%s, %d of %d fold trainings done", r->status,
            r->folds_done, r->folds_total);
    if (r->ranks > 0)
        fprintf(f, ", %d rank%s", r->ranks, r->ranks == 1 ? "" : "s");
    if (!isnan(r->wall_seconds))
        fprintf(f, ", %.1f s wall time", r->wall_seconds);
    fprintf(f, "</dd>\n<dt>losses</dt><dd>");
    esc(f, r->loss_convention);
    fputs("; accuracies in %</dd>\n</dl>\n</section>\n", f);
}

/* The banner of a report still being written: progress, and the reload. */
static void write_progress(const hctx *h)
{
    const rcn_view_report *r = h->r;
    if (complete(r))
        return;
    FILE *f = h->f;
    int total = r->folds_total > 0 ? r->folds_total : 1;
    if (r->from_journal)
        fputs("<section id=\"progress\" class=\"running\"><h2>Not complete: read from the "
              "journal of a search running or unfinished</h2>\n", f);
    else
        fprintf(f, "<section id=\"progress\" class=\"running\"><h2>Not complete: %s</h2>\n",
                r->status);
    fprintf(f, "<p><progress max=\"%d\" value=\"%d\"></progress> %d of %d fold trainings done "
               "(%.1f%%)</p>\n", total, r->folds_done, r->folds_done, r->folds_total,
            100.0 * r->folds_done / total);
    fputs("<p>The tables show the finished folds; cells still running are \"incomplete\".", f);
    if (h->o->refresh_seconds > 0)
        fprintf(f, " This page reloads every %d s (re-written by <code>rcn report --html</code>).",
                h->o->refresh_seconds);
    fputs("</p>\n</section>\n", f);
}

/* ---- tables --------------------------------------------------------------- */

static int n_swept_axes(const rcn_view_report *r)
{
    int n = 0;
    for (int a = 0; a < RCN_NAXES; a++)
        n += r->n_values[a] > 0;
    return n;
}

/* The marginal table of axis a; Table 2 (id "table2") for the batch size. */
static void write_marginal(const hctx *h, int a)
{
    const rcn_view_report *r = h->r;
    const rcn_view_marginal *m = &r->marginals[a];
    FILE *f = h->f;
    assert(m->n_rows > 0);
    int batch = a == RCN_AXIS_BATCH;
    fprintf(f, "<table%s><caption>%s per ", batch ? " id=\"table2\"" : "",
            batch ? "Table 2. Mean loss" : "Mean loss");
    esc(f, rcn_axis_label(a));
    if (n_swept_axes(r) > 1)
        fputs(" (means over the row's cells; diverged cells excluded)", f);
    fputs("</caption>\n<thead><tr><th>", f);
    esc(f, rcn_axis_label(a));
    fprintf(f, "</th><th>mean train loss</th><th>mean %s loss</th><th>cells</th>"
               "<th>diverged</th><th>note</th></tr></thead>\n<tbody>\n",
            r->kind_test ? "test" : "val");
    for (int i = 0; i < m->n_rows; i++) {
        const rcn_view_mrow *x = &m->rows[i];
        char v[64], note[96] = "";
        rcn_view_fmt_value(x->value, v, sizeof v);
        fputs("<tr>", f);
        td_text(f, v, "n");
        if (x->status == RCN_VIEW_ROW_DIVERGENCE) {
            fputs("<td class=\"n div\">Divergence</td><td class=\"n div\">Divergence</td>", f);
        } else {
            td_num(f, x->mean_train_loss, "%.6f", 1);
            td_num(f, x->mean_val_loss, "%.6f", 1);
        }
        if (x->status == RCN_VIEW_ROW_INCOMPLETE)
            snprintf(note, sizeof note, "incomplete: %d of %d cells in the means",
                     x->n_included, x->n_cells);
        else if (x->status == RCN_VIEW_ROW_ELIMINATED)
            snprintf(note, sizeof note, "eliminated: none of the %d cells complete", x->n_cells);
        else if (x->n_eliminated && x->status == RCN_VIEW_ROW_OK)
            snprintf(note, sizeof note, "%d of %d cells complete (the others eliminated)",
                     x->n_included, x->n_cells);
        fprintf(f, "<td class=\"n\">%d</td><td class=\"n\">%d</td>", x->n_cells, x->n_diverged);
        td_text(f, note, NULL);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
}

/* x of loss v on a log scale over [lo, hi] (losses are > 0). */
static double spread_x(double v, double lo, double hi)
{
    double l = log(lo > 0 ? lo : 1e-12), span = hi > lo ? log(hi) - l : 1;
    return 2 + (SPREAD_W - 4) * (log(v > lo ? v : lo) - l) / span;
}

/* A cell's fold validation losses as dots on a line over [lo, hi] (log
 * scale); the mean as a bar. */
static void spread_svg(const hctx *h, const rcn_view_cell *c, double lo, double hi)
{
    FILE *f = h->f;
    fprintf(f, "<svg class=\"spread\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "role=\"img\"><line x1=\"2\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>",
            SPREAD_W, SPREAD_H, SPREAD_W, SPREAD_H, SPREAD_H / 2, SPREAD_W - 2, SPREAD_H / 2);
    for (int i = 0; i < c->n_fold_recs; i++) {
        double v = h->r->folds[c->first_fold + i].val_loss;
        if (isfinite(v))
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%d\" r=\"2.5\"/>", spread_x(v, lo, hi),
                    SPREAD_H / 2);
    }
    if (isfinite(c->mean_val_loss))
        fprintf(f, "<rect x=\"%.1f\" y=\"1\" width=\"2\" height=\"%d\"/>",
                spread_x(c->mean_val_loss, lo, hi) - 1, SPREAD_H - 2);
    fputs("</svg>", f);
}

/* min..max of the cell's finite fold validation losses; 0: none. */
static int fold_range(const rcn_view_report *r, const rcn_view_cell *c, double *lo, double *hi)
{
    int n = 0;
    for (int i = 0; i < c->n_fold_recs; i++) {
        double v = r->folds[c->first_fold + i].val_loss;
        if (!isfinite(v))
            continue;
        if (!n || v < *lo)
            *lo = v;
        if (!n || v > *hi)
            *hi = v;
        n++;
    }
    return n;
}

/* The status column: the report's word, with the detail `rcn report` gives. */
static void cell_status_text(const hctx *h, const rcn_view_cell *c, char *b, size_t n)
{
    const json_t *raw = raw_cell(h, c->index);
    const char *st = json_string_value(json_object_get(raw, "status"));
    if (c->status == RCN_VIEW_DIVERGED)
        snprintf(b, n, "diverged (%d/%d folds)", c->n_diverged, c->n_folds);
    else if (c->status == RCN_VIEW_INCOMPLETE && (!st || !strcmp(st, "incomplete")))
        snprintf(b, n, "incomplete (%d/%d folds)", c->n_folds_done, c->n_folds);
    else
        snprintf(b, n, "%s", st ? st : "ok");
}

static void cells_head(const hctx *h, int shown, int race)
{
    const rcn_view_report *r = h->r;
    FILE *f = h->f;
    const char *v = r->kind_test ? "test" : "val";
    fprintf(f, "<table id=\"cells\"><caption>Cells by mean %s loss (%s%d of %d cells)</caption>\n"
               "<thead><tr><th>rank</th><th>cell</th>",
            r->kind_test ? "test" : "validation", shown < r->n_cells ? "top " : "", shown,
            r->n_cells);
    for (int a = 0; a < RCN_NAXES; a++)
        if (r->n_values[a]) {
            fputs("<th>", f);
            esc(f, rcn_axis_label(a));
            fputs("</th>", f);
        }
    fprintf(f, "<th>mean %s loss</th>", v);
    if (!r->kind_test)
        fprintf(f, "<th>std %s loss</th><th>fold %s losses (min .. max)</th>", v, v);
    fprintf(f, "<th>mean %s acc %%</th><th>mean train loss</th><th>mean fit time s</th>"
               "<th>status</th>%s</tr></thead>\n<tbody>\n", v, race ? "<th>race</th>" : "");
}

static void cell_row(const hctx *h, const rcn_view_cell *c, double lo, double hi, int race)
{
    const rcn_view_report *r = h->r;
    FILE *f = h->f;
    char b[400];
    fprintf(f, "<tr%s>", r->best >= 0 && c == &r->cells[r->best] ? " class=\"best\"" : "");
    if (c->rank)
        fprintf(f, "<td class=\"n\">%d</td>", c->rank);
    else
        fputs("<td class=\"n\">-</td>", f);
    fprintf(f, "<td class=\"n\">%d</td>", c->index);
    for (int a = 0; a < RCN_NAXES; a++)
        if (r->n_values[a]) {
            rcn_view_fmt_value(c->params.v[a], b, sizeof b);
            td_text(f, b, "n");
        }
    td_num(f, c->mean_val_loss, "%.6f", 1);
    if (!r->kind_test) {
        double clo = 0, chi = 0;
        td_num(f, c->std_val_loss, "%.6f", 1);
        fputs("<td class=\"spread\">", f);
        if (fold_range(r, c, &clo, &chi)) {
            spread_svg(h, c, lo, hi);
            fprintf(f, " %.4f .. %.4f", clo, chi);
        }
        fputs("</td>", f);
    }
    td_num(f, c->mean_val_acc, "%.2f", 100);
    td_num(f, c->mean_train_loss, "%.6f", 1);
    td_num(f, c->mean_fit_time, "%.1f", 1);
    cell_status_text(h, c, b, sizeof b);
    td_text(f, b, NULL);
    if (race) {
        json_members_text(json_object_get(raw_cell(h, c->index), "race"), b, sizeof b);
        td_text(f, b, "race");
    }
    fputs("</tr>\n", f);
}

static void write_cells(const hctx *h, const rcn_view_cell **by_rank)
{
    const rcn_view_report *r = h->r;
    int shown = h->o->top > 0 && h->o->top < r->n_cells ? h->o->top : r->n_cells;
    double lo = 0, hi = 0;
    int any = 0, race = 0;
    for (int i = 0; i < shown; i++) {
        double clo, chi;
        if (fold_range(r, by_rank[i], &clo, &chi)) {
            lo = any && lo < clo ? lo : clo;
            hi = any && hi > chi ? hi : chi;
            any = 1;
        }
        race |= json_is_object(json_object_get(raw_cell(h, by_rank[i]->index), "race"));
    }
    fputs("<section id=\"ranking\"><h2>Cells</h2>\n<div class=\"scroll\">\n", h->f);
    cells_head(h, shown, race);
    for (int i = 0; i < shown; i++)
        cell_row(h, by_rank[i], lo, hi, race);
    fputs("</tbody></table>\n</div>\n", h->f);
    if (any && !r->kind_test)
        fprintf(h->f, "<p class=\"note\">Fold spread: each dot one fold's validation loss, "
                      "the bar the mean; a log scale from %.4f to %.4f over the cells "
                      "shown.</p>\n", lo, hi);
    fputs("</section>\n", h->f);
}

/* "batch size 64, learning rate 0.01, momentum 0.5, 2 epochs" */
static void params_html(FILE *f, const rcn_view_params *p)
{
    for (int a = 0; a < RCN_NAXES; a++) {
        char v[40];
        rcn_view_fmt_value(p->v[a], v, sizeof v);
        fputs(a ? ", " : "", f);
        if (a == RCN_AXIS_EPOCHS)
            fprintf(f, "%s ", v);
        esc(f, rcn_axis_label(a));
        if (a != RCN_AXIS_EPOCHS)
            fprintf(f, " %s", v);
    }
}

static void write_best(const hctx *h)
{
    const rcn_view_report *r = h->r;
    FILE *f = h->f;
    fputs("<section id=\"best\"><h2>Best cell</h2>\n", f);
    if (r->best < 0) {
        fputs("<p>none yet: no cell has all its folds done without diverging</p>\n", f);
    } else {
        const rcn_view_cell *c = &r->cells[r->best];
        char lbl[200];
        rcn_view_cell_label(r, c, lbl, sizeof lbl);
        fprintf(f, "<p>cell %d (", c->index);
        esc(f, lbl);
        fputs("): ", f);
        params_html(f, &c->params);
        fprintf(f, "<br>%s %.6f, %s %.2f%%</p>\n",
                r->kind_test ? "test loss" : "mean validation loss", c->mean_val_loss,
                r->kind_test ? "test accuracy" : "mean validation accuracy",
                100 * c->mean_val_acc);
    }
    if (r->has_refit) {
        fputs("<h3>Refit on the whole training set, evaluated on the test set</h3>\n<p>", f);
        params_html(f, &r->refit_params);
        if (isnan(r->test_loss))
            fputs("<br>diverged: no test numbers", f);
        else
            fprintf(f, "<br>test loss <b id=\"test-loss\">%.6f</b>, test accuracy "
                       "<b id=\"test-acc\">%.2f%%</b>", r->test_loss, 100 * r->test_acc);
        if (!isnan(r->refit_seconds))
            fprintf(f, ", %.1f s", r->refit_seconds);
        if (r->refit_model[0]) {
            fputs("<br>model: <code>", f);
            esc(f, r->refit_model);
            fputs("</code>", f);
        }
        fputs("</p>\n", f);
    }
    fputs("</section>\n", f);
}

/* ---- a race ---------------------------------------------------------------- */

/* One row per rung: its scalar members as columns (the first rung's
 * names), then the cells it eliminated. */
static void race_rungs(const hctx *h, const json_t *rungs)
{
    FILE *f = h->f;
    const json_t *first = json_array_get(rungs, 0), *g, *v;
    const char *k;
    size_t i;
    fputs("<table id=\"rungs\"><caption>Rungs</caption>\n<thead><tr><th>rung</th>", f);
    json_object_foreach((json_t *)first, k, v) {
        if (!json_is_object(v) && !json_is_array(v)) {
            fputs("<th>", f);
            esc(f, k);
            fputs("</th>", f);
        }
    }
    fputs("<th>eliminated cells</th></tr></thead>\n<tbody>\n", f);
    json_array_foreach(rungs, i, g) {
        char t[600];
        fprintf(f, "<tr><td class=\"n\">%zu</td>", i);
        json_object_foreach((json_t *)first, k, v) {
            if (json_is_object(v) || json_is_array(v))
                continue;
            json_scalar_text(json_object_get(g, k), t, sizeof t);
            td_text(f, t, json_is_number(v) ? "n" : NULL);
        }
        size_t j, used = 0;
        const json_t *c;
        t[0] = 0;
        json_array_foreach(json_object_get(g, "cells"), j, c) {
            const char *st = json_string_value(json_object_get(c, "status"));
            if (st && !strcmp(st, "eliminated") && used < sizeof t)
                used += (size_t)snprintf(t + used, sizeof t - used, "%s%lld", used ? " " : "",
                                         (long long)json_integer_value(json_object_get(c, "cell")));
        }
        td_text(f, t, NULL);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
}

static void write_race(const hctx *h)
{
    const json_t *race = json_object_get(h->raw, "race");
    if (!json_is_object(race))
        return;
    FILE *f = h->f;
    char t[1200];
    fputs("<section id=\"race\"><h2>Race</h2>\n<p>", f);
    json_members_text(race, t, sizeof t);
    esc(f, t);
    fputs("</p>\n", f);
    const json_t *rungs = json_object_get(race, "rungs");
    if (json_array_size(rungs))
        race_rungs(h, rungs);
    else
        fputs("<p>no rung decided yet</p>\n", f);
    fputs("</section>\n", f);
}

/* ---- the page ------------------------------------------------------------- */

static const char *const css =
    "body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:78em;padding:0 1em;"
    "color:#222}\n"
    "h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}\n"
    "dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}"
    "dd{margin:0}\n"
    "table{border-collapse:collapse;margin:.8em 0}caption{text-align:left;font-weight:600;"
    "padding:.3em 0}\n"
    "th,td{padding:.2em .6em;border-bottom:1px solid #e3e3e3}th{background:#f3f3f3;"
    "text-align:left}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}.div{color:#b00}\n"
    "tr.best td{background:#eaf5e4}\n"
    "svg.spread{vertical-align:middle}svg.spread line{stroke:#aaa}svg.spread circle"
    "{fill:#1f5fbf;fill-opacity:.6}svg.spread rect{fill:#d9541a}td.spread{white-space:nowrap}\n"
    ".figs{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}figure img{max-width:100%;"
    "width:560px;border:1px solid #ddd}\n"
    "figcaption{font-size:.9em;color:#555}.warn,.broken{color:#b00}.note{color:#555}\n"
    ".running{background:#fff6d9;border:1px solid #e8c75a;padding:.2em 1em}\n"
    "progress{width:20em}.scroll{overflow-x:auto}td.race{font-size:.85em;min-width:16em}\n";

/* Marks each figure that did not load, and records "loaded/total" in the
 * <html> element's data-images attribute. */
static const char *const script =
    "window.addEventListener('load', function () {\n"
    "  var imgs = document.images, ok = 0;\n"
    "  for (var i = 0; i < imgs.length; i++) {\n"
    "    if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; continue; }\n"
    "    var p = document.createElement('p');\n"
    "    p.className = 'broken';\n"
    "    p.textContent = 'figure not found: ' + imgs[i].getAttribute('src');\n"
    "    imgs[i].parentNode.parentNode.appendChild(p);\n"
    "  }\n"
    "  document.documentElement.setAttribute('data-images', ok + '/' + imgs.length);\n"
    "});\n";

static void write_page(const hctx *h, const rcn_view_cell **by_rank, const char *plot_note)
{
    const rcn_view_report *r = h->r;
    FILE *f = h->f;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n", f);
    if (!complete(r) && h->o->refresh_seconds > 0)
        fprintf(f, "<meta http-equiv=\"refresh\" content=\"%d\">\n", h->o->refresh_seconds);
    fputs("<title>rcn report: ", f);
    esc(f, r->name);
    fprintf(f, "</title>\n<style>\n%s</style>\n<script>\n%s</script>\n</head>\n<body>\n"
               "<h1>rcn report: ", css, script);
    esc(f, r->name);
    fputs("</h1>\n", f);
    write_progress(h);
    write_summary(h);
    write_race(h);
    fputs("<section id=\"marginals\"><h2>Table 2 and the other marginals</h2>\n", f);
    for (int a = 0; a < RCN_NAXES; a++)
        if (r->marginals[a].n_rows)
            write_marginal(h, a);
    fputs("</section>\n", f);
    if (r->n_cells == 0) {
        fputs("<p>No cells in this report yet.</p>\n", f);
    } else {
        write_cells(h, by_rank);
        write_best(h);
    }
    write_figures(h, by_rank, plot_note);
    fputs("<footer><p class=\"note\">Written by <code>rcn report --html</code>; the same "
          "numbers as <code>rcn report</code>.</p></footer>\n</body>\n</html>\n", f);
}

/* Draws the figures into dir/figures; a figure that cannot be drawn leaves
 * a note for the page and the error in *err (-1). */
static int draw_figures(const hctx *h, const char *figdir, char *note, size_t n,
                        rcn_error *err)
{
    int any = 0;
    note[0] = 0;
    for (int i = 0; i < h->r->n_cells; i++)
        any |= h->r->cells[i].n_fold_recs > 0;
    if (!any) {
        snprintf(note, n, "No figures yet: no fold has finished.");
        return 0;
    }
    if (rcn_view_plot(h->r, figdir, h->o->gnuplot, NULL, err) == 0)
        return 0;
    snprintf(note, n, "Some figures could not be drawn: %s", err->msg);
    return -1;
}

int rcn_view_html(const rcn_view_report *r, const char *dir, const rcn_view_html_opts *o,
                  rcn_error *err)
{
    rcn_view_html_opts def = {0, 30, 6, NULL};
    hctx h = {r, o ? o : &def, NULL, raw_report(r), NULL, 0};
    char figdir[4200], path[4200], note[1200];
    char *buf = NULL;
    size_t len = 0;
    if (strlen(dir) > 4000) {
        json_decref(h.raw);
        return rcn_errorf(err, "%s: path too long", dir);
    }
    snprintf(figdir, sizeof figdir, "%s/" FIG_DIR, dir);
    snprintf(path, sizeof path, "%s/index.html", dir);
    if (rcn_mkdir_p(dir, err)) {
        json_decref(h.raw);
        return -1;
    }
    rcn_error perr = {{0}};
    int plot_rc = draw_figures(&h, figdir, note, sizeof note, &perr);
    const rcn_view_cell **by_rank = rcn_view_cells_by_rank(r);
    int rc = -1;
    if (!by_rank || !(h.f = open_memstream(&buf, &len))) {
        rcn_errorf(err, "%s: out of memory", path);
        goto out;
    }
    if (list_figures(&h, figdir, err))
        goto out;
    write_page(&h, by_rank, note[0] ? note : NULL);
    if (fclose(h.f) != 0 || !buf) {
        h.f = NULL;
        rcn_errorf(err, "%s: out of memory", path);
        goto out;
    }
    h.f = NULL;
    if (rcn_write_atomic(path, buf, len, err))
        goto out;
    rc = plot_rc ? rcn_errorf(err, "%s written, but %s", path, perr.msg) : 0;
out:
    if (h.f)
        fclose(h.f);
    free(buf);
    free(by_rank);
    for (int i = 0; i < h.n_figs; i++)
        free(h.figs[i]);
    free(h.figs);
    json_decref(h.raw);
    return rc;
}
