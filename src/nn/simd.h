/* simd.h - internal interface of the vector kernels of src/nn (matrix
 * products shaped for convolutions, Winograd convolutions: F(4x4,3x3) in
 * AVX-512, F(2x2,3x3) in AVX2), and the run-time switches between them and the
 * portable code.
 *
 * The build targets x86-64-v3 (AVX2); the AVX-512 files compile for
 * AVX-512 with a target pragma and are called only when rcn_simd_avx512()
 * says the CPU has it. The AVX2 kernels (*_avx2, rcn_wino2_*) serve CPUs
 * without AVX-512 and are used where rcn_simd_avx2() allows. In the
 * environment RCN_NO_AVX512=1 forces the AVX2 path, and RCN_NO_AVX2=1 as
 * well the portable reference (im2col + SGEMM; tests cover all three). */
#ifndef RCN_NN_SIMD_H
#define RCN_NN_SIMD_H

#include <stddef.h>

#include "rcn/nn.h"

/* Forces inlining of the small vector helpers the kernels call in their
 * inner loops. */
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* 1 when the AVX-512 kernels may be used (decided once per process). */
int rcn_simd_avx512(void);
/* Tests: force the portable path (on = 0) or the default choice (on = 1). */
void rcn_simd_set_avx512(int on);

/* 1 when the AVX2 kernels may be used on a CPU without AVX-512 (decided
 * once per process; the AVX2 functions below may be called directly on any
 * CPU with AVX2 and FMA, whatever this says). */
int rcn_simd_avx2(void);
/* Tests: force the portable path (on = 0) or the default choice (on = 1). */
void rcn_simd_set_avx2(int on);

/* C (m x n, ldc) = [C +] A (m x k, lda) * X (k x n, ldx): all row-major;
 * the product is vectorised along n. accumulate: 0 overwrite, 1 add. */
void rcn_gemm_nn_avx512(int m, int n, int k, const float *a, size_t lda, const float *x,
                        size_t ldx, float *c, size_t ldc, int accumulate);

/* C (m x k, ldc) = [C +] D (m x n, ldd) * X (k x n, ldx)^T: dot products
 * over the long dimension n (weight gradients). */
void rcn_gemm_nt_avx512(int m, int k, int n, const float *d, size_t ldd, const float *x,
                        size_t ldx, float *c, size_t ldc, int accumulate);

/* Winograd F(4x4,3x3) for k = 3, stride 1, pad 1 convolutions whose rows
 * fit the transforms (w <= 30). Same contracts as rcn_conv_forward /
 * rcn_conv_backward; scratch as rcn_wino_scratch_floats. */
int rcn_wino_applies(const rcn_conv_shape *s);
size_t rcn_wino_scratch_floats(const rcn_conv_shape *s, int n);
void rcn_wino_forward(const rcn_conv_shape *s, int n, const float *x, const float *w, float *y,
                      float *scratch, const rcn_conv_ops *ops);
/* U (36 x cout x cin): the transformed weights rcn_conv_ops.prep takes. */
void rcn_wino_prepare(const rcn_conv_shape *s, const float *w, float *u);
/* The backward; with res (not NULL, dx not NULL, accumulate_dx 0):
 * dx = res + dL/dx. */
void rcn_wino_backward(const rcn_conv_shape *s, int n, const float *x, const float *w,
                       const float *dy, float *dx, float *dw, float *scratch,
                       int accumulate_dx, const float *res);

/* im2col + the kernels above, for shapes whose padded rows fit 32 lanes
 * (rcn_cv_applies); 1x1 stride-1 without im2col. */
int rcn_cv_applies(const rcn_conv_shape *s);
size_t rcn_cv_scratch_floats(const rcn_conv_shape *s, int n);
void rcn_cv_forward(const rcn_conv_shape *s, int n, const float *x, const float *w, float *y,
                    float *scratch, const rcn_conv_ops *ops);
void rcn_cv_backward(const rcn_conv_shape *s, int n, const float *x, const float *w,
                     const float *dy, float *dx, float *dw, float *scratch, int accumulate_dx);

/* AVX2: C (m x n, ldc) = [C +] A (m x k, lda) * X (k x n, ldx), any n,
 * vectorised along n (a multiple of 8 needs no masked tail). */
void rcn_gemm_nn_avx2(int m, int n, int k, const float *a, size_t lda, const float *x,
                      size_t ldx, float *c, size_t ldc, int accumulate);
/* AVX2: C (m x k, ldc) = [C +] D (m x n, ldd) * X (k x n, ldx)^T, any n. */
void rcn_gemm_nt_avx2(int m, int k, int n, const float *d, size_t ldd, const float *x,
                      size_t ldx, float *c, size_t ldc, int accumulate);

/* Winograd F(2x2,3x3) in AVX2 for k = 3, stride 1, pad 1 convolutions with
 * w <= 32. Same contracts as rcn_conv_forward / rcn_conv_backward; scratch
 * as rcn_wino2_scratch_floats (rcn_conv_scratch_floats covers it). */
int rcn_wino2_applies(const rcn_conv_shape *s);
size_t rcn_wino2_scratch_floats(const rcn_conv_shape *s, int n);
void rcn_wino2_forward(const rcn_conv_shape *s, int n, const float *x, const float *w,
                       float *y, float *scratch, const rcn_conv_ops *ops);
void rcn_wino2_prepare(const rcn_conv_shape *s, const float *w, float *u);
void rcn_wino2_backward(const rcn_conv_shape *s, int n, const float *x, const float *w,
                        const float *dy, float *dx, float *dw, float *scratch,
                        int accumulate_dx, const float *res);

/* AVX2 im2col: col rows (cin*k*k of them, ld >= t*ho*wo + 8 floats apart)
 * for samples n0 .. n0+t of x (cin, n, h, w); for rcn_im2col_avx2_applies
 * shapes (stride 1 with wo <= 32, stride 2 with wo <= 16, k <= 7). */
int rcn_im2col_avx2_applies(const rcn_conv_shape *s);
void rcn_im2col_avx2(const rcn_conv_shape *s, int n, int n0, int t, const float *x, float *col,
                     size_t ld);
/* AVX2 col2im for stride 2 (w <= 32): dx planes of samples n0 .. n0+t =
 * [dx +] col2im(col), every row written (no zeroing needed). */
int rcn_col2im_avx2_applies(const rcn_conv_shape *s);
void rcn_col2im_avx2(const rcn_conv_shape *s, int n, int n0, int t, const float *col, size_t ld,
                     float *dx, int acc);

#endif
