/* batchnorm.c - BatchNorm2d over CNHW activations (one contiguous block of
 * m = n*h*w values per channel), with optional fused ReLU; PyTorch's
 * conventions for eps, momentum and the unbiased running variance.
 *
 * Channel sums end in double. The AVX-512 path sums blocks of 256 values
 * in float lanes (16 values per lane: float rounding far below the double
 * total's) and adds each block's lanes into double accumulators; the
 * portable path uses LANES independent double sums. Either way the order is
 * fixed, so the result is the same on every run of the same build. */
#include "rcn/nn.h"

#include <immintrin.h>
#include <math.h>

#include "simd.h"

#define LANES 8
#define BLOCK 256

/* ---- AVX-512 ------------------------------------------------------------- */

#define AVX512 __attribute__((target("avx512f")))

AVX512 static inline __mmask16 tail16(size_t left)
{
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

/* acc (two 8-lane doubles) += the 16 float lanes of v. */
AVX512 static inline void add_wide(__m512d *lo, __m512d *hi, __m512 v)
{
    *lo = _mm512_add_pd(*lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    *hi = _mm512_add_pd(
        *hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}

AVX512 static double hsum_pd(__m512d lo, __m512d hi)
{
    return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}

AVX512 static void moments_avx512(const float *x, size_t m, double *sum, double *sumsq)
{
    __m512d s_lo = _mm512_setzero_pd(), s_hi = s_lo, q_lo = s_lo, q_hi = s_lo;
    for (size_t i = 0; i < m;) {
        size_t end = m - i > BLOCK ? i + BLOCK : m;
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, q0 = s0, q1 = s0;
        for (; i + 32 <= end; i += 32) {
            __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
            s0 = _mm512_add_ps(s0, a);
            s1 = _mm512_add_ps(s1, b);
            q0 = _mm512_fmadd_ps(a, a, q0);
            q1 = _mm512_fmadd_ps(b, b, q1);
        }
        for (; i < end; i += 16) {
            __m512 a = _mm512_maskz_loadu_ps(tail16(end - i), x + i);
            s0 = _mm512_add_ps(s0, a);
            q0 = _mm512_fmadd_ps(a, a, q0);
        }
        add_wide(&s_lo, &s_hi, _mm512_add_ps(s0, s1));
        add_wide(&q_lo, &q_hi, _mm512_add_ps(q0, q1));
    }
    *sum = hsum_pd(s_lo, s_hi);
    *sumsq = hsum_pd(q_lo, q_hi);
}

AVX512 static void affine_avx512(const float *x, float *y, size_t m, float scale, float shift,
                                 int relu)
{
    const __m512 a = _mm512_set1_ps(scale), b = _mm512_set1_ps(shift), z = _mm512_setzero_ps();
    size_t i = 0;
    /* max(v, 0) gives 0 for NaN v, as the portable v > 0 ? v : 0 does */
    if (relu) {
        for (; i + 16 <= m; i += 16)
            _mm512_storeu_ps(y + i, _mm512_max_ps(_mm512_fmadd_ps(_mm512_loadu_ps(x + i), a, b), z));
    } else {
        for (; i + 16 <= m; i += 16)
            _mm512_storeu_ps(y + i, _mm512_fmadd_ps(_mm512_loadu_ps(x + i), a, b));
    }
    if (i < m) {
        __mmask16 k = tail16(m - i);
        __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, x + i), a, b);
        _mm512_mask_storeu_ps(y + i, k, relu ? _mm512_max_ps(v, z) : v);
    }
}

/* g = dy masked by the ReLU when y != NULL: zero where y <= 0 (a NaN y
 * keeps dy, as in the portable code). */
AVX512 static inline __m512 grad_in(const float *dy, const float *y, size_t i, __mmask16 k)
{
    __m512 g = _mm512_maskz_loadu_ps(k, dy + i);
    if (y) {
        __mmask16 keep =
            _mm512_mask_cmp_ps_mask(k, _mm512_maskz_loadu_ps(k, y + i), _mm512_setzero_ps(),
                                    _CMP_NLE_UQ);
        g = _mm512_maskz_mov_ps(keep, g);
    }
    return g;
}

/* sum(g) and sum(g * (x - mu)). */
AVX512 static void bwd_sums_avx512(const float *x, const float *y, const float *dy, size_t m,
                                   float mu, double *sdy, double *sdx)
{
    const __m512 vmu = _mm512_set1_ps(mu);
    __m512d s_lo = _mm512_setzero_pd(), s_hi = s_lo, q_lo = s_lo, q_hi = s_lo;
    for (size_t i = 0; i < m;) {
        size_t end = m - i > BLOCK ? i + BLOCK : m;
        __m512 s0 = _mm512_setzero_ps(), q0 = s0;
        for (; i < end; i += 16) {
            __mmask16 k = tail16(end - i);
            __m512 g = grad_in(dy, y, i, k);
            __m512 xc = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vmu);
            s0 = _mm512_add_ps(s0, g);
            q0 = _mm512_fmadd_ps(g, xc, q0);
        }
        add_wide(&s_lo, &s_hi, s0);
        add_wide(&q_lo, &q_hi, q0);
    }
    *sdy = hsum_pd(s_lo, s_hi);
    *sdx = hsum_pd(q_lo, q_hi);
}

/* dx = a * (g - b - (x - mu) * k). */
AVX512 static void bwd_dx_avx512(const float *x, const float *y, const float *dy, float *dx,
                                 size_t m, float mu, float a, float b, float k)
{
    const __m512 vmu = _mm512_set1_ps(mu), va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b),
                 vk = _mm512_set1_ps(k);
    for (size_t i = 0; i < m; i += 16) {
        __mmask16 t = tail16(m - i);
        __m512 g = _mm512_sub_ps(grad_in(dy, y, i, t), vb);
        __m512 xc = _mm512_sub_ps(_mm512_maskz_loadu_ps(t, x + i), vmu);
        _mm512_mask_storeu_ps(dx + i, t, _mm512_mul_ps(va, _mm512_fnmadd_ps(xc, vk, g)));
    }
}

/* ---- portable ------------------------------------------------------------ */

static void moments(const float *x, size_t m, double *sum, double *sumsq)
{
    double s[LANES] = {0}, q[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= m; i += LANES) {
        for (int l = 0; l < LANES; l++) {
            double v = x[i + l];
            s[l] += v;
            q[l] += v * v;
        }
    }
    double ts = 0.0, tq = 0.0;
    for (; i < m; i++) {
        ts += x[i];
        tq += (double)x[i] * x[i];
    }
    for (int l = 0; l < LANES; l++)
        ts += s[l], tq += q[l];
    *sum = ts, *sumsq = tq;
}

static void affine(const float *x, float *y, size_t m, float scale, float shift, int relu)
{
    if (relu) {
        for (size_t i = 0; i < m; i++) {
            float v = x[i] * scale + shift;
            y[i] = v > 0.0f ? v : 0.0f;
        }
    } else {
        for (size_t i = 0; i < m; i++)
            y[i] = x[i] * scale + shift;
    }
}

static void bwd_sums(const float *x, const float *yc, const float *dyc, size_t m, float mu,
                     double *sdy_out, double *sdx_out)
{
    double s[LANES] = {0}, q[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= m; i += LANES) {
        for (int l = 0; l < LANES; l++) {
            float g = yc && yc[i + l] <= 0.0f ? 0.0f : dyc[i + l];
            s[l] += g;
            q[l] += (double)(g * (x[i + l] - mu));
        }
    }
    double sdy = 0.0, sdx = 0.0;
    for (; i < m; i++) {
        float g = yc && yc[i] <= 0.0f ? 0.0f : dyc[i];
        sdy += g;
        sdx += (double)(g * (x[i] - mu));
    }
    for (int l = 0; l < LANES; l++)
        sdy += s[l], sdx += q[l];
    *sdy_out = sdy, *sdx_out = sdx;
}

static void bwd_dx(const float *xc, const float *yc, const float *dyc, float *dxc, size_t m,
                   float mu, float a, float b, float k)
{
    for (size_t i = 0; i < m; i++) {
        float g = yc && yc[i] <= 0.0f ? 0.0f : dyc[i];
        dxc[i] = a * (g - b - (xc[i] - mu) * k);
    }
}

/* ---- the layer ------------------------------------------------------------ */

void rcn_bn_forward_train(int c, size_t m, const float *x, const float *gamma,
                          const float *beta, float *y, float *mean, float *invstd,
                          float *running_mean, float *running_var, int relu)
{
    const int fast = rcn_simd_avx512();
    for (int ch = 0; ch < c; ch++) {
        const float *xc = x + (size_t)ch * m;
        double sum, sumsq;
        if (fast)
            moments_avx512(xc, m, &sum, &sumsq);
        else
            moments(xc, m, &sum, &sumsq);
        double mu = sum / (double)m;
        /* E[x^2] - mu^2 in double: activations are O(1), so no cancellation
         * worth the second pass. Clamp tiny negative rounding. */
        double var = sumsq / (double)m - mu * mu;
        if (var < 0.0)
            var = 0.0;
        float is = (float)(1.0 / sqrt(var + RCN_BN_EPS));
        mean[ch] = (float)mu;
        invstd[ch] = is;
        float scale = gamma[ch] * is, shift = beta[ch] - (float)mu * scale;
        if (fast)
            affine_avx512(xc, y + (size_t)ch * m, m, scale, shift, relu);
        else
            affine(xc, y + (size_t)ch * m, m, scale, shift, relu);
        double unbiased = m > 1 ? var * (double)m / (double)(m - 1) : var;
        running_mean[ch] = (1.0f - RCN_BN_MOMENTUM) * running_mean[ch] + RCN_BN_MOMENTUM * (float)mu;
        running_var[ch] = (1.0f - RCN_BN_MOMENTUM) * running_var[ch] + RCN_BN_MOMENTUM * (float)unbiased;
    }
}

void rcn_bn_forward_eval(int c, size_t m, const float *x, const float *gamma,
                         const float *beta, const float *running_mean,
                         const float *running_var, float *y, int relu)
{
    const int fast = rcn_simd_avx512();
    for (int ch = 0; ch < c; ch++) {
        float scale = gamma[ch] / sqrtf(running_var[ch] + RCN_BN_EPS);
        float shift = beta[ch] - running_mean[ch] * scale;
        if (fast)
            affine_avx512(x + (size_t)ch * m, y + (size_t)ch * m, m, scale, shift, relu);
        else
            affine(x + (size_t)ch * m, y + (size_t)ch * m, m, scale, shift, relu);
    }
}

void rcn_bn_backward(int c, size_t m, const float *x, const float *y, const float *dy,
                     const float *gamma, const float *mean, const float *invstd, float *dx,
                     float *dgamma, float *dbeta, int relu)
{
    const int fast = rcn_simd_avx512();
    for (int ch = 0; ch < c; ch++) {
        const float *xc = x + (size_t)ch * m;
        const float *yc = relu ? y + (size_t)ch * m : NULL;
        const float *dyc = dy + (size_t)ch * m;
        float *dxc = dx + (size_t)ch * m;
        const float mu = mean[ch], is = invstd[ch];
        /* sum(g) and sum(g * (x - mu)), g = dy masked by the ReLU. */
        double sdy, sdx;
        if (fast)
            bwd_sums_avx512(xc, yc, dyc, m, mu, &sdy, &sdx);
        else
            bwd_sums(xc, yc, dyc, m, mu, &sdy, &sdx);
        double sdyx = sdx * is; /* sum(g * xhat) */
        dbeta[ch] = (float)sdy;
        dgamma[ch] = (float)sdyx;
        /* dx = gamma*is * (g - mean(g) - xhat * mean(g*xhat)) */
        const float a = gamma[ch] * is;
        const float b = (float)(sdy / (double)m);
        const float k = (float)(sdyx / (double)m) * is; /* xhat*cxh = (x-mu)*is*cxh */
        if (fast)
            bwd_dx_avx512(xc, yc, dyc, dxc, m, mu, a, b, k);
        else
            bwd_dx(xc, yc, dyc, dxc, m, mu, a, b, k);
    }
}
