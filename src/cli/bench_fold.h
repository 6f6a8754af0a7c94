/* bench_fold.h - internal interface of `rcn bench --fold` (bench_fold.c):
 * one real fold of a search, timed, and its cost against the step-rate
 * model that rcn bench measures (images / training rate + validation
 * images / inference rate). */
#ifndef RCN_CLI_BENCH_FOLD_H
#define RCN_CLI_BENCH_FOLD_H

#include <jansson.h>
#include <stdint.h>

#include "rcn/error.h"
#include "rcn/fold.h"
#include "rcn/net.h"
#include "rcn/train.h"

/* The fold's folds: a job's k-fold split, 9/10 trained, 1/10 validated. */
#define RCN_BENCH_FOLD_K 10

typedef struct {
    const char *data_dir; /* the IDX training set (train-images-idx3-ubyte, ...) */
    int epochs;           /* 1..RCN_MAX_EPOCHS */
    int64_t fold_images;  /* about this many training images; 0: the whole set */
} rcn_bench_fold_opts;

typedef struct {
    char data_dir[RCN_PATH_MAX];
    int64_t train_images, val_images; /* per epoch */
    int epochs, epochs_trained, diverged;
    double cpu_seconds, wall_seconds; /* the whole fold (rcn_fold_run) */
    double setup_cpu_seconds;         /* of which the network's creation and
                                       * initialisation, outside rcn_train */
    rcn_train_profile prof;           /* the training's own breakdown */
} rcn_bench_fold;

/* Loads the training set of o->data_dir and runs fold 0 of a
 * RCN_BENCH_FOLD_K-fold split of it (or of a subset of about
 * fold_images * K / (K - 1) images) the way a search runs a fold
 * (rcn_fold_run: lr 0.05, momentum 0.5, seed 1, no checkpoints), timing it. */
int rcn_bench_fold_run(const rcn_arch *a, int batch, const rcn_bench_fold_opts *o,
                       rcn_bench_fold *f, rcn_error *err);

/* The fold against the model at the measured rates (images per CPU
 * second of training steps and of inference at the fold's batch size):
 * the "fold" object of rcn bench --json (keys in bench.c's help). */
json_t *rcn_bench_fold_json(const rcn_bench_fold *f, double train_ips, double eval_ips);

/* The same for people. */
void rcn_bench_fold_print(const rcn_bench_fold *f, double train_ips, double eval_ips);

#endif
