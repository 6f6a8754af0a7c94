/* conv_ops.h - rcn_conv_ops applied to rows of a convolution's output just
 * written (still in the cache): the one definition of what the fused
 * forward computes, included by each convolution file so that it compiles
 * with that file's vector target.
 *
 * fused != 0: v * scale + shift as one fused multiply-add, as the AVX-512
 * and AVX2 BatchNorm kernels compute it; fused == 0: rounded twice, as the
 * portable BatchNorm. Then + res, then max(v, 0) as `v > 0 ? v : 0` (NaN
 * and -0 give +0, as rcn_add_relu_forward and the BatchNorm ReLU). */
#ifndef RCN_NN_CONV_OPS_H
#define RCN_NN_CONV_OPS_H

#include <math.h>
#include <stddef.h>

#include "rcn/nn.h"

/* y[0 .. len) of output channel co; res at the same offset (or NULL). */
static inline void conv_ops_row(const rcn_conv_ops *o, int co, float *restrict y,
                                const float *restrict res, size_t len, int fused)
{
    const int relu = o->relu;
    if (o->scale) {
        const float a = o->scale[co], b = o->shift[co];
        if (fused) {
            for (size_t i = 0; i < len; i++) {
                float v = fmaf(y[i], a, b);
                if (res)
                    v = v + res[i];
                y[i] = relu ? (v > 0.0f ? v : 0.0f) : v;
            }
        } else {
            for (size_t i = 0; i < len; i++) {
                float v = y[i] * a + b;
                if (res)
                    v = v + res[i];
                y[i] = relu ? (v > 0.0f ? v : 0.0f) : v;
            }
        }
        return;
    }
    for (size_t i = 0; i < len; i++) {
        float v = y[i];
        if (res)
            v = v + res[i];
        y[i] = relu ? (v > 0.0f ? v : 0.0f) : v;
    }
}

/* Whether ops change the output at all. */
static inline int conv_ops_active(const rcn_conv_ops *o)
{
    return o && (o->scale || o->res || o->relu);
}

#endif
