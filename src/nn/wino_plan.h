/* wino_plan.h - the ISA-independent planning shared by the Winograd
 * implementations (winograd_avx512.c: F(4x4,3x3) in AVX-512; winograd_avx2.c:
 * F(2x2,3x3) in AVX2): how many whole samples a chunk of the batch takes,
 * the row length and plane stride of the transformed buffers V and M, and
 * the scratch they need. Each implementation passes its output tile side
 * and its own cache budgets (floats). */
#ifndef RCN_NN_WINO_PLAN_H
#define RCN_NN_WINO_PLAN_H

#include <stddef.h>

#include "rcn/nn.h"

typedef struct {
    int m;          /* output tile side: F(m x m, 3x3), (m + 2)^2 planes */
    long fwd;       /* floats of V + M per chunk in the forward */
    long bwd;       /* ... in the backward, when it needs more tiles */
    long bwd_tiles; /* the backward's weight product wants at least this many
                       tiles per chunk (a horizontal sum per chunk) */
} rcn_wino_budget;

/* Output tiles of one sample plane. */
static inline int rcn_wino_tiles(const rcn_conv_shape *s, const rcn_wino_budget *b)
{
    return ((s->h + b->m - 1) / b->m) * ((s->w + b->m - 1) / b->m);
}

/* Transformed positions: planes of U, V and M. */
static inline int rcn_wino_planes(const rcn_wino_budget *b)
{
    return (b->m + 2) * (b->m + 2);
}

/* Samples per chunk: V + M within the budget, at least 1, at most n; the
 * backward takes at least bwd_tiles tiles when they fit bwd floats. */
static inline int rcn_wino_chunk_samples(const rcn_conv_shape *s, int n, int backward,
                                         const rcn_wino_budget *b)
{
    int tps = rcn_wino_tiles(s, b);
    long per = (long)rcn_wino_planes(b) * tps * (s->cin + s->cout);
    int nb = (int)(b->fwd / (per ? per : 1));
    if (backward && (long)nb * tps < b->bwd_tiles) {
        int want = (int)((b->bwd_tiles + tps - 1) / tps), fit = (int)(b->bwd / (per ? per : 1));
        nb = want < fit ? want : fit > nb ? fit : nb;
    }
    if (nb < 1)
        nb = 1;
    return nb < n ? nb : n;
}

/* Row length of V and M for T tiles: a multiple of 16 floats (whole
 * vectors of either ISA), never of 256 (1 KiB), so that the rows a product
 * walks down do not all fall into the same few cache sets. Monotonic in T. */
static inline size_t rcn_wino_row_ld(size_t T)
{
    size_t ld = (T + 15) & ~(size_t)15;
    return ld % 256 ? ld : ld + 16;
}

/* Distance between the transformed-position planes of a buffer with c
 * rows: one cache line more than the rows need, so that the planes a
 * transform writes at once are spread over cache sets (and whole-vector
 * stores past the last row stay inside). */
static inline size_t rcn_wino_plane_stride(int c, size_t ld)
{
    return (size_t)c * ld + 16;
}

/* One chunk of samples n0 .. n0+cnt of a batch of n: T tiles, rows of ld
 * floats in V and M, transformed-position planes vs (V) and ms (M) floats
 * apart, planes of hw floats in the activations. */
typedef struct {
    int n, n0, cnt, T;
    size_t hw, ld, vs, ms;
} rcn_wino_chunk;

static inline rcn_wino_chunk rcn_wino_chunk_of(const rcn_conv_shape *s, int n, int n0, int cnt,
                                               const rcn_wino_budget *b)
{
    rcn_wino_chunk c;
    c.n = n, c.n0 = n0, c.cnt = cnt;
    c.T = cnt * rcn_wino_tiles(s, b);
    c.hw = (size_t)s->h * s->w;
    c.ld = rcn_wino_row_ld((size_t)c.T);
    c.vs = rcn_wino_plane_stride(s->cin, c.ld);
    c.ms = rcn_wino_plane_stride(s->cout, c.ld);
    return c;
}

/* Offset of the plane of channel ch, chunk sample i in an activation. */
static inline size_t rcn_wino_plane_at(const rcn_wino_chunk *c, int ch, int i)
{
    return ((size_t)ch * c->n + c->n0 + i) * c->hw;
}

/* Scratch floats: the transformed weights (and their gradient), V and M
 * of the larger of the forward and backward chunks. */
static inline size_t rcn_wino_plan_scratch(const rcn_conv_shape *s, int n,
                                           const rcn_wino_budget *b)
{
    if (n < 1)
        n = 1;
    int tps = rcn_wino_tiles(s, b);
    size_t np = (size_t)rcn_wino_planes(b);
    int nb = rcn_wino_chunk_samples(s, n, 0, b), nbb = rcn_wino_chunk_samples(s, n, 1, b);
    size_t ld = rcn_wino_row_ld((size_t)(nb > nbb ? nb : nbb) * tps);
    return 2 * np * (size_t)s->cin * s->cout +
           np * (rcn_wino_plane_stride(s->cin, ld) + rcn_wino_plane_stride(s->cout, ld));
}

#endif
