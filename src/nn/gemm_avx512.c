/* gemm_avx512.c - the two matrix-product shapes the convolutions need, as
 * AVX-512 register-blocked kernels (no packing: the operands are small and
 * already laid out with the long dimension contiguous):
 *
 *   nn: C (m x n) = A (m x k) X (k x n), vectorised along n, an 8 x 48
 *       block of C in 24 accumulators; A's entries are broadcast. Used for
 *       forward and data-gradient products (m, k = channels, n = positions).
 *   nt: C (m x k) = D (m x n) X (k x n)^T, dot products along the long n,
 *       a 4 x 6 block of C in 24 vector accumulators reduced at the end by
 *       a transpose-add tree. Used for weight gradients.
 *
 * Summation order is fixed by the shapes alone: results are reproducible
 * bit for bit. Also holds the run-time AVX-512 switch of simd.h. */
#pragma GCC target("avx512f")

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "simd.h"

/* ---- the switch ---------------------------------------------------------- */

static int avx512_state = -1; /* -1 undecided */

int rcn_simd_avx512(void)
{
    if (avx512_state < 0) {
        const char *e = getenv("RCN_NO_AVX512");
        avx512_state = __builtin_cpu_supports("avx512f") && !(e && *e && strcmp(e, "0"));
    }
    return avx512_state;
}

void rcn_simd_set_avx512(int on)
{
    avx512_state = -1;
    if (!on)
        avx512_state = 0;
    else
        avx512_state = -1, (void)rcn_simd_avx512();
}


static ALWAYS_INLINE __mmask16 tail_mask(int lanes)
{
    return lanes >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1u);
}

/* ---- nn ------------------------------------------------------------------ */

#define NN_MB 8
#define NN_NV 3

/* One MB x (NV vectors) block of C; mk[j] masks vector j (the tail). */
static ALWAYS_INLINE void nn_block(const int MB, const int NV, int k, const float *a,
                                   size_t lda, const float *x, size_t ldx, float *c,
                                   size_t ldc, const __mmask16 *mkp, int accumulate)
{
    const __mmask16 mk[NN_NV] = {mkp[0], mkp[1], mkp[2]}; /* locals: c may alias mkp */
    __m512 acc[NN_MB][NN_NV];
#pragma GCC unroll 8
    for (int i = 0; i < MB; i++)
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++)
            acc[i][j] = _mm512_setzero_ps();
    for (int p = 0; p < k; p++) {
        const float *xr = x + (size_t)p * ldx;
        __m512 xv[NN_NV];
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++)
            xv[j] = _mm512_maskz_loadu_ps(mk[j], xr + 16 * j);
        const float *ar = a + p;
#pragma GCC unroll 8
        for (int i = 0; i < MB; i++) {
            __m512 av = _mm512_set1_ps(ar[(size_t)i * lda]);
#pragma GCC unroll 3
            for (int j = 0; j < NV; j++)
                acc[i][j] = _mm512_fmadd_ps(av, xv[j], acc[i][j]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MB; i++) {
        float *cr = c + (size_t)i * ldc;
#pragma GCC unroll 3
        for (int j = 0; j < NV; j++) {
            __m512 v = acc[i][j];
            if (accumulate)
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk[j], cr + 16 * j));
            _mm512_mask_storeu_ps(cr + 16 * j, mk[j], v);
        }
    }
}

#define NN_CASE(MB, NV)                                                              \
    case (MB) * 4 + (NV):                                                            \
        nn_block(MB, NV, k, a, lda, x, ldx, c, ldc, mk, accumulate);                 \
        break;
#define NN_CASES(MB) NN_CASE(MB, 1) NN_CASE(MB, 2) NN_CASE(MB, 3)

static void nn_dispatch(int mb, int nv, int k, const float *a, size_t lda, const float *x,
                        size_t ldx, float *c, size_t ldc, const __mmask16 *mk, int accumulate)
{
    switch (mb * 4 + nv) {
        NN_CASES(1) NN_CASES(2) NN_CASES(3) NN_CASES(4)
        NN_CASES(5) NN_CASES(6) NN_CASES(7) NN_CASES(8)
    default: break;
    }
}

void rcn_gemm_nn_avx512(int m, int n, int k, const float *a, size_t lda, const float *x,
                        size_t ldx, float *c, size_t ldc, int accumulate)
{
    for (int j0 = 0; j0 < n; j0 += 16 * NN_NV) {
        int cols = n - j0 < 16 * NN_NV ? n - j0 : 16 * NN_NV;
        int nv = (cols + 15) / 16;
        __mmask16 mk[NN_NV];
        for (int j = 0; j < NN_NV; j++)
            mk[j] = tail_mask(cols - 16 * j > 0 ? cols - 16 * j : 0);
        for (int i0 = 0; i0 < m; i0 += NN_MB) {
            int mb = m - i0 < NN_MB ? m - i0 : NN_MB;
            nn_dispatch(mb, nv, k, a + (size_t)i0 * lda, lda, x + j0, ldx,
                        c + (size_t)i0 * ldc + j0, ldc, mk, accumulate);
        }
    }
}

/* ---- nt ------------------------------------------------------------------ */

#define NT_MB 4
#define NT_KB 6

/* Permutation indices of the transpose-add tree: at level L (input group
 * size g = 16 >> L, G = 16 / g groups per vector), output lane o takes group
 * o / (g/2) of p (or, past p's G groups, of q) and adds the group's two
 * halves: lo picks the first half, hi the second. */
static const int tree_idx[4][2][16] __attribute__((aligned(64))) = {
    {{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
     {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31}},
    {{0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27},
     {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31}},
    {{0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29},
     {2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31}},
    {{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30},
     {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31}},
};

static ALWAYS_INLINE __m512 combine(__m512 p, __m512 q, int level)
{
    __m512i il = _mm512_load_si512(tree_idx[level][0]);
    __m512i ih = _mm512_load_si512(tree_idx[level][1]);
    return _mm512_add_ps(_mm512_permutex2var_ps(p, il, q), _mm512_permutex2var_ps(p, ih, q));
}

/* r[i] = sum of the 16 lanes of v[i], for up to 16 vectors (missing = 0). */
static ALWAYS_INLINE __m512 hsum16(const __m512 *v, int cnt)
{
    __m512 a[16];
    for (int i = 0; i < 16; i++)
        a[i] = i < cnt ? v[i] : _mm512_setzero_ps();
    __m512 b[8], c4[4], d2[2];
    for (int i = 0; i < 8; i++)
        b[i] = combine(a[2 * i], a[2 * i + 1], 0);
    for (int i = 0; i < 4; i++)
        c4[i] = combine(b[2 * i], b[2 * i + 1], 1);
    for (int i = 0; i < 2; i++)
        d2[i] = combine(c4[2 * i], c4[2 * i + 1], 2);
    return combine(d2[0], d2[1], 3);
}

/* Pins v to a register at this point (an empty asm that may change it),
 * so that later uses read the register instead of reloading memory. */
#define KEEP(v) __asm__("" : "+v"(v))

static ALWAYS_INLINE void nt_block(const int MB, const int KB, int n, const float *d,
                                   size_t ldd, const float *x, size_t ldx, float *c,
                                   size_t ldc, int accumulate)
{
    __m512 acc[NT_MB * NT_KB];
#pragma GCC unroll 24
    for (int i = 0; i < MB * KB; i++)
        acc[i] = _mm512_setzero_ps();
    int p = 0;
    for (; p + 16 <= n; p += 16) {
        /* Every operand loaded once into a register (KEEP): left to itself
         * the compiler folds the loads of x into each of the MB
         * multiply-adds that use it, MB times the loads, and the loop
         * becomes load-bound (55% of the FMA peak on Zen 5). One x vector
         * is live at a time: 24 sums + 4 + 1 of the 32 registers. */
        __m512 dv[NT_MB];
#pragma GCC unroll 4
        for (int i = 0; i < MB; i++) {
            dv[i] = _mm512_loadu_ps(d + (size_t)i * ldd + p);
            KEEP(dv[i]);
        }
#pragma GCC unroll 6
        for (int j = 0; j < KB; j++) {
            __m512 xv = _mm512_loadu_ps(x + (size_t)j * ldx + p);
            KEEP(xv);
#pragma GCC unroll 4
            for (int i = 0; i < MB; i++)
                acc[i * KB + j] = _mm512_fmadd_ps(dv[i], xv, acc[i * KB + j]);
        }
    }
    if (p < n) {
        __mmask16 mk = tail_mask(n - p);
        __m512 dv[NT_MB], xv[NT_KB];
#pragma GCC unroll 4
        for (int i = 0; i < MB; i++)
            dv[i] = _mm512_maskz_loadu_ps(mk, d + (size_t)i * ldd + p);
#pragma GCC unroll 6
        for (int j = 0; j < KB; j++)
            xv[j] = _mm512_maskz_loadu_ps(mk, x + (size_t)j * ldx + p);
#pragma GCC unroll 4
        for (int i = 0; i < MB; i++)
#pragma GCC unroll 6
            for (int j = 0; j < KB; j++)
                acc[i * KB + j] = _mm512_fmadd_ps(dv[i], xv[j], acc[i * KB + j]);
    }
    /* sum i * KB + j in lane i * KB + j of the pair (h0, h1); row i of the
     * block is KB consecutive lanes of it, moved to lane 0 for the store */
    const int cnt = MB * KB;
    const __m512 h0 = hsum16(acc, cnt < 16 ? cnt : 16);
    const __m512 h1 = cnt > 16 ? hsum16(acc + 16, cnt - 16) : _mm512_setzero_ps();
    const __mmask16 row = tail_mask(KB);
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int i = 0; i < MB; i++) {
        __m512 v = _mm512_permutex2var_ps(h0, _mm512_add_epi32(iota, _mm512_set1_epi32(i * KB)),
                                          h1);
        float *cp = c + (size_t)i * ldc;
        if (accumulate)
            v = _mm512_add_ps(_mm512_maskz_loadu_ps(row, cp), v);
        _mm512_mask_storeu_ps(cp, row, v);
    }
}

#define NT_CASE(MB, KB)                                                  \
    case (MB) * 8 + (KB):                                                \
        nt_block(MB, KB, n, d, ldd, x, ldx, c, ldc, accumulate);         \
        break;
#define NT_CASES(MB) \
    NT_CASE(MB, 1) NT_CASE(MB, 2) NT_CASE(MB, 3) NT_CASE(MB, 4) NT_CASE(MB, 5) NT_CASE(MB, 6)

static void nt_dispatch(int mb, int kb, int n, const float *d, size_t ldd, const float *x,
                        size_t ldx, float *c, size_t ldc, int accumulate)
{
    switch (mb * 8 + kb) {
        NT_CASES(1) NT_CASES(2) NT_CASES(3) NT_CASES(4)
    default: break;
    }
}

void rcn_gemm_nt_avx512(int m, int k, int n, const float *d, size_t ldd, const float *x,
                        size_t ldx, float *c, size_t ldc, int accumulate)
{
    for (int i0 = 0; i0 < m; i0 += NT_MB) {
        int mb = m - i0 < NT_MB ? m - i0 : NT_MB;
        for (int j0 = 0; j0 < k; j0 += NT_KB) {
            int kb = k - j0 < NT_KB ? k - j0 : NT_KB;
            nt_dispatch(mb, kb, n, d + (size_t)i0 * ldd, ldd, x + (size_t)j0 * ldx, ldx,
                        c + (size_t)i0 * ldc + j0, ldc, accumulate);
        }
    }
}
