/* linear.c - fully connected layer y = x w^T + b, forward and backward. */
#include "rcn/nn.h"

#include <cblas.h>

void rcn_linear_forward(int n, int in, int out, const float *x, const float *w,
                        const float *b, float *y)
{
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++)
            y[(size_t)i * out + o] = b[o];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, w, in, 1.0f,
                y, out);
}

void rcn_linear_backward(int n, int in, int out, const float *x, const float *w,
                         const float *dy, float *dx, float *dw, float *db)
{
    /* dw (out, in) = dy^T (out, n) * x (n, in); db = column sums of dy. */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, dy, out, x, in,
                0.0f, dw, in);
    for (int o = 0; o < out; o++) {
        float s = 0.0f;
        for (int i = 0; i < n; i++)
            s += dy[(size_t)i * out + o];
        db[o] = s;
    }
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy, out, w,
                    in, 0.0f, dx, in);
}
