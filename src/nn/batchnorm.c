/* batchnorm.c - BatchNorm2d over CNHW activations (one contiguous block of
 * m = n*h*w values per channel), with optional fused ReLU; PyTorch's
 * conventions for eps, momentum and the unbiased running variance.
 *
 * Channel sums are accumulated in double, in LANES independent partial sums
 * so the compiler vectorises them without reassociating anything: the
 * result is the same on every run of the same build. */
#include "rcn/nn.h"

#include <math.h>

#define LANES 8

/* sum and sum of squared deviations from `shift` (a rough mean) of x[0..m). */
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

void rcn_bn_forward_train(int c, size_t m, const float *x, const float *gamma,
                          const float *beta, float *y, float *mean, float *invstd,
                          float *running_mean, float *running_var, int relu)
{
    for (int ch = 0; ch < c; ch++) {
        const float *xc = x + (size_t)ch * m;
        double sum, sumsq;
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
        float scale = gamma[ch] * is;
        affine(xc, y + (size_t)ch * m, m, scale, beta[ch] - (float)mu * scale, relu);
        double unbiased = m > 1 ? var * (double)m / (double)(m - 1) : var;
        running_mean[ch] = (1.0f - RCN_BN_MOMENTUM) * running_mean[ch] + RCN_BN_MOMENTUM * (float)mu;
        running_var[ch] = (1.0f - RCN_BN_MOMENTUM) * running_var[ch] + RCN_BN_MOMENTUM * (float)unbiased;
    }
}

void rcn_bn_forward_eval(int c, size_t m, const float *x, const float *gamma,
                         const float *beta, const float *running_mean,
                         const float *running_var, float *y, int relu)
{
    for (int ch = 0; ch < c; ch++) {
        float scale = gamma[ch] / sqrtf(running_var[ch] + RCN_BN_EPS);
        affine(x + (size_t)ch * m, y + (size_t)ch * m, m, scale,
               beta[ch] - running_mean[ch] * scale, relu);
    }
}

void rcn_bn_backward(int c, size_t m, const float *x, const float *y, const float *dy,
                     const float *gamma, const float *mean, const float *invstd, float *dx,
                     float *dgamma, float *dbeta, int relu)
{
    for (int ch = 0; ch < c; ch++) {
        const float *xc = x + (size_t)ch * m;
        const float *yc = relu ? y + (size_t)ch * m : NULL;
        const float *dyc = dy + (size_t)ch * m;
        float *dxc = dx + (size_t)ch * m;
        const float mu = mean[ch], is = invstd[ch];
        /* sum(g) and sum(g * (x - mu)), g = dy masked by the ReLU. */
        double s[LANES] = {0}, q[LANES] = {0};
        size_t i = 0;
        for (; i + LANES <= m; i += LANES) {
            for (int l = 0; l < LANES; l++) {
                float g = relu && yc[i + l] <= 0.0f ? 0.0f : dyc[i + l];
                s[l] += g;
                q[l] += (double)(g * (xc[i + l] - mu));
            }
        }
        double sdy = 0.0, sdx = 0.0;
        for (; i < m; i++) {
            float g = relu && yc[i] <= 0.0f ? 0.0f : dyc[i];
            sdy += g;
            sdx += (double)(g * (xc[i] - mu));
        }
        for (int l = 0; l < LANES; l++)
            sdy += s[l], sdx += q[l];
        double sdyx = sdx * is; /* sum(g * xhat) */
        dbeta[ch] = (float)sdy;
        dgamma[ch] = (float)sdyx;
        /* dx = gamma*is * (g - mean(g) - xhat * mean(g*xhat)) */
        const float a = gamma[ch] * is;
        const float b = (float)(sdy / (double)m);
        const float k = (float)(sdyx / (double)m) * is; /* xhat*cxh = (x-mu)*is*cxh */
        for (i = 0; i < m; i++) {
            float g = relu && yc[i] <= 0.0f ? 0.0f : dyc[i];
            dxc[i] = a * (g - b - (xc[i] - mu) * k);
        }
    }
}
