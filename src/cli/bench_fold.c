/* bench_fold.c - `rcn bench --fold`: one real fold of a search on real
 * data, run by the search's own code (rcn_fold_runner, rcn_fold_run,
 * rcn_train), timed in process CPU time with the training's profile
 * (rcn_train_profile), and set against the step-rate model: what the
 * fold would cost if it were nothing but training steps and inference
 * passes at the rates rcn bench measures. The difference is the fold's
 * overhead, broken down by where it goes. */
#include "bench_fold.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rcn/clock.h"
#include "rcn/data.h"
#include "rcn/jsonutil.h"
#include "rcn/plan.h"

/* Runs fold 0 of cell 0 (batch, epochs, lr 0.05, momentum 0.5) on `ds`. */
static int run_fold(const rcn_arch *a, int batch, const rcn_bench_fold_opts *o,
                    const rcn_dataset *ds, rcn_bench_fold *f, rcn_error *err)
{
    rcn_fold_spec spec = {.arch = *a, .diverge_threshold = 1000, .seed = 1, .threads = 1,
                          .kind = RCN_VALID_KFOLD, .folds = RCN_BENCH_FOLD_K, .n_cells = 1};
    if (o->fold_images > 0)
        spec.train_limit = (o->fold_images * RCN_BENCH_FOLD_K + RCN_BENCH_FOLD_K - 2) /
                           (RCN_BENCH_FOLD_K - 1);
    snprintf(spec.job_hash, sizeof spec.job_hash, "bench");
    rcn_plan_cell cell = {.index = 0, .batch_size = batch, .epochs = o->epochs, .lr = 0.05,
                          .momentum = 0.5};
    snprintf(cell.key, sizeof cell.key, "bench");
    rcn_fold_runner *r = rcn_fold_runner_create(&spec, &cell, ds, NULL, err);
    if (!r)
        return -1;
    rcn_train_result *res = rcn_train_result_create(o->epochs, err);
    if (!res) {
        rcn_fold_runner_destroy(r);
        return -1;
    }
    f->train_images = rcn_fold_train_size(r, 0);
    f->val_images = (spec.train_limit > 0 && spec.train_limit < ds->n ? spec.train_limit
                                                                       : ds->n) -
                    f->train_images;
    memset(&f->prof, 0, sizeof f->prof);
    rcn_train_hooks hooks = {.profile = &f->prof};
    double w0 = rcn_clock(), c0 = rcn_cpu_clock();
    int rc = rcn_fold_run(r, 0, 0, o->epochs, &hooks, res, err);
    f->cpu_seconds = rcn_cpu_clock() - c0;
    f->wall_seconds = rcn_clock() - w0;
    f->setup_cpu_seconds = f->cpu_seconds - f->prof.total;
    f->epochs = o->epochs;
    f->epochs_trained = res->n_epochs;
    f->diverged = res->diverged;
    rcn_train_result_free(res);
    rcn_fold_runner_destroy(r);
    return rc;
}

int rcn_bench_fold_run(const rcn_arch *a, int batch, const rcn_bench_fold_opts *o,
                       rcn_bench_fold *f, rcn_error *err)
{
    memset(f, 0, sizeof *f);
    snprintf(f->data_dir, sizeof f->data_dir, "%s", o->data_dir);
    char images[RCN_PATH_MAX], labels[RCN_PATH_MAX];
    rcn_dataset ds;
    if (rcn_dataset_resolve(o->data_dir, "train", images, labels, sizeof images, err) ||
        rcn_dataset_load(images, labels, &ds, err))
        return rcn_error_prefix(err, "--data");
    if (ds.n < RCN_BENCH_FOLD_K) {
        rcn_dataset_free(&ds);
        return rcn_errorf(err, "--data %s: %lld training images, fewer than the %d folds",
                          o->data_dir, (long long)ds.n, RCN_BENCH_FOLD_K);
    }
    int rc = run_fold(a, batch, o, &ds, f, err);
    rcn_dataset_free(&ds);
    return rc;
}

/* ---- the model and the breakdown ------------------------------------------ */

enum { P_STEPS, P_LOAD, P_SHUFFLE, P_VAL_FWD, P_VAL_LOAD, P_BOOK, P_SETUP, P_N };
static const char *part_key[P_N] = {"train_steps", "train_batch_assembly", "shuffle",
                                    "validation_forward", "validation_batch_assembly",
                                    "epoch_bookkeeping", "setup"};
static const char *part_text[P_N] = {"training steps", "training batch assembly", "shuffling",
                                     "validation forward", "validation batch assembly",
                                     "per-epoch bookkeeping", "setup (network, init)"};

typedef struct {
    double model_train, model_eval, model, overhead; /* overhead: fraction */
    double part[P_N];
    double train_ips, eval_ips; /* the fold's own rates (setup excluded) */
} fold_model;

/* The model at the measured rates, over the images the fold actually ran
 * (all of them unless it diverged). */
static fold_model model_of(const rcn_bench_fold *f, double train_ips, double eval_ips)
{
    const rcn_train_profile *p = &f->prof;
    fold_model m;
    m.model_train = (double)p->train_images / train_ips;
    m.model_eval = (double)p->val_images / eval_ips;
    m.model = m.model_train + m.model_eval;
    m.overhead = f->cpu_seconds / m.model - 1.0;
    m.part[P_STEPS] = p->train_step;
    m.part[P_LOAD] = p->train_load;
    m.part[P_SHUFFLE] = p->shuffle;
    m.part[P_VAL_FWD] = p->val_forward;
    m.part[P_VAL_LOAD] = p->val_load;
    m.part[P_BOOK] = rcn_train_profile_rest(p);
    m.part[P_SETUP] = f->setup_cpu_seconds;
    double tr = p->train_step + p->train_load + p->shuffle + m.part[P_BOOK];
    double ev = p->val_forward + p->val_load;
    m.train_ips = tr > 0 ? (double)p->train_images / tr : NAN;
    m.eval_ips = ev > 0 ? (double)p->val_images / ev : NAN;
    return m;
}

json_t *rcn_bench_fold_json(const rcn_bench_fold *f, double train_ips, double eval_ips)
{
    fold_model m = model_of(f, train_ips, eval_ips);
    json_t *j = json_object();
    json_object_set_new(j, "data", json_string(f->data_dir));
    json_object_set_new(j, "folds", json_integer(RCN_BENCH_FOLD_K));
    json_object_set_new(j, "train_images", json_integer(f->train_images));
    json_object_set_new(j, "validation_images", json_integer(f->val_images));
    json_object_set_new(j, "epochs", json_integer(f->epochs));
    json_object_set_new(j, "epochs_trained", json_integer(f->epochs_trained));
    json_object_set_new(j, "diverged", json_boolean(f->diverged));
    json_object_set_new(j, "fold_cpu_seconds", rcn_json_num(f->cpu_seconds));
    json_object_set_new(j, "fold_wall_seconds", rcn_json_num(f->wall_seconds));
    json_object_set_new(j, "train_images_per_cpu_second", rcn_json_num(train_ips));
    json_object_set_new(j, "eval_images_per_cpu_second", rcn_json_num(eval_ips));
    json_object_set_new(j, "model_train_cpu_seconds", rcn_json_num(m.model_train));
    json_object_set_new(j, "model_eval_cpu_seconds", rcn_json_num(m.model_eval));
    json_object_set_new(j, "model_cpu_seconds", rcn_json_num(m.model));
    json_object_set_new(j, "overhead_percent", rcn_json_num(100.0 * m.overhead));
    json_object_set_new(j, "fold_train_images_per_cpu_second", rcn_json_num(m.train_ips));
    json_object_set_new(j, "fold_eval_images_per_cpu_second", rcn_json_num(m.eval_ips));
    json_t *b = json_object();
    for (int i = 0; i < P_N; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "cpu_seconds", rcn_json_num(m.part[i]));
        json_object_set_new(e, "percent_of_fold", rcn_json_num(100.0 * m.part[i] / f->cpu_seconds));
        json_object_set_new(b, part_key[i], e);
    }
    json_object_set_new(j, "breakdown", b);
    json_object_set_new(j, "train_batches", json_integer(f->prof.train_batches));
    json_object_set_new(j, "validation_batches", json_integer(f->prof.val_batches));
    return j;
}

void rcn_bench_fold_print(const rcn_bench_fold *f, double train_ips, double eval_ips)
{
    fold_model m = model_of(f, train_ips, eval_ips);
    printf("  fold (%s, %d-fold split): %lld training + %lld validation images x %d "
           "epoch%s%s\n",
           f->data_dir, RCN_BENCH_FOLD_K, (long long)f->train_images, (long long)f->val_images,
           f->epochs, f->epochs == 1 ? "" : "s", f->diverged ? " (diverged)" : "");
    printf("    fold:     %9.3f s CPU (%.3f s wall)\n", f->cpu_seconds, f->wall_seconds);
    printf("    model:    %9.3f s CPU = %lld / %.1f train img/CPU-s + %lld / %.1f eval "
           "img/CPU-s\n",
           m.model, (long long)f->prof.train_images, train_ips, (long long)f->prof.val_images,
           eval_ips);
    printf("    overhead: %8.1f%% (fold / model - 1)\n", 100.0 * m.overhead);
    printf("    where the fold's CPU time goes (model: training %.3f s, validation %.3f s):\n",
           m.model_train, m.model_eval);
    for (int i = 0; i < P_N; i++)
        printf("      %-26s %9.3f s  %5.1f%%\n", part_text[i], m.part[i],
               100.0 * m.part[i] / f->cpu_seconds);
    printf("    fold rates: %.1f train img/CPU-s, %.1f validation img/CPU-s (setup excluded)\n",
           m.train_ips, m.eval_ips);
}
