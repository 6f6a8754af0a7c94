/* wino_xform.h - the F(2x2,3x3) transform matrices as combinations of
 * vectors, and the weight transforms built on them, for the F(2x2,3x3)
 * convolutions (winograd_avx2.c), written over a vector type of the
 * including file.
 *
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   V = B^T d B (input)
 *   A^T = [1 1 1 0; 0 1 -1 -1]                       Y = A^T M A (output)
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]  U = G g G^T (weights)
 * and their transposes for the backward. Each function applies one matrix
 * to a column (or row) of vectors, lane by lane; the 2-D transforms apply
 * it along both axes. The operations and their order fix the rounding.
 *
 * The including file compiles for its ISA and defines first:
 *   WINO_VEC, WINO_IVEC, WINO_MASK, WINO_LANES   its float and int vectors,
 *                       lane mask and lanes per vector;
 *   wino_lanes(n)       the mask of lanes 0 .. n-1 (n >= 1);
 *   wino_lane_offsets(d)  the int vector (0, d, 2d, ...);
 *   wino_gather(p, idx, m)  p[idx[l]] in lanes of m, zero elsewhere;
 *   wino_load(p, m), wino_store(p, m, v, n)  masked load (zero elsewhere)
 *                       and store (lanes of m = the first n). */
#ifndef RCN_NN_WINO_XFORM_H
#define RCN_NN_WINO_XFORM_H

#include <string.h>

#include "simd.h"

/* out = B^T (d0, d1, d2, d3). */
static ALWAYS_INLINE void wino_bt(WINO_VEC d0, WINO_VEC d1, WINO_VEC d2, WINO_VEC d3,
                                  WINO_VEC out[4])
{
    out[0] = d0 - d2;
    out[1] = d1 + d2;
    out[2] = d2 - d1;
    out[3] = d1 - d3;
}

/* (*s0, *s1) = A^T (v0, v1, v2, v3). */
static ALWAYS_INLINE void wino_at(WINO_VEC v0, WINO_VEC v1, WINO_VEC v2, WINO_VEC v3,
                                  WINO_VEC *s0, WINO_VEC *s1)
{
    *s0 = v0 + v1 + v2;
    *s1 = v1 - v2 - v3;
}

/* out = A (e, o): the adjoint of A^T. */
static ALWAYS_INLINE void wino_a(WINO_VEC e, WINO_VEC o, WINO_VEC out[4])
{
    out[0] = e;
    out[1] = e + o;
    out[2] = e - o;
    out[3] = 0.0f - o;
}

/* out = B (v0, v1, v2, v3): the adjoint of B^T. */
static ALWAYS_INLINE void wino_b(WINO_VEC v0, WINO_VEC v1, WINO_VEC v2, WINO_VEC v3,
                                 WINO_VEC out[4])
{
    out[0] = v0;
    out[1] = v1 - v2 + v3;
    out[2] = v1 + v2 - v0;
    out[3] = 0.0f - v3;
}

/* out = G (a, b, c). */
static ALWAYS_INLINE void wino_g(WINO_VEC a, WINO_VEC b, WINO_VEC c, WINO_VEC out[4])
{
    out[0] = a;
    out[1] = 0.5f * (a + b + c);
    out[2] = 0.5f * (a - b + c);
    out[3] = c;
}

/* out = G^T (a, b, c, d): the adjoint of G. */
static ALWAYS_INLINE void wino_gt(WINO_VEC a, WINO_VEC b, WINO_VEC c, WINO_VEC d,
                                  WINO_VEC out[3])
{
    out[0] = a + 0.5f * (b + c);
    out[1] = 0.5f * (b - c);
    out[2] = 0.5f * (b + c) + d;
}

/* U = G g G^T for every kernel g of w (cout, cin, 3, 3), into u[xi][co][ci]
 * (transposed = 0: the forward) or u[xi][ci][co] (transposed = 1: the data
 * gradient); 16 * cout * cin floats. WINO_LANES kernels at a time, gathered
 * from w, the contiguous index of u along the lanes. */
static void kernels_transform(const float *w, int cout, int cin, float *u, int transposed)
{
    const size_t cc = (size_t)cout * cin;
    const int outer = transposed ? cin : cout, inner = transposed ? cout : cin;
    /* lane l: kernel (o, i0 + l), whose 9 weights start at (co * cin + ci) * 9 */
    const WINO_IVEC lidx = wino_lane_offsets(transposed ? cin * 9 : 9);
    for (int o = 0; o < outer; o++)
        for (int i0 = 0; i0 < inner; i0 += WINO_LANES) {
            const int left = inner - i0;
            const WINO_MASK m = wino_lanes(left);
            const int co = transposed ? i0 : o, ci = transposed ? o : i0;
            const float *base = w + ((size_t)co * cin + ci) * 9;
            WINO_VEC g[9], t[3][4], r[4];
            for (int k = 0; k < 9; k++)
                g[k] = wino_gather(base + k, lidx, m);
            for (int k = 0; k < 3; k++)
                wino_g(g[k], g[3 + k], g[6 + k], t[k]);
            float *dst = u + (size_t)o * inner + i0;
            for (int i = 0; i < 4; i++) {
                wino_g(t[0][i], t[1][i], t[2][i], r);
                for (int j = 0; j < 4; j++)
                    wino_store(dst + (size_t)(i * 4 + j) * cc, m, r[j], left);
            }
        }
}

/* dw = G^T dU G for every kernel: du[xi][co][ci] (16 * cout * cin) into dw
 * (cout, cin, 3, 3), WINO_LANES input channels at a time. */
static void kernels_adjoint(const float *du, int cout, int cin, float *dw)
{
    const size_t cc = (size_t)cout * cin;
    for (int co = 0; co < cout; co++)
        for (int i0 = 0; i0 < cin; i0 += WINO_LANES) {
            const int left = cin - i0;
            const WINO_MASK m = wino_lanes(left);
            const float *src = du + (size_t)co * cin + i0;
            WINO_VEC r[4][3], q[3];
            for (int i = 0; i < 4; i++)
                wino_gt(wino_load(src + (size_t)(i * 4 + 0) * cc, m),
                        wino_load(src + (size_t)(i * 4 + 1) * cc, m),
                        wino_load(src + (size_t)(i * 4 + 2) * cc, m),
                        wino_load(src + (size_t)(i * 4 + 3) * cc, m), r[i]);
            float tmp[9][WINO_LANES];
            for (int k = 0; k < 3; k++) {
                wino_gt(r[0][k], r[1][k], r[2][k], r[3][k], q);
                for (int j = 0; j < 3; j++)
                    memcpy(tmp[3 * j + k], &q[j], sizeof q[j]);
            }
            float *dst = dw + ((size_t)co * cin + i0) * 9;
            for (int l = 0; l < (left < WINO_LANES ? left : WINO_LANES); l++)
                for (int k = 0; k < 9; k++)
                    dst[(size_t)l * 9 + k] = tmp[k][l];
        }
}

#endif
