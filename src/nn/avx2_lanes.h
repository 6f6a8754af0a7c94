/* avx2_lanes.h - the 8-lane float shuffles the AVX2 kernels share
 * (im2col_avx2.c, winograd_avx2.c): even / odd lanes of a 16-float pair and
 * one-lane shifts across a vector boundary. Include after simd.h (for
 * ALWAYS_INLINE); the including file compiles for AVX2. */
#ifndef RCN_NN_AVX2_LANES_H
#define RCN_NN_AVX2_LANES_H

#include <immintrin.h>

/* Even / odd lanes of the 16 floats a, b. */
static ALWAYS_INLINE __m256 evens(__m256 a, __m256 b)
{
    __m256 t = _mm256_shuffle_ps(a, b, 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), 0xD8));
}

static ALWAYS_INLINE __m256 odds(__m256 a, __m256 b)
{
    __m256 t = _mm256_shuffle_ps(a, b, 0xDD);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), 0xD8));
}

/* [prev7, x0 .. x6] */
static ALWAYS_INLINE __m256 up1(__m256 x, __m256 prev)
{
    __m256 t = _mm256_permute2f128_ps(prev, x, 0x21);
    return _mm256_castsi256_ps(
        _mm256_alignr_epi8(_mm256_castps_si256(x), _mm256_castps_si256(t), 12));
}

#endif
