/* train.c - the training loop (epochs of shuffled mini-batches, SGD with
 * momentum, per-epoch evaluation, divergence) and eval-mode evaluation. */
#include "rcn/train.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rcn/clock.h"

/* Process CPU seconds, read only when a profile is kept. */
static double cpu_seconds(const rcn_train_profile *prof)
{
    return prof ? rcn_cpu_clock() : 0.0;
}

double rcn_train_profile_rest(const rcn_train_profile *p)
{
    return p->total - p->shuffle - p->train_load - p->train_step - p->val_load - p->val_forward;
}

/* Eval-mode pass in batches of the net's max batch; also the sum of the
 * batches' mean losses (the paper's convention). The poll hook (may be
 * NULL) runs between batches, as in training, so a coordinating rank stays
 * responsive; a non-zero return sets *aborted and stops the pass. The
 * hooks' profile, if any, gets the pass's batch assembly and forwards. */
static double evaluate(rcn_net *net, const rcn_split *set, double *accuracy, double *batch_sum,
                       const rcn_train_hooks *hooks, int *aborted)
{
    const int mb = rcn_net_max_batch(net);
    rcn_train_profile *prof = hooks ? hooks->profile : NULL;
    double total = 0.0, bsum = 0.0;
    int64_t correct = 0;
    for (int64_t off = 0; off < set->n; off += mb) {
        int n = (int)(set->n - off < mb ? set->n - off : mb);
        double c0 = cpu_seconds(prof);
        rcn_net_load_batch(net, set->images, set->labels, set->idx + off, n);
        double c1 = cpu_seconds(prof);
        double s = rcn_net_forward(net, n, 0, NULL, &correct);
        if (prof) {
            double c2 = cpu_seconds(prof);
            prof->val_load += c1 - c0;
            prof->val_forward += c2 - c1;
            prof->val_images += n;
            prof->val_batches++;
        }
        total += s;
        bsum += s / n;
        if (hooks && hooks->poll && hooks->poll(hooks->ud)) {
            *aborted = 1;
            break;
        }
    }
    if (accuracy)
        *accuracy = set->n ? (double)correct / (double)set->n : NAN;
    if (batch_sum)
        *batch_sum = set->n ? bsum : NAN;
    return set->n ? total / (double)set->n : NAN;
}

double rcn_evaluate(rcn_net *net, const rcn_split *set, double *accuracy)
{
    return evaluate(net, set, accuracy, NULL, NULL, NULL);
}

rcn_train_result *rcn_train_result_create(int cap_epochs, rcn_error *err)
{
    if (cap_epochs < 1 || cap_epochs > RCN_MAX_EPOCHS) {
        rcn_errorf(err, "training result for %d epochs: outside 1..%d", cap_epochs,
                   RCN_MAX_EPOCHS);
        return NULL;
    }
    rcn_train_result *res = calloc(1, sizeof *res);
    if (res)
        res->epochs = calloc((size_t)cap_epochs, sizeof *res->epochs);
    if (!res || !res->epochs) {
        free(res);
        rcn_errorf(err, "out of memory for a training result of %d epochs", cap_epochs);
        return NULL;
    }
    res->cap_epochs = cap_epochs;
    return res;
}

void rcn_train_result_free(rcn_train_result *res)
{
    if (!res)
        return;
    free(res->epochs);
    free(res);
}

void rcn_train_result_clear(rcn_train_result *res)
{
    rcn_epoch_stats *ep = res->epochs;
    int cap = res->cap_epochs;
    memset(res, 0, sizeof *res);
    res->epochs = ep;
    res->cap_epochs = cap;
}

void rcn_train_result_copy(rcn_train_result *dst, const rcn_train_result *src)
{
    assert(src->n_epochs <= dst->cap_epochs);
    rcn_epoch_stats *ep = dst->epochs;
    int cap = dst->cap_epochs;
    *dst = *src;
    dst->epochs = ep;
    dst->cap_epochs = cap;
    if (src->n_epochs > 0)
        memcpy(ep, src->epochs, (size_t)src->n_epochs * sizeof *ep);
}

enum { EPOCH_DONE, EPOCH_DIVERGED, EPOCH_ABORTED };

/* Trains epoch `epoch` (shuffled batches, SGD) into st's train_* fields
 * and st->seconds; order has train->n entries of scratch. */
static int train_epoch(rcn_net *net, const rcn_split *train, const rcn_hparams *hp,
                       const rcn_train_hooks *hooks, int epoch, int32_t *order,
                       rcn_train_result *res, rcn_epoch_stats *st)
{
    double t0 = rcn_clock();
    rcn_train_profile *prof = hooks ? hooks->profile : NULL;
    double c0 = cpu_seconds(prof);
    const int B = hp->batch_size;
    const float lr = (float)hp->lr, mom = (float)hp->momentum, wd = (float)hp->weight_decay;
    rcn_rng shuf;
    rcn_rng_seed(&shuf, hp->seed, RCN_STREAM_SHUFFLE, hp->stream_a, (uint64_t)epoch);
    memcpy(order, train->idx, sizeof(int32_t) * (size_t)train->n);
    rcn_rng_shuffle_i32(&shuf, order, train->n);
    if (prof)
        prof->shuffle += cpu_seconds(prof) - c0;
    double loss_sum = 0.0, batch_sum = 0.0;
    int64_t correct = 0;
    int batch = 0;
    for (int64_t off = 0; off < train->n; off += B) {
        int n = (int)(train->n - off < B ? train->n - off : B);
        batch++;
        rcn_rng drop;
        rcn_rng_seed(&drop, hp->seed, RCN_STREAM_DROPOUT, hp->stream_a,
                     ((uint64_t)epoch << 32) | (uint64_t)batch);
        double c1 = cpu_seconds(prof);
        rcn_net_load_batch(net, train->images, train->labels, order + off, n);
        double c2 = cpu_seconds(prof);
        double s = rcn_net_forward(net, n, 1, &drop, &correct);
        double mean = s / n;
        if (!isfinite(mean) || mean > hp->diverge_threshold) {
            res->diverged = 1;
            res->diverged_epoch = epoch;
            res->diverged_batch = batch;
            res->diverged_loss = mean;
            return EPOCH_DIVERGED;
        }
        loss_sum += s;
        batch_sum += mean;
        rcn_net_backward(net, n);
        rcn_net_sgd_step(net, lr, mom, wd);
        if (prof) {
            double c3 = cpu_seconds(prof);
            prof->train_load += c2 - c1;
            prof->train_step += c3 - c2;
            prof->train_images += n;
            prof->train_batches++;
        }
        if (hooks && hooks->poll && hooks->poll(hooks->ud)) {
            res->aborted = 1;
            return EPOCH_ABORTED;
        }
    }
    st->epoch = epoch;
    st->train_loss = loss_sum / (double)train->n;
    st->train_accuracy = (double)correct / (double)train->n;
    st->train_loss_batch_sum = batch_sum;
    st->seconds = rcn_clock() - t0;
    st->images_per_second = st->seconds > 0 ? (double)train->n / st->seconds : 0.0;
    return EPOCH_DONE;
}

int rcn_train_continue(rcn_net *net, const rcn_split *train, const rcn_split *val,
                       const rcn_hparams *hp, const rcn_train_hooks *hooks,
                       rcn_train_result *res, rcn_error *err)
{
    if (hp->batch_size < 1 || hp->batch_size > rcn_net_max_batch(net))
        return rcn_errorf(err, "batch size %d outside 1..%d (the network's buffers)",
                          hp->batch_size, rcn_net_max_batch(net));
    if (hp->epochs < 1 || hp->epochs > RCN_MAX_EPOCHS)
        return rcn_errorf(err, "epochs %d outside 1..%d", hp->epochs, RCN_MAX_EPOCHS);
    if (hp->epochs > res->cap_epochs)
        return rcn_errorf(err, "epochs %d: the training result holds only %d", hp->epochs,
                          res->cap_epochs);
    if (res->n_epochs < 0 || res->n_epochs > hp->epochs || res->diverged)
        return rcn_errorf(err, "cannot continue a training of %d epochs%s to epoch %d",
                          res->n_epochs, res->diverged ? " (diverged)" : "", hp->epochs);
    if (train->n < 1)
        return rcn_errorf(err, "empty training set");
    rcn_train_profile *prof = hooks ? hooks->profile : NULL;
    const double c_start = cpu_seconds(prof);
    int32_t *order = malloc(sizeof(int32_t) * (size_t)train->n);
    if (!order)
        return rcn_errorf(err, "out of memory for %lld training indices", (long long)train->n);

    res->seconds_before = res->seconds;
    const double t_start = rcn_clock() - res->seconds;
    int rc = 0;
    res->aborted = 0;
    res->first_epoch = res->n_epochs + 1;
    for (int epoch = res->n_epochs + 1; epoch <= hp->epochs; epoch++) {
        rcn_epoch_stats *st = &res->epochs[epoch - 1];
        if (train_epoch(net, train, hp, hooks, epoch, order, res, st) != EPOCH_DONE)
            break;
        if (val && val->n > 0) {
            st->val_loss = evaluate(net, val, &st->val_accuracy, &st->val_loss_batch_sum, hooks,
                                    &res->aborted);
            if (res->aborted)
                break;
        } else {
            st->val_loss = NAN;
            st->val_accuracy = NAN;
            st->val_loss_batch_sum = NAN;
        }
        res->n_epochs = epoch;
        res->seconds = rcn_clock() - t_start;
        if (hooks && hooks->on_epoch)
            hooks->on_epoch(st, hooks->ud);
        if (hooks && hooks->after_epoch && (rc = hooks->after_epoch(net, res, hooks->after_ud, err)))
            break;
    }
    res->seconds = rcn_clock() - t_start;
    free(order);
    if (prof)
        prof->total += cpu_seconds(prof) - c_start;
    return rc ? -1 : 0;
}

int rcn_train(rcn_net *net, const rcn_split *train, const rcn_split *val,
              const rcn_hparams *hp, const rcn_train_hooks *hooks, rcn_train_result *res,
              rcn_error *err)
{
    rcn_train_result_clear(res);
    return rcn_train_continue(net, train, val, hp, hooks, res, err);
}
