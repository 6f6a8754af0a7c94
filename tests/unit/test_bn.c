/* test_bn.c - batch normalisation against hand-computed numbers: a
 * 2-channel batch of 4 values per channel, train-mode output, mean/invstd,
 * running mean/var after 1, 2 and 3 batches (momentum 0.1, UNBIASED
 * variance in the running var as PyTorch does), eval-mode output with the
 * running statistics, the backward, and the fused ReLU.
 *
 * The AVX2 path is also checked against the portable one on long channels
 * with odd tails.
 *
 * The expected numbers were computed by hand (in exact arithmetic, printed
 * to 9 digits) from the definitions in MODEL.md, not from the code:
 *   mean = sum x / m, var = sum (x-mean)^2 / m, invstd = 1/sqrt(var + 1e-5),
 *   y = gamma (x-mean) invstd + beta,
 *   running_mean = 0.9 rm + 0.1 mean, running_var = 0.9 rv + 0.1 var m/(m-1),
 *   dx = gamma invstd / m (m dy - sum dy - xhat sum(dy xhat)). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rcn/nn.h"

#include "../../src/nn/simd.h"

#define C 2
#define M 4

static const float gamma_[C] = {2.0f, 0.5f};
static const float beta_[C] = {0.5f, -0.5f};

static const float batches[3][C * M] = {
    {1, 2, 3, 4, -1, 0, 0, 5},
    {0, 0, 2, 2, 3, 3, 3, 7},
    {10, -10, 10, -10, 0.5f, 0.5f, 0.5f, 0.5f}, /* channel 1 constant: var 0 */
};

static const double want_mean[3][C] = {{2.5, 1}, {1, 4}, {0, 0.5}};
static const double want_invstd[3][C] = {
    {0.894423613, 0.426401045}, {0.999995, 0.577349307}, {0.099999995, 316.227766}};
static const double want_y[3][C * M] = {
    {-2.18327084, -0.394423613, 1.39442361, 3.18327084, -0.926401045, -0.713200523,
     -0.713200523, 0.35280209},
    {-1.49999, -1.49999, 2.49999, 2.49999, -0.788674653, -0.788674653, -0.788674653,
     0.36602396},
    {2.4999999, -1.4999999, 2.4999999, -1.4999999, -0.5, -0.5, -0.5, -0.5},
};
/* running mean[0..1], running var[0..1] after batch 1, 2, 3 */
static const double want_running[3][2 * C] = {
    {0.25, 0.1, 1.06666667, 1.63333333},
    {0.325, 0.49, 1.09333333, 1.87},
    {0.2925, 0.491, 14.3173333, 1.683},
};

static const float eval_x[C * M] = {1, -2, 0.2925f, 5, 0, 1, 2, -3};
static const double want_eval[C * M] = {0.873960059,  -0.711736305, 0.5,          2.98822188,
                                        -0.689237912, -0.303824649, 0.0815886144, -1.8454777};

/* backward of batch 1 with this dy; [relu] */
static const float dy1[C * M] = {1, -1, 0.5f, 2, 0, 1, -1, 2};
static const double want_dgamma[2][C] = {{2.01245313, 3.41120836}, {2.90687674, 3.41120836}};
static const double want_dbeta[2][C] = {{2.5, 2}, {2.5, 2}};
static const double want_dx[2][C * M] = {
    {1.87827993, -2.50438934, -0.626093309, 1.25220272, 0.0484543823, 0.184127583,
     -0.242273462, 0.00969149668},
    {0.626082576, -0.536658819, -0.804976601, 0.715552844, 0.0484543823, -0.0290729395,
     -0.0290729395, 0.00969149668},
};

static double tol(double v) { return 2e-6 + 1e-5 * fabs(v); }

static void check_vec(const char *what, const float *got, const double *want, int n)
{
    for (int i = 0; i < n; i++)
        CHECK(fabs(got[i] - want[i]) <= tol(want[i]), "%s[%d]: got %.9g want %.9g", what, i,
              got[i], want[i]);
}

static void test_train_sequence(void)
{
    float rm[C] = {0, 0}, rv[C] = {1, 1};
    for (int b = 0; b < 3; b++) {
        float y[C * M], mean[C], invstd[C];
        char what[64];
        rcn_bn_forward_train(C, M, batches[b], gamma_, beta_, y, mean, invstd, rm, rv, 0);
        snprintf(what, sizeof what, "batch %d y", b + 1);
        check_vec(what, y, want_y[b], C * M);
        snprintf(what, sizeof what, "batch %d mean", b + 1);
        check_vec(what, mean, want_mean[b], C);
        for (int c = 0; c < C; c++)
            CHECK(fabs(invstd[c] - want_invstd[b][c]) <= 1e-5 * want_invstd[b][c],
                  "batch %d invstd[%d]: got %.9g want %.9g", b + 1, c, invstd[c],
                  want_invstd[b][c]);
        snprintf(what, sizeof what, "batch %d running_mean", b + 1);
        check_vec(what, rm, want_running[b], C);
        snprintf(what, sizeof what, "batch %d running_var (unbiased)", b + 1);
        check_vec(what, rv, want_running[b] + C, C);
    }
    /* a biased running variance would give 0.9*1 + 0.1*1.25 = 1.025 after
     * batch 1 instead of 1.0667: the check above tells the two apart. */

    float y[C * M];
    rcn_bn_forward_eval(C, M, eval_x, gamma_, beta_, rm, rv, y, 0);
    check_vec("eval y", y, want_eval, C * M);
    float yr[C * M];
    rcn_bn_forward_eval(C, M, eval_x, gamma_, beta_, rm, rv, yr, 1);
    for (int i = 0; i < C * M; i++)
        CHECK(yr[i] == (y[i] > 0 ? y[i] : 0.0f), "eval relu[%d]: %.9g vs relu(%.9g)", i, yr[i],
              y[i]);
    /* eval must not touch the running statistics */
    check_vec("running_mean after eval", rm, want_running[2], C);
    check_vec("running_var after eval", rv, want_running[2] + C, C);
}

static void test_relu_fusion_and_backward(void)
{
    for (int relu = 0; relu <= 1; relu++) {
        float rm[C] = {0, 0}, rv[C] = {1, 1};
        float y[C * M], mean[C], invstd[C];
        rcn_bn_forward_train(C, M, batches[0], gamma_, beta_, y, mean, invstd, rm, rv, relu);
        for (int i = 0; i < C * M; i++) {
            double w = relu ? fmax(0.0, want_y[0][i]) : want_y[0][i];
            CHECK(fabs(y[i] - w) <= tol(w), "train relu=%d y[%d]: got %.9g want %.9g", relu, i,
                  y[i], w);
        }
        check_vec("running_mean with relu", rm, want_running[0], C);
        check_vec("running_var with relu", rv, want_running[0] + C, C);

        float dx[C * M], dg[C], db[C];
        for (int i = 0; i < C * M; i++)
            dx[i] = NAN;
        dg[0] = dg[1] = db[0] = db[1] = NAN;
        rcn_bn_backward(C, M, batches[0], y, dy1, gamma_, mean, invstd, dx, dg, db, relu);
        char what[64];
        snprintf(what, sizeof what, "backward relu=%d dx", relu);
        check_vec(what, dx, want_dx[relu], C * M);
        snprintf(what, sizeof what, "backward relu=%d dgamma", relu);
        check_vec(what, dg, want_dgamma[relu], C);
        snprintf(what, sizeof what, "backward relu=%d dbeta", relu);
        check_vec(what, db, want_dbeta[relu], C);
    }
}

/* m = n*h*w as one contiguous block per channel: a longer batch gives the
 * same statistics whatever the values' order inside a channel. */
static void test_channel_blocks(void)
{
    enum { MM = 6 };
    float x[3 * MM], y[3 * MM], mean[3], invstd[3], rm[3] = {0, 0, 0}, rv[3] = {1, 1, 1};
    float g[3] = {1, 1, 1}, b[3] = {0, 0, 0};
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < MM; i++)
            x[c * MM + i] = (float)(100 * c + i);
    rcn_bn_forward_train(3, MM, x, g, b, y, mean, invstd, rm, rv, 0);
    for (int c = 0; c < 3; c++) {
        CHECK_CLOSE(mean[c], 100 * c + 2.5, 1e-4, "per-channel mean over a contiguous block");
        /* var of 0..5 = 35/12, unbiased 3.5 */
        CHECK_CLOSE(invstd[c], 1 / sqrt(35.0 / 12 + 1e-5), 1e-5, "per-channel invstd");
        CHECK_CLOSE(rv[c], 0.9 + 0.35, 1e-5, "running var, unbiased, m = 6");
        CHECK_CLOSE(rm[c], 0.1 * (100 * c + 2.5), 1e-4, "running mean, m = 6");
    }
}

/* The AVX2 path against the portable one on channels long enough for its
 * blocks and with odd tails, on values whose mean is large against their
 * spread: same statistics, outputs and gradients to float rounding. */
enum { PATH_DEFAULT, PATH_AVX2, PATH_PORTABLE };

static void set_path(int p)
{
    rcn_simd_set_avx512(p == PATH_DEFAULT);
    rcn_simd_set_avx2(p != PATH_PORTABLE);
}

static void test_vector_paths(void)
{
    static const size_t ms[] = {1, 7, 8, 9, 15, 17, 255, 256, 257, 1003, 12544};
    for (size_t t = 0; t < sizeof ms / sizeof ms[0]; t++) {
        const size_t m = ms[t];
        const int c = 3;
        float *buf = malloc(sizeof(float) * (size_t)c * m * 10);
        if (!buf) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        float *x = buf, *dy = x + c * m;
        float *y[3], *dx[3];
        for (int p = 0; p < 3; p++)
            y[p] = dy + c * m + (size_t)p * 2 * c * m, dx[p] = y[p] + c * m;
        uint32_t r = 12345u;
        for (size_t i = 0; i < (size_t)c * m; i++) {
            r = r * 1664525u + 1013904223u;
            x[i] = 3.0f + (float)(r >> 8) / 16777216.0f * 4.0f - 2.0f; /* mean 3, not centred */
            r = r * 1664525u + 1013904223u;
            dy[i] = (float)(r >> 8) / 16777216.0f - 0.5f;
        }
        const float g[3] = {1.5f, 0.5f, -1.0f}, b[3] = {0.1f, -0.2f, 0.3f};
        for (int relu = 0; relu <= 1; relu++) {
            float mean[3][3], inv[3][3], rm[3][3], rv[3][3], dg[3][3], db[3][3], ye[3];
            for (int p = 0; p < 3; p++) {
                set_path(p);
                for (int ch = 0; ch < c; ch++)
                    rm[p][ch] = 0.0f, rv[p][ch] = 1.0f;
                rcn_bn_forward_train(c, m, x, g, b, y[p], mean[p], inv[p], rm[p], rv[p], relu);
                rcn_bn_backward(c, m, x, y[p], dy, g, mean[p], inv[p], dx[p], dg[p], db[p], relu);
                rcn_bn_forward_eval(c, m, x, g, b, rm[p], rv[p], dx[p] + (m > 1 ? m : 0), relu);
                ye[p] = dx[p][(m > 1 ? m : 0) + m / 2];
            }
            set_path(PATH_DEFAULT);
            for (int p = PATH_AVX2; p < PATH_PORTABLE; p++) {
                const int q = PATH_PORTABLE;
                double e = 0;
                for (int ch = 0; ch < c; ch++) {
                    e = fmax(e, fabs(mean[p][ch] - mean[q][ch]) / (1 + fabs(mean[q][ch])));
                    e = fmax(e, fabs(inv[p][ch] - inv[q][ch]) / (1 + fabs(inv[q][ch])));
                    e = fmax(e, fabs(rv[p][ch] - rv[q][ch]) / (1 + fabs(rv[q][ch])));
                    e = fmax(e, fabs(dg[p][ch] - dg[q][ch]) / (1 + fabs(dg[q][ch])) / sqrt((double)m));
                    e = fmax(e, fabs(db[p][ch] - db[q][ch]) / (1 + fabs(db[q][ch])) / sqrt((double)m));
                }
                for (size_t i = 0; i < (size_t)c * m; i++) {
                    e = fmax(e, fabs(y[p][i] - y[q][i]) / (1 + fabs(y[q][i])));
                    if (m > 1 && i >= m)
                        continue; /* dx[p] past channel 0 holds the eval output */
                    e = fmax(e, fabs(dx[p][i] - dx[q][i]) / (1 + fabs(dx[q][i])));
                }
                e = fmax(e, fabs(ye[p] - ye[q]) / (1 + fabs(ye[q])));
                CHECK(e < 2e-5, "bn AVX2 path vs portable, m=%zu relu=%d: max rel diff %.3g", m,
                      relu, e);
            }
        }
        free(buf);
    }
}

int main(void)
{
    test_train_sequence();
    test_relu_fusion_and_backward();
    test_channel_blocks();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        test_vector_paths();
    return check_exit("test_bn");
}
