/* activation.c - elementwise layers: ReLU, the residual join relu(a + b),
 * and inverted dropout. */
#include "rcn/nn.h"

void rcn_relu_forward(size_t len, const float *x, float *y)
{
    for (size_t i = 0; i < len; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void rcn_relu_backward(size_t len, const float *y, const float *dy, float *dx)
{
    for (size_t i = 0; i < len; i++)
        dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

void rcn_add_relu_forward(size_t len, const float *a, const float *b, float *y)
{
    for (size_t i = 0; i < len; i++) {
        float v = a[i] + b[i];
        y[i] = v > 0.0f ? v : 0.0f;
    }
}

void rcn_dropout_forward(size_t len, float p, rcn_rng *rng, const float *x, float *y,
                         uint8_t *mask)
{
    if (p <= 0.0f) {
        for (size_t i = 0; i < len; i++) {
            mask[i] = 1;
            y[i] = x[i];
        }
        return;
    }
    const float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < len; i++) {
        mask[i] = rcn_rng_uniform(rng) >= p;
        y[i] = mask[i] ? x[i] * scale : 0.0f;
    }
}

void rcn_dropout_backward(size_t len, float p, const uint8_t *mask, const float *dy,
                          float *dx)
{
    const float scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
    for (size_t i = 0; i < len; i++)
        dx[i] = mask[i] ? dy[i] * scale : 0.0f;
}
