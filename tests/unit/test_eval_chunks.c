/* test_eval_chunks.c - eval-mode forward passes run in chunks of up to
 * RCN_EVAL_CHUNK samples (rcn_net_forward): a batch of 100 (full chunks and
 * a short one) gives the same logits, loss sum and hit count as the same
 * samples passed one at a time and, bit for bit, in batches of the chunk
 * size, for rcn8 with non-trivial BN running
 * statistics; train-mode passes are never split (their batch statistics span
 * the whole batch): the first two samples of a train forward of 100 differ
 * from a train forward of those two alone. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rcn/net.h"
#include "rcn/rng.h"

#define N 100
#define PIX (RCN_IMG_H * RCN_IMG_W)

static float logits_all[N * RCN_CLASSES], logits_part[N * RCN_CLASSES];

/* Eval forward of samples [i0, i0 + n) of (x, y) in the net; logits to out. */
static double run(rcn_net *net, const float *x, const uint8_t *y, int i0, int n, int train,
                  float *out, int64_t *correct)
{
    memcpy(rcn_net_input(net), x + (size_t)i0 * PIX, sizeof(float) * (size_t)n * PIX);
    memcpy(rcn_net_labels(net), y + i0, (size_t)n);
    double s = rcn_net_forward(net, n, train, NULL, correct);
    memcpy(out + (size_t)i0 * RCN_CLASSES, rcn_net_logits(net), sizeof(float) * n * RCN_CLASSES);
    return s;
}

int main(void)
{
    rcn_arch arch;
    rcn_error err = {{0}};
    CHECK(rcn_arch_preset("rcn8", &arch, &err) == 0, "preset: %s", err.msg);
    arch.dropout = 0.0f; /* the train-mode comparison below needs no rng */
    rcn_net *net = rcn_net_create(&arch, N, &err);
    CHECK(net != NULL, "create: %s", err.msg);
    if (!net)
        return check_exit("test_eval_chunks");
    rcn_net_init(net, 5, 0);
    /* running statistics away from (0, 1), so eval-mode BN matters */
    rcn_rng r;
    rcn_rng_seed(&r, 77, RCN_STREAM_TEST, 0, 0);
    for (int t = 0; t < rcn_net_num_tensors(net); t++) {
        const rcn_tensor_info *ti = rcn_net_tensor(net, t);
        size_t len = strlen(ti->name);
        int is_mean = len > 12 && !strcmp(ti->name + len - 12, "running_mean");
        int is_var = len > 11 && !strcmp(ti->name + len - 11, "running_var");
        if (!is_mean && !is_var)
            continue;
        float *d = rcn_net_tensor_data(net, t);
        for (size_t i = 0; i < ti->numel; i++)
            d[i] = is_mean ? 0.2f * (rcn_rng_uniform(&r) - 0.5f) : 0.5f + rcn_rng_uniform(&r);
    }
    static float x[N * PIX];
    static uint8_t y[N];
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = 2.0f * rcn_rng_uniform(&r) - 1.0f;
    for (int i = 0; i < N; i++)
        y[i] = (uint8_t)rcn_rng_below(&r, RCN_CLASSES);

    int64_t c_all = 0, c_one = 0, c_c = 0;
    double s_all = run(net, x, y, 0, N, 0, logits_all, &c_all);
    double s_one = 0.0;
    for (int i = 0; i < N; i++)
        s_one += run(net, x, y, i, 1, 0, logits_part, &c_one);
    double maxd = 0.0;
    for (int i = 0; i < N * RCN_CLASSES; i++)
        maxd = fmax(maxd, fabs((double)logits_all[i] - logits_part[i]));
    CHECK(maxd <= 1e-5, "eval: batch of %d vs one at a time: logits differ by %g", N, maxd);
    CHECK_CLOSE(s_all, s_one, 1e-4 * fabs(s_one), "eval loss sum, batch vs singles");
    CHECK(c_all == c_one, "eval hits: %lld vs %lld", (long long)c_all, (long long)c_one);

    double s_c = 0.0;
    const int C = rcn_net_eval_chunk(net);
    CHECK(C == RCN_EVAL_CHUNK, "rcn8's chunk: %d", C);
    CHECK(N % C != 0 && N > 2 * C, "the batch must cover full chunks and a short one");
    for (int i = 0; i < N; i += C)
        s_c += run(net, x, y, i, N - i < C ? N - i : C, 0, logits_part, &c_c);
    int same = memcmp(logits_all, logits_part, sizeof logits_all) == 0;
    CHECK(same, "eval: a batch of %d is not bit-identical to its chunks of %d", N, C);
    CHECK(s_all == s_c, "eval loss sum: %.17g vs chunks of %d %.17g", s_all, C, s_c);
    CHECK(c_all == c_c, "eval hits: %lld vs %lld", (long long)c_all, (long long)c_c);

    /* train mode: batch statistics of all N, so not the per-sample result */
    double t_all = run(net, x, y, 0, N, 1, logits_all, NULL);
    double t_one = run(net, x, y, 0, 2, 1, logits_part, NULL);
    maxd = 0.0;
    for (int i = 0; i < 2 * RCN_CLASSES; i++)
        maxd = fmax(maxd, fabs((double)logits_all[i] - logits_part[i]));
    CHECK(maxd > 1e-3, "train: a batch of %d gave the logits of batches of 2 (max diff %g)", N,
          maxd);
    CHECK(isfinite(t_all) && isfinite(t_one), "train losses finite");
    rcn_net_destroy(net);
    return check_exit("test_eval_chunks");
}
