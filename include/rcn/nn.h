/* nn.h - layer kernels: each a forward and a backward side by side.
 *
 * Layout. Activations are stored channel-major, "CNHW": x[c][n][h][w], so
 * that a convolution over the whole batch is one matrix product
 * (Cout x K) * (K x N*Ho*Wo) and BatchNorm statistics run over one
 * contiguous block per channel. For C = 1 this is the same as NCHW.
 * Weights use PyTorch's layout: conv (Cout, Cin, k, k), linear (Out, In).
 *
 * Contracts common to all kernels: sizes are explicit arguments; no kernel
 * allocates memory or keeps state between calls; outputs are overwritten
 * unless a function says it accumulates; `n` is the number of samples in
 * this batch, which may be smaller than the batch the buffers were sized for
 * (the last short batch of an epoch). */
#ifndef RCN_NN_H
#define RCN_NN_H

#include <stddef.h>
#include <stdint.h>

#include "rcn/rng.h"

/* ---- convolution (no bias) ------------------------------------------ */

typedef struct {
    int cin, cout, k, stride, pad;
    int h, w;   /* input spatial size */
    int ho, wo; /* output spatial size: (h + 2*pad - k) / stride + 1 */
} rcn_conv_shape;

void rcn_conv_shape_init(rcn_conv_shape *s, int cin, int cout, int k, int stride,
                         int pad, int h, int w);

/* Floats of scratch memory the convolution needs for batches of up to
 * `n` samples (im2col tiles); 0 when it needs none. */
size_t rcn_conv_scratch_floats(const rcn_conv_shape *s, int n);

/* x: (cin, n, h, w), w: (cout, cin, k, k) -> y: (cout, n, ho, wo). */
void rcn_conv_forward(const rcn_conv_shape *s, int n, const float *x,
                      const float *w, float *y, float *scratch);

/* Given dy: (cout, n, ho, wo): dw = dL/dw (overwritten, (cout, cin, k, k));
 * if dx != NULL: dx = dL/dx when accumulate_dx == 0, dx += dL/dx otherwise. */
void rcn_conv_backward(const rcn_conv_shape *s, int n, const float *x,
                       const float *w, const float *dy, float *dx, float *dw,
                       float *scratch, int accumulate_dx);

/* A forward that finishes its output as it writes it: each value v of
 * output channel c becomes
 *     v = v * scale[c] + shift[c]   (if scale: fused multiply-add on the
 *                                    vector paths, as rcn_bn_forward_eval)
 *     v = v + res[i]                (if res: same layout as y)
 *     v = max(v, 0)                 (if relu)
 * so that a convolution, an eval-mode BatchNorm, the residual join and the
 * ReLU are one pass over the activations, with results equal bit for bit
 * to those layers run one after another. prep, when not NULL, holds the
 * weights as rcn_conv_prepare left them (the same w), which spares the
 * forward their transform: for many calls with unchanged weights. */
typedef struct {
    const float *prep;
    const float *scale, *shift;
    const float *res;
    int relu;
} rcn_conv_ops;

/* Floats of the prepared form of the weights of shape s (0: the forward
 * uses w as it is), and the preparation (prep of that many floats). */
size_t rcn_conv_prep_floats(const rcn_conv_shape *s);
void rcn_conv_prepare(const rcn_conv_shape *s, const float *w, float *prep);

/* rcn_conv_forward, then ops (NULL: none) on every output value. */
void rcn_conv_forward_ops(const rcn_conv_shape *s, int n, const float *x, const float *w,
                          float *y, float *scratch, const rcn_conv_ops *ops);

/* rcn_conv_backward with dx (not NULL) = res + dL/dx: the residual join's
 * gradient added as dx is written. res has dx's layout and may not alias it. */
void rcn_conv_backward_res(const rcn_conv_shape *s, int n, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *scratch,
                           const float *res);

/* ---- batch normalisation (per channel over m = n*h*w values) --------- */

#define RCN_BN_EPS 1e-5f
#define RCN_BN_MOMENTUM 0.1f

/* Train mode. x, y: (c, m). Uses the batch mean and biased variance,
 * writes mean[c] and invstd[c] = 1/sqrt(var + eps) for the backward, and
 * updates running stats PyTorch's way: r = (1-mom)*r + mom*batch, the
 * running variance with the unbiased batch variance (m/(m-1)).
 * relu != 0 applies max(0, .) to the output (fused BN+ReLU). */
void rcn_bn_forward_train(int c, size_t m, const float *x, const float *gamma,
                          const float *beta, float *y, float *mean, float *invstd,
                          float *running_mean, float *running_var, int relu);

/* Train mode, then the residual join: y = relu(bn(x) + res), equal bit
 * for bit to rcn_bn_forward_train (no ReLU) then rcn_add_relu_forward.
 * res has x's layout and may alias y (not x). */
void rcn_bn_forward_train_res(int c, size_t m, const float *x, const float *gamma,
                              const float *beta, float *y, float *mean, float *invstd,
                              float *running_mean, float *running_var, const float *res);

/* Eval mode: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta,
 * then ReLU if relu != 0. */
void rcn_bn_forward_eval(int c, size_t m, const float *x, const float *gamma,
                         const float *beta, const float *running_mean,
                         const float *running_var, float *y, int relu);

/* The eval-mode forward as y = x * scale + shift per channel (what
 * rcn_bn_forward_eval applies; rcn_conv_ops takes them). */
void rcn_bn_eval_coeffs(int c, const float *gamma, const float *beta,
                        const float *running_mean, const float *running_var, float *scale,
                        float *shift);

/* Backward of the train-mode forward. x is the forward input, y its output
 * (used only for the ReLU mask when relu != 0). dx, dgamma, dbeta
 * overwritten. dx may alias dy. */
void rcn_bn_backward(int c, size_t m, const float *x, const float *y,
                     const float *dy, const float *gamma, const float *mean,
                     const float *invstd, float *dx, float *dgamma, float *dbeta,
                     int relu);

/* ---- elementwise ----------------------------------------------------- */

/* y = max(0, x); y may alias x. */
void rcn_relu_forward(size_t len, const float *x, float *y);
/* dx = dy * (y > 0), with y the forward output; dx may alias dy. */
void rcn_relu_backward(size_t len, const float *y, const float *dy, float *dx);

/* y = relu(a + b) (residual join); y may alias a or b. */
void rcn_add_relu_forward(size_t len, const float *a, const float *b, float *y);

/* ---- pooling ---------------------------------------------------------- */

/* Max pool k x k, stride s, padding p (padded cells count as -inf, as in
 * PyTorch). x: (c, n, h, w) -> y: (c, n, ho, wo), ho = (h + 2p - k)/s + 1.
 * argmax[i] is the flat index into x of output i's maximum. */
void rcn_maxpool_forward(int c, int n, int h, int w, int k, int s, int p,
                         const float *x, float *y, int32_t *argmax);
/* dx overwritten (zeroed then scattered). */
void rcn_maxpool_backward(int c, int n, int h, int w, int k, int s, int p,
                          const float *dy, const int32_t *argmax, float *dx);

/* Global average pool: x: (c, n, hw) -> y: (n, c) row-major. */
void rcn_gap_forward(int c, int n, int hw, const float *x, float *y);
/* dy: (n, c) -> dx: (c, n, hw), overwritten. */
void rcn_gap_backward(int c, int n, int hw, const float *dy, float *dx);

/* Inverted dropout, train only: mask[i] = keep (prob 1-p) drawn from rng in
 * index order; y = x * mask / (1-p). p == 0: y = x, mask all ones, rng untouched. */
void rcn_dropout_forward(size_t len, float p, rcn_rng *rng, const float *x,
                         float *y, uint8_t *mask);
void rcn_dropout_backward(size_t len, float p, const uint8_t *mask,
                          const float *dy, float *dx);

/* ---- fully connected -------------------------------------------------- */

/* x: (n, in), w: (out, in), b: (out) -> y: (n, out) = x w^T + b. */
void rcn_linear_forward(int n, int in, int out, const float *x, const float *w,
                        const float *b, float *y);
/* dw, db overwritten; dx overwritten if not NULL. */
void rcn_linear_backward(int n, int in, int out, const float *x, const float *w,
                         const float *dy, float *dx, float *dw, float *db);

/* ---- loss ------------------------------------------------------------- */

/* Softmax cross-entropy, mean over the n samples. logits: (n, k).
 * Returns the SUM of per-sample losses (double; divide by n for the mean);
 * *correct += number of argmax hits; if dlogits != NULL writes the gradient
 * of the MEAN loss: (softmax - onehot) / n. A non-finite logit gives a
 * non-finite return value, never undefined behaviour. */
double rcn_softmax_xent(int n, int k, const float *logits, const uint8_t *labels,
                        float *dlogits, int64_t *correct);

#endif
