/* conv_avx512.c - convolutions that Winograd does not cover (strided, 1x1,
 * other kernel sizes) as im2col + the AVX-512 matrix kernels, for planes
 * whose zero-padded row fits one 32-lane register pair (w + 2*pad <= 32
 * and the same for every output row read; all of MNIST's sizes).
 *
 * im2col: each input row is loaded once per use as a padded pair (column
 * -pad .. 31-pad) and every tap's output row is one lane permutation
 * (index stride*ow + kw): no scalar strided copies, no memset. col2im is
 * the same in reverse: for each input row, the contributions of every
 * (kh, kw, output row) are permuted into a padded pair in registers and the
 * row is written once (overwritten, or added to when accumulating), so dx
 * needs no zeroing pass.
 *
 * The batch is cut into chunks of whole samples whose im2col block stays in
 * the L2 cache; 1x1 stride-1 convolutions use the activations directly. */
#pragma GCC target("avx512f")

#include <immintrin.h>
#include <string.h>

#include "conv_ops.h"
#include "prof.h"
#include "simd.h"

/* Floats of one chunk's im2col block. */
#define COL_BUDGET (1 << 17)
/* Floats of one chunk of columns for the 1x1 stride-1 weight gradient. */
#define PW_CHUNK 4096
/* Below this many columns per chunk the weight gradient transposes the
 * im2col block and runs the nn kernel (no horizontal sums per chunk). */
#define NT_MIN_COLS 512
/* Planes ahead that im2col / col2im prefetch. */
#ifndef PF_AHEAD
#define PF_AHEAD 1
#endif


/* Row length of the im2col block for N columns: a multiple of 16 floats,
 * never of 256 (1 KiB), so that consecutive rows do not share cache sets. */
static size_t row_ld(size_t N)
{
    size_t ld = (N + 15) & ~(size_t)15;
    return ld % 256 ? ld : ld + 16;
}

static int is_pointwise(const rcn_conv_shape *s)
{
    return s->k == 1 && s->stride == 1 && s->pad == 0;
}

int rcn_cv_applies(const rcn_conv_shape *s)
{
    if (s->k < 1 || s->k > 16 || s->stride < 1 || s->pad < 0 || s->ho < 1 || s->wo < 1)
        return 0;
    if (is_pointwise(s))
        return 1;
    /* the padded row pair holds every column read and written */
    return s->wo <= 32 && s->w + 2 * s->pad <= 32 &&
           s->stride * (s->wo - 1) + s->k - 1 <= 31;
}

static int chunk_samples(const rcn_conv_shape *s, int n)
{
    size_t per = (size_t)s->cin * s->k * s->k * s->ho * s->wo;
    int nb = (int)(COL_BUDGET / (per ? per : 1));
    if (nb < 1)
        nb = 1;
    return nb < n ? nb : n;
}

size_t rcn_cv_scratch_floats(const rcn_conv_shape *s, int n)
{
    size_t K = (size_t)s->cin * s->k * s->k, wt = K * s->cout;
    if (n < 1)
        n = 1;
    if (s->h == 1 && s->w == 1 && s->ho == 1 && s->wo == 1 && s->pad < s->k && s->k > 1) {
        size_t c = 2 * (size_t)s->cin * s->cout + (size_t)n * s->cin;
        wt = c > wt ? c : wt;
    }
    if (is_pointwise(s))
        return wt;
    size_t cols = (size_t)chunk_samples(s, n) * s->ho * s->wo;
    return wt + K * row_ld(cols) + cols * row_ld(K);
}

/* ---- lane tables for one shape ------------------------------------------- */

typedef struct {
    int segs;                 /* output-row segments of 16 lanes: 1 or 2 */
    __mmask16 pad0, pad1;     /* padded pair lanes p whose column p - pad is in [0, w) */
    __mmask16 seg_mask[2];    /* valid output lanes of each segment */
    __m512i gather[2][16];    /* [seg][kw]: lane ow <- padded index stride*(16 seg + ow) + kw */
    /* col2im: padded lane p (pair half hf) <- segment lane (p - kw)/stride - 16 seg */
    __m512i scat_idx[2][16][2];
    __mmask16 scat_mask[2][16][2];
} lanes_t;

static __mmask16 lanes_below(int n)
{
    return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

static void lanes_init(lanes_t *L, const rcn_conv_shape *s)
{
    memset(L, 0, sizeof *L);
    L->segs = s->wo > 16 ? 2 : 1;
    __mmask16 p0 = 0, p1 = 0;
    for (int p = 0; p < 16; p++) {
        if (p - s->pad >= 0 && p - s->pad < s->w)
            p0 |= (__mmask16)(1u << p);
        if (p + 16 - s->pad >= 0 && p + 16 - s->pad < s->w)
            p1 |= (__mmask16)(1u << p);
    }
    L->pad0 = p0, L->pad1 = p1;
    for (int sg = 0; sg < L->segs; sg++) {
        L->seg_mask[sg] = lanes_below(s->wo - 16 * sg);
        for (int kw = 0; kw < s->k; kw++) {
            int idx[16];
            for (int o = 0; o < 16; o++) {
                int v = s->stride * (16 * sg + o) + kw;
                idx[o] = v <= 31 ? v : 0;
            }
            L->gather[sg][kw] = _mm512_loadu_si512(idx);
            for (int hf = 0; hf < 2; hf++) {
                int si[16];
                __mmask16 m = 0;
                for (int q = 0; q < 16; q++) {
                    int p = 16 * hf + q, d = p - kw;
                    si[q] = 0;
                    if (d < 0 || d % s->stride)
                        continue;
                    int ow = d / s->stride - 16 * sg;
                    if (ow < 0 || ow >= 16 || 16 * sg + ow >= s->wo)
                        continue;
                    si[q] = ow;
                    m |= (__mmask16)(1u << q);
                }
                L->scat_idx[sg][kw][hf] = _mm512_loadu_si512(si);
                L->scat_mask[sg][kw][hf] = m;
            }
        }
    }
}

/* Brings the plane to be worked on next (hw floats) towards the cache:
 * planes of one channel are n*h*w floats apart, beyond what the hardware
 * prefetcher follows. */
static ALWAYS_INLINE void prefetch_plane(const float *p, size_t hw, int write)
{
    for (size_t i = 0; i < hw; i += 16) {
        if (write)
            _mm_prefetch((const char *)(p + i), _MM_HINT_ET0);
        else
            _mm_prefetch((const char *)(p + i), _MM_HINT_T0);
    }
}

/* Prefetches the plane PF_AHEAD ahead of plane (ci, sample n0 + i) of p
 * (cin, n, planes of hw floats) in the order of the loops below, samples
 * n0 .. n0+cnt of a channel, then the next channel: explicit prefetching
 * beats the hardware prefetcher on these 3 KiB planes (1x1 s2 at b256:
 * -27%). A statement macro: as a function, even always inlined, it
 * changes the register allocation of the loops around it. */
#define PREFETCH_AHEAD(p, hw, cin, n, n0, cnt, ci, i, write)                      \
    do {                                                                          \
        int ni_ = (i) + PF_AHEAD, nc_ = (ci);                                     \
        while (ni_ >= (cnt) && nc_ < (cin))                                       \
            ni_ -= (cnt), nc_++;                                                  \
        if (nc_ < (cin))                                                          \
            prefetch_plane((p) + ((size_t)nc_ * (n) + (n0) + ni_) * (hw), (hw), (write)); \
    } while (0)

/* ---- im2col / col2im --------------------------------------------------------- */

/* col (K x ld) for samples n0 .. n0+cnt of x (cin, n, h, w). */
static void im2col(const rcn_conv_shape *s, const lanes_t *L, int n, int n0, int cnt,
                   const float *x, float *col, size_t ld)
{
    const int k = s->k, howo = s->ho * s->wo, segs = L->segs;
    const size_t hw = (size_t)s->h * s->w;
    /* locals: the stores below may alias *L */
    const __mmask16 pad0 = L->pad0, pad1 = L->pad1, sm0 = L->seg_mask[0], sm1 = L->seg_mask[1];
    for (int ci = 0; ci < s->cin; ci++) {
        for (int i = 0; i < cnt; i++) {
            PREFETCH_AHEAD(x, hw, s->cin, n, n0, cnt, ci, i, 0);
            const float *xp = x + ((size_t)ci * n + n0 + i) * hw;
            float *cp = col + (size_t)ci * k * k * ld + (size_t)i * howo;
            for (int oh = 0; oh < s->ho; oh++) {
                for (int kh = 0; kh < k; kh++) {
                    int r = oh * s->stride - s->pad + kh;
                    __m512 a = _mm512_setzero_ps(), b = a;
                    if (r >= 0 && r < s->h) {
                        const float *row = xp + (size_t)r * s->w - s->pad;
                        a = _mm512_maskz_loadu_ps(pad0, row);
                        b = _mm512_maskz_loadu_ps(pad1, row + 16);
                    }
                    float *dst = cp + (size_t)kh * k * ld + (size_t)oh * s->wo;
                    for (int kw = 0; kw < k; kw++) {
                        _mm512_mask_storeu_ps(dst + (size_t)kw * ld, sm0,
                                              _mm512_permutex2var_ps(a, L->gather[0][kw], b));
                        if (segs > 1)
                            _mm512_mask_storeu_ps(dst + (size_t)kw * ld + 16, sm1,
                                                  _mm512_permutex2var_ps(a, L->gather[1][kw], b));
                    }
                }
            }
        }
    }
}

/* dx (samples n0 .. n0+cnt) = [dx +] col2im(col). */
static void col2im(const rcn_conv_shape *s, const lanes_t *L, int n, int n0, int cnt,
                   const float *col, size_t ld, float *dx, int acc)
{
    const int k = s->k, howo = s->ho * s->wo, st = s->stride;
    const size_t hw = (size_t)s->h * s->w;
    const __mmask16 pad0 = L->pad0, pad1 = L->pad1; /* locals: the stores may alias *L */
    for (int ci = 0; ci < s->cin; ci++) {
        for (int i = 0; i < cnt; i++) {
            PREFETCH_AHEAD(dx, hw, s->cin, n, n0, cnt, ci, i, !acc);
            float *dp = dx + ((size_t)ci * n + n0 + i) * hw;
            const float *cp = col + (size_t)ci * k * k * ld + (size_t)i * howo;
            for (int r = 0; r < s->h; r++) {
                __m512 a = _mm512_setzero_ps(), b = a;
                for (int kh = 0; kh < k; kh++) {
                    int t = r + s->pad - kh;
                    if (t < 0 || t % st)
                        continue;
                    int oh = t / st;
                    if (oh >= s->ho)
                        continue;
                    const float *src = cp + (size_t)kh * k * ld + (size_t)oh * s->wo;
                    for (int kw = 0; kw < k; kw++)
                        for (int sg = 0; sg < L->segs; sg++) {
                            __m512 v = _mm512_maskz_loadu_ps(L->seg_mask[sg],
                                                             src + (size_t)kw * ld + 16 * sg);
                            a = _mm512_add_ps(a, _mm512_maskz_permutexvar_ps(
                                                     L->scat_mask[sg][kw][0],
                                                     L->scat_idx[sg][kw][0], v));
                            b = _mm512_add_ps(b, _mm512_maskz_permutexvar_ps(
                                                     L->scat_mask[sg][kw][1],
                                                     L->scat_idx[sg][kw][1], v));
                        }
                }
                float *row = dp + (size_t)r * s->w - s->pad;
                if (acc) {
                    a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(pad0, row));
                    b = _mm512_add_ps(b, _mm512_maskz_loadu_ps(pad1, row + 16));
                }
                _mm512_mask_storeu_ps(row, pad0, a);
                if (pad1)
                    _mm512_mask_storeu_ps(row + 16, pad1, b);
            }
        }
    }
}

/* d (16 x 16, row stride ldd) = s (16 x 16, row stride lds)^T in registers:
 * 32-bit, 64-bit and 128-bit lane interleaves, then 256-bit halves. */
static void transpose16(const float *src, size_t lds, float *dst, size_t ldd)
{
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++)
        r[i] = _mm512_loadu_ps(src + (size_t)i * lds);
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int h = 0; h < 16; h += 8)
        for (int i = 0; i < 4; i++) {
            t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + 4 + i], 0x88);
            t[h + 4 + i] = _mm512_shuffle_f32x4(r[h + i], r[h + 4 + i], 0xdd);
        }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
    }
    for (int i = 0; i < 16; i++)
        _mm512_storeu_ps(dst + (size_t)i * ldd, r[i]);
}

/* wt (cols x rows, row stride ldt) = w (rows x cols, row stride ldw)^T: full
 * 16 x 16 tiles in registers, the edges element by element. */
static void transpose_ld(const float *w, size_t ldw, int rows, int cols, float *wt, size_t ldt)
{
    const int R = rows & ~15, C = cols & ~15;
    for (int r0 = 0; r0 < R; r0 += 16)
        for (int c0 = 0; c0 < C; c0 += 16)
            transpose16(w + (size_t)r0 * ldw + c0, ldw, wt + (size_t)c0 * ldt + r0, ldt);
    for (int r = 0; r < rows; r++)
        for (int c = r < R ? C : 0; c < cols; c++)
            wt[(size_t)c * ldt + r] = w[(size_t)r * ldw + c];
}

static void transpose(const float *w, int rows, int cols, float *wt)
{
    transpose_ld(w, (size_t)cols, rows, cols, wt, (size_t)rows);
}

/* A 1x1 plane in and out (the last stage of resnet18): of the k x k kernel
 * only the centre tap (pad, pad) ever meets the input, so the convolution
 * is a 1x1 one with those weights; the other taps' gradients are zero. */
static int center_only(const rcn_conv_shape *s)
{
    return s->h == 1 && s->w == 1 && s->ho == 1 && s->wo == 1 && s->pad < s->k && s->k > 1;
}

/* ---- convolutions --------------------------------------------------------------- */

/* wc (cout x cin) = the centre tap of every kernel. */
static void center_weights(const rcn_conv_shape *s, const float *w, float *wc)
{
    const size_t kk = (size_t)s->k * s->k, c = (size_t)s->pad * s->k + s->pad;
    for (size_t i = 0; i < (size_t)s->cout * s->cin; i++)
        wc[i] = w[i * kk + c];
}

/* ops on columns [c0, c0 + len) of every output channel's row (P long). */
static void finish_cols(const rcn_conv_ops *ops, int cout, float *y, size_t P, size_t c0,
                        size_t len)
{
    for (int co = 0; co < cout; co++) {
        size_t at = (size_t)co * P + c0;
        conv_ops_row(ops, co, y + at, ops->res ? ops->res + at : NULL, len, 1);
    }
}

void rcn_cv_forward(const rcn_conv_shape *s, int n, const float *x, const float *w, float *y,
                    float *scratch, const rcn_conv_ops *ops)
{
    const int K = s->cin * s->k * s->k, howo = s->ho * s->wo;
    const size_t P = (size_t)n * howo;
    const int finish = conv_ops_active(ops);
    if (center_only(s)) {
        center_weights(s, w, scratch);
        rcn_gemm_nn_avx512(s->cout, n, s->cin, scratch, s->cin, x, n, y, n, 0);
        if (finish)
            finish_cols(ops, s->cout, y, P, 0, P);
        return;
    }
    if (is_pointwise(s)) {
        rcn_gemm_nn_avx512(s->cout, (int)P, K, w, K, x, P, y, P, 0);
        if (finish)
            finish_cols(ops, s->cout, y, P, 0, P);
        return;
    }
    lanes_t L;
    lanes_init(&L, s);
    const int nb = chunk_samples(s, n);
    float *col = scratch + (size_t)K * s->cout;
    for (int n0 = 0; n0 < n; n0 += nb) {
        const int cnt = n - n0 < nb ? n - n0 : nb, N = cnt * howo;
        const size_t ld = row_ld((size_t)N);
        RCN_PROF_BEGIN(t0);
        im2col(s, &L, n, n0, cnt, x, col, ld);
        RCN_PROF_END(t0, RCN_PROF_TRANSFORM);
        rcn_gemm_nn_avx512(s->cout, N, K, w, K, col, ld, y + (size_t)n0 * howo, P, 0);
        if (finish)
            finish_cols(ops, s->cout, y, P, (size_t)n0 * howo, (size_t)N);
    }
}

void rcn_cv_backward(const rcn_conv_shape *s, int n, const float *x, const float *w,
                     const float *dy, float *dx, float *dw, float *scratch, int accumulate_dx)
{
    const int K = s->cin * s->k * s->k, howo = s->ho * s->wo;
    const size_t P = (size_t)n * howo;
    float *wt = scratch;
    if (center_only(s)) {
        /* dwc = dy x^T as dy (cout x n) times x^T (n x cin); dx = wc^T dy */
        const int ci = s->cin, co = s->cout;
        float *wc = scratch, *t = wc + (size_t)co * ci, *xt = t + (size_t)co * ci;
        transpose(x, ci, n, xt);
        rcn_gemm_nn_avx512(co, ci, n, dy, n, xt, ci, t, ci, 0);
        const size_t kk = (size_t)s->k * s->k, c = (size_t)s->pad * s->k + s->pad;
        memset(dw, 0, sizeof(float) * kk * co * ci);
        for (size_t i = 0; i < (size_t)co * ci; i++)
            dw[i * kk + c] = t[i];
        if (dx) {
            center_weights(s, w, wc);
            transpose(wc, co, ci, t);
            rcn_gemm_nn_avx512(ci, n, co, t, co, dy, n, dx, n, accumulate_dx);
        }
        return;
    }
    if (dx)
        transpose(w, s->cout, K, wt);
    if (is_pointwise(s)) {
        for (size_t p0 = 0; p0 < P; p0 += PW_CHUNK) {
            int N = P - p0 < PW_CHUNK ? (int)(P - p0) : PW_CHUNK;
            rcn_gemm_nt_avx512(s->cout, K, N, dy + p0, P, x + p0, P, dw, K, p0 > 0);
        }
        if (dx)
            rcn_gemm_nn_avx512(K, (int)P, s->cout, wt, s->cout, dy, P, dx, P, accumulate_dx);
        return;
    }
    lanes_t L;
    lanes_init(&L, s);
    const int nb = chunk_samples(s, n);
    float *col = scratch + (size_t)K * s->cout;
    float *colt = col + (size_t)K * row_ld((size_t)nb * howo);
    const size_t ldt = row_ld((size_t)K);
    for (int n0 = 0; n0 < n; n0 += nb) {
        const int cnt = n - n0 < nb ? n - n0 : nb, N = cnt * howo;
        const size_t ld = row_ld((size_t)N);
        const float *dyc = dy + (size_t)n0 * howo;
        RCN_PROF_BEGIN(t0);
        im2col(s, &L, n, n0, cnt, x, col, ld);
        if (N < NT_MIN_COLS)
            transpose_ld(col, ld, K, N, colt, ldt);
        RCN_PROF_END(t0, RCN_PROF_TRANSFORM);
        if (N < NT_MIN_COLS)
            rcn_gemm_nn_avx512(s->cout, K, N, dyc, P, colt, ldt, dw, K, n0 > 0);
        else
            rcn_gemm_nt_avx512(s->cout, K, N, dyc, P, col, ld, dw, K, n0 > 0);
        if (dx) {
            rcn_gemm_nn_avx512(K, N, s->cout, wt, s->cout, dyc, P, col, ld, 0);
            RCN_PROF_BEGIN(t1);
            col2im(s, &L, n, n0, cnt, col, ld, dx, accumulate_dx);
            RCN_PROF_END(t1, RCN_PROF_TRANSFORM);
        }
    }
}
