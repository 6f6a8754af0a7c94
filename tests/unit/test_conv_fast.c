/* test_conv_fast.c - the fast convolution paths (AVX-512 Winograd, direct
 * and GEMM kernels; the AVX2 Winograd kernels) against a double-precision
 * direct convolution and against the portable im2col path, on the
 * network's real shapes and on edge shapes (odd sizes, 1-wide planes, short
 * batches): forward, data and weight gradients (exact adjoints: checked
 * against the naive gradient formulas), accumulate semantics, no writes
 * outside the outputs or past the declared scratch, and bit-identical
 * results on repeated calls. rcn_conv_* is tested as dispatched on this
 * CPU; the AVX2 Winograd functions are also called directly, so they are
 * tested on AVX-512 machines too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixtures.h"
#include "rcn/nn.h"
#include "rcn/rng.h"

#include "../../src/nn/simd.h"

#define CANARY 1234.5f
#define NCAN 64

static rcn_rng rng;

static float *falloc(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static void fill(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = 2.0f * rcn_rng_uniform(&rng) - 1.0f;
}

/* Naive double-precision gradients (fixtures.h). */
static void naive_bwd(const rcn_conv_shape *s, int n, const float *x, const float *w,
                      const float *dy, double *dx, double *dw)
{
    size_t xl = (size_t)s->cin * n * s->h * s->w, wl = (size_t)s->cout * s->cin * s->k * s->k;
    memset(dx, 0, xl * sizeof(double));
    memset(dw, 0, wl * sizeof(double));
    fixture_conv_loops(s, n, x, w, NULL, dy, dx, dw);
}

/* The scale errors are measured against: rms(ref), or 1 when ref is 0. */
static double ref_scale(const double *ref, size_t n)
{
    double rms = 0;
    for (size_t i = 0; i < n; i++)
        rms += ref[i] * ref[i];
    rms = sqrt(rms / (double)(n ? n : 1));
    return rms > 1e-30 ? rms : 1.0;
}

/* max |a - b| / ref_scale(ref) (NaN: infinite). */
static double diff_err(const float *a, const float *b, const double *ref, size_t n)
{
    double scale = ref_scale(ref, n), worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (b ? (double)b[i] : ref[i])) / scale;
        if (!(d <= worst))
            worst = isnan(d) ? INFINITY : d;
    }
    return worst;
}

/* max |a - ref| / ref_scale(ref). */
static double rel_err(const float *a, const double *ref, size_t n)
{
    return diff_err(a, NULL, ref, n);
}

typedef struct {
    int cin, cout, k, stride, pad, h, w, n, nmax;
} shape;

/* The convolution under test: as dispatched, or the AVX2 Winograd kernels. */
typedef struct {
    const char *name;
    void (*fwd)(const rcn_conv_shape *, int, const float *, const float *, float *, float *);
    void (*bwd)(const rcn_conv_shape *, int, const float *, const float *, const float *,
                float *, float *, float *, int);
    size_t (*scratch)(const rcn_conv_shape *, int);
} impl;

static const impl dispatched = {"conv", rcn_conv_forward, rcn_conv_backward,
                                rcn_conv_scratch_floats};

/* rcn_conv_* with the AVX-512 kernels off: the AVX2 dispatch (Winograd,
 * im2col, products) on a CPU that has AVX-512. */
static void fwd_no512(const rcn_conv_shape *s, int n, const float *x, const float *w, float *y,
                      float *scr)
{
    rcn_simd_set_avx512(0);
    rcn_conv_forward(s, n, x, w, y, scr);
    rcn_simd_set_avx512(1);
}

static void bwd_no512(const rcn_conv_shape *s, int n, const float *x, const float *w,
                      const float *dy, float *dx, float *dw, float *scr, int acc)
{
    rcn_simd_set_avx512(0);
    rcn_conv_backward(s, n, x, w, dy, dx, dw, scr, acc);
    rcn_simd_set_avx512(1);
}

static const impl avx2_dispatch = {"conv-avx2", fwd_no512, bwd_no512, rcn_conv_scratch_floats};
static void wino2_fwd(const rcn_conv_shape *s, int n, const float *x, const float *w, float *y,
                      float *scr)
{
    rcn_wino2_forward(s, n, x, w, y, scr, NULL);
}

static void wino2_bwd(const rcn_conv_shape *s, int n, const float *x, const float *w,
                      const float *dy, float *dx, float *dw, float *scr, int acc)
{
    rcn_wino2_backward(s, n, x, w, dy, dx, dw, scr, acc, NULL);
}

static const impl wino2 = {"wino2", wino2_fwd, wino2_bwd,
                           rcn_wino2_scratch_floats};

/* The plain im2col + SGEMM path on and off. */
static void force_portable(int on)
{
    rcn_simd_set_avx512(!on);
    rcn_simd_set_avx2(!on);
}

static void run_case(const shape *c, const impl *im)
{
    rcn_conv_shape s;
    rcn_conv_shape_init(&s, c->cin, c->cout, c->k, c->stride, c->pad, c->h, c->w);
    char what[160];
    snprintf(what, sizeof what, "%s %d->%d k%d s%d p%d %dx%d n=%d/%d", im->name, c->cin, c->cout,
             c->k, c->stride, c->pad, c->h, c->w, c->n, c->nmax);
    const int n = c->n;
    size_t xl = (size_t)s.cin * n * s.h * s.w, yl = (size_t)s.cout * n * s.ho * s.wo;
    size_t wl = (size_t)s.cout * s.cin * s.k * s.k;
    size_t scr = im->scratch(&s, c->nmax);
    float *x = falloc(xl), *w = falloc(wl), *dy = falloc(yl);
    float *y = falloc(yl + NCAN), *dx = falloc(xl + NCAN), *dw = falloc(wl + NCAN);
    float *y2 = falloc(yl), *dx2 = falloc(xl), *dw2 = falloc(wl);
    float *scratch = falloc(scr + NCAN);
    double *yr = malloc(yl * sizeof(double)), *dxr = malloc(xl * sizeof(double)),
           *dwr = malloc(wl * sizeof(double));
    if (!yr || !dxr || !dwr) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    fill(x, xl);
    fill(w, wl);
    fill(dy, yl);
    fixture_conv_naive(&s, n, x, w, yr);
    naive_bwd(&s, n, x, w, dy, dxr, dwr);

    for (size_t i = 0; i < NCAN; i++)
        y[yl + i] = dx[xl + i] = dw[wl + i] = scratch[scr + i] = CANARY;
    im->fwd(&s, n, x, w, y, scratch);
    double ef = rel_err(y, yr, yl);
    CHECK(ef < 2e-6 * sqrt((double)(s.cin * s.k * s.k)) + 1e-6, "%s: forward error %.3g", what,
          ef);
    im->bwd(&s, n, x, w, dy, dx, dw, scratch, 0);
    double ed = rel_err(dx, dxr, xl), ew = rel_err(dw, dwr, wl);
    CHECK(ed < 2e-6 * sqrt((double)(s.cout * s.k * s.k)) + 1e-6, "%s: dx error %.3g", what, ed);
    CHECK(ew < 2e-6 * sqrt((double)n * s.ho * s.wo) + 1e-6, "%s: dw error %.3g", what, ew);
    int can = 0;
    for (size_t i = 0; i < NCAN; i++)
        can += (y[yl + i] != CANARY) + (dx[xl + i] != CANARY) + (dw[wl + i] != CANARY) +
               (scratch[scr + i] != CANARY);
    CHECK(can == 0, "%s: %d writes past an output or the declared scratch", what, can);

    /* bit-identical on a second call (scratch left dirty by the first) */
    im->fwd(&s, n, x, w, y2, scratch);
    CHECK(!memcmp(y, y2, yl * sizeof(float)), "%s: forward not reproducible", what);
    im->bwd(&s, n, x, w, dy, dx2, dw2, scratch, 0);
    CHECK(!memcmp(dx, dx2, xl * sizeof(float)) && !memcmp(dw, dw2, wl * sizeof(float)),
          "%s: backward not reproducible", what);

    /* accumulate: dx2 = base + dx; dw overwritten; dx = NULL gives the same dw */
    for (size_t i = 0; i < xl; i++)
        dx2[i] = (float)(i % 5) - 2.0f;
    fill(dw2, wl);
    im->bwd(&s, n, x, w, dy, dx2, dw2, scratch, 1);
    int bad = 0;
    for (size_t i = 0; i < xl; i++)
        bad += !(fabsf(dx2[i] - ((float)(i % 5) - 2.0f + dx[i])) <= 1e-5f * (1 + fabsf(dx[i])));
    CHECK(bad == 0, "%s: accumulate_dx=1 wrong in %d entries", what, bad);
    CHECK(!memcmp(dw, dw2, wl * sizeof(float)), "%s: dw differs with accumulate_dx=1", what);
    fill(dw2, wl);
    im->bwd(&s, n, x, w, dy, NULL, dw2, scratch, 0);
    CHECK(!memcmp(dw, dw2, wl * sizeof(float)), "%s: dw differs with dx=NULL", what);
    int can2 = 0;
    for (size_t i = 0; i < NCAN; i++)
        can2 += (dx[xl + i] != CANARY) + (dw[wl + i] != CANARY) + (scratch[scr + i] != CANARY);
    CHECK(can2 == 0, "%s: %d writes past an output or the scratch (accumulate, dx=NULL)", what,
          can2);

    /* the portable path agrees to rounding */
    if (im != &dispatched || rcn_simd_avx512() || rcn_simd_avx2()) {
        size_t need = rcn_conv_scratch_floats(&s, c->nmax);
        float *ps = need > scr ? falloc(need) : scratch;
        force_portable(1);
        rcn_conv_forward(&s, n, x, w, y2, ps);
        rcn_conv_backward(&s, n, x, w, dy, dx2, dw2, ps, 0);
        force_portable(0);
        if (ps != scratch)
            free(ps);
        /* each path within its tolerance of the exact sums: together within twice it */
        double a = diff_err(y, y2, yr, yl), b = diff_err(dx, dx2, dxr, xl),
               d = diff_err(dw, dw2, dwr, wl);
        CHECK(a < 2 * (2e-6 * sqrt((double)(s.cin * s.k * s.k)) + 1e-6) &&
                  b < 2 * (2e-6 * sqrt((double)(s.cout * s.k * s.k)) + 1e-6) &&
                  d < 2 * (2e-6 * sqrt((double)n * s.ho * s.wo) + 1e-6),
              "%s: fast and portable paths differ: y %.3g dx %.3g dw %.3g", what, a, b, d);
    }

    free(x), free(w), free(dy), free(y), free(dx), free(dw), free(y2), free(dx2), free(dw2);
    free(scratch), free(yr), free(dxr), free(dwr);
}

/* The AVX2 products on odd sizes (row blocks, masked last vectors, dot
 * product tails) against double sums: overwrite and accumulate, nothing
 * written past n (nn) or k (nt) columns of a row. */
static void test_gemm(void)
{
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        return;
    static const int dims[][3] = {{1, 1, 1},    {6, 16, 16},  {7, 17, 3},   {13, 5, 29},
                                  {16, 200, 16}, {5, 23, 40},  {64, 33, 64}, {3, 9, 1},
                                  {8, 45, 7},    {12, 37, 5},  {4, 8, 3},     {16, 20, 9},
                                  {16, 48, 2},   {20, 30, 11}, {32, 16, 32}};
    for (size_t q = 0; q < sizeof dims / sizeof dims[0]; q++) {
        const int m = dims[q][0], n = dims[q][1], k = dims[q][2];
        const size_t lda = (size_t)k + 3, ldx = (size_t)n + 5, ldc = (size_t)n + 8;
        float *a = falloc((size_t)m * lda), *x = falloc((size_t)k * ldx);
        float *c = falloc((size_t)m * ldc), *d = falloc((size_t)m * ldx);
        float *e = falloc((size_t)m * (k + 8));
        fill(a, (size_t)m * lda);
        fill(x, (size_t)k * ldx);
        fill(d, (size_t)m * ldx);
        for (int acc = 0; acc <= 1; acc++) {
            for (size_t i = 0; i < (size_t)m * ldc; i++)
                c[i] = (i % ldc) < (size_t)n ? 0.25f : CANARY;
            for (size_t i = 0; i < (size_t)m * (k + 8); i++)
                e[i] = (i % (k + 8)) < (size_t)k ? 0.25f : CANARY;
            rcn_gemm_nn_avx2(m, n, k, a, lda, x, ldx, c, ldc, acc);
            rcn_gemm_nt_avx2(m, k, n, d, ldx, x, ldx, e, k + 8, acc);
            double worst = 0, worst_t = 0;
            int can = 0;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double r = acc ? 0.25 : 0.0;
                    for (int p = 0; p < k; p++)
                        r += (double)a[i * lda + p] * x[p * ldx + j];
                    worst = fmax(worst, fabs(c[i * ldc + j] - r) / (1 + fabs(r)));
                }
                for (int p = 0; p < k; p++) {
                    double r = acc ? 0.25 : 0.0;
                    for (int j = 0; j < n; j++)
                        r += (double)d[i * ldx + j] * x[p * ldx + j];
                    worst_t = fmax(worst_t, fabs(e[i * (k + 8) + p] - r) / (1 + fabs(r)));
                }
                for (int j = n; j < (int)ldc; j++)
                    can += c[i * ldc + j] != CANARY;
                for (int p = k; p < k + 8; p++)
                    can += e[i * (k + 8) + p] != CANARY;
            }
            CHECK(worst < 1e-5 * sqrt((double)k) && worst_t < 1e-5 * sqrt((double)n),
                  "gemm avx2 m=%d n=%d k=%d acc=%d: nn error %.3g, nt error %.3g", m, n, k, acc,
                  worst, worst_t);
            CHECK(can == 0, "gemm avx2 m=%d n=%d k=%d: %d writes past a row", m, n, k, can);
        }
        free(a), free(x), free(c), free(d), free(e);
    }
}

/* The errors above must be able to fail: a kernel with a flipped tap. */
static void self_test(void)
{
    rcn_conv_shape s;
    rcn_conv_shape_init(&s, 3, 4, 3, 1, 1, 6, 6);
    size_t xl = 3 * 2 * 36, wl = 4 * 3 * 9, yl = 4 * 2 * 36;
    float *x = falloc(xl), *w = falloc(wl), *wf = falloc(wl), *y = falloc(yl);
    float *scr = falloc(rcn_conv_scratch_floats(&s, 2));
    double *yr = malloc(yl * sizeof(double));
    fill(x, xl);
    fill(w, wl);
    for (size_t i = 0; i < wl; i++)
        wf[i] = w[(i / 9) * 9 + 8 - i % 9]; /* rotated kernel */
    fixture_conv_naive(&s, 2, x, w, yr);
    rcn_conv_forward(&s, 2, x, wf, y, scr);
    CHECK(rel_err(y, yr, yl) > 1e-2, "self-test: a rotated kernel must be caught");
    free(x), free(w), free(wf), free(y), free(scr), free(yr);
}

int main(void)
{
    rcn_rng_seed(&rng, 7, RCN_STREAM_TEST, 1, 0);
    printf("AVX-512 kernels: %s\n", rcn_simd_avx512() ? "yes" : "no");
    static const shape cases[] = {
        /* cin cout k s p h w n nmax: the network's shapes */
        {1, 16, 3, 1, 1, 28, 28, 3, 4},   /* stem */
        {16, 16, 3, 1, 1, 28, 28, 3, 3},  /* stage 1 */
        {16, 32, 3, 2, 1, 28, 28, 2, 3},  /* stage 2 entry */
        {16, 32, 1, 2, 0, 28, 28, 3, 3},  /* projection shortcut */
        {32, 32, 3, 1, 1, 14, 14, 5, 5},  /* stage 2 */
        {32, 64, 3, 2, 1, 14, 14, 3, 4},  /* stage 3 entry */
        {64, 64, 3, 1, 1, 7, 7, 9, 9},    /* stage 3: chunks of several samples */
        {64, 128, 3, 2, 1, 7, 7, 2, 2},   /* resnet18 */
        {128, 128, 3, 1, 1, 4, 4, 3, 3},
        {256, 256, 3, 1, 1, 2, 2, 2, 2},
        {64, 64, 3, 1, 1, 1, 1, 5, 5},    /* 1x1 plane: the centre tap only */
        {3, 4, 5, 1, 2, 1, 1, 3, 3},
        {5, 3, 3, 2, 1, 1, 1, 1, 2},
        {1, 64, 7, 2, 3, 28, 28, 2, 2},
        /* edge shapes */
        {4, 5, 3, 1, 1, 30, 30, 2, 2},    /* widest Winograd row */
        {4, 5, 3, 1, 1, 31, 29, 2, 2},
        {4, 3, 3, 1, 1, 1, 9, 3, 3},
        {4, 3, 3, 1, 1, 9, 1, 2, 3},
        {5, 4, 3, 1, 1, 8, 8, 3, 3},      /* largest one-vector plane */
        {6, 4, 3, 1, 1, 5, 3, 3, 3},
        {3, 5, 3, 1, 1, 30, 30, 2, 2},    /* few channels: im2col path */
        {2, 3, 3, 1, 1, 9, 1, 2, 3},
        {1, 8, 3, 2, 1, 29, 29, 2, 2},
        {3, 6, 5, 1, 2, 20, 13, 2, 2},
        {5, 7, 3, 1, 1, 5, 17, 3, 4},
        {9, 11, 3, 1, 1, 16, 15, 2, 2},
        {17, 9, 3, 1, 1, 13, 13, 40, 40}, /* many chunks, odd channel blocks */
        {3, 4, 3, 2, 1, 9, 7, 2, 2},
        {5, 3, 1, 1, 0, 6, 6, 2, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i], &dispatched);

    /* on an AVX-512 CPU, the dispatch it would make without AVX-512 */
    if (rcn_simd_avx512() && rcn_simd_avx2())
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            run_case(&cases[i], &avx2_dispatch);

    test_gemm();

    /* the AVX2 Winograd kernels, called directly (on any CPU with AVX2) */
    printf("AVX2 kernels: %s\n", rcn_simd_avx2() ? "yes" : "no");
    static const shape wcases[] = {
        {16, 16, 3, 1, 1, 28, 28, 3, 3},  /* rcn8/rcn14 stages */
        {32, 32, 3, 1, 1, 14, 14, 5, 5},
        {64, 64, 3, 1, 1, 7, 7, 9, 9},
        {64, 64, 3, 1, 1, 7, 7, 37, 40},  /* short last chunk, scratch for more */
        {16, 16, 3, 1, 1, 28, 28, 1, 1},  /* batch 1 */
        {4, 5, 3, 1, 1, 32, 32, 2, 2},    /* widest row: 16 tiles, two full vectors */
        {4, 5, 3, 1, 1, 31, 29, 2, 2},
        {4, 5, 3, 1, 1, 17, 18, 2, 3},    /* 9 tiles: a second vector of one lane */
        {4, 5, 3, 1, 1, 16, 16, 2, 2},    /* 8 tiles: one full vector */
        {6, 5, 3, 1, 1, 5, 7, 3, 3},      /* 4 tiles a row: two tile rows a vector, */
        {4, 6, 3, 1, 1, 9, 8, 2, 2},      /* an odd count of tile rows, */
        {5, 5, 3, 1, 1, 1, 7, 3, 3},      /* a single one */
        {6, 4, 3, 1, 1, 15, 15, 3, 3},
        {4, 3, 3, 1, 1, 1, 9, 3, 3},
        {4, 3, 3, 1, 1, 9, 1, 2, 3},
        {5, 4, 3, 1, 1, 2, 2, 3, 3},      /* 2x2 and 1x1 planes */
        {7, 6, 3, 1, 1, 1, 1, 5, 5},
        {3, 2, 3, 1, 1, 3, 2, 4, 4},
        {6, 4, 3, 1, 1, 5, 3, 3, 3},
        {5, 7, 3, 1, 1, 5, 17, 3, 4},
        {9, 11, 3, 1, 1, 16, 15, 2, 2},
        {17, 9, 3, 1, 1, 13, 13, 40, 40}, /* many chunks, odd channel blocks */
        {1, 1, 3, 1, 1, 7, 7, 2, 2},
        {128, 128, 3, 1, 1, 4, 4, 3, 3},
    };
    for (size_t i = 0; i < sizeof wcases / sizeof wcases[0]; i++)
        if (rcn_simd_avx2() || __builtin_cpu_supports("avx2"))
            run_case(&wcases[i], &wino2);
    self_test();
    return check_exit("test_conv_fast");
}
