/* test_determinism.c - results are a pure function of the job:
 *  - rcn_net_init: same (seed, stream_a) -> bit-identical parameters and
 *    buffers; another seed or stream_a -> different parameters;
 *  - rcn_train twice on the same synthetic data (random uint8 images made
 *    here) with the same hparams -> bit-identical parameters, running stats
 *    and per-epoch losses/accuracies; also when the net was sized for a
 *    larger max batch; another hp.seed or hp.stream_a -> different;
 *  - rcn_net_load_batch normalises (x/255 - mean)/std and follows idx;
 *  - rcn_evaluate is repeatable and leaves the net untouched. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixtures.h"
#include "rcn/net.h"
#include "rcn/rng.h"
#include "rcn/train.h"

#define NTRAIN 200 /* 200 = 6*32 + 8: the last batch is short */
#define NVAL 50
#define PIX (RCN_IMG_H * RCN_IMG_W)

static uint8_t images[(NTRAIN + NVAL) * PIX], labels[NTRAIN + NVAL];
static int32_t train_idx[NTRAIN], val_idx[NVAL];
static rcn_arch arch;

static void make_data(void)
{
    rcn_rng r;
    fixture_noise(&r, 1234, images, sizeof images);
    for (int i = 0; i < NTRAIN + NVAL; i++)
        labels[i] = (uint8_t)rcn_rng_below(&r, 10);
    /* the splits use scattered, non-contiguous indices */
    for (int i = 0; i < NTRAIN + NVAL; i++) {
        if (i < NTRAIN)
            train_idx[i] = (int32_t)((i * 7) % (NTRAIN + NVAL));
    }
    /* the complement of train_idx, in descending order */
    uint8_t used[NTRAIN + NVAL] = {0};
    for (int i = 0; i < NTRAIN; i++)
        used[train_idx[i]] = 1;
    int k = 0;
    for (int i = NTRAIN + NVAL - 1; i >= 0; i--)
        if (!used[i])
            val_idx[k++] = i;
    CHECK(k == NVAL, "split construction (%d)", k);
}

static int same_params(rcn_net *a, rcn_net *b)
{
    return rcn_net_num_params(a) == rcn_net_num_params(b) &&
           memcmp(rcn_net_params(a), rcn_net_params(b),
                  rcn_net_num_params(a) * sizeof(float)) == 0;
}

static int same_buffers(rcn_net *a, rcn_net *b)
{
    return rcn_net_num_buffers(a) == rcn_net_num_buffers(b) &&
           memcmp(rcn_net_buffers(a), rcn_net_buffers(b),
                  rcn_net_num_buffers(a) * sizeof(float)) == 0;
}

static void test_init(void)
{
    rcn_net *a = fixture_net(&arch, 8, 42, 0), *b = fixture_net(&arch, 8, 42, 0),
            *c = fixture_net(&arch, 8, 43, 0), *d = fixture_net(&arch, 8, 42, 1),
            *e = fixture_net(&arch, 16, 42, 0);
    if (!a || !b || !c || !d || !e)
        return;
    CHECK(same_params(a, b), "same seed: params differ");
    CHECK(same_buffers(a, b), "same seed: buffers differ");
    CHECK(same_params(a, e), "init must not depend on max_batch");
    CHECK(!same_params(a, c), "seed 42 vs 43: identical params");
    CHECK(!same_params(a, d), "stream_a 0 vs 1: identical params");
    /* re-init overwrites: a net trained/perturbed then re-initialised is fresh */
    rcn_net_params(c)[0] += 1.0f;
    rcn_net_init(c, 42, 0);
    CHECK(same_params(a, c), "re-init with seed 42 does not reproduce the params");
    /* init defaults from MODEL.md */
    int i = rcn_net_find_tensor(a, "stem.bn.weight");
    int j = rcn_net_find_tensor(a, "stem.bn.running_var");
    int k = rcn_net_find_tensor(a, "fc.bias");
    CHECK(i >= 0 && j >= 0 && k >= 0, "tensors exist");
    if (i >= 0 && j >= 0 && k >= 0) {
        CHECK(rcn_net_tensor_data(a, i)[0] == 1.0f, "BN gamma init 1");
        CHECK(rcn_net_tensor_data(a, j)[0] == 1.0f, "running var init 1");
        CHECK(rcn_net_tensor_data(a, k)[0] == 0.0f, "fc bias init 0");
    }
    /* Xavier uniform bound for stem conv: sqrt(6 / (1*9 + 4*9)) */
    int w = rcn_net_find_tensor(a, "stem.conv.weight");
    if (w >= 0) {
        double bound = sqrt(6.0 / (9 + 36)), mx = 0;
        const float *p = rcn_net_tensor_data(a, w);
        for (int q = 0; q < 36; q++)
            mx = fmax(mx, fabs(p[q]));
        CHECK(mx <= bound && mx > 0.5 * bound, "stem conv init max |w| %g, Xavier bound %g", mx,
              bound);
    }
    rcn_net_destroy(a);
    rcn_net_destroy(b);
    rcn_net_destroy(c);
    rcn_net_destroy(d);
    rcn_net_destroy(e);
}

static void test_load_batch(void)
{
    rcn_net *n = fixture_net(&arch, 4, 1, 0);
    if (!n)
        return;
    int32_t idx[3] = {17, 3, 240};
    rcn_net_load_batch(n, images, labels, idx, 3);
    const float *in = rcn_net_input(n);
    const uint8_t *lab = rcn_net_labels(n);
    int bad = 0;
    for (int s = 0; s < 3; s++) {
        for (int p = 0; p < PIX; p++) {
            double want = (images[(size_t)idx[s] * PIX + p] / 255.0 - 0.1307) / 0.3081;
            bad += !(fabs(in[s * PIX + p] - want) <= 1e-5);
        }
        CHECK(lab[s] == labels[idx[s]], "label of sample %d", s);
    }
    CHECK(bad == 0, "load_batch: %d pixels not (x/255 - 0.1307)/0.3081 of images[idx]", bad);
    rcn_net_destroy(n);
}

typedef struct {
    rcn_net *net;
    rcn_train_result *res;
} run;

static run train_once(int max_batch, uint64_t init_seed, uint64_t hp_seed, uint64_t stream_a)
{
    run r = {fixture_net(&arch, max_batch, init_seed, 0), rcn_train_result_create(2, NULL)};
    if (!r.net || !r.res)
        return r;
    rcn_hparams hp = {.batch_size = 32,
                      .epochs = 2,
                      .lr = 0.05,
                      .momentum = 0.9,
                      .weight_decay = 1e-4,
                      .diverge_threshold = 1e3,
                      .seed = hp_seed,
                      .stream_a = stream_a};
    rcn_split tr = {images, labels, train_idx, NTRAIN}, va = {images, labels, val_idx, NVAL};
    rcn_error err = {{0}};
    int rc = rcn_train(r.net, &tr, &va, &hp, NULL, r.res, &err);
    CHECK(rc == 0, "rcn_train: %s", err.msg);
    CHECK(r.res->n_epochs == 2 && !r.res->diverged && !r.res->aborted,
          "train result: %d epochs, diverged %d, aborted %d", r.res->n_epochs, r.res->diverged,
          r.res->aborted);
    return r;
}

static int same_result(const rcn_train_result *a, const rcn_train_result *b)
{
    if (a->n_epochs != b->n_epochs || a->diverged != b->diverged)
        return 0;
    for (int e = 0; e < a->n_epochs; e++) {
        const rcn_epoch_stats *x = &a->epochs[e], *y = &b->epochs[e];
        if (x->epoch != y->epoch || x->train_loss != y->train_loss ||
            x->train_accuracy != y->train_accuracy || x->val_loss != y->val_loss ||
            x->val_accuracy != y->val_accuracy)
            return 0;
    }
    return 1;
}

static void free_run(run *r)
{
    if (r->net)
        rcn_net_destroy(r->net);
    rcn_train_result_free(r->res);
}

static void test_training(void)
{
    run a = train_once(32, 42, 7, 0), b = train_once(32, 42, 7, 0);
    run big = train_once(64, 42, 7, 0);    /* buffers sized for 64, batches of 32 */
    run other = train_once(32, 42, 8, 0);  /* other shuffle + dropout seed */
    run fold = train_once(32, 42, 7, 1);   /* other stream coordinate */
    if (!a.net || !b.net || !big.net || !other.net || !fold.net)
        goto out;
    CHECK(a.res->epochs[0].epoch == 1 && a.res->epochs[1].epoch == 2, "epochs are 1-based");
    for (int e = 0; e < 2; e++) {
        const rcn_epoch_stats *s = &a.res->epochs[e];
        CHECK(isfinite(s->train_loss) && s->train_loss > 0, "train loss %g", s->train_loss);
        CHECK(isfinite(s->val_loss) && s->val_loss > 0, "val loss %g", s->val_loss);
        CHECK(s->train_accuracy >= 0 && s->train_accuracy <= 1, "train acc %g",
              s->train_accuracy);
        CHECK(s->val_accuracy >= 0 && s->val_accuracy <= 1, "val acc %g", s->val_accuracy);
        /* accuracies are counts over 200 and 50 samples */
        CHECK(fabs(s->train_accuracy * NTRAIN - round(s->train_accuracy * NTRAIN)) < 1e-6,
              "train accuracy %g is not k/%d", s->train_accuracy, NTRAIN);
        CHECK(fabs(s->val_accuracy * NVAL - round(s->val_accuracy * NVAL)) < 1e-6,
              "val accuracy %g is not k/%d", s->val_accuracy, NVAL);
    }
    CHECK(same_params(a.net, b.net), "same job twice: params differ");
    CHECK(same_buffers(a.net, b.net), "same job twice: running stats differ");
    CHECK(same_result(a.res, b.res), "same job twice: losses differ (%.17g vs %.17g)",
          a.res->epochs[1].train_loss, b.res->epochs[1].train_loss);
    CHECK(same_params(a.net, big.net), "result depends on the net's max_batch");
    /* evaluation runs in chunks of the net's max batch, and a different GEMM
     * width may round differently: validation numbers only agree closely */
    for (int e = 0; e < 2; e++) {
        CHECK(a.res->epochs[e].train_loss == big.res->epochs[e].train_loss &&
                  a.res->epochs[e].train_accuracy == big.res->epochs[e].train_accuracy,
              "train loss/accuracy depend on the net's max_batch");
        CHECK_CLOSE(a.res->epochs[e].val_loss, big.res->epochs[e].val_loss, 1e-6,
                    "val loss, max_batch 32 vs 64");
        CHECK_CLOSE(a.res->epochs[e].val_accuracy, big.res->epochs[e].val_accuracy, 1e-12,
                    "val accuracy, max_batch 32 vs 64");
    }
    CHECK(!same_params(a.net, other.net), "hp.seed 7 vs 8: identical params");
    CHECK(!same_result(a.res, other.res), "hp.seed 7 vs 8: identical losses");
    CHECK(!same_params(a.net, fold.net), "stream_a 0 vs 1: identical params");
    /* training moved the params away from the init */
    rcn_net *init = fixture_net(&arch, 32, 42, 0);
    if (init) {
        CHECK(!same_params(a.net, init), "training left the params at their init");
        rcn_net_destroy(init);
    }

    /* evaluate: repeatable, does not touch params or running stats, and
     * agrees with the last epoch's validation numbers */
    size_t np = rcn_net_num_params(a.net), nb = rcn_net_num_buffers(a.net);
    float *p0 = malloc(np * sizeof(float)), *b0 = malloc(nb * sizeof(float) + 1);
    memcpy(p0, rcn_net_params(a.net), np * sizeof(float));
    memcpy(b0, rcn_net_buffers(a.net), nb * sizeof(float));
    rcn_split va = {images, labels, val_idx, NVAL};
    double acc1 = -1, acc2 = -2;
    double l1 = rcn_evaluate(a.net, &va, &acc1), l2 = rcn_evaluate(a.net, &va, &acc2);
    CHECK(l1 == l2 && acc1 == acc2, "evaluate not repeatable: %.17g/%g vs %.17g/%g", l1, acc1,
          l2, acc2);
    CHECK(memcmp(p0, rcn_net_params(a.net), np * sizeof(float)) == 0, "evaluate changed params");
    CHECK(memcmp(b0, rcn_net_buffers(a.net), nb * sizeof(float)) == 0,
          "evaluate changed running stats");
    CHECK_CLOSE(l1, a.res->epochs[1].val_loss, 1e-6 * (1 + fabs(l1)),
                "evaluate vs last epoch val_loss");
    CHECK_CLOSE(acc1, a.res->epochs[1].val_accuracy, 1e-12, "evaluate vs last epoch val_accuracy");
    free(p0);
    free(b0);
out:
    free_run(&a);
    free_run(&b);
    free_run(&big);
    free_run(&other);
    free_run(&fold);
}

int main(void)
{
    if (fixture_arch(FIXTURE_SMALL_SPEC, &arch) != 0)
        return check_exit("test_determinism");
    make_data();
    test_init();
    test_load_batch();
    test_training();
    return check_exit("test_determinism");
}
