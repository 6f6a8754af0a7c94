/* pool.c - max pooling (with argmax for the backward) and global average
 * pooling over CNHW activations. */
#include "rcn/nn.h"

#include <math.h>
#include <string.h>

void rcn_maxpool_forward(int c, int n, int h, int w, int k, int s, int p, const float *x,
                         float *y, int32_t *argmax)
{
    const int ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
    const size_t planes = (size_t)c * n;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *xp = x + pl * h * w;
        float *yp = y + pl * ho * wo;
        int32_t *ap = argmax + pl * ho * wo;
        for (int oh = 0; oh < ho; oh++) {
            for (int ow = 0; ow < wo; ow++) {
                float best = -INFINITY;
                int bi = -1;
                for (int kh = 0; kh < k; kh++) {
                    int ih = oh * s - p + kh;
                    if (ih < 0 || ih >= h)
                        continue;
                    for (int kw = 0; kw < k; kw++) {
                        int iw = ow * s - p + kw;
                        if (iw < 0 || iw >= w)
                            continue;
                        float v = xp[ih * w + iw];
                        if (v > best || bi < 0) {
                            best = v;
                            bi = ih * w + iw;
                        }
                    }
                }
                yp[oh * wo + ow] = best;
                ap[oh * wo + ow] = (int32_t)(pl * h * w + bi);
            }
        }
    }
}

void rcn_maxpool_backward(int c, int n, int h, int w, int k, int s, int p, const float *dy,
                          const int32_t *argmax, float *dx)
{
    const int ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
    const size_t len = (size_t)c * n * ho * wo;
    memset(dx, 0, sizeof(float) * (size_t)c * n * h * w);
    for (size_t i = 0; i < len; i++)
        dx[argmax[i]] += dy[i];
}

void rcn_gap_forward(int c, int n, int hw, const float *x, float *y)
{
    for (int ch = 0; ch < c; ch++) {
        for (int i = 0; i < n; i++) {
            const float *xp = x + ((size_t)ch * n + i) * hw;
            float sum = 0.0f;
            for (int j = 0; j < hw; j++)
                sum += xp[j];
            y[(size_t)i * c + ch] = sum / (float)hw;
        }
    }
}

void rcn_gap_backward(int c, int n, int hw, const float *dy, float *dx)
{
    const float inv = 1.0f / (float)hw;
    for (int ch = 0; ch < c; ch++) {
        for (int i = 0; i < n; i++) {
            float g = dy[(size_t)i * c + ch] * inv;
            float *dp = dx + ((size_t)ch * n + i) * hw;
            for (int j = 0; j < hw; j++)
                dp[j] = g;
        }
    }
}
