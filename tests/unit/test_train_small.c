/* test_train_small.c - a short real training must learn, and a bad one must
 * stop cleanly.
 *
 * Data, generated here: 10 texture classes on 28x28 uint8 images (stripes
 * of two orientations/periods, diagonals, checkerboards, dots, blank), each
 * with a random phase, contrast and additive noise, so that a class is a
 * local pattern anywhere in the image (what a conv net + global average
 * pool can see). 600 train / 200 test.
 *
 *  - a small residual net (custom spec, stem maxpool) trained a few epochs
 *    reaches >= 90% test accuracy and its train loss decreases;
 *  - the on_epoch hook sees epochs 1..n; the numbers it sees are the result's;
 *  - lr = 1e4 diverges: res.diverged with epoch/batch set, rc 0, no crash;
 *  - a threshold below the first batch loss diverges at epoch 1 batch 1;
 *  - a poll hook that asks to stop aborts at once;
 *  - bad arguments (batch > max batch, epochs > RCN_MAX_EPOCHS) are errors. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixtures.h"
#include "rcn/net.h"
#include "rcn/rng.h"
#include "rcn/train.h"

#define NTRAIN 600
#define NTEST 200
#define PIX (RCN_IMG_H * RCN_IMG_W)

static const char *SPEC =
    "{\"stem\": {\"kernel\": 3, \"stride\": 1, \"channels\": 8, \"maxpool\": true},"
    " \"stages\": [{\"channels\": 8, \"blocks\": 1}, {\"channels\": 16, \"blocks\": 1}],"
    " \"dropout\": 0}";

static uint8_t images[(NTRAIN + NTEST) * PIX], labels[NTRAIN + NTEST];
static int32_t train_idx[NTRAIN], test_idx[NTEST];
static rcn_arch arch;

static int pattern(int k, int i, int j, int pi, int pj)
{
    switch (k) {
    case 0: return (i + pi) % 4 < 2;                     /* horizontal stripes, period 4 */
    case 1: return (j + pj) % 4 < 2;                     /* vertical stripes, period 4 */
    case 2: return (i + j + pi) % 4 < 2;                 /* diagonal */
    case 3: return (i - j + 28 + pi) % 4 < 2;            /* anti-diagonal */
    case 4: return ((i + pi) / 2 + (j + pj) / 2) % 2;    /* 2x2 checkerboard */
    case 5: return (i + pi) % 8 < 4;                     /* horizontal stripes, period 8 */
    case 6: return (j + pj) % 8 < 4;                     /* vertical stripes, period 8 */
    case 7: return (i + pi) % 4 == 0 && (j + pj) % 4 == 0; /* dots */
    case 8: return ((i + pi) / 4 + (j + pj) / 4) % 2;    /* 4x4 checkerboard */
    default: return 0;                                   /* 9: blank */
    }
}

static void make_data(void)
{
    rcn_rng r;
    rcn_rng_seed(&r, 31337, RCN_STREAM_TEST, 0, 0);
    for (int s = 0; s < NTRAIN + NTEST; s++) {
        int k = s % 10;
        int pi = (int)rcn_rng_below(&r, 8), pj = (int)rcn_rng_below(&r, 8);
        int amp = 120 + (int)rcn_rng_below(&r, 100);
        for (int i = 0; i < RCN_IMG_H; i++)
            for (int j = 0; j < RCN_IMG_W; j++) {
                int v = (int)rcn_rng_below(&r, 70) + (pattern(k, i, j, pi, pj) ? amp : 0);
                images[(size_t)s * PIX + i * RCN_IMG_W + j] = (uint8_t)(v > 255 ? 255 : v);
            }
        labels[s] = (uint8_t)k;
    }
    for (int i = 0; i < NTRAIN; i++)
        train_idx[i] = i;
    for (int i = 0; i < NTEST; i++)
        test_idx[i] = NTRAIN + i;
}

typedef struct {
    int calls, last_epoch, in_order;
    double loss[RCN_MAX_EPOCHS];
} epoch_log;

static void on_epoch(const rcn_epoch_stats *st, void *ud)
{
    epoch_log *l = ud;
    if (st->epoch != l->last_epoch + 1)
        l->in_order = 0;
    l->last_epoch = st->epoch;
    if (l->calls < RCN_MAX_EPOCHS)
        l->loss[l->calls] = st->train_loss;
    l->calls++;
}

static int stop_after;
static int poll_calls;
static int poll_stop(void *ud)
{
    (void)ud;
    return ++poll_calls > stop_after;
}

static rcn_hparams base_hp(void)
{
    rcn_hparams hp = {.batch_size = 32,
                      .epochs = 6,
                      .lr = 0.05,
                      .momentum = 0.9,
                      .weight_decay = 0,
                      .diverge_threshold = 1e3,
                      .seed = 5,
                      .stream_a = 0};
    return hp;
}

static void test_learns(void)
{
    rcn_error err = {{0}};
    rcn_net *net = fixture_net(&arch, 32, 3, 0);
    if (!net)
        return;
    rcn_split tr = {images, labels, train_idx, NTRAIN}, te = {images, labels, test_idx, NTEST};
    rcn_hparams hp = base_hp();
    rcn_train_result *res = rcn_train_result_create(16, NULL);
    epoch_log log = {0, 0, 1, {0}};
    rcn_train_hooks hooks = {.on_epoch = on_epoch, .ud = &log};
    int rc = rcn_train(net, &tr, &te, &hp, &hooks, res, &err);
    CHECK(rc == 0, "rcn_train: %s", err.msg);
    CHECK(res->n_epochs == hp.epochs && !res->diverged && !res->aborted,
          "%d epochs, diverged %d, aborted %d", res->n_epochs, res->diverged, res->aborted);
    for (int e = 0; e < res->n_epochs; e++)
        fprintf(stderr, "epoch %d: train loss %.4f acc %.3f, test loss %.4f acc %.3f\n",
                res->epochs[e].epoch, res->epochs[e].train_loss, res->epochs[e].train_accuracy,
                res->epochs[e].val_loss, res->epochs[e].val_accuracy);
    int last = res->n_epochs - 1;
    if (last >= 1) {
        CHECK(res->epochs[last].train_loss < 0.5 * res->epochs[0].train_loss,
              "train loss did not halve: %.4f -> %.4f", res->epochs[0].train_loss,
              res->epochs[last].train_loss);
        CHECK(res->epochs[last].val_accuracy >= 0.90, "test accuracy %.3f < 0.90",
              res->epochs[last].val_accuracy);
        CHECK(res->epochs[0].train_loss > 1.0, "first epoch loss %.3f suspiciously low",
              res->epochs[0].train_loss);
    }
    CHECK(log.calls == res->n_epochs && log.in_order, "on_epoch: %d calls, in order %d",
          log.calls, log.in_order);
    for (int e = 0; e < log.calls && e < res->n_epochs; e++)
        CHECK(log.loss[e] == res->epochs[e].train_loss, "on_epoch saw epoch %d's stats", e + 1);
    double acc = -1;
    double loss = rcn_evaluate(net, &te, &acc);
    CHECK(fabs(acc - res->epochs[last].val_accuracy) < 1e-12 &&
              fabs(loss - res->epochs[last].val_loss) < 1e-6,
          "rcn_evaluate (%.4f, %.3f) disagrees with the last epoch", loss, acc);
    rcn_train_result_free(res);
    rcn_net_destroy(net);
}

static void test_diverges(void)
{
    rcn_error err = {{0}};
    rcn_net *net = rcn_net_create(&arch, 32, &err);
    if (!net)
        return;
    rcn_split tr = {images, labels, train_idx, NTRAIN}, te = {images, labels, test_idx, NTEST};
    rcn_train_result *res = rcn_train_result_create(16, NULL);

    /* a huge learning rate */
    rcn_net_init(net, 3, 0);
    rcn_hparams hp = base_hp();
    hp.lr = 1e4;
    hp.epochs = 5;
    int rc = rcn_train(net, &tr, &te, &hp, NULL, res, &err);
    CHECK(rc == 0, "divergence is a result, not an error: %s", err.msg);
    CHECK(res->diverged == 1, "lr 1e4 did not diverge (n_epochs %d, last loss %g)", res->n_epochs,
          res->n_epochs ? res->epochs[res->n_epochs - 1].train_loss : NAN);
    CHECK(res->diverged_epoch >= 1 && res->diverged_epoch <= hp.epochs, "diverged_epoch %d",
          res->diverged_epoch);
    CHECK(res->diverged_batch >= 1 && res->diverged_batch <= (NTRAIN + 31) / 32,
          "diverged_batch %d", res->diverged_batch);
    CHECK(!isfinite(res->diverged_loss) || res->diverged_loss > hp.diverge_threshold,
          "diverged_loss %g", res->diverged_loss);
    CHECK(res->n_epochs == res->diverged_epoch - 1,
          "n_epochs %d must count the completed epochs before epoch %d", res->n_epochs,
          res->diverged_epoch);
    fprintf(stderr, "lr 1e4: diverged at epoch %d batch %d, loss %g\n", res->diverged_epoch,
            res->diverged_batch, res->diverged_loss);

    /* a threshold below any first-batch loss (~log 10): epoch 1, batch 1 */
    rcn_net_init(net, 3, 0);
    hp = base_hp();
    hp.diverge_threshold = 0.5;
    rcn_train_result_clear(res);
    rc = rcn_train(net, &tr, &te, &hp, NULL, res, &err);
    CHECK(rc == 0 && res->diverged == 1 && res->diverged_epoch == 1 && res->diverged_batch == 1,
          "threshold 0.5: rc %d diverged %d at %d/%d", rc, res->diverged, res->diverged_epoch,
          res->diverged_batch);
    CHECK(isfinite(res->diverged_loss) && res->diverged_loss > 0.5 && res->diverged_loss < 10,
          "threshold 0.5: diverged_loss %g should be the first batch's mean loss",
          res->diverged_loss);
    CHECK(res->n_epochs == 0, "threshold 0.5: n_epochs %d", res->n_epochs);

    /* poll asks to stop after 3 batches */
    rcn_net_init(net, 3, 0);
    hp = base_hp();
    rcn_train_result_clear(res);
    stop_after = 3;
    poll_calls = 0;
    rcn_train_hooks hooks = {.poll = poll_stop};
    rc = rcn_train(net, &tr, &te, &hp, &hooks, res, &err);
    CHECK(rc == 0 && res->aborted == 1 && res->n_epochs == 0 && !res->diverged,
          "poll stop: rc %d aborted %d n_epochs %d diverged %d", rc, res->aborted, res->n_epochs,
          res->diverged);
    CHECK(poll_calls <= 5, "training went on after poll asked to stop (%d polls)", poll_calls);

    /* bad arguments are errors with a message */
    hp = base_hp();
    hp.batch_size = 64; /* net max batch is 32 */
    err.msg[0] = 0;
    rc = rcn_train(net, &tr, &te, &hp, NULL, res, &err);
    CHECK(rc != 0 && err.msg[0], "batch_size > max batch must be an error");
    hp = base_hp();
    hp.epochs = RCN_MAX_EPOCHS + 1;
    err.msg[0] = 0;
    rc = rcn_train(net, &tr, &te, &hp, NULL, res, &err);
    CHECK(rc != 0 && err.msg[0], "epochs > RCN_MAX_EPOCHS must be an error");
    rcn_train_result_free(res);
    rcn_net_destroy(net);
}

int main(void)
{
    if (fixture_arch(SPEC, &arch) != 0)
        return check_exit("test_train_small");
    make_data();
    test_learns();
    test_diverges();
    return check_exit("test_train_small");
}
