/* wino_driver.h - the Winograd F(2x2,3x3) drivers of winograd_avx2.c,
 * apart from its plane transforms: the forward (y = conv(x, w)) and the backward (the weight
 * gradient dw and, when asked, the data gradient dx) over CNHW activations,
 * chunk by chunk of whole samples (wino_plan.h sizes the chunks).
 *
 * Per chunk the forward transforms every input plane into V, takes the 16
 * products M[xi] = U[xi] V[xi] and transforms M back into y; the backward
 * transforms x into V and dy into dM, takes dU[xi] += dM[xi] V[xi]^T and
 * (for dx) dV[xi] = U[xi]^T dM[xi] into V's place, and writes (or adds)
 * the adjoint of the input transform of dV into dx. winograd_avx2.c
 * documents the method.
 *
 * Included by the file of the transforms, so that the drivers compile with
 * that file's target and inline them. Before including it a file defines:
 *   BUDGET              its rcn_wino_budget (cache budgets of a chunk);
 *   wino_planes         the per-shape state of its plane transforms, set up
 *                       by planes_init(wino_planes *, const rcn_conv_shape *);
 *   t_input(p, xp, v, xs), t_output(p, m, xs, yp),
 *   t_grad_output(p, dyp, dm, xs), t_adjoint(p, dv, xs, dxp, acc)
 *                       the transforms of one sample plane (as below: V, M
 *                       at xi = 0, tile 0 of the plane, xs between xi);
 *   kernels_transform, kernels_adjoint
 *                       the weight transform and its adjoint (wino_xform.h);
 *   WINO_APPLIES(s)     1 for the shapes its transforms take;
 *   WINO_GEMM_NN, WINO_GEMM_NT
 *                       its products (the rcn_gemm_nn / _nt contracts);
 *   WINO_GEMM_COLS(T)   the columns (>= T, within a row of V and M) the NN
 *                       products run over for a chunk of T tiles.
 * The plane loops walk channels, then the chunk's samples, in ascending
 * order: a transform may spill whole vectors past a plane's tiles onto
 * those written after it. */
#ifndef RCN_NN_WINO_DRIVER_H
#define RCN_NN_WINO_DRIVER_H

#include <assert.h>
#include <immintrin.h>
#include <string.h>

#include "conv_ops.h"
#include "prof.h"
#include "simd.h"
#include "wino_plan.h"

typedef rcn_wino_chunk wino_chunk;

/* The chunk from n0: nb samples, or the batch's rest. */
static ALWAYS_INLINE wino_chunk wino_chunk_at(const rcn_conv_shape *s, int n, int n0, int nb)
{
    wino_chunk c = rcn_wino_chunk_of(s, n, n0, n - n0 < nb ? n - n0 : nb, &BUDGET);
    assert(c.cnt >= 1 && (size_t)WINO_GEMM_COLS(c.T) <= c.ld);
    return c;
}

#define wino_plane_at rcn_wino_plane_at

/* Offset of that plane's first tile in V or M. */
static ALWAYS_INLINE size_t wino_tiles_at(const wino_chunk *c, int ch, int i, int tps)
{
    return (size_t)ch * c->ld + (size_t)i * tps;
}

/* The plane after (ch, i) in a chunk loop over channels ch < channels:
 * the next sample, else the next channel's first, else NULL. */
static ALWAYS_INLINE const float *wino_next_plane(const float *base, const wino_chunk *c, int ch,
                                                  int i, int channels)
{
    if (i + 1 < c->cnt)
        return base + wino_plane_at(c, ch, i + 1);
    if (ch + 1 < channels)
        return base + wino_plane_at(c, ch + 1, 0);
    return NULL;
}

/* Asks for the plane to be worked on next (hw floats at p) to be brought
 * into the cache while this one is transformed: planes of one channel are
 * n*h*w floats apart, too far for the hardware prefetcher to follow.
 * write: with intent to write. */
static ALWAYS_INLINE void wino_prefetch_plane(const float *p, size_t hw, int write)
{
    if (!p)
        return;
    for (size_t i = 0; i < hw; i += 16) {
        if (write)
            _mm_prefetch((const char *)(p + i), _MM_HINT_ET0);
        else
            _mm_prefetch((const char *)(p + i), _MM_HINT_T0);
    }
}

/* V of the chunk: every plane of x (cin channels) transformed. */
static ALWAYS_INLINE void wino_inputs(const wino_planes *p, const wino_chunk *c, int cin,
                                      int tps, const float *x, float *v)
{
    for (int ci = 0; ci < cin; ci++)
        for (int i = 0; i < c->cnt; i++) {
            wino_prefetch_plane(wino_next_plane(x, c, ci, i, cin), c->hw, 0);
            t_input(p, x + wino_plane_at(c, ci, i), v + wino_tiles_at(c, ci, i, tps), c->vs);
        }
}

/* y = conv(x, w), then ops (NULL: none) on each output plane as it is
 * written; ops->prep, when set, is the transformed weights U. */
static void wino_forward(const rcn_conv_shape *s, int n, const float *x, const float *w,
                         float *y, float *scratch, const rcn_conv_ops *ops)
{
    assert(WINO_APPLIES(s) && n >= 0 && s->cin >= 1 && s->cout >= 1);
    assert(x && w && y && scratch);
    wino_planes p;
    planes_init(&p, s);
    const int cin = s->cin, cout = s->cout, tps = rcn_wino_tiles(s, &BUDGET);
    const int nb = rcn_wino_chunk_samples(s, n, 0, &BUDGET);
    float *u = scratch;
    float *v = u + 16 * (size_t)cout * cin;
    float *m = v + 16 * rcn_wino_plane_stride(cin, rcn_wino_row_ld((size_t)nb * tps));
    const int finish = conv_ops_active(ops);
    const float *uw = ops && ops->prep ? ops->prep : u;
    if (uw == u)
        kernels_transform(w, cout, cin, u, 0);
    for (int n0 = 0; n0 < n; n0 += nb) {
        const wino_chunk c = wino_chunk_at(s, n, n0, nb);
        RCN_PROF_BEGIN(t0);
        wino_inputs(&p, &c, cin, tps, x, v);
        RCN_PROF_END(t0, RCN_PROF_TRANSFORM);
        RCN_PROF_BEGIN(t1);
        for (int xi = 0; xi < 16; xi++)
            WINO_GEMM_NN(cout, WINO_GEMM_COLS(c.T), cin, uw + (size_t)xi * cout * cin, cin,
                         v + xi * c.vs, c.ld, m + xi * c.ms, c.ld, 0);
        RCN_PROF_END(t1, RCN_PROF_GEMM);
        RCN_PROF_BEGIN(t2);
        for (int co = 0; co < cout; co++)
            for (int i = 0; i < c.cnt; i++) {
                wino_prefetch_plane(wino_next_plane(y, &c, co, i, cout), c.hw, 1);
                const size_t at = wino_plane_at(&c, co, i);
                t_output(&p, m + wino_tiles_at(&c, co, i, tps), c.ms, y + at);
                if (finish)
                    conv_ops_row(ops, co, y + at, ops->res ? ops->res + at : NULL, c.hw, 1);
            }
        RCN_PROF_END(t2, RCN_PROF_TRANSFORM);
    }
}

/* dx of the chunk [+]= the adjoint of the input transform of dV (in v);
 * with res (and not acc): dx = res + that, each plane of res copied into
 * dx's (in L1) just before the adjoint adds to it. */
static ALWAYS_INLINE void wino_adjoints(const wino_planes *p, const wino_chunk *c, int cin,
                                        int tps, const float *v, float *dx, int acc,
                                        const float *res)
{
    for (int ci = 0; ci < cin; ci++)
        for (int i = 0; i < c->cnt; i++) {
            const size_t at = wino_plane_at(c, ci, i);
            wino_prefetch_plane(wino_next_plane(dx, c, ci, i, cin), c->hw, !acc);
            if (res)
                memcpy(dx + at, res + at, c->hw * sizeof(float));
            t_adjoint(p, v + wino_tiles_at(c, ci, i, tps), c->vs, dx + at, acc || res);
        }
}

/* dw, and dx (when not NULL) = [dx +] dL/dx, or res + dL/dx when res is
 * not NULL (then accumulate_dx is 0). */
static void wino_backward(const rcn_conv_shape *s, int n, const float *x, const float *w,
                          const float *dy, float *dx, float *dw, float *scratch,
                          int accumulate_dx, const float *res)
{
    /* n >= 1: dU is written by the first chunk's product, then added to */
    assert(WINO_APPLIES(s) && n >= 1 && s->cin >= 1 && s->cout >= 1);
    assert(x && w && dy && dw && scratch && (accumulate_dx == 0 || accumulate_dx == 1));
    assert(!res || (dx && !accumulate_dx));
    wino_planes p;
    planes_init(&p, s);
    const int cin = s->cin, cout = s->cout, tps = rcn_wino_tiles(s, &BUDGET);
    const int nb = rcn_wino_chunk_samples(s, n, 1, &BUDGET);
    const size_t cc = (size_t)cout * cin;
    float *ut = scratch;
    float *du = ut + 16 * cc;
    float *v = du + 16 * cc;
    float *dm = v + 16 * rcn_wino_plane_stride(cin, rcn_wino_row_ld((size_t)nb * tps));
    if (dx)
        kernels_transform(w, cout, cin, ut, 1);
    for (int n0 = 0; n0 < n; n0 += nb) {
        const wino_chunk c = wino_chunk_at(s, n, n0, nb);
        RCN_PROF_BEGIN(t0);
        wino_inputs(&p, &c, cin, tps, x, v);
        for (int co = 0; co < cout; co++)
            for (int i = 0; i < c.cnt; i++) {
                wino_prefetch_plane(wino_next_plane(dy, &c, co, i, cout), c.hw, 0);
                t_grad_output(&p, dy + wino_plane_at(&c, co, i), dm + wino_tiles_at(&c, co, i, tps),
                              c.ms);
            }
        RCN_PROF_END(t0, RCN_PROF_TRANSFORM);
        RCN_PROF_BEGIN(t1);
        for (int xi = 0; xi < 16; xi++)
            WINO_GEMM_NT(cout, cin, c.T, dm + xi * c.ms, c.ld, v + xi * c.vs, c.ld,
                         du + (size_t)xi * cc, cin, n0 > 0);
        if (dx)
            for (int xi = 0; xi < 16; xi++)
                WINO_GEMM_NN(cin, WINO_GEMM_COLS(c.T), cout, ut + (size_t)xi * cc, cout,
                             dm + xi * c.ms, c.ld, v + xi * c.vs, c.ld, 0);
        RCN_PROF_END(t1, RCN_PROF_GEMM);
        if (dx) {
            RCN_PROF_BEGIN(t2);
            wino_adjoints(&p, &c, cin, tps, v, dx, accumulate_dx, res);
            RCN_PROF_END(t2, RCN_PROF_TRANSFORM);
        }
    }
    kernels_adjoint(du, cout, cin, dw);
}

#endif
