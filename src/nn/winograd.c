/* winograd.c - 3x3 stride-1 pad-1 convolutions over CNHW activations by
 * Winograd's minimal filtering F(2x2,3x3) (Lavin & Gray 2016), forward and
 * both backward products, in AVX-512.
 *
 * Each 2x2 output tile is A^T [ U (.) V ] A with U = G g G^T (the 3x3
 * kernel, 4x4 after transform) and V = B^T d B (the 4x4 input patch at
 * stride 2). Over all (input channel, output channel) pairs the pointwise
 * products become 16 independent matrix products, one per transformed
 * position xi:  M[xi] (cout x T) = U[xi] (cout x cin) V[xi] (cin x T),
 * T = tiles. That is 16 multiply-adds per 4 outputs instead of 36.
 *
 * The backward is the exact adjoint of the forward (the forward is linear
 * in the input and in the weights): with dM = A dY A^T per tile,
 *   dV[xi] = U[xi]^T dM[xi]      -> dx = sum over tiles of B dV B^T,
 *   dU[xi] = dM[xi] V[xi]^T      -> dw = G^T dU G.
 * so the gradients equal the direct convolution's up to float rounding.
 *
 * The batch is processed in chunks of whole samples sized so that V and M
 * of a chunk stay in the L2 cache. Transforms run along a row of tiles:
 * each input row is loaded once as a zero-padded 32-lane pair (columns -1
 * .. 30), the four 4-column windows of every tile are picked with lane
 * permutations, and the vertical combinations reuse the rows two tile rows
 * share. Rows must fit that pair: w <= 30 (MNIST's 28, 14, 7, 4, 2, 1).
 *
 * The chunk loops (wino_driver.h) and the transform arithmetic and weight
 * transforms (wino_xform.h) are shared with the AVX2 path; this file holds
 * the AVX-512 plane transforms they are instantiated with. */
#pragma GCC target("avx512f")

#include <immintrin.h>
#include <string.h>

#include "simd.h"
#include "wino_plan.h"

#define MAX_W 30
/* Floats of V + M per chunk in the forward: 512 KiB, half the L2 of the
 * cores this was tuned on. The backward's weight product reduces over the
 * tiles of a chunk and pays a horizontal sum per chunk, so it takes chunks
 * of at least BWD_MIN_TILES tiles when they fit BWD_BUDGET. */
#define CHUNK_BUDGET (1 << 17)
#define BWD_BUDGET (1 << 19)
#define BWD_MIN_TILES 512

typedef struct {
    int h, w, th, tw, tps;
    __mmask16 tmask;       /* tw lanes: one tile row */
    __mmask16 pad0, pad1;  /* padded row pair: lanes whose column (lane - 1, lane + 15) is in [0, w) */
    __mmask16 row0, row1;  /* plain row pair: columns lane, lane + 16 in [0, w) */
} geo;

/* Lane tables. WIN[l][t] = 2t + l: window column l of tile t in the padded
 * pair (lane p = column p - 1). EVN/ODD: even/odd columns of a plain pair.
 * ILV_LO/HI interleave two vectors a, b (a[0] b[0] a[1] b[1] ...) into lanes
 * 0..15 / 16..31. */
static const int WIN[4][16] __attribute__((aligned(64))) = {
    {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30},
    {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31},
    {2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 0},
    {3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 1}};
static const int ILV_LO[16] __attribute__((aligned(64))) = {0, 16, 1, 17, 2, 18, 3, 19,
                                                             4, 20, 5, 21, 6, 22, 7, 23};
static const int ILV_HI[16] __attribute__((aligned(64))) = {8,  24, 9,  25, 10, 26, 11, 27,
                                                             12, 28, 13, 29, 14, 30, 15, 31};


static __mmask16 lanes(int n)
{
    return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

static void geo_init(geo *g, const rcn_conv_shape *s)
{
    g->h = s->h, g->w = s->w;
    g->th = (s->h + 1) / 2, g->tw = (s->w + 1) / 2;
    g->tps = g->th * g->tw;
    g->tmask = lanes(g->tw);
    g->pad0 = (__mmask16)(lanes(s->w < 15 ? s->w : 15) << 1);
    g->pad1 = lanes(s->w - 15);
    g->row0 = lanes(s->w);
    g->row1 = lanes(s->w - 16);
}

int rcn_wino_applies(const rcn_conv_shape *s)
{
    return s->k == 3 && s->stride == 1 && s->pad == 1 && s->w <= MAX_W && s->w >= 1 &&
           s->h >= 1 && s->ho == s->h && s->wo == s->w;
}

static const rcn_wino_budget BUDGET = {CHUNK_BUDGET, BWD_BUDGET, BWD_MIN_TILES};

size_t rcn_wino_scratch_floats(const rcn_conv_shape *s, int n)
{
    return rcn_wino_plan_scratch(s, n, &BUDGET);
}

/* ---- the transform matrices and the weight transforms ------------------ */

#define WINO_VEC __m512
#define WINO_IVEC __m512i
#define WINO_MASK __mmask16
#define WINO_LANES 16
#define wino_lanes(n) lanes(n)
#define wino_lane_offsets(d)                                                               \
    _mm512_mullo_epi32(                                                                    \
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),           \
        _mm512_set1_epi32(d))
#define wino_gather(p, idx, m) _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, p, 4)
#define wino_load(p, m) _mm512_maskz_loadu_ps(m, p)
#define wino_store(p, m, v, n) _mm512_mask_storeu_ps(p, m, v)
#include "wino_xform.h"

/* ---- data transforms (one sample plane of one channel) ------------------ */

/* The 4 horizontal window combinations B^T (columns) of input row r, one
 * lane per tile: zero outside the plane. */
static ALWAYS_INLINE void row_h(const geo *g, const float *xp, int r, __m512 hr[4])
{
    if (r < 0 || r >= g->h) {
        for (int j = 0; j < 4; j++)
            hr[j] = _mm512_setzero_ps();
        return;
    }
    const float *row = xp + (size_t)r * g->w;
    __m512 a = _mm512_maskz_loadu_ps(g->pad0, row - 1);
    __m512 b = _mm512_maskz_loadu_ps(g->pad1, row + 15);
    __m512 p0 = _mm512_permutex2var_ps(a, _mm512_load_si512(WIN[0]), b);
    __m512 p1 = _mm512_permutex2var_ps(a, _mm512_load_si512(WIN[1]), b);
    __m512 p2 = _mm512_permutex2var_ps(a, _mm512_load_si512(WIN[2]), b);
    __m512 p3 = _mm512_permutex2var_ps(a, _mm512_load_si512(WIN[3]), b);
    wino_bt(p0, p1, p2, p3, hr);
}

/* V[xi][t] for the tiles of one plane: v points at xi = 0, tile 0; xs is the
 * distance between xi planes. */
static void input_transform(const geo *gp, const float *xp, float *v, size_t xs)
{
    const geo gl = *gp, *g = &gl; /* locals: the stores below may alias *gp */
    __m512 h0[4], h1[4], h2[4], h3[4];
    row_h(g, xp, -1, h0);
    row_h(g, xp, 0, h1);
    for (int th = 0; th < g->th; th++) {
        row_h(g, xp, 2 * th + 1, h2);
        row_h(g, xp, 2 * th + 2, h3);
        float *vt = v + (size_t)th * g->tw;
        for (int j = 0; j < 4; j++) {
            __m512 c[4];
            wino_bt(h0[j], h1[j], h2[j], h3[j], c);
            for (int i = 0; i < 4; i++)
                _mm512_mask_storeu_ps(vt + (size_t)(4 * i + j) * xs, g->tmask, c[i]);
        }
        for (int j = 0; j < 4; j++)
            h0[j] = h2[j], h1[j] = h3[j];
    }
}

static ALWAYS_INLINE void store_row(const geo *g, float *row, __m512 a, __m512 b)
{
    _mm512_mask_storeu_ps(row, g->row0,
                          _mm512_permutex2var_ps(a, _mm512_load_si512(ILV_LO), b));
    if (g->row1)
        _mm512_mask_storeu_ps(row + 16, g->row1,
                              _mm512_permutex2var_ps(a, _mm512_load_si512(ILV_HI), b));
}

/* The first half of A^T M A: (s0[b], s1[b]) = A^T of column b of the 4x4
 * tiles whose 16 elements lie at m + k * xs, k = 0..15 (lanes in mask). */
static ALWAYS_INLINE void at_columns(__mmask16 mask, const float *m, size_t xs, __m512 s0[4],
                                     __m512 s1[4])
{
    for (int b = 0; b < 4; b++) {
        __m512 v0 = _mm512_maskz_loadu_ps(mask, m + (size_t)(0 + b) * xs);
        __m512 v1 = _mm512_maskz_loadu_ps(mask, m + (size_t)(4 + b) * xs);
        __m512 v2 = _mm512_maskz_loadu_ps(mask, m + (size_t)(8 + b) * xs);
        __m512 v3 = _mm512_maskz_loadu_ps(mask, m + (size_t)(12 + b) * xs);
        wino_at(v0, v1, v2, v3, &s0[b], &s1[b]);
    }
}

/* y plane = A^T M A per tile; m at xi = 0, tile 0. */
static void output_transform(const geo *gp, const float *m, size_t xs, float *yp)
{
    const geo gl = *gp, *g = &gl; /* locals: the stores below may alias *gp */
    for (int th = 0; th < g->th; th++) {
        const float *mt = m + (size_t)th * g->tw;
        __m512 s0[4], s1[4];
        at_columns(g->tmask, mt, xs, s0, s1);
        __m512 y00, y01, y10, y11;
        wino_at(s0[0], s0[1], s0[2], s0[3], &y00, &y01);
        store_row(g, yp + (size_t)(2 * th) * g->w, y00, y01);
        if (2 * th + 1 < g->h) {
            wino_at(s1[0], s1[1], s1[2], s1[3], &y10, &y11);
            store_row(g, yp + (size_t)(2 * th + 1) * g->w, y10, y11);
        }
    }
}

/* dM = A dY A^T per tile (the adjoint of the output transform). */
static void grad_output_transform(const geo *gp, const float *dyp, float *dm, size_t xs)
{
    const geo gl = *gp, *g = &gl; /* locals: the stores below may alias *gp */
    const __m512 zero = _mm512_setzero_ps();
    for (int th = 0; th < g->th; th++) {
        __m512 hr[2][4];
        for (int i = 0; i < 2; i++) {
            int r = 2 * th + i;
            __m512 e = zero, o = zero;
            if (r < g->h) {
                const float *row = dyp + (size_t)r * g->w;
                __m512 a = _mm512_maskz_loadu_ps(g->row0, row);
                __m512 b = _mm512_maskz_loadu_ps(g->row1, row + 16);
                e = _mm512_permutex2var_ps(a, _mm512_load_si512(WIN[0]), b);
                o = _mm512_permutex2var_ps(a, _mm512_load_si512(WIN[1]), b);
            }
            wino_a(e, o, hr[i]);
        }
        float *mt = dm + (size_t)th * g->tw;
        for (int b = 0; b < 4; b++) {
            __m512 c[4];
            wino_a(hr[0][b], hr[1][b], c);
            for (int i = 0; i < 4; i++)
                _mm512_mask_storeu_ps(mt + (size_t)(4 * i + b) * xs, g->tmask, c[i]);
        }
    }
}

/* Lane t <- lane t-1, lane 0 <- 0. */
static ALWAYS_INLINE __m512 shift_up(__m512 v)
{
    return _mm512_castsi512_ps(
        _mm512_alignr_epi32(_mm512_castps_si512(v), _mm512_setzero_si512(), 15));
}

/* Writes (or adds) padded row pair (a: columns -1..14, b: 15..30) into row r. */
static ALWAYS_INLINE void put_padded_row(const geo *g, float *dxp, int r, __m512 a, __m512 b,
                                         int acc)
{
    if (r < 0 || r >= g->h)
        return;
    float *row = dxp + (size_t)r * g->w;
    if (acc) {
        a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(g->pad0, row - 1));
        b = _mm512_add_ps(b, _mm512_maskz_loadu_ps(g->pad1, row + 15));
    }
    _mm512_mask_storeu_ps(row - 1, g->pad0, a);
    if (g->pad1)
        _mm512_mask_storeu_ps(row + 15, g->pad1, b);
}

/* The first half of B dV B^T: d[j] = B applied to column j of the 4x4
 * tiles whose 16 elements lie at dv + k * xs, k = 0..15 (lanes in mask). */
static ALWAYS_INLINE void b_columns(__mmask16 mask, const float *dv, size_t xs, __m512 d[4][4])
{
    for (int j = 0; j < 4; j++) {
        __m512 v0 = _mm512_maskz_loadu_ps(mask, dv + (size_t)(0 + j) * xs);
        __m512 v1 = _mm512_maskz_loadu_ps(mask, dv + (size_t)(4 + j) * xs);
        __m512 v2 = _mm512_maskz_loadu_ps(mask, dv + (size_t)(8 + j) * xs);
        __m512 v3 = _mm512_maskz_loadu_ps(mask, dv + (size_t)(12 + j) * xs);
        wino_b(v0, v1, v2, v3, d[j]);
    }
}

/* dx plane = sum over tiles of B dV B^T (the adjoint of the input
 * transform): overlapping tiles are added in registers, each row written
 * once (overwritten, or added to when acc). */
static void input_adjoint(const geo *gp, const float *dv, size_t xs, float *dxp, int acc)
{
    const geo gl = *gp, *g = &gl; /* locals: the stores below may alias *gp */
    const __m512 zero = _mm512_setzero_ps();
    __m512 c2a = zero, c2b = zero, c3a = zero, c3b = zero;
    for (int th = 0; th < g->th; th++) {
        const float *vt = dv + (size_t)th * g->tw;
        __m512 d[4][4]; /* [column window j][row k] */
        b_columns(g->tmask, vt, xs, d);
        __m512 pa[4], pb[4];
        for (int l = 0; l < 4; l++) {
            __m512 cm[4];
            wino_b(d[0][l], d[1][l], d[2][l], d[3][l], cm);
            __m512 e = _mm512_add_ps(cm[0], shift_up(cm[2]));
            __m512 o = _mm512_add_ps(cm[1], shift_up(cm[3]));
            pa[l] = _mm512_permutex2var_ps(e, _mm512_load_si512(ILV_LO), o);
            pb[l] = _mm512_permutex2var_ps(e, _mm512_load_si512(ILV_HI), o);
        }
        put_padded_row(g, dxp, 2 * th - 1, _mm512_add_ps(c2a, pa[0]), _mm512_add_ps(c2b, pb[0]),
                       acc);
        put_padded_row(g, dxp, 2 * th, _mm512_add_ps(c3a, pa[1]), _mm512_add_ps(c3b, pb[1]), acc);
        c2a = pa[2], c2b = pb[2], c3a = pa[3], c3b = pb[3];
    }
    put_padded_row(g, dxp, 2 * g->th - 1, c2a, c2b, acc);
    put_padded_row(g, dxp, 2 * g->th, c3a, c3b, acc);
}

/* ---- small planes (h*w <= 64, at most 16 tiles): one vector per plane --

 * Every tile of the plane gets a lane (lane th*TW + tw, the same tile order
 * as above), the plane itself is up to four vectors, and each window
 * position of every tile is gathered from them with two two-source lane
 * permutations; the output and gradient planes are assembled the same way,
 * overlapping tiles summed in registers. A 7x7 plane thus costs one pass of
 * full vectors instead of four tile rows of four lanes each. */

#define SMALL_MAX 64

typedef struct {
    int nz;                 /* plane vectors: ceil(h*w / 16) */
    __mmask16 zmask[4];     /* their valid lanes */
    __mmask16 tiles;        /* tps lanes */
    /* window (k, l) of every tile from plane vectors (0,1) and (2,3) */
    __m512i in_idx[16][2];
    __mmask16 in_m[16][2];
    /* output (i, j) of every tile, from a dy plane */
    __m512i dy_idx[4][2];
    __mmask16 dy_m[4][2];
    /* plane vector q from outputs (Y00, Y01) and (Y10, Y11) */
    __m512i out_idx[4][2];
    __mmask16 out_m[4][2];
    /* plane vector q, term (kb, lb): from (dd[2kb][2lb], dd[2kb][2lb+1]) for
     * rows of window parity k0 = 0, (dd[2kb+1][2lb], dd[2kb+1][2lb+1]) for k0 = 1 */
    __m512i adj_idx[4][4][2];
    __mmask16 adj_m[4][4][2];
} small_t;

static int small_applies(const geo *g)
{
    return g->h * g->w <= SMALL_MAX && g->tps <= 16;
}

/* Gather table entry: lane `lane` takes plane index f (-1: zero). */
static void put(int idx[2][16], __mmask16 m[2], int lane, int f)
{
    if (f < 0)
        return;
    idx[f / 32][lane] = f % 32;
    m[f / 32] |= (__mmask16)(1u << lane);
}

static void small_init(small_t *sm, const geo *g)
{
    const int h = g->h, w = g->w, hw = h * w, TW = g->tw, TH = g->th;
    memset(sm, 0, sizeof *sm);
    sm->nz = (hw + 15) / 16;
    for (int q = 0; q < 4; q++)
        sm->zmask[q] = lanes(hw - 16 * q);
    sm->tiles = lanes(g->tps);
    int idx[2][16];
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < 4; l++) {
            memset(idx, 0, sizeof idx);
            for (int t = 0; t < g->tps; t++) {
                int r = 2 * (t / TW) - 1 + k, c = 2 * (t % TW) - 1 + l;
                put(idx, sm->in_m[k * 4 + l], t, r >= 0 && r < h && c >= 0 && c < w ? r * w + c : -1);
            }
            for (int hf = 0; hf < 2; hf++)
                sm->in_idx[k * 4 + l][hf] = _mm512_loadu_si512(idx[hf]);
        }
    for (int ij = 0; ij < 4; ij++) {
        memset(idx, 0, sizeof idx);
        for (int t = 0; t < g->tps; t++) {
            int r = 2 * (t / TW) + ij / 2, c = 2 * (t % TW) + ij % 2;
            put(idx, sm->dy_m[ij], t, r < h && c < w ? r * w + c : -1);
        }
        for (int hf = 0; hf < 2; hf++)
            sm->dy_idx[ij][hf] = _mm512_loadu_si512(idx[hf]);
    }
    for (int q = 0; q < 4; q++) {
        int oi[2][16] = {{0}}, ai[4][2][16];
        memset(ai, 0, sizeof ai);
        for (int o = 0; o < 16; o++) {
            int f = 16 * q + o;
            if (f >= hw)
                break;
            int r = f / w, c = f % w;
            /* forward output: tile (r/2, c/2), output (r%2, c%2) */
            int t = (r / 2) * TW + c / 2;
            oi[r % 2][o] = (c % 2) * 16 + t;
            sm->out_m[q][r % 2] |= (__mmask16)(1u << o);
            /* adjoint: windows k = k0 + 2kb, l = l0 + 2lb of tile ((r+1-k)/2, (c+1-l)/2) */
            int k0 = (r + 1) % 2, l0 = (c + 1) % 2;
            for (int kb = 0; kb < 2; kb++)
                for (int lb = 0; lb < 2; lb++) {
                    int th = (r + 1 - k0 - 2 * kb) / 2, tw = (c + 1 - l0 - 2 * lb) / 2;
                    if (r + 1 - k0 - 2 * kb < 0 || c + 1 - l0 - 2 * lb < 0 || th >= TH || tw >= TW)
                        continue;
                    ai[kb * 2 + lb][k0][o] = l0 * 16 + th * TW + tw;
                    sm->adj_m[q][kb * 2 + lb][k0] |= (__mmask16)(1u << o);
                }
        }
        for (int i = 0; i < 2; i++)
            sm->out_idx[q][i] = _mm512_loadu_si512(oi[i]);
        for (int tl = 0; tl < 4; tl++)
            for (int p = 0; p < 2; p++)
                sm->adj_idx[q][tl][p] = _mm512_loadu_si512(ai[tl][p]);
    }
}

static ALWAYS_INLINE void load_plane(const small_t *sm, const float *p, __m512 z[4])
{
    for (int q = 0; q < 4; q++)
        z[q] = q < sm->nz ? _mm512_maskz_loadu_ps(sm->zmask[q], p + 16 * q) : _mm512_setzero_ps();
}

static ALWAYS_INLINE __m512 gather2(const __m512 z[4], const __m512i idx[2], const __mmask16 m[2])
{
    __m512 a = _mm512_maskz_permutex2var_ps(m[0], z[0], idx[0], z[1]);
    if (m[1])
        a = _mm512_add_ps(a, _mm512_maskz_permutex2var_ps(m[1], z[2], idx[1], z[3]));
    return a;
}

static void small_input_transform(const small_t *sm, const float *xp, float *v, size_t xs)
{
    const __mmask16 tiles = sm->tiles; /* a local: the stores may alias *sm */
    __m512 z[4], t[4][4];
    load_plane(sm, xp, z);
    for (int l = 0; l < 4; l++) {
        __m512 d0 = gather2(z, sm->in_idx[0 + l], sm->in_m[0 + l]);
        __m512 d1 = gather2(z, sm->in_idx[4 + l], sm->in_m[4 + l]);
        __m512 d2 = gather2(z, sm->in_idx[8 + l], sm->in_m[8 + l]);
        __m512 d3 = gather2(z, sm->in_idx[12 + l], sm->in_m[12 + l]);
        wino_bt(d0, d1, d2, d3, t[l]);
    }
    for (int i = 0; i < 4; i++) {
        __m512 c[4];
        wino_bt(t[0][i], t[1][i], t[2][i], t[3][i], c);
        for (int j = 0; j < 4; j++)
            _mm512_mask_storeu_ps(v + (size_t)(4 * i + j) * xs, tiles, c[j]);
    }
}

static void small_output_transform(const small_t *sm, const float *m, size_t xs, float *yp)
{
    __m512 s0[4], s1[4];
    at_columns(sm->tiles, m, xs, s0, s1);
    __m512 y00, y01, y10, y11;
    wino_at(s0[0], s0[1], s0[2], s0[3], &y00, &y01);
    wino_at(s1[0], s1[1], s1[2], s1[3], &y10, &y11);
    for (int q = 0; q < sm->nz; q++) {
        __m512 o = _mm512_add_ps(
            _mm512_maskz_permutex2var_ps(sm->out_m[q][0], y00, sm->out_idx[q][0], y01),
            _mm512_maskz_permutex2var_ps(sm->out_m[q][1], y10, sm->out_idx[q][1], y11));
        _mm512_mask_storeu_ps(yp + 16 * q, sm->zmask[q], o);
    }
}

static void small_grad_output_transform(const small_t *sm, const float *dyp, float *dm, size_t xs)
{
    const __mmask16 tiles = sm->tiles; /* a local: the stores may alias *sm */
    __m512 z[4], hr[2][4];
    load_plane(sm, dyp, z);
    for (int i = 0; i < 2; i++) {
        __m512 e = gather2(z, sm->dy_idx[2 * i], sm->dy_m[2 * i]);
        __m512 o = gather2(z, sm->dy_idx[2 * i + 1], sm->dy_m[2 * i + 1]);
        wino_a(e, o, hr[i]);
    }
    for (int b = 0; b < 4; b++) {
        __m512 c[4];
        wino_a(hr[0][b], hr[1][b], c);
        for (int i = 0; i < 4; i++)
            _mm512_mask_storeu_ps(dm + (size_t)(4 * i + b) * xs, tiles, c[i]);
    }
}

static void small_input_adjoint(const small_t *sm, const float *dv, size_t xs, float *dxp, int acc)
{
    const __m512 zero = _mm512_setzero_ps();
    __m512 d[4][4], dd[4][4]; /* d: [column window j][row k]; dd: [k][j] */
    b_columns(sm->tiles, dv, xs, d);
    for (int k = 0; k < 4; k++)
        wino_b(d[0][k], d[1][k], d[2][k], d[3][k], dd[k]);
    for (int q = 0; q < sm->nz; q++) {
        __m512 o = zero;
        for (int kb = 0; kb < 2; kb++)
            for (int lb = 0; lb < 2; lb++) {
                const int tl = kb * 2 + lb;
                if (sm->adj_m[q][tl][0])
                    o = _mm512_add_ps(o, _mm512_maskz_permutex2var_ps(
                                             sm->adj_m[q][tl][0], dd[2 * kb][2 * lb],
                                             sm->adj_idx[q][tl][0], dd[2 * kb][2 * lb + 1]));
                if (sm->adj_m[q][tl][1])
                    o = _mm512_add_ps(o, _mm512_maskz_permutex2var_ps(
                                             sm->adj_m[q][tl][1], dd[2 * kb + 1][2 * lb],
                                             sm->adj_idx[q][tl][1], dd[2 * kb + 1][2 * lb + 1]));
            }
        float *p = dxp + 16 * q;
        if (acc)
            o = _mm512_add_ps(o, _mm512_maskz_loadu_ps(sm->zmask[q], p));
        _mm512_mask_storeu_ps(p, sm->zmask[q], o);
    }
}

/* ---- per-plane dispatch and the drivers --------------------------------- */

/* The plane transforms of a shape: the small-plane tables where they apply
 * (sm = &small), else the row transforms of g (sm = NULL). */
typedef struct {
    geo g;
    const small_t *sm;
    small_t small;
} wino_planes;

static void planes_init(wino_planes *p, const rcn_conv_shape *s)
{
    geo_init(&p->g, s);
    p->sm = NULL;
    if (small_applies(&p->g))
        small_init(&p->small, &p->g), p->sm = &p->small;
}

static ALWAYS_INLINE void t_input(const wino_planes *p, const float *xp, float *v, size_t xs)
{
    if (p->sm)
        small_input_transform(p->sm, xp, v, xs);
    else
        input_transform(&p->g, xp, v, xs);
}

static ALWAYS_INLINE void t_output(const wino_planes *p, const float *m, size_t xs, float *yp)
{
    if (p->sm)
        small_output_transform(p->sm, m, xs, yp);
    else
        output_transform(&p->g, m, xs, yp);
}

static ALWAYS_INLINE void t_grad_output(const wino_planes *p, const float *dyp, float *dm,
                                        size_t xs)
{
    if (p->sm)
        small_grad_output_transform(p->sm, dyp, dm, xs);
    else
        grad_output_transform(&p->g, dyp, dm, xs);
}

static ALWAYS_INLINE void t_adjoint(const wino_planes *p, const float *dv, size_t xs, float *dxp,
                                    int acc)
{
    if (p->sm)
        small_input_adjoint(p->sm, dv, xs, dxp, acc);
    else
        input_adjoint(&p->g, dv, xs, dxp, acc);
}

#define WINO_APPLIES(s) rcn_wino_applies(s)
#define WINO_GEMM_NN rcn_gemm_nn_avx512
#define WINO_GEMM_NT rcn_gemm_nt_avx512
#define WINO_GEMM_COLS(T) (T) /* masked tails */
#include "wino_driver.h"

void rcn_wino_forward(const rcn_conv_shape *s, int n, const float *x, const float *w,
                      float *y, float *scratch, const rcn_conv_ops *ops)
{
    wino_forward(s, n, x, w, y, scratch, ops);
}

void rcn_wino_prepare(const rcn_conv_shape *s, const float *w, float *u)
{
    kernels_transform(w, s->cout, s->cin, u, 0);
}

void rcn_wino_backward(const rcn_conv_shape *s, int n, const float *x, const float *w,
                      const float *dy, float *dx, float *dw, float *scratch, int accumulate_dx,
                      const float *res)
{
    wino_backward(s, n, x, w, dy, dx, dw, scratch, accumulate_dx, res);
}
