/* gemm_avx2.c - the two matrix-product shapes of the Winograd convolutions
 * (winograd_avx2.c) as AVX2/FMA register-blocked kernels, for CPUs without
 * AVX-512 (no packing: the operands are small and already laid out with the
 * long dimension contiguous):
 *
 *   nn: C (m x n) = A (m x k) X (k x n), vectorised along n, a 6 x 16 block
 *       of C (4 x 24 for up to 16 rows) in 12 accumulators; A's entries are
 *       broadcast; any n (the last vector of a row masked). Forward and
 *       data-gradient products.
 *   nt: C (m x k) = D (m x n) X (k x n)^T, dot products along the long n
 *       (any n), a 3 x 4 block of C in 12 vector accumulators summed
 *       horizontally at the end. Weight gradients.
 *
 * Summation order is fixed by the shapes alone: results are reproducible
 * bit for bit. Also holds the run-time switch of the AVX2 kernels (simd.h). */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

/* ---- the switch ---------------------------------------------------------- */

static int avx2_state = -1; /* -1 undecided */

int rcn_simd_avx2(void)
{
    if (avx2_state < 0) {
        const char *e = getenv("RCN_NO_AVX2");
        avx2_state = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                     !(e && *e && strcmp(e, "0"));
    }
    return avx2_state;
}

void rcn_simd_set_avx2(int on)
{
    avx2_state = -1;
    if (!on)
        avx2_state = 0;
    else
        (void)rcn_simd_avx2();
}


/* ---- nn ------------------------------------------------------------------ */

/* Blocks of C: 6 x 16 (12 accumulators, 2 loads + 6 broadcasts per 12
 * FMAs), measured on Zen 3 against 4x24, 3x32, 2x48, 5x16, 4x16, 8x8: the
 * best on 32..64 rows (83-90 GFLOP/s where 4x24 gave 60-68); on 16 rows
 * 4 x 24 (3 loads + 4 broadcasts) wins instead (77 against 71), once the
 * loads are kept out of the FMAs (see nt). */
#define NN_MB 6
#define NN_NV 3

/* One MB x (NV vectors) block of C; MASKED: the last vector has only the
 * lanes of tm (loads and stores of it masked). */
static ALWAYS_INLINE void nn_block(const int MB, const int NV, const int MASKED, int k,
                                   const float *a, size_t lda, const float *x, size_t ldx,
                                   float *c, size_t ldc, int accumulate, __m256i tm)
{
    __m256 acc[NN_MB][NN_NV];
#pragma GCC unroll 8
    for (int i = 0; i < MB; i++)
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++)
            acc[i][j] = _mm256_setzero_ps();
    for (int p = 0; p < k; p++) {
        const float *xr = x + (size_t)p * ldx;
        __m256 xv[NN_NV];
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++) {
            xv[j] = MASKED && j == NV - 1 ? _mm256_maskload_ps(xr + 8 * j, tm)
                                          : _mm256_loadu_ps(xr + 8 * j);
            __asm__("" : "+x"(xv[j])); /* in a register, not folded into each FMA */
        }
#pragma GCC unroll 8
        for (int i = 0; i < MB; i++) {
            __m256 av = _mm256_broadcast_ss(a + (size_t)i * lda + p);
#pragma GCC unroll 8
            for (int j = 0; j < NV; j++)
                acc[i][j] = _mm256_fmadd_ps(av, xv[j], acc[i][j]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MB; i++) {
        float *cr = c + (size_t)i * ldc;
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++) {
            __m256 v = acc[i][j];
            if (MASKED && j == NV - 1) {
                if (accumulate)
                    v = _mm256_add_ps(v, _mm256_maskload_ps(cr + 8 * j, tm));
                _mm256_maskstore_ps(cr + 8 * j, tm, v);
            } else {
                if (accumulate)
                    v = _mm256_add_ps(v, _mm256_loadu_ps(cr + 8 * j));
                _mm256_storeu_ps(cr + 8 * j, v);
            }
        }
    }
}

/* All row blocks (MB rows, then the rest) of one column block (NV vectors,
 * the last one masked when MASKED): one call per column block. */
static ALWAYS_INLINE void nn_cols(const int MB, const int NV, const int MASKED, int m, int k,
                                  const float *a, size_t lda, const float *x, size_t ldx,
                                  float *c, size_t ldc, int accumulate, __m256i tm)
{
    int i0 = 0;
    for (; i0 + MB <= m; i0 += MB)
        nn_block(MB, NV, MASKED, k, a + (size_t)i0 * lda, lda, x, ldx, c + (size_t)i0 * ldc,
                 ldc, accumulate, tm);
    a += (size_t)i0 * lda, c += (size_t)i0 * ldc;
    switch (m - i0) {
    case 1: nn_block(1, NV, MASKED, k, a, lda, x, ldx, c, ldc, accumulate, tm); break;
    case 2: nn_block(2, NV, MASKED, k, a, lda, x, ldx, c, ldc, accumulate, tm); break;
    case 3: nn_block(3, NV, MASKED, k, a, lda, x, ldx, c, ldc, accumulate, tm); break;
    case 4: nn_block(4, NV, MASKED, k, a, lda, x, ldx, c, ldc, accumulate, tm); break;
    case 5: nn_block(5, NV, MASKED, k, a, lda, x, ldx, c, ldc, accumulate, tm); break;
    default: break;
    }
}

/* Column blocks of W vectors with MB-row blocks: full ones, then the tail
 * (1..W vectors, the last one masked when n is not a multiple of 8). */
static void nn_6x2_full(int m, int k, const float *a, size_t lda, const float *x, size_t ldx,
                        float *c, size_t ldc, int accumulate)
{
    nn_cols(6, 2, 0, m, k, a, lda, x, ldx, c, ldc, accumulate, _mm256_setzero_si256());
}

static void nn_4x3_full(int m, int k, const float *a, size_t lda, const float *x, size_t ldx,
                        float *c, size_t ldc, int accumulate)
{
    nn_cols(4, 3, 0, m, k, a, lda, x, ldx, c, ldc, accumulate, _mm256_setzero_si256());
}

static void nn_tail(int mb, int nv, int masked, int m, int k, const float *a, size_t lda,
                    const float *x, size_t ldx, float *c, size_t ldc, int accumulate,
                    __m256i tm)
{
#define NN_TAIL(MB, NV, MK)                                                              \
    if (mb == (MB) && nv == (NV) && masked == (MK)) {                                    \
        nn_cols(MB, NV, MK, m, k, a, lda, x, ldx, c, ldc, accumulate, tm);               \
        return;                                                                          \
    }
    NN_TAIL(6, 1, 0) NN_TAIL(6, 1, 1) NN_TAIL(6, 2, 1)
    NN_TAIL(4, 1, 0) NN_TAIL(4, 1, 1) NN_TAIL(4, 2, 0) NN_TAIL(4, 2, 1) NN_TAIL(4, 3, 1)
#undef NN_TAIL
}

void rcn_gemm_nn_avx2(int m, int n, int k, const float *a, size_t lda, const float *x,
                      size_t ldx, float *c, size_t ldc, int accumulate)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const int narrow = m <= 16 && m % 4 == 0; /* 4 x 24 blocks, else 6 x 16 */
    const int W = narrow ? 3 : 2, mb = narrow ? 4 : 6;
    int j0 = 0;
    for (; j0 + 8 * W <= n; j0 += 8 * W) {
        if (narrow)
            nn_4x3_full(m, k, a, lda, x + j0, ldx, c + j0, ldc, accumulate);
        else
            nn_6x2_full(m, k, a, lda, x + j0, ldx, c + j0, ldc, accumulate);
    }
    if (j0 < n) {
        int cols = n - j0, nv = (cols + 7) / 8, masked = cols % 8 != 0;
        __m256i tm = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols - 8 * (nv - 1)), idx);
        nn_tail(mb, nv, masked, m, k, a, lda, x + j0, ldx, c + j0, ldc, accumulate, tm);
    }
}

/* ---- nt ------------------------------------------------------------------ */

/* 3 x 4 blocks of C: 12 accumulators, 7 loads per 12 FMAs; a row's 4
 * dot products are summed horizontally together (a hadd tree into one
 * 4-lane vector, added to C in one go). */
#ifndef NT_MB
#define NT_MB 3
#endif
#ifndef NT_KB
#define NT_KB 4
#endif

/* Lanes [0, left) of the 8 from p (left < 8), zeros elsewhere. */
static ALWAYS_INLINE __m256 load_tail(const float *p, int left)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), idx);
    return _mm256_maskload_ps(p, m);
}

/* The 8 lanes of v summed, in a fixed order. */
static ALWAYS_INLINE float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* The lane sums of a, b, c, d as one vector (fixed order). */
static ALWAYS_INLINE __m128 hsum8x4(__m256 a, __m256 b, __m256 c, __m256 d)
{
    __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

static ALWAYS_INLINE void nt_block(const int MB, const int KB, int n, const float *d,
                                   size_t ldd, const float *x, size_t ldx, float *c,
                                   size_t ldc, int accumulate)
{
    __m256 acc[NT_MB][NT_KB];
#pragma GCC unroll 8
    for (int i = 0; i < MB; i++)
#pragma GCC unroll 8
        for (int j = 0; j < KB; j++)
            acc[i][j] = _mm256_setzero_ps();
    int p = 0;
    /* 12 accumulators + 3 D rows + 1 X row: the 16 registers. The empty asm
     * keeps gcc from folding the loads into the FMAs as memory operands
     * (it did: 15-16 loads per 12 FMAs, bound by L1 bandwidth; 7 now) */
    for (; p + 8 <= n; p += 8) {
        __m256 dv[NT_MB];
#pragma GCC unroll 8
        for (int i = 0; i < MB; i++) {
            dv[i] = _mm256_loadu_ps(d + (size_t)i * ldd + p);
            __asm__("" : "+x"(dv[i]));
        }
#pragma GCC unroll 8
        for (int j = 0; j < KB; j++) {
            __m256 xv = _mm256_loadu_ps(x + (size_t)j * ldx + p);
            __asm__("" : "+x"(xv));
#pragma GCC unroll 8
            for (int i = 0; i < MB; i++)
                acc[i][j] = _mm256_fmadd_ps(dv[i], xv, acc[i][j]);
        }
    }
    if (p < n) {
        __m256 dv[NT_MB], xv[NT_KB];
#pragma GCC unroll 8
        for (int i = 0; i < MB; i++)
            dv[i] = load_tail(d + (size_t)i * ldd + p, n - p);
#pragma GCC unroll 8
        for (int j = 0; j < KB; j++)
            xv[j] = load_tail(x + (size_t)j * ldx + p, n - p);
#pragma GCC unroll 8
        for (int i = 0; i < MB; i++)
#pragma GCC unroll 8
            for (int j = 0; j < KB; j++)
                acc[i][j] = _mm256_fmadd_ps(dv[i], xv[j], acc[i][j]);
    }
    for (int i = 0; i < MB; i++) {
        float *cp = c + (size_t)i * ldc;
        if (KB == 4) {
            __m128 s4 = hsum8x4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]);
            if (accumulate)
                s4 = _mm_add_ps(s4, _mm_loadu_ps(cp));
            _mm_storeu_ps(cp, s4);
        } else {
            for (int j = 0; j < KB; j++) {
                float sj = hsum8(acc[i][j]);
                cp[j] = accumulate ? cp[j] + sj : sj;
            }
        }
    }
}

#define NT_CASE(MB, KB)                                                  \
    case (MB) * 8 + (KB):                                                \
        nt_block(MB, KB, n, d, ldd, x, ldx, c, ldc, accumulate);         \
        break;
#define NT_CASES(MB) NT_CASE(MB, 1) NT_CASE(MB, 2) NT_CASE(MB, 3) NT_CASE(MB, 4)

static void nt_dispatch(int mb, int kb, int n, const float *d, size_t ldd, const float *x,
                        size_t ldx, float *c, size_t ldc, int accumulate)
{
    switch (mb * 8 + kb) {
        NT_CASES(1) NT_CASES(2) NT_CASES(3)
    default: break;
    }
}

void rcn_gemm_nt_avx2(int m, int k, int n, const float *d, size_t ldd, const float *x,
                      size_t ldx, float *c, size_t ldc, int accumulate)
{
    for (int j0 = 0; j0 < k; j0 += NT_KB) {
        int kb = k - j0 < NT_KB ? k - j0 : NT_KB;
        for (int i0 = 0; i0 < m; i0 += NT_MB) {
            int mb = m - i0 < NT_MB ? m - i0 : NT_MB;
            nt_dispatch(mb, kb, n, d + (size_t)i0 * ldd, ldd, x + (size_t)j0 * ldx, ldx,
                        c + (size_t)i0 * ldc + j0, ldc, accumulate);
        }
    }
}
