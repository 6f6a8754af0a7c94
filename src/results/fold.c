/* fold.c - runs one fold job (see include/rcn/fold.h): the deterministic
 * subset and fold split, the rank's one network, and rcn_train.
 *
 * A rank holds one network at a time, sized for the current job's batch
 * size, so its memory is one network's, whatever the grid. The dispatcher
 * hands out jobs in cost order, and jobs of one batch size cost the same,
 * so they come in runs and the network is rebuilt only between runs. */
#include "rcn/fold.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcn/checkpoint.h"

struct rcn_fold_runner {
    rcn_fold_spec spec;
    const rcn_plan_cell *cells;
    const rcn_dataset *train, *test;
    int32_t *base;      /* the training subset: dataset indices, ascending */
    int64_t n_base;
    int32_t *fold_of;   /* per position of base: its fold */
    int64_t *fold_size; /* per fold: validation size */
    int32_t *train_idx, *val_idx, *test_idx;
    rcn_net *net; /* sized for net_batch; NULL before the first job */
    int net_batch;
    char warning[RCN_ERROR_MAX]; /* the last checkpoint not saved; "" if none */
};

void rcn_fold_spec_from_job(const rcn_job *job, rcn_fold_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->arch = job->arch;
    spec->weight_decay = job->weight_decay;
    spec->diverge_threshold = job->diverge_threshold;
    spec->seed = job->seed;
    spec->threads = job->threads;
    spec->kind = job->valid_kind;
    spec->folds = job->valid_kind == RCN_VALID_KFOLD ? job->folds : 1;
    spec->n_cells = job->plan.n_cells;
    spec->train_limit = job->train_limit;
    snprintf(spec->job_hash, sizeof spec->job_hash, "%s", job->hash);
    rcn_ckpt_dir_for_report(job->output, spec->ckpt_dir, sizeof spec->ckpt_dir);
}

void rcn_fold_runner_destroy(rcn_fold_runner *r)
{
    if (!r)
        return;
    rcn_net_destroy(r->net);
    free(r->base);
    free(r->fold_of);
    free(r->fold_size);
    free(r->train_idx);
    free(r->val_idx);
    free(r->test_idx);
    free(r);
}

rcn_fold_runner *rcn_fold_runner_create(const rcn_fold_spec *spec, const rcn_plan_cell *cells,
                                        const rcn_dataset *train, const rcn_dataset *test,
                                        rcn_error *err)
{
    int64_t n = spec->train_limit > 0 && spec->train_limit < train->n ? spec->train_limit
                                                                      : train->n;
    int k = spec->folds;
    rcn_fold_runner *r = calloc(1, sizeof *r);
    if (!r) {
        rcn_errorf(err, "fold runner: out of memory");
        return NULL;
    }
    r->spec = *spec;
    r->cells = cells;
    r->train = train;
    r->test = test;
    r->n_base = n;
    r->base = malloc((size_t)n * sizeof *r->base);
    r->fold_of = malloc((size_t)n * sizeof *r->fold_of);
    r->fold_size = calloc((size_t)k + 1, sizeof *r->fold_size);
    r->train_idx = malloc((size_t)n * sizeof *r->train_idx);
    r->val_idx = malloc((size_t)n * sizeof *r->val_idx);
    if (test && test->n > 0)
        r->test_idx = malloc((size_t)test->n * sizeof *r->test_idx);
    if (!r->base || !r->fold_of || !r->fold_size || !r->train_idx || !r->val_idx ||
        (test && test->n > 0 && !r->test_idx)) {
        rcn_fold_runner_destroy(r);
        rcn_errorf(err, "fold runner: out of memory for index arrays of %lld images",
                   (long long)n);
        return NULL;
    }
    rcn_subset(train->n, n, spec->seed, r->base);
    if (spec->kind == RCN_VALID_KFOLD) {
        rcn_folds_assign(n, k, spec->seed, r->fold_of);
        for (int64_t i = 0; i < n; i++)
            r->fold_size[r->fold_of[i]]++;
    }
    for (int64_t i = 0; test && i < test->n; i++)
        r->test_idx[i] = (int32_t)i;
    return r;
}

int64_t rcn_fold_train_size(const rcn_fold_runner *r, int fold)
{
    if (r->spec.kind == RCN_VALID_KFOLD && fold < r->spec.folds)
        return r->n_base - r->fold_size[fold];
    return r->n_base;
}

/* The network for `batch` (max batch exactly `batch`, so evaluation
 * chunks, and hence results, do not depend on what ran before). */
static rcn_net *net_for(rcn_fold_runner *r, int batch, rcn_error *err)
{
    if (r->net && r->net_batch == batch)
        return r->net;
    rcn_net_destroy(r->net);
    r->net = rcn_net_create(&r->spec.arch, batch, err);
    r->net_batch = r->net ? batch : 0;
    return r->net;
}

int rcn_fold_max_epochs(const rcn_fold_runner *r)
{
    int m = 1;
    for (int c = 0; c < r->spec.n_cells; c++)
        m = r->cells[c].epochs > m ? r->cells[c].epochs : m;
    return m;
}

/* A fold's checkpointing: after_epoch hook data. */
typedef struct {
    const rcn_train_hooks *caller; /* may be NULL */
    rcn_fold_runner *runner;
    rcn_ckpt_id id;
    int cell_epochs;
    char path[RCN_PATH_MAX + 64];
} fold_ckpt;

/* Saves a checkpoint after every epoch short of the cell's last (after the
 * last, the fold's result is final: nothing is left to continue). One that
 * cannot be written (a full disk) does not stop the training: a checkpoint
 * only saves work, the fold's result never depends on it. The runner keeps
 * the reason for its caller to report. */
static int save_ckpt(rcn_net *net, const rcn_train_result *res, void *ud, rcn_error *err)
{
    fold_ckpt *k = ud;
    if (k->caller && k->caller->after_epoch &&
        k->caller->after_epoch(net, res, k->caller->after_ud, err))
        return -1;
    if (res->n_epochs >= k->cell_epochs)
        return 0;
    rcn_error e;
    if (rcn_ckpt_save(k->path, &k->id, net, res, &e))
        snprintf(k->runner->warning, sizeof k->runner->warning, "%s", e.msg);
    return 0;
}

/* Initialises the net, or restores (cell, fold)'s checkpoint into net and
 * res when there is one. */
static int start_state(rcn_fold_runner *r, const fold_ckpt *k, int epochs, rcn_net *net,
                       rcn_train_result *res, rcn_error *err)
{
    rcn_train_result_clear(res);
    rcn_net_init(net, r->spec.seed, (uint64_t)k->id.fold);
    if (!r->spec.ckpt_dir[0])
        return 0;
    int rc = rcn_ckpt_load(k->path, &k->id, net, res, err);
    if (rc == RCN_CKPT_NONE)
        return 0;
    if (rc == 0 && res->n_epochs > epochs)
        rc = rcn_errorf(err, "%s: checkpoint at epoch %d, beyond the %d epochs asked for",
                        k->path, res->n_epochs, epochs);
    return rc;
}

int rcn_fold_run(rcn_fold_runner *r, int cell, int fold, int epochs,
                 const rcn_train_hooks *hooks, rcn_train_result *res, rcn_error *err)
{
    int k = r->spec.folds;
    int on_test = r->spec.kind == RCN_VALID_TEST || fold == k;
    if (cell < 0 || cell >= r->spec.n_cells || fold < 0 || fold > k ||
        (r->spec.kind == RCN_VALID_TEST && fold != 0))
        return rcn_errorf(err, "fold job (cell %d, fold %d) outside the job (%d cells, %d folds)",
                          cell, fold, r->spec.n_cells, k);
    if (on_test && !r->test_idx)
        return rcn_errorf(err, "fold job (cell %d, fold %d) needs the test set, which this rank "
                          "does not hold", cell, fold);
    const rcn_plan_cell *c = &r->cells[cell];
    assert(c->index == cell);
    if (epochs < 1 || epochs > c->epochs)
        return rcn_errorf(err, "fold job (cell %d, fold %d): %d epochs outside the cell's 1..%d",
                          cell, fold, epochs, c->epochs);
    rcn_net *net = net_for(r, c->batch_size, err);
    if (!net)
        return -1;

    rcn_split train = {r->train->images, r->train->labels, r->base, r->n_base};
    rcn_split val;
    if (on_test) {
        val = (rcn_split){r->test->images, r->test->labels, r->test_idx, r->test->n};
    } else {
        rcn_folds_split(r->fold_of, r->base, r->n_base, fold, r->train_idx, &train.n, r->val_idx,
                        &val.n);
        train.idx = r->train_idx;
        val = (rcn_split){r->train->images, r->train->labels, r->val_idx, val.n};
    }
    rcn_hparams hp = {
        .batch_size = c->batch_size,
        .epochs = epochs,
        .lr = c->lr,
        .momentum = c->momentum,
        .weight_decay = r->spec.weight_decay,
        .diverge_threshold = r->spec.diverge_threshold,
        .seed = r->spec.seed,
        .stream_a = (uint64_t)fold,
    };
    fold_ckpt ck = {hooks, r, {{0}, cell, fold, c->batch_size, (int64_t)rcn_net_num_params(net)},
                    c->epochs, {0}};
    snprintf(ck.id.job_hash, sizeof ck.id.job_hash, "%s", r->spec.job_hash);
    rcn_train_hooks h = {0};
    if (hooks)
        h = *hooks;
    if (r->spec.ckpt_dir[0]) {
        rcn_ckpt_path(r->spec.ckpt_dir, cell, fold, ck.path, sizeof ck.path);
        h.after_epoch = save_ckpt;
        h.after_ud = &ck;
    }
    if (start_state(r, &ck, epochs, net, res, err) ||
        rcn_train_continue(net, &train, &val, &hp, &h, res, err))
        return rcn_error_prefix(err, "cell %d (%s), fold %d", cell, c->key, fold);
    return 0;
}

rcn_net *rcn_fold_runner_last_net(rcn_fold_runner *r)
{
    return r->net;
}

int rcn_fold_runner_take_warning(rcn_fold_runner *r, char *buf, size_t cap)
{
    if (!r->warning[0])
        return 0;
    snprintf(buf, cap, "%s", r->warning);
    r->warning[0] = 0;
    return 1;
}
