/* conv.c - 2-D convolution without bias over CNHW activations, forward and
 * backward, as im2col tiles + one SGEMM per tile.
 *
 * The batch is cut into tiles of T samples so that one tile's im2col matrix
 * (K = cin*k*k rows, T*ho*wo columns) stays cache-sized; each tile's output
 * is a column block of y viewed as a (cout, n*ho*wo) matrix, so the SGEMM
 * writes it in place with ldc = n*ho*wo. 1x1 stride-1 convolutions need no
 * im2col at all: x is already the (cin, n*h*w) matrix.
 *
 * That is the portable reference. The entry points first dispatch to the
 * vector kernels of simd.h: on AVX-512 CPUs Winograd F(4x4,3x3)
 * (winograd_avx512.c) and
 * im2col + own products (conv_avx512.c); on others the AVX2 Winograd
 * kernels (winograd_avx2.c) for the 3x3 stride-1 convolutions they win,
 * and for the rest this file's tiles with the AVX2 im2col / col2im
 * (im2col_avx2.c) and products (gemm_avx2.c) in place of the scalar copies
 * and SGEMM where those measured slower (thresholds below). */
#include "rcn/nn.h"

#include <cblas.h>
#include <string.h>

#include "conv_ops.h"
#include "simd.h"

/* Floats of one im2col tile; about 1 MiB, the size of a core's L2. */
#define TILE_BUDGET (1 << 18)

void rcn_conv_shape_init(rcn_conv_shape *s, int cin, int cout, int k, int stride,
                         int pad, int h, int w)
{
    s->cin = cin, s->cout = cout, s->k = k, s->stride = stride, s->pad = pad;
    s->h = h, s->w = w;
    s->ho = (h + 2 * pad - k) / stride + 1;
    s->wo = (w + 2 * pad - k) / stride + 1;
}

/* The AVX2 kernels serve CPUs without AVX-512 only: AVX-512 CPUs keep
 * their own path (and its im2col fallback) exactly. */
static int avx2_path(void)
{
    return !rcn_simd_avx512() && rcn_simd_avx2();
}

static int is_pointwise(const rcn_conv_shape *s)
{
    return s->k == 1 && s->stride == 1 && s->pad == 0;
}

static int tile_samples(const rcn_conv_shape *s, int n)
{
    size_t per = (size_t)s->cin * s->k * s->k * s->ho * s->wo;
    int t = (int)(TILE_BUDGET / (per ? per : 1));
    if (t < 1)
        t = 1;
    return t < n ? t : n;
}

/* Weight gradients with at most this many im2col rows use the AVX2
 * dot-product kernel instead of SGEMM; measured on Zen 3: K = 9..144
 * 50-76 GFLOP/s against SGEMM's 6-60, K = 288 61-72 vs 60-77. */
#define NT_MAX_K 160
/* Forward and data-gradient products with at most this many im2col rows
 * use the AVX2 nn kernel instead of SGEMM (no packing, no zeroing pass);
 * measured on Zen 3 (forward): K = 9..144 44-63 GFLOP/s against SGEMM's
 * 20-54, K = 288 60 vs 64; the data gradient (w^T dy) won at K = 288 too. */
#define NN_MAX_K 160
/* ... and for the data gradient up to this many (w^T dy, K = 288: 67-85
 * against SGEMM's 59-70 GFLOP/s). */
#define NN_DX_MAX_K 320

/* Distance between the rows of a tile of t samples: 8 floats of room for
 * the whole-vector stores of the AVX2 im2col. */
static size_t tile_ld(const rcn_conv_shape *s, int t)
{
    return (size_t)t * s->ho * s->wo + 8;
}

/* Winograd pays off once the transformed-domain products have some depth:
 * with one or two input channels (the stem) im2col + GEMM is faster. */
#define WINO_MIN_CIN 4

/* ... and once a plane has a few tiles: on 2x2 and 1x1 planes (resnet18's
 * last stages) the transformed weights (16 per kernel for F(2x2,3x3), 36
 * for F(4x4,3x3)) outweigh the data and im2col + GEMM (or the centre tap
 * alone) is faster. Counted in 2x2 tiles: planes of at least 3 x 3. */
#define WINO_MIN_TILES 4

/* Both rules. */
static int wino_worth(const rcn_conv_shape *s)
{
    return s->cin >= WINO_MIN_CIN && ((s->h + 1) / 2) * ((s->w + 1) / 2) >= WINO_MIN_TILES;
}

/* The AVX2 Winograd path (CPUs without AVX-512). */
static int use_wino2(const rcn_conv_shape *s)
{
    return rcn_wino2_applies(s) && wino_worth(s);
}

/* The AVX-512 one; shapes im2col cannot take go to it regardless. */
static int use_wino(const rcn_conv_shape *s)
{
    if (!rcn_wino_applies(s))
        return 0;
    return !rcn_cv_applies(s) || wino_worth(s);
}

/* Which Winograd implementation takes shape s on this CPU now: 1 the
 * AVX-512 one, 2 the AVX2 one, 0 none (the im2col paths). */
static int wino_kind(const rcn_conv_shape *s)
{
    if (rcn_simd_avx512())
        return use_wino(s) ? 1 : 0;
    return avx2_path() && use_wino2(s) ? 2 : 0;
}

size_t rcn_conv_scratch_floats(const rcn_conv_shape *s, int n)
{
    size_t need = 0;
    if (!is_pointwise(s)) /* the tile, and w transposed for the AVX2 data gradient */
        need = (size_t)s->cin * s->k * s->k * (tile_ld(s, tile_samples(s, n)) + s->cout);
    if (rcn_wino_applies(s)) {
        size_t wn = rcn_wino_scratch_floats(s, n);
        need = wn > need ? wn : need;
    }
    if (rcn_cv_applies(s)) {
        size_t cn = rcn_cv_scratch_floats(s, n);
        need = cn > need ? cn : need;
    }
    if (rcn_wino2_applies(s)) {
        size_t wn = rcn_wino2_scratch_floats(s, n);
        need = wn > need ? wn : need;
    }
    return need;
}

/* Output columns [lo, hi) whose input column ow*stride - pad + kw is in [0, w). */
static void valid_range(int wo, int w, int stride, int off, int *lo, int *hi)
{
    int a = 0;
    while (a < wo && a * stride + off < 0)
        a++;
    int b = wo;
    while (b > a && (b - 1) * stride + off >= w)
        b--;
    *lo = a, *hi = b;
}

/* col: (cin*k*k, t*ho*wo), rows ld apart, for samples n0..n0+t of x:
 * (cin, n, h, w). */
static void im2col(const rcn_conv_shape *s, int n, int n0, int t, const float *x, float *col,
                   size_t ld)
{
    if (avx2_path() && rcn_im2col_avx2_applies(s)) {
        rcn_im2col_avx2(s, n, n0, t, x, col, ld);
        return;
    }
    const int k = s->k, st = s->stride, h = s->h, w = s->w, ho = s->ho, wo = s->wo;
    const size_t hw = (size_t)h * w, howo = (size_t)ho * wo, cols = ld;
    for (int ci = 0; ci < s->cin; ci++) {
        const float *xc = x + ((size_t)ci * n + n0) * hw;
        for (int kh = 0; kh < k; kh++) {
            for (int kw = 0; kw < k; kw++) {
                float *row = col + ((size_t)(ci * k + kh) * k + kw) * cols;
                int off = kw - s->pad, lo, hi;
                valid_range(wo, w, st, off, &lo, &hi);
                for (int ti = 0; ti < t; ti++) {
                    const float *xs = xc + (size_t)ti * hw;
                    for (int oh = 0; oh < ho; oh++) {
                        float *r = row + (size_t)ti * howo + (size_t)oh * wo;
                        int ih = oh * st - s->pad + kh;
                        if (ih < 0 || ih >= h || lo >= hi) {
                            memset(r, 0, sizeof(float) * wo);
                            continue;
                        }
                        const float *xr = xs + (size_t)ih * w + off;
                        for (int ow = 0; ow < lo; ow++)
                            r[ow] = 0.0f;
                        if (st == 1) {
                            memcpy(r + lo, xr + lo, sizeof(float) * (hi - lo));
                        } else {
                            for (int ow = lo; ow < hi; ow++)
                                r[ow] = xr[ow * st];
                        }
                        for (int ow = hi; ow < wo; ow++)
                            r[ow] = 0.0f;
                    }
                }
            }
        }
    }
}

/* dx (samples n0..n0+t) += col2im(col), col rows ld apart. */
static void col2im_add(const rcn_conv_shape *s, int n, int n0, int t, const float *col,
                       size_t ld, float *dx)
{
    const int k = s->k, st = s->stride, h = s->h, w = s->w, ho = s->ho, wo = s->wo;
    const size_t hw = (size_t)h * w, howo = (size_t)ho * wo, cols = ld;
    for (int ci = 0; ci < s->cin; ci++) {
        float *dc = dx + ((size_t)ci * n + n0) * hw;
        for (int kh = 0; kh < k; kh++) {
            for (int kw = 0; kw < k; kw++) {
                const float *row = col + ((size_t)(ci * k + kh) * k + kw) * cols;
                int off = kw - s->pad, lo, hi;
                valid_range(wo, w, st, off, &lo, &hi);
                if (lo >= hi)
                    continue;
                for (int ti = 0; ti < t; ti++) {
                    float *ds = dc + (size_t)ti * hw;
                    for (int oh = 0; oh < ho; oh++) {
                        int ih = oh * st - s->pad + kh;
                        if (ih < 0 || ih >= h)
                            continue;
                        const float *r = row + (size_t)ti * howo + (size_t)oh * wo;
                        float *dr = ds + (size_t)ih * w + off;
                        if (st == 1) {
                            for (int ow = lo; ow < hi; ow++)
                                dr[ow] += r[ow];
                        } else {
                            for (int ow = lo; ow < hi; ow++)
                                dr[ow * st] += r[ow];
                        }
                    }
                }
            }
        }
    }
}

/* The shapes a Winograd forward may take on any path (the one taken is
 * chosen per call): U is 36 x cout x cin for F(4x4,3x3) (AVX-512), 16 x
 * cout x cin for F(2x2,3x3) (AVX2). */
size_t rcn_conv_prep_floats(const rcn_conv_shape *s)
{
    if (rcn_wino_applies(s))
        return 36 * (size_t)s->cout * s->cin;
    if (rcn_wino2_applies(s))
        return 16 * (size_t)s->cout * s->cin;
    return 0;
}

void rcn_conv_prepare(const rcn_conv_shape *s, const float *w, float *prep)
{
    const int kind = wino_kind(s);
    if (kind == 1)
        rcn_wino_prepare(s, w, prep);
    else if (kind == 2)
        rcn_wino2_prepare(s, w, prep);
}

/* The forward of the paths without a fused finish: the product, then ops
 * over every output row (fused multiply-adds on the AVX2 path, as its
 * BatchNorm). */
static void forward_tiles(const rcn_conv_shape *s, int n, const float *x, const float *w,
                          float *y, float *scratch)
{
    const int K = s->cin * s->k * s->k;
    const int P = n * s->ho * s->wo;
    if (is_pointwise(s)) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->cout, P, K, 1.0f, w, K, x,
                    P, 0.0f, y, P);
        return;
    }
    const int T = tile_samples(s, n), howo = s->ho * s->wo;
    for (int n0 = 0; n0 < n; n0 += T) {
        int t = n - n0 < T ? n - n0 : T;
        const size_t ld = tile_ld(s, t);
        im2col(s, n, n0, t, x, scratch, ld);
        if (avx2_path() && K <= NN_MAX_K)
            rcn_gemm_nn_avx2(s->cout, t * howo, K, w, K, scratch, ld, y + (size_t)n0 * howo, P, 0);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->cout, t * howo, K, 1.0f,
                        w, K, scratch, ld, 0.0f, y + (size_t)n0 * howo, P);
    }
}

void rcn_conv_forward_ops(const rcn_conv_shape *s, int n, const float *x, const float *w,
                          float *y, float *scratch, const rcn_conv_ops *ops)
{
    const int kind = wino_kind(s);
    if (kind == 1) {
        rcn_wino_forward(s, n, x, w, y, scratch, ops);
        return;
    }
    if (kind == 2) {
        rcn_wino2_forward(s, n, x, w, y, scratch, ops);
        return;
    }
    if (rcn_simd_avx512() && rcn_cv_applies(s)) {
        rcn_cv_forward(s, n, x, w, y, scratch, ops);
        return;
    }
    forward_tiles(s, n, x, w, y, scratch);
    if (!conv_ops_active(ops))
        return;
    const size_t P = (size_t)n * s->ho * s->wo;
    const int fused = rcn_simd_avx512() || rcn_simd_avx2();
    for (int co = 0; co < s->cout; co++) {
        size_t at = (size_t)co * P;
        conv_ops_row(ops, co, y + at, ops->res ? ops->res + at : NULL, P, fused);
    }
}

void rcn_conv_forward(const rcn_conv_shape *s, int n, const float *x, const float *w,
                      float *y, float *scratch)
{
    rcn_conv_forward_ops(s, n, x, w, y, scratch, NULL);
}

void rcn_conv_backward(const rcn_conv_shape *s, int n, const float *x, const float *w,
                       const float *dy, float *dx, float *dw, float *scratch,
                       int accumulate_dx)
{
    const int K = s->cin * s->k * s->k;
    const int P = n * s->ho * s->wo;
    const int kind = wino_kind(s);
    if (kind == 1) {
        rcn_wino_backward(s, n, x, w, dy, dx, dw, scratch, accumulate_dx, NULL);
        return;
    }
    if (kind == 2) {
        rcn_wino2_backward(s, n, x, w, dy, dx, dw, scratch, accumulate_dx, NULL);
        return;
    }
    if (rcn_simd_avx512() && rcn_cv_applies(s)) {
        rcn_cv_backward(s, n, x, w, dy, dx, dw, scratch, accumulate_dx);
        return;
    }
    if (is_pointwise(s)) {
        /* dw (cout, cin) = dy (cout, P) * x^T (P, cin); dx (cin, P) = w^T * dy. */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->cout, K, P, 1.0f, dy, P, x, P,
                    0.0f, dw, K);
        if (dx)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, s->cout, 1.0f, w, K,
                        dy, P, accumulate_dx ? 1.0f : 0.0f, dx, P);
        return;
    }
    /* the AVX2 col2im writes every row of dx: no zeroing pass */
    const int fast_dx = avx2_path() && rcn_col2im_avx2_applies(s);
    if (dx && !accumulate_dx && !fast_dx)
        memset(dx, 0, sizeof(float) * (size_t)s->cin * n * s->h * s->w);
    const int T = tile_samples(s, n), howo = s->ho * s->wo;
    /* the data gradient's product by the AVX2 nn kernel takes w^T (K, cout) */
    const int nn_dx = dx && avx2_path() && K <= NN_DX_MAX_K;
    float *wt = scratch + (size_t)K * tile_ld(s, T);
    if (nn_dx)
        for (int co = 0; co < s->cout; co++)
            for (int r = 0; r < K; r++)
                wt[(size_t)r * s->cout + co] = w[(size_t)co * K + r];
    for (int n0 = 0; n0 < n; n0 += T) {
        int t = n - n0 < T ? n - n0 : T;
        const size_t ld = tile_ld(s, t);
        const float *dyt = dy + (size_t)n0 * howo;
        im2col(s, n, n0, t, x, scratch, ld);
        if (avx2_path() && K <= NT_MAX_K)
            rcn_gemm_nt_avx2(s->cout, K, t * howo, dyt, P, scratch, ld, dw, K, n0 > 0);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->cout, K, t * howo, 1.0f,
                        dyt, P, scratch, ld, n0 == 0 ? 0.0f : 1.0f, dw, K);
        if (dx) {
            if (nn_dx)
                rcn_gemm_nn_avx2(K, t * howo, s->cout, wt, s->cout, dyt, P, scratch, ld, 0);
            else
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, t * howo, s->cout, 1.0f,
                            w, K, dyt, P, 0.0f, scratch, ld);
            if (fast_dx)
                rcn_col2im_avx2(s, n, n0, t, scratch, ld, dx, accumulate_dx);
            else
                col2im_add(s, n, n0, t, scratch, ld, dx);
        }
    }
}

void rcn_conv_backward_res(const rcn_conv_shape *s, int n, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *scratch,
                           const float *res)
{
    const int kind = wino_kind(s);
    if (kind == 1) {
        rcn_wino_backward(s, n, x, w, dy, dx, dw, scratch, 0, res);
        return;
    }
    if (kind == 2) {
        rcn_wino2_backward(s, n, x, w, dy, dx, dw, scratch, 0, res);
        return;
    }
    rcn_conv_backward(s, n, x, w, dy, dx, dw, scratch, 0);
    const size_t len = (size_t)s->cin * n * s->h * s->w;
    for (size_t j = 0; j < len; j++)
        dx[j] += res[j];
}
