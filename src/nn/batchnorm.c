/* batchnorm.c - BatchNorm2d over CNHW activations (one contiguous block of
 * m = n*h*w values per channel), with optional fused ReLU; PyTorch's
 * conventions for eps, momentum and the unbiased running variance. */
#include "rcn/nn.h"

#include <math.h>

void rcn_bn_forward_train(int c, size_t m, const float *x, const float *gamma,
                          const float *beta, float *y, float *mean, float *invstd,
                          float *running_mean, float *running_var, int relu)
{
    for (int ch = 0; ch < c; ch++) {
        const float *xc = x + (size_t)ch * m;
        float *yc = y + (size_t)ch * m;
        double sum = 0.0;
        for (size_t i = 0; i < m; i++)
            sum += xc[i];
        double mu = sum / (double)m;
        double ss = 0.0;
        for (size_t i = 0; i < m; i++) {
            double d = xc[i] - mu;
            ss += d * d;
        }
        double var = ss / (double)m;
        float is = (float)(1.0 / sqrt(var + RCN_BN_EPS));
        mean[ch] = (float)mu;
        invstd[ch] = is;
        float scale = gamma[ch] * is;
        float shift = beta[ch] - (float)mu * scale;
        if (relu) {
            for (size_t i = 0; i < m; i++) {
                float v = xc[i] * scale + shift;
                yc[i] = v > 0.0f ? v : 0.0f;
            }
        } else {
            for (size_t i = 0; i < m; i++)
                yc[i] = xc[i] * scale + shift;
        }
        double unbiased = m > 1 ? ss / (double)(m - 1) : var;
        running_mean[ch] = (1.0f - RCN_BN_MOMENTUM) * running_mean[ch] + RCN_BN_MOMENTUM * (float)mu;
        running_var[ch] = (1.0f - RCN_BN_MOMENTUM) * running_var[ch] + RCN_BN_MOMENTUM * (float)unbiased;
    }
}

void rcn_bn_forward_eval(int c, size_t m, const float *x, const float *gamma,
                         const float *beta, const float *running_mean,
                         const float *running_var, float *y, int relu)
{
    for (int ch = 0; ch < c; ch++) {
        const float *xc = x + (size_t)ch * m;
        float *yc = y + (size_t)ch * m;
        float scale = gamma[ch] / sqrtf(running_var[ch] + RCN_BN_EPS);
        float shift = beta[ch] - running_mean[ch] * scale;
        if (relu) {
            for (size_t i = 0; i < m; i++) {
                float v = xc[i] * scale + shift;
                yc[i] = v > 0.0f ? v : 0.0f;
            }
        } else {
            for (size_t i = 0; i < m; i++)
                yc[i] = xc[i] * scale + shift;
        }
    }
}

void rcn_bn_backward(int c, size_t m, const float *x, const float *y, const float *dy,
                     const float *gamma, const float *mean, const float *invstd, float *dx,
                     float *dgamma, float *dbeta, int relu)
{
    for (int ch = 0; ch < c; ch++) {
        const float *xc = x + (size_t)ch * m;
        const float *yc = y + (size_t)ch * m;
        const float *dyc = dy + (size_t)ch * m;
        float *dxc = dx + (size_t)ch * m;
        const float mu = mean[ch], is = invstd[ch];
        double sdy = 0.0, sdyx = 0.0;
        for (size_t i = 0; i < m; i++) {
            float g = relu && yc[i] <= 0.0f ? 0.0f : dyc[i];
            sdy += g;
            sdyx += (double)g * (double)((xc[i] - mu) * is);
        }
        dbeta[ch] = (float)sdy;
        dgamma[ch] = (float)sdyx;
        /* dx = gamma*is/m * (m*g - sum(g) - xhat*sum(g*xhat)) */
        const float a = gamma[ch] * is;
        const float b = (float)(sdy / (double)m);
        const float cxh = (float)(sdyx / (double)m);
        for (size_t i = 0; i < m; i++) {
            float g = relu && yc[i] <= 0.0f ? 0.0f : dyc[i];
            float xh = (xc[i] - mu) * is;
            dxc[i] = a * (g - b - xh * cxh);
        }
    }
}
