/* batchnorm.c - BatchNorm2d over CNHW activations (one contiguous block of
 * m = n*h*w values per channel), with optional fused ReLU; PyTorch's
 * conventions for eps, momentum and the unbiased running variance.
 *
 * Channel sums end in double. The AVX-512 and AVX2 paths sum blocks of 256
 * values in float lanes (16 or 32 values per lane: float rounding far below
 * the double total's) and add each block's lanes into double accumulators;
 * the portable path uses LANES independent double sums. Either way the
 * order is fixed, so the result is the same on every run of the same build.
 * AVX-512 CPUs take the AVX-512 path, others the AVX2 one unless
 * rcn_simd_avx2() is off (simd.h). */
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

/* y = x * scale + shift, + res when res != NULL (the residual join of a
 * block fused into its last BatchNorm; res may alias y, not x), then the
 * ReLU when relu != 0: max(v, 0) gives 0 for NaN v, as the portable
 * v > 0 ? v : 0 does. */
AVX512 static void affine_avx512(const float *x, float *y, size_t m, float scale, float shift,
                                 const float *res, int relu)
{
    const __m512 a = _mm512_set1_ps(scale), b = _mm512_set1_ps(shift), z = _mm512_setzero_ps();
    for (size_t i = 0; i < m; i += 16) {
        __mmask16 k = tail16(m - i);
        __m512 v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, x + i), a, b);
        if (res)
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, res + i));
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

/* ---- AVX2 ---------------------------------------------------------------- */

/* Lanes [0, left) (left < 8) as an all-ones mask. */
static inline __m256i tail8(size_t left)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)left),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* acc (two 4-lane doubles) += the 8 float lanes of v. */
static inline void add_wide8(__m256d *lo, __m256d *hi, __m256 v)
{
    *lo = _mm256_add_pd(*lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    *hi = _mm256_add_pd(*hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

static double hsum4_pd(__m256d lo, __m256d hi)
{
    __m256d s = _mm256_add_pd(lo, hi);
    __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
}

/* Sums of d = x - k and of d^2, k = x[0]: the shift keeps the float
 * squares from cancelling when the mean is large against the spread (one
 * value gives d = 0 and a variance of exactly 0). */
static void moments_avx2(const float *x, size_t m, float k, double *sum, double *sumsq)
{
    const __m256 vk = _mm256_set1_ps(k);
    __m256d s_lo = _mm256_setzero_pd(), s_hi = s_lo, q_lo = s_lo, q_hi = s_lo;
    for (size_t i = 0; i < m;) {
        size_t end = m - i > BLOCK ? i + BLOCK : m;
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, q0 = s0, q1 = s0;
        for (; i + 16 <= end; i += 16) {
            __m256 a = _mm256_sub_ps(_mm256_loadu_ps(x + i), vk);
            __m256 b = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vk);
            s0 = _mm256_add_ps(s0, a);
            s1 = _mm256_add_ps(s1, b);
            q0 = _mm256_fmadd_ps(a, a, q0);
            q1 = _mm256_fmadd_ps(b, b, q1);
        }
        for (; i < end; i += 8) {
            __m256 a;
            if (end - i >= 8) {
                a = _mm256_sub_ps(_mm256_loadu_ps(x + i), vk);
            } else {
                __m256i t = tail8(end - i);
                a = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, t), vk),
                                  _mm256_castsi256_ps(t));
            }
            s0 = _mm256_add_ps(s0, a);
            q0 = _mm256_fmadd_ps(a, a, q0);
        }
        add_wide8(&s_lo, &s_hi, _mm256_add_ps(s0, s1));
        add_wide8(&q_lo, &q_hi, _mm256_add_ps(q0, q1));
    }
    *sum = hsum4_pd(s_lo, s_hi);
    *sumsq = hsum4_pd(q_lo, q_hi);
}

/* As affine_avx512. */
static void affine_avx2(const float *x, float *y, size_t m, float scale, float shift,
                        const float *res, int relu)
{
    const __m256 a = _mm256_set1_ps(scale), b = _mm256_set1_ps(shift), z = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= m; i += 8) {
        __m256 v = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), a, b);
        if (res)
            v = _mm256_add_ps(v, _mm256_loadu_ps(res + i));
        _mm256_storeu_ps(y + i, relu ? _mm256_max_ps(v, z) : v);
    }
    for (; i < m; i++) { /* fused as the vectors (and rcn_conv_ops) */
        float v = fmaf(x[i], scale, shift);
        if (res)
            v = v + res[i];
        y[i] = relu ? (v > 0.0f ? v : 0.0f) : v;
    }
}

/* g = dy masked by the ReLU when y != NULL: zero where y <= 0 (a NaN y
 * keeps dy, as in the portable code). */
static inline __m256 grad_in8(const float *dy, const float *y, size_t i)
{
    __m256 g = _mm256_loadu_ps(dy + i);
    if (y)
        g = _mm256_and_ps(g, _mm256_cmp_ps(_mm256_loadu_ps(y + i), _mm256_setzero_ps(),
                                           _CMP_NLE_UQ));
    return g;
}

static inline __m256 grad_in8_tail(const float *dy, const float *y, size_t i, __m256i k)
{
    __m256 g = _mm256_maskload_ps(dy + i, k);
    if (y)
        g = _mm256_and_ps(g, _mm256_cmp_ps(_mm256_maskload_ps(y + i, k), _mm256_setzero_ps(),
                                           _CMP_NLE_UQ));
    return g;
}

/* sum(g) and sum(g * (x - mu)). */
static void bwd_sums_avx2(const float *x, const float *y, const float *dy, size_t m, float mu,
                          double *sdy, double *sdx)
{
    const __m256 vmu = _mm256_set1_ps(mu);
    __m256d s_lo = _mm256_setzero_pd(), s_hi = s_lo, q_lo = s_lo, q_hi = s_lo;
    for (size_t i = 0; i < m;) {
        size_t end = m - i > BLOCK ? i + BLOCK : m;
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, q0 = s0, q1 = s0;
        for (; i + 16 <= end; i += 16) {
            __m256 g = grad_in8(dy, y, i), h = grad_in8(dy, y, i + 8);
            s0 = _mm256_add_ps(s0, g);
            s1 = _mm256_add_ps(s1, h);
            q0 = _mm256_fmadd_ps(g, _mm256_sub_ps(_mm256_loadu_ps(x + i), vmu), q0);
            q1 = _mm256_fmadd_ps(h, _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vmu), q1);
        }
        for (; i < end; i += 8) {
            __m256 g, xv;
            if (end - i >= 8) {
                g = grad_in8(dy, y, i);
                xv = _mm256_loadu_ps(x + i);
            } else {
                __m256i k = tail8(end - i);
                g = grad_in8_tail(dy, y, i, k);
                xv = _mm256_maskload_ps(x + i, k);
            }
            s0 = _mm256_add_ps(s0, g);
            q0 = _mm256_fmadd_ps(g, _mm256_sub_ps(xv, vmu), q0); /* g = 0 in masked lanes */
        }
        add_wide8(&s_lo, &s_hi, _mm256_add_ps(s0, s1));
        add_wide8(&q_lo, &q_hi, _mm256_add_ps(q0, q1));
    }
    *sdy = hsum4_pd(s_lo, s_hi);
    *sdx = hsum4_pd(q_lo, q_hi);
}

/* dx = a * (g - b - (x - mu) * k). */
static void bwd_dx_avx2(const float *x, const float *y, const float *dy, float *dx, size_t m,
                        float mu, float a, float b, float k)
{
    const __m256 vmu = _mm256_set1_ps(mu), va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b),
                 vk = _mm256_set1_ps(k);
    size_t i = 0;
    for (; i + 8 <= m; i += 8) {
        __m256 g = _mm256_sub_ps(grad_in8(dy, y, i), vb);
        __m256 xc = _mm256_sub_ps(_mm256_loadu_ps(x + i), vmu);
        _mm256_storeu_ps(dx + i, _mm256_mul_ps(va, _mm256_fnmadd_ps(xc, vk, g)));
    }
    for (; i < m; i++) {
        float g = y && y[i] <= 0.0f ? 0.0f : dy[i];
        dx[i] = a * (g - b - (x[i] - mu) * k);
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

/* As affine_avx512, rounded twice (no fused multiply-add). */
static void affine(const float *x, float *y, size_t m, float scale, float shift,
                   const float *res, int relu)
{
    for (size_t i = 0; i < m; i++) {
        float v = x[i] * scale + shift;
        if (res)
            v = v + res[i];
        y[i] = relu ? (v > 0.0f ? v : 0.0f) : v;
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

/* y = bn(x), then + res when res != NULL (then the ReLU always), else the
 * ReLU when relu != 0. */
static void bn_train(int c, size_t m, const float *x, const float *gamma, const float *beta,
                     float *y, float *mean, float *invstd, float *running_mean,
                     float *running_var, const float *res, int relu)
{
    const int fast = rcn_simd_avx512(), avx2 = !fast && rcn_simd_avx2();
    for (int ch = 0; ch < c; ch++) {
        const float *xc = x + (size_t)ch * m;
        double sum, sumsq;
        double mu, var;
        if (avx2) {
            /* moments of x - x[0] */
            moments_avx2(xc, m, m ? xc[0] : 0.0f, &sum, &sumsq);
            double md = sum / (double)m;
            mu = (double)xc[0] + md;
            var = sumsq / (double)m - md * md;
        } else {
            if (fast)
                moments_avx512(xc, m, &sum, &sumsq);
            else
                moments(xc, m, &sum, &sumsq);
            mu = sum / (double)m;
            /* E[x^2] - mu^2 in double: activations are O(1), so no
             * cancellation worth the second pass. */
            var = sumsq / (double)m - mu * mu;
        }
        /* Clamp tiny negative rounding. */
        if (var < 0.0)
            var = 0.0;
        float is = (float)(1.0 / sqrt(var + RCN_BN_EPS));
        mean[ch] = (float)mu;
        invstd[ch] = is;
        float scale = gamma[ch] * is, shift = beta[ch] - (float)mu * scale;
        float *yc = y + (size_t)ch * m;
        const float *rc = res ? res + (size_t)ch * m : NULL;
        if (fast)
            affine_avx512(xc, yc, m, scale, shift, rc, relu);
        else if (avx2)
            affine_avx2(xc, yc, m, scale, shift, rc, relu);
        else
            affine(xc, yc, m, scale, shift, rc, relu);
        double unbiased = m > 1 ? var * (double)m / (double)(m - 1) : var;
        running_mean[ch] = (1.0f - RCN_BN_MOMENTUM) * running_mean[ch] + RCN_BN_MOMENTUM * (float)mu;
        running_var[ch] = (1.0f - RCN_BN_MOMENTUM) * running_var[ch] + RCN_BN_MOMENTUM * (float)unbiased;
    }
}

void rcn_bn_forward_train(int c, size_t m, const float *x, const float *gamma,
                          const float *beta, float *y, float *mean, float *invstd,
                          float *running_mean, float *running_var, int relu)
{
    bn_train(c, m, x, gamma, beta, y, mean, invstd, running_mean, running_var, NULL, relu);
}

void rcn_bn_forward_train_res(int c, size_t m, const float *x, const float *gamma,
                              const float *beta, float *y, float *mean, float *invstd,
                              float *running_mean, float *running_var, const float *res)
{
    bn_train(c, m, x, gamma, beta, y, mean, invstd, running_mean, running_var, res, 1);
}

static void eval_coeffs(const float *gamma, const float *beta, const float *running_mean,
                        const float *running_var, int ch, float *scale, float *shift)
{
    *scale = gamma[ch] / sqrtf(running_var[ch] + RCN_BN_EPS);
    *shift = beta[ch] - running_mean[ch] * *scale;
}

void rcn_bn_eval_coeffs(int c, const float *gamma, const float *beta,
                        const float *running_mean, const float *running_var, float *scale,
                        float *shift)
{
    for (int ch = 0; ch < c; ch++)
        eval_coeffs(gamma, beta, running_mean, running_var, ch, &scale[ch], &shift[ch]);
}

void rcn_bn_forward_eval(int c, size_t m, const float *x, const float *gamma,
                         const float *beta, const float *running_mean,
                         const float *running_var, float *y, int relu)
{
    const int fast = rcn_simd_avx512(), avx2 = !fast && rcn_simd_avx2();
    for (int ch = 0; ch < c; ch++) {
        float scale, shift;
        eval_coeffs(gamma, beta, running_mean, running_var, ch, &scale, &shift);
        if (fast)
            affine_avx512(x + (size_t)ch * m, y + (size_t)ch * m, m, scale, shift, NULL, relu);
        else if (avx2)
            affine_avx2(x + (size_t)ch * m, y + (size_t)ch * m, m, scale, shift, NULL, relu);
        else
            affine(x + (size_t)ch * m, y + (size_t)ch * m, m, scale, shift, NULL, relu);
    }
}

void rcn_bn_backward(int c, size_t m, const float *x, const float *y, const float *dy,
                     const float *gamma, const float *mean, const float *invstd, float *dx,
                     float *dgamma, float *dbeta, int relu)
{
    const int fast = rcn_simd_avx512(), avx2 = !fast && rcn_simd_avx2();
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
        else if (avx2)
            bwd_sums_avx2(xc, yc, dyc, m, mu, &sdy, &sdx);
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
        else if (avx2)
            bwd_dx_avx2(xc, yc, dyc, dxc, m, mu, a, b, k);
        else
            bwd_dx(xc, yc, dyc, dxc, m, mu, a, b, k);
    }
}
