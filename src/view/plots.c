/* plots.c - the paper's figures from a report, drawn by gnuplot: for each
 * figure a data file (.dat, every number plotted, NaN where the report has
 * null) and a script (.gp) that draws NAME.png (pngcairo) and NAME.svg, all
 * in one folder, plus plots.gp loading every script; then gnuplot is run.
 *   cell_NNN    learning curves of a cell: loss (mean over folds, each fold
 *               thin; diverged folds marked) and accuracy against epoch
 *               (Figures 5-19)
 *   sweep_AXIS  one curve per value when exactly one axis is swept
 *   lr[_GROUP]  mean train and val loss against learning rate, per batch
 *               size (and other swept axes), diverged cells marked (Fig. 20)
 *   heatmap[_GROUP]  mean val loss over batch size x learning rate */
#include "rcn/view.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rcn/fileio.h"

#define FONT "DejaVu Sans,11"
#define LOSS_LABEL "mean cross-entropy loss (per sample)"
/* A legend inside a panel: boxed over the curves, one character of slack
 * (pngcairo measures some labels short). */
#define KEY_BOX "vertical box opaque samplen 3 width 1"
/* The accuracy panel's y axis, after a loss panel that may have set a log
 * scale and explicit tics. */
#define ACC_AXIS "  unset logscale y\n  set ytics autofreq\n  set yrange [*:100]\n" \
                 "  set offsets 0, 0, 0, graph 0.06\n"
#define C_TRAIN "#1f5fbf"
#define C_VAL "#d9541a"
#define C_TRAIN_LIGHT "#b3cdf2"
#define C_VAL_LIGHT "#f5c4a8"
#define C_DIV "#c00000"
#define C_ELIM "#f2f2f2" /* eliminated cells of a race */

static const char *const tab10[10] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

typedef struct {
    const rcn_view_report *r;
    const char *dir;
    FILE *all; /* plots.gp, in memory */
    char *all_buf;
    size_t all_len;
    char **names; /* figures, to check their images afterwards */
    int n_fig, cap;
    rcn_error *err;
} pctx;

/* ---- small writers ------------------------------------------------------ */

static void gp_quote(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*s, f);
    }
    fputc('"', f);
}

static void dat_num(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, " %.9g", x);
    else
        fputs(" NaN", f);
}

static double pct(double x)
{
    return isfinite(x) ? 100.0 * x : NAN;
}

static int save(pctx *c, const char *name, FILE *mem, char **buf, size_t *len)
{
    char path[4400];
    if (fclose(mem) != 0 || !*buf)
        return rcn_errorf(c->err, "%s/%s: out of memory", c->dir, name);
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    int rc = rcn_write_atomic(path, *buf, *len, c->err);
    free(*buf);
    *buf = NULL;
    return rc;
}

static int add_figure(pctx *c, const char *name)
{
    if (c->n_fig == c->cap) {
        int cap = c->cap ? 2 * c->cap : 64;
        char **n = realloc(c->names, (size_t)cap * sizeof *n);
        if (!n)
            return rcn_errorf(c->err, "out of memory");
        c->names = n;
        c->cap = cap;
    }
    c->names[c->n_fig] = strdup(name);
    if (!c->names[c->n_fig])
        return rcn_errorf(c->err, "out of memory");
    c->n_fig++;
    fprintf(c->all, "print \"drawing %s\"\nload \"%s.gp\"\n", name, name);
    return 0;
}

/* Header of a figure script: what it draws, from what, how to re-run; then
 * a loop drawing the same body once per terminal (PNG, SVG). */
static void gp_begin(FILE *g, const pctx *c, const char *name, const char *what,
                     const char *data, int w, int h)
{
    fprintf(g, "# %s.gp - %s,\n# search \"%s\" (%s).\n", name, what, c->r->name, c->r->source);
    fprintf(g, "# Written by `rcn report --plots`; re-draw with `gnuplot %s.gp` in this "
               "folder.\n# Data: %s. Draws %s.png and %s.svg.\n",
            name, data, name, name);
    fprintf(g, "reset session\nset encoding utf8\n");
    fprintf(g, "do for [fmt in \"png svg\"] {\n");
    fprintf(g, "  if (fmt eq \"png\") {\n    set terminal pngcairo size %d,%d noenhanced "
               "font \"" FONT "\"\n  } else {\n    set terminal svg size %d,%d noenhanced "
               "font \"" FONT "\" background rgb \"white\"\n  }\n",
            w, h, w, h);
    fprintf(g, "  set output \"%s.\".fmt\n", name);
}

static void gp_end(FILE *g)
{
    fprintf(g, "  set output\n}\n");
}

/* Opens the script of figure `name` in memory (*buf, *len) and writes its
 * header (gp_begin). Returns NULL, with c->err set, when out of memory. */
static FILE *gp_open(pctx *c, char **buf, size_t *len, const char *name, const char *what,
                     const char *data, int w, int h)
{
    FILE *g = open_memstream(buf, len);
    if (!g) {
        rcn_errorf(c->err, "out of memory");
        return NULL;
    }
    gp_begin(g, c, name, what, data, w, h);
    return g;
}

/* Ends the script gp_open began, writes it as <name>.gp and lists the
 * figure in plots.gp. */
static int gp_close(pctx *c, const char *name, FILE *g, char **buf, size_t *len)
{
    gp_end(g);
    char fn[340];
    snprintf(fn, sizeof fn, "%s.gp", name);
    if (save(c, fn, g, buf, len))
        return -1;
    return add_figure(c, name);
}

/* The figure's title line: "  <cmd> "<title>" font ..." (cmd "set title",
 * or a multiplot's "set multiplot layout 2,1 title"). */
static void gp_title(FILE *g, const char *cmd, const char *title)
{
    fprintf(g, "  %s ", cmd);
    gp_quote(g, title);
    fprintf(g, " font \"DejaVu Sans,12\"\n");
}

/* "  set <axis>tics (" with a tic per value v[0..n), labelled with the
 * value, at the value itself or (at_index) at its index; then ")". */
static void gp_value_tics(FILE *g, const char *axis, const double *v, int n, int at_index)
{
    fprintf(g, "  set %stics (", axis);
    for (int i = 0; i < n; i++) {
        char t[40];
        rcn_view_fmt_value(v[i], t, sizeof t);
        if (at_index)
            fprintf(g, "%s\"%s\" %d", i ? ", " : "", t, i);
        else
            fprintf(g, "%s\"%s\" %.9g", i ? ", " : "", t, v[i]);
    }
    fputc(')', g);
}

/* Tics of a log-scale axis ("y", "cb") over the data range [lo, hi] (lo > 0):
 * 1, 2 and 5 times each power of ten inside it, or only the powers of ten
 * when the range spans more than three decades. gnuplot's own log tics are
 * the powers of ten alone, which leaves an axis spanning 0.24..2.7 with the
 * single label "1". */
static void log_tics(FILE *g, const char *axis, double lo, double hi)
{
    static const double mant[] = {1, 2, 5};
    int e0 = (int)floor(log10(lo)), e1 = (int)ceil(log10(hi));
    int nm = e1 - e0 > 3 ? 1 : 3, n = 0;
    fprintf(g, "  set %stics (", axis);
    for (int e = e0; e <= e1; e++)
        for (int k = 0; k < nm; k++) {
            double v = mant[k] * pow(10.0, e);
            if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9))
                continue;
            fprintf(g, "%s\"%g\" %.9g", n++ ? ", " : "", v, v);
        }
    fprintf(g, ")\n");
}

/* Loss axis: log scale when the values span a decade or more. */
static void loss_axis(FILE *g, double lo, double hi)
{
    fprintf(g, "  set autoscale yfix\n");
    if (lo > 0 && isfinite(lo) && hi / lo >= 10) {
        fprintf(g, "  set logscale y\n  set format y \"%%g\"\n");
        log_tics(g, "y", lo, hi);
    } else {
        fprintf(g, "  unset logscale y\n  set format y \"%%g\"\n  set ytics autofreq\n");
    }
}

static void track(double x, double *lo, double *hi)
{
    if (isfinite(x) && x > 0) {
        if (x < *lo)
            *lo = x;
        if (x > *hi)
            *hi = x;
    }
}

static int same(double a, double b)
{
    return fabs(a - b) <= 1e-12 * fmax(1.0, fabs(a));
}

static void safe_name(const char *in, char *out, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; in[i] && j + 1 < n; i++) {
        char ch = in[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '.' || ch == '-' || ch == '_';
        out[j++] = ch == '=' ? '-' : ch == ',' ? '_' : ok ? ch : '_';
    }
    out[j] = 0;
}

/* ---- per-cell learning curves ----------------------------------------- */

typedef struct {
    int n_epochs;     /* x range: 1..n_epochs */
    int mean_from_ok; /* 1: mean of non-diverged folds; 0: of diverged ones */
    int n_mean;       /* folds in the mean */
    int any_loss, any_acc;
    double lo, hi;    /* finite positive losses plotted */
} curves;

static const rcn_view_epoch *epoch_of(const rcn_view_fold *f, int e)
{
    for (int i = 0; i < f->n_epochs; i++)
        if (f->epochs[i].epoch == e)
            return &f->epochs[i];
    return NULL;
}

static void cell_fig_name(const pctx *c, const rcn_view_cell *cell, char *b, size_t n)
{
    int maxi = 0, w = 3;
    for (int i = 0; i < c->r->n_cells; i++)
        if (c->r->cells[i].index > maxi)
            maxi = c->r->cells[i].index;
    for (int m = maxi; m >= 1000; m /= 10)
        w++;
    snprintf(b, n, "cell_%0*d", w, cell->index);
}

/* Writes NAME.dat of a cell: block 0 the mean per epoch, then one block per
 * fold record. Fills `cv`. */
static int write_cell_dat(pctx *c, const rcn_view_cell *cell, const char *name, curves *cv)
{
    const rcn_view_report *r = c->r;
    const rcn_view_fold *fo = &r->folds[cell->first_fold];
    char *buf = NULL, lbl[200], fn[300];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return rcn_errorf(c->err, "out of memory");
    memset(cv, 0, sizeof *cv);
    cv->lo = INFINITY;
    cv->hi = 0;
    int n_ok = 0;
    cv->n_epochs = (int)cell->params.v[RCN_AXIS_EPOCHS];
    for (int i = 0; i < cell->n_fold_recs; i++) {
        n_ok += !fo[i].diverged;
        if (fo[i].n_epochs && fo[i].epochs[fo[i].n_epochs - 1].epoch > cv->n_epochs)
            cv->n_epochs = fo[i].epochs[fo[i].n_epochs - 1].epoch;
        if (fo[i].diverged && fo[i].div_epoch > cv->n_epochs)
            cv->n_epochs = fo[i].div_epoch;
    }
    if (cv->n_epochs < 1)
        cv->n_epochs = 1;
    if (cv->n_epochs > 100000)
        cv->n_epochs = 100000;
    cv->mean_from_ok = n_ok > 0;
    cv->n_mean = n_ok > 0 ? n_ok : cell->n_fold_recs;
    rcn_view_cell_label(r, cell, lbl, sizeof lbl);
    const char *val = r->kind_test ? "test" : "val";
    fprintf(f, "# %s.dat - learning curves of cell %d (%s) of search \"%s\"\n", name,
            cell->index, lbl, r->name);
    fprintf(f, "# %d of %d folds done, %d diverged; losses: %s; accuracies in %%%s\n",
            cell->n_folds_done, cell->n_folds, cell->n_diverged, r->loss_convention,
            r->kind_test ? "; val = the test set" : "");
    fprintf(f, "# block 0 (gnuplot index 0): mean over the %d %s folds at each epoch%s\n",
            cv->n_mean, cv->mean_from_ok ? "non-diverged" : "diverged",
            cv->mean_from_ok ? "" : " (epochs before they diverged)");
    fprintf(f, "# epoch train_loss %s_loss train_acc %s_acc %s_loss_min %s_loss_max n_folds\n",
            val, val, val, val);
    for (int e = 1; e <= cv->n_epochs; e++) {
        double s[4] = {0}, mn = INFINITY, mx = -INFINITY;
        int cnt[4] = {0}, n = 0;
        for (int i = 0; i < cell->n_fold_recs; i++) {
            if (fo[i].diverged == cv->mean_from_ok)
                continue;
            const rcn_view_epoch *ep = epoch_of(&fo[i], e);
            if (!ep)
                continue;
            double v[4] = {ep->train_loss, ep->val_loss, ep->train_acc, ep->val_acc};
            for (int k = 0; k < 4; k++)
                if (isfinite(v[k]))
                    s[k] += v[k], cnt[k]++;
            if (isfinite(ep->val_loss)) {
                mn = fmin(mn, ep->val_loss);
                mx = fmax(mx, ep->val_loss);
            }
            n++;
        }
        double m[4];
        for (int k = 0; k < 4; k++)
            m[k] = cnt[k] ? s[k] / cnt[k] : NAN;
        fprintf(f, "%d", e);
        dat_num(f, m[0]);
        dat_num(f, m[1]);
        dat_num(f, pct(m[2]));
        dat_num(f, pct(m[3]));
        dat_num(f, isfinite(mn) ? mn : NAN);
        dat_num(f, isfinite(mx) ? mx : NAN);
        fprintf(f, " %d\n", n);
        track(m[0], &cv->lo, &cv->hi);
        track(m[1], &cv->lo, &cv->hi);
        cv->any_loss |= isfinite(m[0]) || isfinite(m[1]);
        cv->any_acc |= isfinite(m[2]) || isfinite(m[3]);
    }
    for (int i = 0; i < cell->n_fold_recs; i++) {
        fprintf(f, "\n\n# block %d (gnuplot index %d): fold %d, ", i + 1, i + 1, fo[i].fold);
        if (fo[i].diverged)
            fprintf(f, "diverged in epoch %d, batch %d\n", fo[i].div_epoch, fo[i].div_batch);
        else
            fprintf(f, "ok\n");
        fprintf(f, "# epoch train_loss %s_loss train_acc %s_acc\n", val, val);
        for (int k = 0; k < fo[i].n_epochs; k++) {
            const rcn_view_epoch *ep = &fo[i].epochs[k];
            fprintf(f, "%d", ep->epoch);
            dat_num(f, ep->train_loss);
            dat_num(f, ep->val_loss);
            dat_num(f, pct(ep->train_acc));
            dat_num(f, pct(ep->val_acc));
            fputc('\n', f);
            if (cell->n_fold_recs > 1) {
                track(ep->train_loss, &cv->lo, &cv->hi);
                track(ep->val_loss, &cv->lo, &cv->hi);
            }
        }
        if (fo[i].n_epochs == 0) /* keep the block: gnuplot counts blocks by data */
            fprintf(f, "1 NaN NaN NaN NaN\n");
    }
    snprintf(fn, sizeof fn, "%s.dat", name);
    return save(c, fn, f, &buf, &len);
}

static void epoch_axis(FILE *g, int n_epochs)
{
    double pad = n_epochs <= 1 ? 0.5 : fmax(0.06, 0.02 * (n_epochs - 1));
    fprintf(g, "  set xrange [%g:%g]\n  set offsets 0, 0, graph 0.06, graph 0.06\n", 1 - pad,
            n_epochs + pad);
    if (n_epochs <= 20)
        fprintf(g, "  set xtics 1\n");
    else
        fprintf(g, "  set xtics autofreq\n");
    fprintf(g, "  set mxtics default\n  set xlabel \"epoch\"\n");
}

/* A panel with nothing to draw: a note instead of a curve. */
static void empty_panel(FILE *g, const char *why, double ymax)
{
    fprintf(g, "  set yrange [0:%g]\n  set label 1 ", ymax);
    gp_quote(g, why);
    fprintf(g, " at graph 0.5, graph 0.5 center tc rgb \"" C_DIV "\"\n");
    fprintf(g, "  plot %g notitle\n  unset label 1\n  set autoscale y\n", 2 * ymax);
}

static int plot_cell(pctx *c, const rcn_view_cell *cell)
{
    const rcn_view_report *r = c->r;
    const rcn_view_fold *fo = &r->folds[cell->first_fold];
    char name[64], lbl[200], what[400], dat[80], title[700], sub[300] = "";
    curves cv;
    cell_fig_name(c, cell, name, sizeof name);
    if (write_cell_dat(c, cell, name, &cv))
        return -1;
    rcn_view_cell_label(r, cell, lbl, sizeof lbl);
    snprintf(dat, sizeof dat, "%s.dat", name);
    snprintf(what, sizeof what, "learning curves of cell %d (%s)", cell->index, lbl);
    const char *valname = r->kind_test ? "test" : "validation";
    if (r->kind_test)
        snprintf(sub, sizeof sub, "one training on the training set, evaluated on the test set");
    else if (!cv.mean_from_ok)
        snprintf(sub, sizeof sub, "%d-fold cross-validation: every fold diverged%s", r->k,
                 cv.any_loss ? "; lines: their mean before diverging" : "");
    else if (cell->n_fold_recs == 1)
        snprintf(sub, sizeof sub, "%d-fold cross-validation: 1 fold done", r->k);
    else
        snprintf(sub, sizeof sub, "%d-fold cross-validation: thick lines = mean of %d %sfolds, "
                                  "thin lines = each fold",
                 r->k, cv.n_mean, cell->n_diverged ? "non-diverged " : "");
    if (cell->status == RCN_VIEW_DIVERGED && r->kind_test)
        snprintf(sub + strlen(sub), sizeof sub - strlen(sub), "; DIVERGED");
    else if (cell->status == RCN_VIEW_DIVERGED)
        snprintf(sub + strlen(sub), sizeof sub - strlen(sub), "; DIVERGED in %d of %d folds",
                 cell->n_diverged, cell->n_folds);
    else if (cell->status == RCN_VIEW_INCOMPLETE)
        snprintf(sub + strlen(sub), sizeof sub - strlen(sub), "; incomplete: %d of %d folds done",
                 cell->n_folds_done, cell->n_folds);
    snprintf(title, sizeof title, "%s: learning curves of cell %d (%s)\n%s", r->name, cell->index,
             lbl, sub);

    char *buf = NULL;
    size_t len = 0;
    FILE *g = gp_open(c, &buf, &len, name, what, dat, 1000, 820);
    if (!g)
        return -1;
    gp_title(g, "set multiplot layout 2,1 title", title);
    fprintf(g, "  set grid lc rgb \"#cccccc\"\n  set lmargin 12\n  set rmargin 4\n");
    epoch_axis(g, cv.n_epochs);
    /* divergence markers: a dashed red line at the epoch it happened in,
     * explained in the loss panel's title (labels would hide the curves) */
    int n_arrows = 0;
    char divtxt[400] = "";
    size_t dl = 0;
    int first_batch = 0;
    for (int e = 1; e <= cv.n_epochs; e++) { /* in epoch order */
        char folds[200] = "";
        size_t fl = 0;
        int nf = 0;
        for (int j = 0; j < cell->n_fold_recs; j++)
            if (fo[j].diverged && fo[j].div_epoch == e) {
                if (fl < sizeof folds)
                    fl += (size_t)snprintf(folds + fl, sizeof folds - fl, "%s%d", nf ? ", " : "",
                                           fo[j].fold);
                if (!nf)
                    first_batch = fo[j].div_batch;
                nf++;
            }
        if (!nf)
            continue;
        if (dl < 60) {
            if (r->kind_test)
                dl += (size_t)snprintf(divtxt + dl, sizeof divtxt - dl, "in epoch %d, batch %d", e,
                                       first_batch);
            else
                dl += (size_t)snprintf(divtxt + dl, sizeof divtxt - dl, "%sfold%s %s in epoch %d",
                                       dl ? "; " : "", nf > 1 ? "s" : "", folds, e);
        } else if (!strstr(divtxt, "...")) {
            dl += (size_t)snprintf(divtxt + dl, sizeof divtxt - dl, "; ...");
        }
        n_arrows++;
        fprintf(g, "  set arrow %d from %d, graph 0 to %d, graph 1 nohead dt 2 lw 2 lc rgb \"" C_DIV
                   "\" back\n",
                n_arrows, e, e);
    }
    /* top panel: loss */
    if (n_arrows) {
        char t[600];
        snprintf(t, sizeof t, "loss per epoch; red dashed line%s: diverged %s",
                 n_arrows > 1 ? "s" : "", divtxt);
        fprintf(g, "  set title ");
        gp_quote(g, t);
        fprintf(g, "\n  set ylabel \"" LOSS_LABEL "\"\n"
                   "  set key inside right top " KEY_BOX "\n");
    } else {
        fprintf(g, "  set title \"loss per epoch\"\n  set ylabel \"" LOSS_LABEL "\"\n"
                   "  set key inside right top " KEY_BOX "\n");
    }
    loss_axis(g, cv.lo, cv.hi);
    if (!cv.any_loss) {
        empty_panel(g, "no finished epoch to plot", 1);
    } else {
        const char *sep = "  plot ";
        char mt[100], mv[100];
        if (cell->n_fold_recs > 1) {
            fprintf(g, "%sfor [i=1:%d] \"%s\" index i using 1:2 with lines lw 1 lc rgb \"" C_TRAIN_LIGHT
                       "\" title (i == 1 ? \"train, each fold\" : \"\"), \\\n",
                    sep, cell->n_fold_recs, dat);
            fprintf(g, "       for [i=1:%d] \"%s\" index i using 1:3 with lines lw 1 lc rgb \"" C_VAL_LIGHT
                       "\" title (i == 1 ? \"%s, each fold\" : \"\"), \\\n",
                    cell->n_fold_recs, dat, valname);
            sep = "       ";
            snprintf(mt, sizeof mt, "train, mean of %d folds", cv.n_mean);
            snprintf(mv, sizeof mv, "%s, mean of %d folds", valname, cv.n_mean);
        } else {
            snprintf(mt, sizeof mt, "train");
            snprintf(mv, sizeof mv, "%s", valname);
        }
        fprintf(g, "%s\"%s\" index 0 using 1:2 with linespoints lw 2.5 pt 7 ps 1 lc rgb \"" C_TRAIN
                   "\" title \"%s\", \\\n",
                sep, dat, mt);
        fprintf(g, "       \"%s\" index 0 using 1:3 with linespoints lw 2.5 pt 5 ps 1 lc rgb \"" C_VAL
                   "\" title \"%s\"\n",
                dat, mv);
    }
    /* bottom panel: accuracy */
    fprintf(g, "  set title \"accuracy per epoch\"\n  set ylabel \"accuracy (%%)\"\n"
               ACC_AXIS
               "  set key inside right bottom " KEY_BOX "\n");
    if (!cv.any_acc) {
        empty_panel(g, "no finished epoch to plot", 100);
    } else {
        fprintf(g, "  plot \"%s\" index 0 using 1:4 with linespoints lw 2.5 pt 7 ps 1 lc rgb \"" C_TRAIN
                   "\" title \"train%s\", \\\n",
                dat, cell->n_fold_recs > 1 ? " (mean)" : "");
        fprintf(g, "       \"%s\" index 0 using 1:5 with linespoints lw 2.5 pt 5 ps 1 lc rgb \"" C_VAL
                   "\" title \"%s%s\"\n",
                dat, valname, cell->n_fold_recs > 1 ? " (mean)" : "");
    }
    fprintf(g, "  unset multiplot\n");
    return gp_close(c, name, g, &buf, &len);
}

/* ---- one swept axis: a curve per value ---------------------------------- */

static void curve_color(int i, int n, char *b, size_t len)
{
    if (n <= 10)
        snprintf(b, len, "rgb \"%s\"", tab10[i % 10]);
    else
        snprintf(b, len, "palette frac %.4f", n > 1 ? (double)i / (n - 1) : 0.0);
}

static int plot_sweep(pctx *c, int axis)
{
    const rcn_view_report *r = c->r;
    char name[64], what[200], title[400], data[200];
    int n = 0, any = 0;
    snprintf(name, sizeof name, "sweep_%s", rcn_axis_name(axis));
    for (int i = 0; i < r->n_cells; i++)
        if (r->cells[i].n_fold_recs > 0)
            n++;
    if (n < 2)
        return 0;
    /* does anything have a finite point? (the cell .dat files are written) */
    int max_ep = 1;
    double lo = INFINITY, hi = 0;
    for (int i = 0; i < r->n_folds; i++)
        for (int k = 0; k < r->folds[i].n_epochs; k++) {
            const rcn_view_epoch *e = &r->folds[i].epochs[k];
            any |= isfinite(e->val_loss) || isfinite(e->train_loss);
            track(e->val_loss, &lo, &hi);
            track(e->train_loss, &lo, &hi);
            if (e->epoch > max_ep)
                max_ep = e->epoch;
        }
    for (int i = 0; i < r->n_cells; i++)
        if ((int)r->cells[i].params.v[RCN_AXIS_EPOCHS] > max_ep)
            max_ep = (int)r->cells[i].params.v[RCN_AXIS_EPOCHS];
    if (!any)
        return 0;
    const char *valname = r->kind_test ? "test" : "validation";
    snprintf(what, sizeof what, "sensitivity to the %s: one curve per value",
             rcn_axis_label(axis));
    snprintf(data, sizeof data, "the cell_NNN.dat files (index 0: mean over folds)");
    snprintf(title, sizeof title, "%s: sensitivity to the %s\n%s", r->name,
             rcn_axis_label(axis),
             r->kind_test ? "one training per value, evaluated on the test set"
                          : "mean over the non-diverged folds of each value");
    char *buf = NULL;
    size_t len = 0;
    FILE *g = gp_open(c, &buf, &len, name, what, data, 1000, 820);
    if (!g)
        return -1;
    /* few values: a legend; many: colour by value with a colour bar */
    int many = n > 10;
    double vmin = INFINITY, vmax = -INFINITY;
    char divlist[300] = "";
    size_t dl = 0;
    for (int i = 0; i < r->n_cells; i++) {
        const rcn_view_cell *cell = &r->cells[i];
        if (cell->n_fold_recs == 0)
            continue;
        vmin = fmin(vmin, cell->params.v[axis]);
        vmax = fmax(vmax, cell->params.v[axis]);
        if (cell->status == RCN_VIEW_DIVERGED && dl < 90) {
            char v[40];
            rcn_view_fmt_value(cell->params.v[axis], v, sizeof v);
            dl += (size_t)snprintf(divlist + dl, sizeof divlist - dl, "%s%s", dl ? ", " : "", v);
        } else if (cell->status == RCN_VIEW_DIVERGED && !strstr(divlist, "...")) {
            dl += (size_t)snprintf(divlist + dl, sizeof divlist - dl, ", ...");
        }
    }
    fprintf(g, "  set palette defined (0 \"#440154\", 0.25 \"#3b528b\", 0.5 \"#21918c\", "
               "0.75 \"#5ec962\", 1 \"#e3cc1a\")\n");
    if (many) {
        fprintf(g, "  set colorbox\n  set cbrange [%.9g:%.9g]\n  set cblabel \"%s\"\n"
                   "  unset key\n",
                vmin, vmax > vmin ? vmax : vmin + 1, rcn_axis_label(axis));
    } else {
        fprintf(g, "  unset colorbox\n");
    }
    gp_title(g, "set multiplot layout 2,1 title", title);
    fprintf(g, "  set grid lc rgb \"#cccccc\"\n  set lmargin 12\n");
    if (n > 6 && !many)
        fprintf(g, "  set key outside right top vertical\n");
    epoch_axis(g, max_ep);
    for (int panel = 0; panel < 2; panel++) {
        char pt[500];
        if (panel == 0) {
            if (many)
                snprintf(pt, sizeof pt, "%s loss per epoch; colour: %s%s%s", valname,
                         rcn_axis_label(axis), dl ? "; diverged: " : "", divlist);
            else
                snprintf(pt, sizeof pt, "loss per epoch: solid = %s, dashed = train", valname);
            fprintf(g, "  set title ");
            gp_quote(g, pt);
            fprintf(g, "\n  set ylabel \"" LOSS_LABEL "\"\n");
            loss_axis(g, lo, hi);
            if (n <= 6)
                fprintf(g, "  set key inside right top " KEY_BOX "\n");
        } else {
            if (n <= 6)
                fprintf(g, "  set key inside right bottom " KEY_BOX "\n");
            fprintf(g, "  set title \"%s accuracy per epoch\"\n  set ylabel \"accuracy (%%)\"\n"
                       ACC_AXIS,
                    valname);
        }
        fprintf(g, "  plot ");
        int k = 0;
        for (int i = 0; i < r->n_cells; i++) {
            const rcn_view_cell *cell = &r->cells[i];
            if (cell->n_fold_recs == 0)
                continue;
            char cn[64], col[64], v[40], t[160];
            cell_fig_name(c, cell, cn, sizeof cn);
            if (many)
                snprintf(col, sizeof col, "palette cb %.9g", cell->params.v[axis]);
            else
                curve_color(k, n, col, sizeof col);
            rcn_view_fmt_value(cell->params.v[axis], v, sizeof v);
            if (cell->status == RCN_VIEW_DIVERGED) {
                int ep = 0;
                for (int j = 0; j < cell->n_fold_recs; j++) {
                    const rcn_view_fold *f = &r->folds[cell->first_fold + j];
                    if (f->diverged && (!ep || f->div_epoch < ep))
                        ep = f->div_epoch;
                }
                snprintf(t, sizeof t, "%s = %s (diverged in epoch %d)", rcn_axis_name(axis), v,
                         ep);
            } else {
                snprintf(t, sizeof t, "%s = %s", rcn_axis_name(axis), v);
            }
            fprintf(g, "%s\"%s.dat\" index 0 using 1:%d with linespoints lw 2 pt 7 ps %s lc %s ",
                    k ? ", \\\n       " : "", cn, panel ? 5 : 3, many ? "0.5" : "0.8", col);
            if (many) {
                fprintf(g, "notitle");
            } else {
                fprintf(g, "title ");
                gp_quote(g, t);
            }
            if (panel == 0 && !many)
                fprintf(g, ", \\\n       \"%s.dat\" index 0 using 1:2 with lines lw 1.5 dt 2 lc %s "
                           "notitle",
                        cn, col);
            k++;
        }
        fputc('\n', g);
    }
    fprintf(g, "  unset multiplot\n");
    return gp_close(c, name, g, &buf, &len);
}

/* ---- grouping of cells by the axes a figure does not show --------------- */

/* Group label of a cell over the swept axes other than `skip1`, `skip2`. */
static void group_of(const rcn_view_report *r, const rcn_view_cell *cell, int skip1, int skip2,
                     char *b, size_t n)
{
    size_t used = 0;
    b[0] = 0;
    for (int a = 0; a < RCN_NAXES; a++) {
        if (a == skip1 || a == skip2 || !r->n_values[a] || used >= n)
            continue;
        char v[40];
        rcn_view_fmt_value(cell->params.v[a], v, sizeof v);
        used += (size_t)snprintf(b + used, n - used, "%s%s=%s", used ? "," : "",
                                 rcn_axis_name(a), v);
    }
}

/* Sorted distinct values of an axis over the cells. */
static int distinct(const rcn_view_report *r, int axis, double *out)
{
    int n = 0;
    for (int i = 0; i < r->n_cells; i++) {
        double v = r->cells[i].params.v[axis];
        int j = 0;
        while (j < n && !same(out[j], v))
            j++;
        if (j == n)
            out[n++] = v;
    }
    for (int i = 1; i < n; i++) /* insertion sort: few values */
        for (int j = i; j > 0 && out[j] < out[j - 1]; j--) {
            double t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

static int index_of(const double *v, int n, double x)
{
    for (int i = 0; i < n; i++)
        if (same(v[i], x))
            return i;
    return -1;
}

/* ---- Figure 20: mean loss against learning rate ------------------------- */

static int plot_lr_group(pctx *c, const char *group, const double *lrs, int n_lr)
{
    const rcn_view_report *r = c->r;
    char name[300], gsafe[240], dat[320], what[400], title[600], gb[200];
    const rcn_view_cell **row = calloc((size_t)n_lr, sizeof *row);
    if (!row)
        return rcn_errorf(c->err, "out of memory");
    int n_div = 0, n_inc = 0, n_ok = 0;
    for (int i = 0; i < r->n_cells; i++) {
        const rcn_view_cell *cell = &r->cells[i];
        group_of(r, cell, RCN_AXIS_LR, -1, gb, sizeof gb);
        if (strcmp(gb, group))
            continue;
        int j = index_of(lrs, n_lr, cell->params.v[RCN_AXIS_LR]);
        if (j >= 0 && !row[j])
            row[j] = cell;
    }
    double lo = INFINITY, hi = 0;
    for (int j = 0; j < n_lr; j++) {
        if (!row[j])
            continue;
        n_div += row[j]->status == RCN_VIEW_DIVERGED;
        n_inc += row[j]->status == RCN_VIEW_INCOMPLETE;
        if (isfinite(row[j]->mean_val_loss) || isfinite(row[j]->mean_train_loss))
            n_ok++;
        track(row[j]->mean_train_loss, &lo, &hi);
        track(row[j]->mean_val_loss, &lo, &hi);
    }
    safe_name(group, gsafe, sizeof gsafe);
    snprintf(name, sizeof name, "lr%s%s", group[0] ? "_" : "", gsafe);
    snprintf(dat, sizeof dat, "%s.dat", name);
    int logy = lo > 0 && isfinite(lo) && hi / lo >= 10;
    double top = !n_ok ? 1.0 : logy ? hi * 1.6 : hi * 1.08;
    /* data */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        free(row);
        return rcn_errorf(c->err, "out of memory");
    }
    const char *val = r->kind_test ? "test" : "val";
    fprintf(f, "# %s - mean train and %s loss against learning rate%s%s, search \"%s\"\n", dat,
            val, group[0] ? ", " : "", group, r->name);
    fprintf(f, "# losses: %s; NaN: no mean (diverged or incomplete cell)\n", r->loss_convention);
    fprintf(f, "# status: 0 ok, 1 diverged, 2 incomplete; marker_y: where the plot marks a "
               "diverged/incomplete cell\n");
    fprintf(f, "# lr mean_train_loss mean_%s_loss std_%s_loss status cell marker_y\n", val, val);
    for (int j = 0; j < n_lr; j++) {
        if (!row[j])
            continue;
        fprintf(f, "%.9g", lrs[j]);
        dat_num(f, row[j]->mean_train_loss);
        dat_num(f, row[j]->mean_val_loss);
        dat_num(f, row[j]->std_val_loss);
        fprintf(f, " %d %d %.9g\n", (int)row[j]->status, row[j]->index, top);
    }
    free(row);
    if (save(c, dat, f, &buf, &len))
        return -1;
    /* script */
    const char *valname = r->kind_test ? "test" : "validation";
    snprintf(what, sizeof what, "mean train and %s loss against learning rate%s%s (Figure 20)",
             valname, group[0] ? " for " : "", group);
    char gtxt[240] = "";
    if (group[0])
        snprintf(gtxt, sizeof gtxt, ", %s", group);
    snprintf(title, sizeof title, "%s: mean loss against learning rate%s\n%s", r->name, gtxt,
             r->kind_test ? "one training per cell, evaluated on the test set"
                          : "mean over the folds of each cell (k-fold cross-validation)");
    FILE *g = gp_open(c, &buf, &len, name, what, dat, 1000, 640);
    if (!g)
        return -1;
    gp_title(g, "set title", title);
    fprintf(g, "  set grid lc rgb \"#cccccc\"\n  set bmargin 7\n"
               "  set key at screen 0.5, screen 0.015 center bottom horizontal maxrows 1\n");
    fprintf(g, "  set xlabel \"%s\"\n  set ylabel \"" LOSS_LABEL "\"\n", rcn_axis_label(RCN_AXIS_LR));
    if (n_lr <= 12) {
        gp_value_tics(g, "x", lrs, n_lr, 0);
        fprintf(g, "%s\n", n_lr > 8 ? " rotate by 45 right" : "");
    }
    /* log x when the values are uneven (a list, not a range) and span a decade */
    int even = 1;
    for (int j = 2; j < n_lr; j++)
        even &= fabs((lrs[j] - lrs[j - 1]) - (lrs[1] - lrs[0])) <= 1e-9 * fabs(lrs[n_lr - 1]);
    if (!even && lrs[0] > 0 && lrs[n_lr - 1] / lrs[0] >= 10)
        fprintf(g, "  set logscale x\n");
    double pad = n_lr > 1 ? (lrs[n_lr - 1] - lrs[0]) * 0.04 : fabs(lrs[0]) * 0.1 + 1e-3;
    if (!(!even && lrs[0] > 0 && lrs[n_lr - 1] / lrs[0] >= 10))
        fprintf(g, "  set xrange [%.9g:%.9g]\n", lrs[0] - pad, lrs[n_lr - 1] + pad);
    else
        fprintf(g, "  set xrange [%.9g:%.9g]\n", lrs[0] / 1.25, lrs[n_lr - 1] * 1.25);
    if (logy)
        fprintf(g, "  set logscale y\n");
    fprintf(g, "  set yrange [%s:%.9g]\n", logy ? "*" : "0", top * (logy ? 1.6 : 1.08));
    fprintf(g, "  set format y \"%%g\"\n");
    const char *sep = "  plot ";
    if (n_ok) {
        fprintf(g, "%s\"%s\" using 1:2 with linespoints lw 2.5 pt 7 ps 1.2 lc rgb \"" C_TRAIN
                   "\" title \"mean train loss\", \\\n",
                sep, dat);
        fprintf(g, "       \"%s\" using 1:3 with linespoints lw 2.5 pt 5 ps 1.2 lc rgb \"" C_VAL
                   "\" title \"mean %s loss\"",
                dat, valname);
        sep = ", \\\n       ";
    }
    if (n_div) {
        fprintf(g, "%s\"%s\" using 1:($5 == 1 ? $7 : NaN) with points pt 2 ps 2.5 lw 3 lc rgb \"" C_DIV
                   "\" title \"diverged cell (no mean)\"",
                sep, dat);
        sep = ", \\\n       ";
    }
    if (n_inc) {
        fprintf(g, "%s\"%s\" using 1:($5 == 2 ? $7 : NaN) with points pt 6 ps 2 lw 2 lc rgb "
                   "\"#808080\" title \"incomplete cell\"",
                sep, dat);
        sep = ", \\\n       ";
    }
    if (!n_ok && !n_div && !n_inc)
        fprintf(g, "%s2 notitle", sep);
    fputc('\n', g);
    return gp_close(c, name, g, &buf, &len);
}

/* ---- heatmap: mean val loss over batch size x learning rate ------------- */

static int plot_heatmap(pctx *c, const char *group, const double *lrs, int n_lr,
                        const double *bss, int n_bs)
{
    const rcn_view_report *r = c->r;
    char name[300], gsafe[240], dat[320], what[400], title[600], gb[200];
    double lo = INFINITY, hi = 0;
    int n_val = 0, n_div = 0, n_inc = 0, n_elim = 0;
    safe_name(group, gsafe, sizeof gsafe);
    snprintf(name, sizeof name, "heatmap%s%s", group[0] ? "_" : "", gsafe);
    snprintf(dat, sizeof dat, "%s.dat", name);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return rcn_errorf(c->err, "out of memory");
    const char *val = r->kind_test ? "test" : "val";
    fprintf(f, "# %s - mean %s loss per cell over batch size x learning rate%s%s, search \"%s\"\n",
            dat, val, group[0] ? ", " : "", group, r->name);
    fprintf(f, "# losses: %s; NaN: no mean; status: 0 ok, 1 diverged, 2 incomplete%s\n",
            r->loss_convention, r->has_race ? ", 3 eliminated" : "");
    fprintf(f, "# x_index y_index lr batch_size mean_%s_loss status cell%s\n", val,
            r->has_race ? " rung (the last the cell entered)" : "");
    int best_x = -1, best_y = -1;
    for (int i = 0; i < r->n_cells; i++) {
        const rcn_view_cell *cell = &r->cells[i];
        group_of(r, cell, RCN_AXIS_LR, RCN_AXIS_BATCH, gb, sizeof gb);
        if (strcmp(gb, group))
            continue;
        int x = index_of(lrs, n_lr, cell->params.v[RCN_AXIS_LR]);
        int y = index_of(bss, n_bs, cell->params.v[RCN_AXIS_BATCH]);
        if (x < 0 || y < 0)
            continue;
        if (r->best >= 0 && cell == &r->cells[r->best])
            best_x = x, best_y = y;
        fprintf(f, "%d %d %.9g %.9g", x, y, lrs[x], bss[y]);
        dat_num(f, cell->mean_val_loss);
        fprintf(f, " %d %d", (int)cell->status, cell->index);
        if (r->has_race)
            fprintf(f, " %d", cell->race_rung);
        fputc('\n', f);
        if (isfinite(cell->mean_val_loss) && cell->mean_val_loss > 0 &&
            cell->status != RCN_VIEW_ELIMINATED) {
            n_val++;
            track(cell->mean_val_loss, &lo, &hi);
        }
        n_div += cell->status == RCN_VIEW_DIVERGED;
        n_inc += cell->status == RCN_VIEW_INCOMPLETE;
        n_elim += cell->status == RCN_VIEW_ELIMINATED;
    }
    if (save(c, dat, f, &buf, &len))
        return -1;
    const char *valname = r->kind_test ? "test" : "validation";
    snprintf(what, sizeof what, "heatmap of the mean %s loss over batch size x learning rate%s%s",
             valname, group[0] ? " for " : "", group);
    char gtxt[240] = "";
    if (group[0])
        snprintf(gtxt, sizeof gtxt, " (%s)", group);
    snprintf(title, sizeof title, "%s: mean %s loss per cell%s\n"
                                  "batch size x learning rate; lower is better%s%s%s%s",
             r->name, valname, gtxt, best_x >= 0 ? "; black frame: best cell" : "",
             n_div ? "; red hatched: diverged (no mean)" : "",
             n_inc ? "; grey: incomplete" : "",
             n_elim ? "\npale rN: eliminated at rung N (its mean covers fewer folds/epochs)" : "");
    int w = 260 + 44 * n_lr, h = 200 + 46 * n_bs;
    w = w < 760 ? 760 : w > 2400 ? 2400 : w;
    h = h < 460 ? 460 : h > 1600 ? 1600 : h;
    int labels = n_lr <= 14 && n_lr * n_bs <= 150;
    FILE *g = gp_open(c, &buf, &len, name, what, dat, w, h);
    if (!g)
        return -1;
    gp_title(g, "set title", title);
    fprintf(g, "  set xlabel \"%s\"\n  set ylabel \"%s\"\n", rcn_axis_label(RCN_AXIS_LR),
            rcn_axis_label(RCN_AXIS_BATCH));
    fprintf(g, "  set xrange [-0.5:%g]\n  set yrange [-0.5:%g]\n", n_lr - 0.5, n_bs - 0.5);
    gp_value_tics(g, "x", lrs, n_lr, 1);
    fprintf(g, "%s\n", n_lr > 10 ? " rotate by 60 right" : "");
    gp_value_tics(g, "y", bss, n_bs, 1);
    fprintf(g, "\n  set tics scale 0\n  unset grid\n");
    fprintf(g, "  set palette defined (0 \"#440154\", 0.25 \"#3b528b\", 0.5 \"#21918c\", "
               "0.75 \"#5ec962\", 1 \"#fde725\")\n");
    fprintf(g, "  set cblabel \"mean %s loss (cross-entropy per sample)\"\n", valname);
    if (n_val && hi / lo >= 10) {
        fprintf(g, "  set logscale cb\n  set format cb \"%%g\"\n  set autoscale cbfix\n");
        log_tics(g, "cb", lo, hi);
    }
    if (n_val && hi == lo)
        fprintf(g, "  set cbrange [%.9g:%.9g]\n", lo * 0.9, hi * 1.1);
    fprintf(g, "  unset key\n  set style textbox opaque noborder\n");
    if (best_x >= 0)
        fprintf(g, "  set object 1 rect from %g, %g to %g, %g front fillstyle empty border "
                   "lc rgb \"black\" lw 4\n",
                best_x - 0.5, best_y - 0.5, best_x + 0.5, best_y + 0.5);
    const char *sep = "  plot ";
    if (n_val) {
        fprintf(g, "%s\"%s\" using 1:2:(0.5):(0.5):%s with boxxyerror fs solid 1.0 noborder "
                   "lc palette notitle",
                sep, dat, n_elim ? "($6 == 3 ? NaN : $5)" : "5");
        sep = ", \\\n       ";
    } else {
        fprintf(g, "  unset colorbox\n");
    }
    if (n_div) {
        fprintf(g, "%s\"%s\" using 1:($6 == 1 ? $2 : NaN):(0.5):(0.5) with boxxyerror fs solid 1.0 "
                   "noborder fc rgb \"white\" notitle, \\\n"
                   "       \"%s\" using 1:($6 == 1 ? $2 : NaN):(0.5):(0.5) with boxxyerror fs pattern 2 "
                   "border lc rgb \"" C_DIV "\" fc rgb \"" C_DIV "\" lw 1.5 title \"diverged cell (no mean)\"",
                sep, dat, dat);
        sep = ", \\\n       ";
    }
    if (n_inc) {
        fprintf(g, "%s\"%s\" using 1:($6 == 2 ? $2 : NaN):(0.5):(0.5) with boxxyerror fs solid 1.0 "
                   "noborder fc rgb \"#d9d9d9\" title \"incomplete cell\"",
                sep, dat);
        sep = ", \\\n       ";
    }
    if (n_elim) {
        fprintf(g, "%s\"%s\" using 1:($6 == 3 ? $2 : NaN):(0.5):(0.5) with boxxyerror fs solid 1.0 "
                   "noborder fc rgb \"" C_ELIM "\" title \"eliminated cell (rN: at rung N)\"",
                sep, dat);
        sep = ", \\\n       ";
    }
    if (labels) {
        fprintf(g, "%s\"%s\" using 1:2:($6 == 0 ? sprintf(\"%%.4g\", $5) : $6 == 1 ? \"diverged\" : "
                   "%s\"incomplete\") with labels boxed font \",9\" notitle",
                sep, dat, r->has_race ? "$6 == 3 ? sprintf(\"r%d\", $8) : " : "");
        sep = ", \\\n       ";
    }
    if (!strcmp(sep, "  plot "))
        fprintf(g, "%s2 notitle", sep);
    fputc('\n', g);
    return gp_close(c, name, g, &buf, &len);
}

/* For each group of the other axes (in cell order): Figure 20 per group
 * (mode 0), or a heatmap per group of the axes other than lr and batch. */
static int for_groups(pctx *c, int mode, const double *lrs, int n_lr, const double *bss, int n_bs)
{
    const rcn_view_report *r = c->r;
    char (*seen)[200] = calloc((size_t)r->n_cells + 1, sizeof *seen);
    int n_seen = 0, rc = 0;
    if (!seen)
        return rcn_errorf(c->err, "out of memory");
    for (int i = 0; i < r->n_cells && !rc; i++) {
        char gb[200];
        group_of(r, &r->cells[i], RCN_AXIS_LR, mode ? RCN_AXIS_BATCH : -1, gb, sizeof gb);
        int j = 0;
        while (j < n_seen && strcmp(seen[j], gb))
            j++;
        if (j < n_seen)
            continue;
        snprintf(seen[n_seen++], sizeof seen[0], "%s", gb);
        rc = mode ? plot_heatmap(c, gb, lrs, n_lr, bss, n_bs) : plot_lr_group(c, gb, lrs, n_lr);
    }
    free(seen);
    return rc;
}

int rcn_view_plot(const rcn_view_report *r, const char *dir, const char *gnuplot,
                  int *n_figures, rcn_error *err)
{
    pctx c = {0};
    int rc = -1, swept = 0, the_axis = -1;
    double *lrs = NULL, *bss = NULL;
    c.r = r;
    c.dir = dir;
    c.err = err;
    if (n_figures)
        *n_figures = 0;
    if (rcn_mkdir_p(dir, err))
        return -1;
    c.all = open_memstream(&c.all_buf, &c.all_len);
    if (!c.all)
        return rcn_errorf(err, "out of memory");
    fprintf(c.all, "# plots.gp - draws every figure of this folder (search \"%s\", %s):\n"
                   "# run `gnuplot plots.gp` here; each NAME.gp also runs alone.\n",
            r->name, r->source);
    for (int i = 0; i < r->n_cells; i++)
        if (r->cells[i].n_fold_recs > 0 && plot_cell(&c, &r->cells[i]))
            goto out;
    for (int a = 0; a < RCN_NAXES; a++)
        if (r->n_values[a]) {
            swept++;
            the_axis = a;
        }
    if (swept == 1 && plot_sweep(&c, the_axis))
        goto out;
    lrs = calloc((size_t)r->n_cells + 1, sizeof *lrs);
    bss = calloc((size_t)r->n_cells + 1, sizeof *bss);
    if (!lrs || !bss) {
        rcn_errorf(err, "out of memory");
        goto out;
    }
    int n_lr = distinct(r, RCN_AXIS_LR, lrs), n_bs = distinct(r, RCN_AXIS_BATCH, bss);
    if (r->n_values[RCN_AXIS_LR] && n_lr >= 2 && for_groups(&c, 0, lrs, n_lr, bss, n_bs))
        goto out;
    if (r->n_values[RCN_AXIS_LR] && r->n_values[RCN_AXIS_BATCH] && n_lr * n_bs >= 2 &&
        for_groups(&c, 1, lrs, n_lr, bss, n_bs))
        goto out;
    if (save(&c, "plots.gp", c.all, &c.all_buf, &c.all_len)) {
        c.all = NULL;
        goto out;
    }
    c.all = NULL;
    if (c.n_fig == 0) {
        rcn_errorf(err, "%s: nothing to plot yet (no fold has finished)", r->source);
        goto out;
    }
    if (rcn_view_run_gnuplot(gnuplot, dir, "plots.gp", err))
        goto out;
    for (int i = 0; i < c.n_fig; i++) {
        const char *ext[] = {"png", "svg"};
        for (int e = 0; e < 2; e++) {
            char p[4400];
            struct stat st;
            snprintf(p, sizeof p, "%s/%s.%s", dir, c.names[i], ext[e]);
            if (stat(p, &st) != 0 || st.st_size == 0) {
                rcn_errorf(err, "%s: gnuplot did not draw it (see %s/gnuplot.log)", p, dir);
                goto out;
            }
        }
    }
    if (n_figures)
        *n_figures = c.n_fig;
    rc = 0;
out:
    if (c.all) {
        fclose(c.all);
        free(c.all_buf);
    }
    for (int i = 0; i < c.n_fig; i++)
        free(c.names[i]);
    free(c.names);
    free(lrs);
    free(bss);
    return rc;
}
