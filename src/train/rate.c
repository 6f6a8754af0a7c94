/* rate.c - how fast this machine trains and evaluates a network: a short
 * timing of whole SGD steps and eval-mode forward passes on synthetic
 * images, in CPU seconds, for plans (rcn search --dry-run). rcn bench is
 * the benchmark; this is its quick estimate, on the same code path. */
#include "rcn/train.h"

#include <stdlib.h>
#include <time.h>

#include "rcn/clock.h"
#include "rcn/rng.h"

/* Images per CPU second of `train` (1: SGD steps, 0: eval passes) of batch
 * n, after one untimed step, over at least min_seconds. */
static double time_steps(rcn_net *net, const uint8_t *images, const uint8_t *labels,
                         const int32_t *idx, int n, int train, double min_seconds)
{
    rcn_rng drop;
    rcn_rng_seed(&drop, 1, RCN_STREAM_TEST, 0, 0);
    double t0 = 0;
    long steps = 0;
    for (;;) {
        rcn_net_load_batch(net, images, labels, idx, n);
        rcn_net_forward(net, n, train, train ? &drop : NULL, NULL);
        if (train) {
            rcn_net_backward(net, n);
            rcn_net_sgd_step(net, 0.01f, 0.5f, 0.0f);
        }
        if (steps++ == 0) {
            t0 = rcn_cpu_clock();
            continue;
        }
        double t = rcn_cpu_clock() - t0;
        if (t >= min_seconds)
            return (double)(steps - 1) * n / t;
    }
}

int rcn_measure_rates(const rcn_arch *a, int batch, double min_seconds, double *train_ips,
                      double *eval_ips, rcn_error *err)
{
    rcn_net *net = rcn_net_create(a, batch, err);
    if (!net)
        return -1;
    size_t px = (size_t)RCN_IMG_H * RCN_IMG_W;
    uint8_t *images = malloc((size_t)batch * px), *labels = malloc((size_t)batch);
    int32_t *idx = malloc((size_t)batch * sizeof *idx);
    if (!images || !labels || !idx) {
        free(images), free(labels), free(idx);
        rcn_net_destroy(net);
        return rcn_errorf(err, "out of memory for a batch of %d images", batch);
    }
    rcn_rng r;
    rcn_rng_seed(&r, 1, RCN_STREAM_TEST, 1, 0);
    for (size_t i = 0; i < (size_t)batch * px; i++)
        images[i] = (uint8_t)(rcn_rng_next(&r) >> 56);
    for (int i = 0; i < batch; i++)
        labels[i] = (uint8_t)(rcn_rng_below(&r, RCN_CLASSES)), idx[i] = i;
    rcn_net_init(net, 1, 0);
    *train_ips = time_steps(net, images, labels, idx, batch, 1, min_seconds);
    *eval_ips = time_steps(net, images, labels, idx, batch, 0, min_seconds);
    free(images), free(labels), free(idx);
    rcn_net_destroy(net);
    return 0;
}
