/* csv.c - a report's cells as CSV in scikit-learn's cv_results_ column
 * names, so that pandas.read_csv gives the frame a GridSearchCV user knows;
 * or one row per fold and epoch. Scores follow scikit-learn's convention,
 * higher is better: a test score is the negated mean per-sample
 * cross-entropy (scoring="neg_log_loss"); the losses themselves are in
 * rcn's own columns. Null numbers are empty fields (NaN in pandas). */
#include "rcn/view.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* A number in its shortest exact spelling; NaN: an empty field. */
static void field(FILE *f, double x, double sign)
{
    char b[64];
    if (isnan(x))
        return;
    rcn_view_fmt_value(sign * x, b, sizeof b);
    fputs(b, f);
}

/* The next field: a comma, then the number. */
static void num(FILE *f, double x, double sign)
{
    fputc(',', f);
    field(f, x, sign);
}

/* A field quoted as RFC 4180 says (the key holds commas). */
static void quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void param_heads(FILE *f)
{
    for (int a = 0; a < RCN_NAXES; a++)
        fprintf(f, ",param_%s", rcn_axis_name(a));
    fputs(",params", f);
}

static void param_values(FILE *f, const rcn_view_cell *c)
{
    for (int a = 0; a < RCN_NAXES; a++)
        num(f, c->params.v[a], 1);
    fputc(',', f);
    quoted(f, c->key);
}

/* The fold record of cell c with fold number `fold`, or NULL. */
static const rcn_view_fold *fold_of(const rcn_view_report *r, const rcn_view_cell *c, int fold)
{
    for (int i = 0; i < c->n_fold_recs; i++)
        if (r->folds[c->first_fold + i].fold == fold)
            return &r->folds[c->first_fold + i];
    return NULL;
}

/* Population standard deviation (numpy's default, as cv_results_) of the
 * folds' fit times; NaN when no fold has one. */
static double std_fit_time(const rcn_view_report *r, const rcn_view_cell *c)
{
    double s = 0, s2 = 0;
    int n = 0;
    for (int i = 0; i < c->n_fold_recs; i++) {
        double t = r->folds[c->first_fold + i].seconds;
        if (isfinite(t))
            s += t, s2 += t * t, n++;
    }
    if (!n)
        return NAN;
    double m = s / n, v = s2 / n - m * m;
    return sqrt(v > 0 ? v : 0);
}

static const char *status_name(rcn_view_cell_status s)
{
    return s == RCN_VIEW_OK ? "ok" : s == RCN_VIEW_DIVERGED ? "diverged" : "incomplete";
}

static void cells_csv(FILE *f, const rcn_view_report *r)
{
    int k = r->k > 0 ? r->k : 1;
    fputs("mean_fit_time,std_fit_time", f);
    param_heads(f);
    for (int i = 0; i < k; i++)
        fprintf(f, ",split%d_test_score", i);
    fputs(",mean_test_score,std_test_score,rank_test_score", f);
    for (int i = 0; i < k; i++)
        fprintf(f, ",split%d_train_score", i);
    fputs(",mean_train_score,std_train_score,cell,status,n_folds_done,n_diverged,"
          "mean_val_loss,std_val_loss,mean_train_loss,std_train_loss,mean_val_accuracy\n", f);
    for (int j = 0; j < r->n_cells; j++) {
        const rcn_view_cell *c = &r->cells[j];
        field(f, c->mean_fit_time, 1);
        num(f, std_fit_time(r, c), 1);
        param_values(f, c);
        for (int i = 0; i < k; i++) {
            const rcn_view_fold *fo = fold_of(r, c, i);
            num(f, fo ? fo->val_loss : NAN, -1);
        }
        num(f, c->mean_val_loss, -1);
        num(f, c->std_val_loss, 1);
        if (c->rank > 0)
            fprintf(f, ",%d", c->rank);
        else
            fputc(',', f);
        for (int i = 0; i < k; i++) {
            const rcn_view_fold *fo = fold_of(r, c, i);
            num(f, fo ? fo->train_loss : NAN, -1);
        }
        num(f, c->mean_train_loss, -1);
        num(f, c->std_train_loss, 1);
        fprintf(f, ",%d,%s,%d,%d", c->index, status_name(c->status), c->n_folds_done,
                c->n_diverged);
        num(f, c->mean_val_loss, 1);
        num(f, c->std_val_loss, 1);
        num(f, c->mean_train_loss, 1);
        num(f, c->std_train_loss, 1);
        num(f, c->mean_val_acc, 1);
        fputc('\n', f);
    }
}

static void folds_csv(FILE *f, const rcn_view_report *r)
{
    fputs("cell,fold,epoch", f);
    param_heads(f);
    fputs(",train_loss,train_accuracy,val_loss,val_accuracy,epoch_seconds,images_per_second,"
          "fold_diverged,fold_fit_time\n", f);
    for (int j = 0; j < r->n_cells; j++) {
        const rcn_view_cell *c = &r->cells[j];
        for (int i = 0; i < c->n_fold_recs; i++) {
            const rcn_view_fold *fo = &r->folds[c->first_fold + i];
            assert(fo->cell == c->index);
            for (int e = 0; e < fo->n_epochs; e++) {
                const rcn_view_epoch *x = &fo->epochs[e];
                fprintf(f, "%d,%d,%d", c->index, fo->fold, x->epoch);
                param_values(f, c);
                num(f, x->train_loss, 1);
                num(f, x->train_acc, 1);
                num(f, x->val_loss, 1);
                num(f, x->val_acc, 1);
                num(f, x->seconds, 1);
                num(f, x->images_per_second, 1);
                fprintf(f, ",%d", fo->diverged);
                num(f, fo->seconds, 1);
                fputc('\n', f);
            }
        }
    }
}

int rcn_view_csv(FILE *f, const rcn_view_report *r, int per_fold, rcn_error *err)
{
    if (per_fold)
        folds_csv(f, r);
    else
        cells_csv(f, r);
    if (ferror(f))
        return rcn_errorf(err, "cannot write the CSV (output error)");
    return 0;
}
