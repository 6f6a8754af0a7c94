/* winograd_avx2.c - 3x3 stride-1 pad-1 convolutions over CNHW activations by
 * Winograd's minimal filtering F(2x2,3x3), forward and both backward
 * products, in AVX2/FMA: the path for CPUs without AVX-512
 * (winograd_avx512.c, F(4x4,3x3), is the AVX-512 one). The chunk loops are
 * in wino_driver.h, the transform arithmetic and weight transforms in
 * wino_xform.h; this file holds the plane transforms they are instantiated
 * with.
 *
 * Each 2x2 output tile is A^T [ U (.) V ] A with U = G g G^T (the 3x3
 * kernel, 4x4 after transform) and V = B^T d B (the 4x4 input patch at
 * stride 2). Over all channel pairs the pointwise products are 16 matrix
 * products, one per transformed position xi:
 *   M[xi] (cout x T) = U[xi] (cout x cin) V[xi] (cin x T),  T = tiles;
 * the backward is the exact adjoint: with dM = A dY A^T per tile,
 *   dV[xi] = U[xi]^T dM[xi] -> dx = sum over tiles of B dV B^T,
 *   dU[xi] = dM[xi] V[xi]^T -> dw = G^T dU G,
 * so all three equal the direct convolution's up to float rounding.
 *
 * Layout: V, M of a chunk of whole samples are [xi][channel][tile], a
 * channel's row holding the chunk's samples one after another, each
 * sample's tiles row-major. The chunk is sized so that V and M stay in L2.
 *
 * Transforms run along a row of tiles, 8 tiles per vector (at most 2
 * vectors: w <= 32): an input row is loaded with masked loads (zero past
 * w), split into even and odd columns, and the four windows of every tile
 * come from those and their one-lane shifts. Stores into V and M are whole
 * vectors: the lanes past a tile row spill into the next tile row (or the
 * next sample, channel or plane's padding), which is written later in the
 * same pass, so only the last pass's values stay. Stores into y and dx are
 * whole vectors on rows whose vectors stay inside the plane (the spill
 * lands on later rows, written later; with accumulation the spilled lanes
 * carry the memory's own value back) and masked on the last rows. */
#include <immintrin.h>
#include <string.h>

#include "simd.h"
#include "avx2_lanes.h"
#include "wino_plan.h"

#define MAX_W 32
/* Floats of V + M per chunk in the forward: 256 KiB, half the L2 of a
 * Zen 3 core. The backward's weight product pays horizontal sums per chunk,
 * so it takes chunks of at least BWD_MIN_TILES tiles when they fit
 * BWD_BUDGET. */
#ifndef W2_CHUNK_BUDGET
#define W2_CHUNK_BUDGET (1 << 16)
#endif
#define BWD_BUDGET (1 << 18)
#define BWD_MIN_TILES 512


typedef struct {
    int h, w, th, tw, tps, nv;
    int full_rows;   /* rows r whose 16*nv-float stores stay in the plane */
    int full_vecs;   /* row vectors j < full_vecs lie inside the row: w / 8 */
    int rp;          /* 4 tiles per row (w = 7, 8): two tile rows per vector */
    int full_rows8;  /* rows r whose 8-float stores stay in the plane */
    __m256i lm[4];   /* row vector j (columns 8j .. 8j+7): lanes with column < w */
    __m256 tkeep[2]; /* tile vector v: lanes with tile 8v + l < tw (all ones) */
} geo;

int rcn_wino2_applies(const rcn_conv_shape *s)
{
    return s->k == 3 && s->stride == 1 && s->pad == 1 && s->w <= MAX_W && s->w >= 1 &&
           s->h >= 1 && s->ho == s->h && s->wo == s->w;
}

static void geo_init(geo *g, const rcn_conv_shape *s)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    g->h = s->h, g->w = s->w;
    g->th = (s->h + 1) / 2, g->tw = (s->w + 1) / 2;
    g->tps = g->th * g->tw;
    g->nv = (g->tw + 7) / 8;
    long hw = (long)s->h * s->w, span = 16L * g->nv;
    long fr = hw >= span ? (hw - span) / s->w + 1 : 0;
    g->full_rows = fr < s->h ? (int)fr : s->h;
    g->full_vecs = s->w / 8;
    g->rp = g->tw == 4;
    long fr8 = hw >= 8 ? (hw - 8) / s->w + 1 : 0;
    g->full_rows8 = fr8 < s->h ? (int)fr8 : s->h;
    for (int j = 0; j < 4; j++)
        g->lm[j] = _mm256_cmpgt_epi32(_mm256_set1_epi32(s->w - 8 * j), idx);
    for (int v = 0; v < 2; v++)
        g->tkeep[v] = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(g->tw - 8 * v), idx));
}

static const rcn_wino_budget BUDGET = {2, W2_CHUNK_BUDGET, BWD_BUDGET, BWD_MIN_TILES};

size_t rcn_wino2_scratch_floats(const rcn_conv_shape *s, int n)
{
    return rcn_wino_plan_scratch(s, n, &BUDGET);
}

/* ---- lane helpers ------------------------------------------------------- */

/* [x1 .. x7, next0] */
static ALWAYS_INLINE __m256 down1(__m256 x, __m256 next)
{
    __m256 t = _mm256_permute2f128_ps(x, next, 0x21);
    return _mm256_castsi256_ps(
        _mm256_alignr_epi8(_mm256_castps_si256(t), _mm256_castps_si256(x), 4));
}

/* e0 o0 e1 o1 ... : lo gets lanes 0..3 of each, hi lanes 4..7. */
static ALWAYS_INLINE void interleave(__m256 e, __m256 o, __m256 *lo, __m256 *hi)
{
    __m256 a = _mm256_unpacklo_ps(e, o), b = _mm256_unpackhi_ps(e, o);
    *lo = _mm256_permute2f128_ps(a, b, 0x20);
    *hi = _mm256_permute2f128_ps(a, b, 0x31);
}

/* Even and odd columns of row r of a plane, tile t in lane t % 8 of vector
 * t / 8: ev = column 2t, od = column 2t + 1, zero past w. */
static ALWAYS_INLINE void row_eo(const geo *g, const int NV, const float *row, __m256 ev[2],
                                 __m256 od[2])
{
    for (int v = 0; v < NV; v++) {
        /* plain loads where the 8 columns are all inside (masked loads are slow) */
        __m256 a = 2 * v < g->full_vecs ? _mm256_loadu_ps(row + 16 * v)
                                        : _mm256_maskload_ps(row + 16 * v, g->lm[2 * v]);
        __m256 b = 2 * v + 1 < g->full_vecs
                       ? _mm256_loadu_ps(row + 16 * v + 8)
                       : _mm256_maskload_ps(row + 16 * v + 8, g->lm[2 * v + 1]);
        ev[v] = evens(a, b);
        od[v] = odds(a, b);
    }
}

/* Writes the 2*NV vectors of a row (columns 0 .. 16*NV-1) into row r of a
 * plane; acc: adds them to what is there. Rows below full_rows take whole
 * vectors (spill onto later rows; with acc the lanes past w must be zero in
 * `o`, so the spill writes memory's own value back), the others masked. */
static ALWAYS_INLINE void put_row(const geo *g, const int NV, float *plane, int r, __m256 o[4],
                                  int acc)
{
    if (r < 0 || r >= g->h)
        return;
    float *row = plane + (size_t)r * g->w;
    if (r < g->full_rows) {
        for (int j = 0; j < 2 * NV; j++) {
            __m256 v = o[j];
            if (acc)
                v = _mm256_add_ps(v, _mm256_loadu_ps(row + 8 * j));
            _mm256_storeu_ps(row + 8 * j, v);
        }
    } else {
        for (int j = 0; j < 2 * NV; j++) {
            __m256 v = o[j];
            if (acc)
                v = _mm256_add_ps(v, _mm256_maskload_ps(row + 8 * j, g->lm[j]));
            _mm256_maskstore_ps(row + 8 * j, g->lm[j], v);
        }
    }
}

/* ---- the transform matrices and the weight transforms ------------------ */

#define WINO_VEC __m256
#define WINO_IVEC __m256i
#define WINO_MASK __m256i /* all-ones lanes */
#define WINO_LANES 8
#define LANE_INDEX _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
#define wino_lanes(n) _mm256_cmpgt_epi32(_mm256_set1_epi32(n), LANE_INDEX)
#define wino_lane_offsets(d) _mm256_mullo_epi32(LANE_INDEX, _mm256_set1_epi32(d))
#define wino_gather(p, idx, m) \
    _mm256_mask_i32gather_ps(_mm256_setzero_ps(), p, idx, _mm256_castsi256_ps(m), 4)
#define wino_load(p, m) _mm256_maskload_ps(p, m)
/* plain stores where all 8 lanes are in (masked stores are slow) */
#define wino_store(p, m, v, n) \
    ((n) >= 8 ? _mm256_storeu_ps(p, v) : _mm256_maskstore_ps(p, m, v))
#include "wino_xform.h"

/* ---- data transforms (one sample plane of one channel) ------------------ */

/* The 4 horizontal window combinations B^T of input row r, one lane per
 * tile: window columns 2t-1 .. 2t+2, zero outside the plane. */
static ALWAYS_INLINE void row_h(const geo *g, const int NV, const float *xp, int r,
                                __m256 hr[4][2])
{
    const __m256 zero = _mm256_setzero_ps();
    if (r < 0 || r >= g->h) {
        for (int j = 0; j < 4; j++)
            for (int v = 0; v < NV; v++)
                hr[j][v] = zero;
        return;
    }
    __m256 o[2], e1[2];
    row_eo(g, NV, xp + (size_t)r * g->w, o, e1); /* o: column 2t, e1: 2t + 1 */
    for (int v = 0; v < NV; v++) {
        __m256 e = up1(e1[v], v ? e1[v - 1] : zero);          /* column 2t - 1 */
        __m256 o1 = down1(o[v], v + 1 < NV ? o[v + 1] : zero); /* column 2t + 2 */
        __m256 c[4];
        wino_bt(e, o[v], e1[v], o1, c);
        for (int j = 0; j < 4; j++)
            hr[j][v] = c[j];
    }
}

/* V[xi][t] for the tiles of one plane: v at xi = 0, tile 0; xs between xi. */
static ALWAYS_INLINE void input_transform(const geo *g, const int NV, const float *xp,
                                          float *v, size_t xs)
{
    __m256 h0[4][2], h1[4][2], h2[4][2], h3[4][2];
    row_h(g, NV, xp, -1, h0);
    row_h(g, NV, xp, 0, h1);
    for (int th = 0; th < g->th; th++) {
        row_h(g, NV, xp, 2 * th + 1, h2);
        row_h(g, NV, xp, 2 * th + 2, h3);
        float *vt = v + (size_t)th * g->tw;
        for (int j = 0; j < 4; j++)
            for (int q = 0; q < NV; q++) {
                __m256 c[4];
                wino_bt(h0[j][q], h1[j][q], h2[j][q], h3[j][q], c);
                for (int i = 0; i < 4; i++)
                    _mm256_storeu_ps(vt + (size_t)(4 * i + j) * xs + 8 * q, c[i]);
            }
        for (int j = 0; j < 4; j++)
            for (int q = 0; q < NV; q++)
                h0[j][q] = h2[j][q], h1[j][q] = h3[j][q];
    }
}

/* y plane = A^T M A per tile; m at xi = 0, tile 0. */
static ALWAYS_INLINE void output_transform(const geo *g, const int NV, const float *m,
                                           size_t xs, float *yp)
{
    for (int th = 0; th < g->th; th++) {
        const float *mt = m + (size_t)th * g->tw;
        __m256 r0[4], r1[4];
        for (int q = 0; q < NV; q++) {
            __m256 s0[4], s1[4];
            for (int b = 0; b < 4; b++) {
                __m256 v0 = _mm256_loadu_ps(mt + (size_t)(0 + b) * xs + 8 * q);
                __m256 v1 = _mm256_loadu_ps(mt + (size_t)(4 + b) * xs + 8 * q);
                __m256 v2 = _mm256_loadu_ps(mt + (size_t)(8 + b) * xs + 8 * q);
                __m256 v3 = _mm256_loadu_ps(mt + (size_t)(12 + b) * xs + 8 * q);
                wino_at(v0, v1, v2, v3, &s0[b], &s1[b]);
            }
            __m256 y00, y01, y10, y11;
            wino_at(s0[0], s0[1], s0[2], s0[3], &y00, &y01);
            wino_at(s1[0], s1[1], s1[2], s1[3], &y10, &y11);
            interleave(y00, y01, &r0[2 * q], &r0[2 * q + 1]);
            interleave(y10, y11, &r1[2 * q], &r1[2 * q + 1]);
        }
        put_row(g, NV, yp, 2 * th, r0, 0);
        put_row(g, NV, yp, 2 * th + 1, r1, 0);
    }
}

/* dM = A dY A^T per tile (the adjoint of the output transform). */
static ALWAYS_INLINE void grad_output_transform(const geo *g, const int NV, const float *dyp,
                                                float *dm, size_t xs)
{
    const __m256 zero = _mm256_setzero_ps();
    for (int th = 0; th < g->th; th++) {
        __m256 hr[2][4][2];
        for (int i = 0; i < 2; i++) {
            int r = 2 * th + i;
            __m256 e[2] = {zero, zero}, o[2] = {zero, zero};
            if (r < g->h)
                row_eo(g, NV, dyp + (size_t)r * g->w, e, o);
            for (int q = 0; q < NV; q++) {
                __m256 c[4];
                wino_a(e[q], o[q], c);
                for (int b = 0; b < 4; b++)
                    hr[i][b][q] = c[b];
            }
        }
        float *mt = dm + (size_t)th * g->tw;
        for (int b = 0; b < 4; b++)
            for (int q = 0; q < NV; q++) {
                __m256 c[4];
                wino_a(hr[0][b][q], hr[1][b][q], c);
                for (int i = 0; i < 4; i++)
                    _mm256_storeu_ps(mt + (size_t)(4 * i + b) * xs + 8 * q, c[i]);
            }
    }
}

/* dx plane = sum over tiles of B dV B^T (the adjoint of the input
 * transform): overlapping tiles are added in registers, each row written
 * once (overwritten, or added to when acc). */
static ALWAYS_INLINE void input_adjoint(const geo *g, const int NV, const float *dv, size_t xs,
                                        float *dxp, int acc)
{
    const __m256 zero = _mm256_setzero_ps();
    __m256 c2[4] = {zero, zero, zero, zero}, c3[4] = {zero, zero, zero, zero};
    for (int th = 0; th < g->th; th++) {
        const float *vt = dv + (size_t)th * g->tw;
        __m256 d[2][4][4]; /* [vector q][column window j][row k] */
        for (int q = 0; q < NV; q++)
            for (int j = 0; j < 4; j++) {
                /* lanes past the last tile hold other tiles' values: zero them */
                __m256 v0 = _mm256_and_ps(g->tkeep[q], _mm256_loadu_ps(vt + (size_t)(0 + j) * xs + 8 * q));
                __m256 v1 = _mm256_and_ps(g->tkeep[q], _mm256_loadu_ps(vt + (size_t)(4 + j) * xs + 8 * q));
                __m256 v2 = _mm256_and_ps(g->tkeep[q], _mm256_loadu_ps(vt + (size_t)(8 + j) * xs + 8 * q));
                __m256 v3 = _mm256_and_ps(g->tkeep[q], _mm256_loadu_ps(vt + (size_t)(12 + j) * xs + 8 * q));
                wino_b(v0, v1, v2, v3, d[q][j]);
            }
        __m256 rk[4][4];
        for (int k = 0; k < 4; k++) {
            __m256 cm[2][4];
            for (int q = 0; q < NV; q++)
                wino_b(d[q][0][k], d[q][1][k], d[q][2][k], d[q][3][k], cm[q]);
            for (int q = 0; q < NV; q++) {
                /* column 2s: window 1 of tile s, window 3 of tile s - 1;
                 * column 2s + 1: window 2 of tile s, window 0 of tile s + 1 */
                __m256 prev3 = q ? cm[q - 1][3] : zero, next0 = q + 1 < NV ? cm[q + 1][0] : zero;
                __m256 ev = _mm256_add_ps(cm[q][1], up1(cm[q][3], prev3));
                __m256 od = _mm256_add_ps(cm[q][2], down1(cm[q][0], next0));
                interleave(ev, od, &rk[k][2 * q], &rk[k][2 * q + 1]);
            }
            if (acc) /* columns past w (window 3 of the last tile) must not spill */
                for (int j = 0; j < 2 * NV; j++)
                    rk[k][j] = _mm256_and_ps(rk[k][j], _mm256_castsi256_ps(g->lm[j]));
        }
        __m256 o[4];
        for (int j = 0; j < 2 * NV; j++)
            o[j] = _mm256_add_ps(c2[j], rk[0][j]);
        put_row(g, NV, dxp, 2 * th - 1, o, acc);
        for (int j = 0; j < 2 * NV; j++)
            o[j] = _mm256_add_ps(c3[j], rk[1][j]);
        put_row(g, NV, dxp, 2 * th, o, acc);
        for (int j = 0; j < 2 * NV; j++)
            c2[j] = rk[2][j], c3[j] = rk[3][j];
    }
    put_row(g, NV, dxp, 2 * g->th - 1, c2, acc);
    put_row(g, NV, dxp, 2 * g->th, c3, acc);
}

/* ---- planes of 4 tiles per row: two tile rows per vector ----------------- *
 *
 * Lanes 0..3 hold tile row th, lanes 4..7 tile row th + 1 (th even): the
 * natural tile order, so a vector is 8 consecutive tiles of V or M. A
 * vector of two image rows a (lanes 0..3 after the split) and b (lanes
 * 4..7) is split into even and odd columns in one go, and the one-tile
 * shifts stay inside each 128-bit half (zero shifted in: the padding). */

/* Image row r of a plane as 8 lanes (zero past w, or outside the plane). */
static ALWAYS_INLINE __m256 row8(const geo *g, const float *p, int r)
{
    if (r < 0 || r >= g->h)
        return _mm256_setzero_ps();
    const float *row = p + (size_t)r * g->w;
    return g->full_vecs ? _mm256_loadu_ps(row) : _mm256_maskload_ps(row, g->lm[0]);
}

/* Lanes shifted up (down) by one inside each 128-bit half, zero shifted in. */
static ALWAYS_INLINE __m256 half_up(__m256 v)
{
    return _mm256_castsi256_ps(_mm256_slli_si256(_mm256_castps_si256(v), 4));
}

static ALWAYS_INLINE __m256 half_down(__m256 v)
{
    return _mm256_castsi256_ps(_mm256_srli_si256(_mm256_castps_si256(v), 4));
}

/* Writes 8 lanes (columns 0..7) into row r; acc: adds (lanes past w of v
 * must then be zero). */
static ALWAYS_INLINE void put_row8(const geo *g, float *plane, int r, __m256 v, int acc)
{
    if (r < 0 || r >= g->h)
        return;
    float *row = plane + (size_t)r * g->w;
    if (r < g->full_rows8) {
        if (acc)
            v = _mm256_add_ps(v, _mm256_loadu_ps(row));
        _mm256_storeu_ps(row, v);
    } else {
        if (acc)
            v = _mm256_add_ps(v, _mm256_maskload_ps(row, g->lm[0]));
        _mm256_maskstore_ps(row, g->lm[0], v);
    }
}

/* Horizontal B^T combinations of rows ra (lanes 0..3) and rb (4..7). */
static ALWAYS_INLINE void rp_row_h(const geo *g, const float *xp, int ra, int rb, __m256 hr[4])
{
    __m256 a = row8(g, xp, ra), b = row8(g, xp, rb);
    __m256 o = evens(a, b), e1 = odds(a, b); /* columns 2t, 2t + 1 */
    __m256 e = half_up(e1), o1 = half_down(o); /* columns 2t - 1, 2t + 2 */
    wino_bt(e, o, e1, o1, hr);
}

static void rp_input_transform(const geo *g, const float *xp, float *v, size_t xs)
{
    for (int th = 0; th < g->th; th += 2) {
        __m256 h[4][4];
        for (int k = 0; k < 4; k++)
            rp_row_h(g, xp, 2 * th - 1 + k, 2 * th + 1 + k, h[k]);
        float *vt = v + (size_t)th * 4;
        for (int j = 0; j < 4; j++) {
            __m256 c[4];
            wino_bt(h[0][j], h[1][j], h[2][j], h[3][j], c);
            for (int i = 0; i < 4; i++)
                _mm256_storeu_ps(vt + (size_t)(4 * i + j) * xs, c[i]);
        }
    }
}

static void rp_output_transform(const geo *g, const float *m, size_t xs, float *yp)
{
    for (int th = 0; th < g->th; th += 2) {
        const float *mt = m + (size_t)th * 4;
        __m256 s0[4], s1[4];
        for (int b = 0; b < 4; b++) {
            __m256 v0 = _mm256_loadu_ps(mt + (size_t)(0 + b) * xs);
            __m256 v1 = _mm256_loadu_ps(mt + (size_t)(4 + b) * xs);
            __m256 v2 = _mm256_loadu_ps(mt + (size_t)(8 + b) * xs);
            __m256 v3 = _mm256_loadu_ps(mt + (size_t)(12 + b) * xs);
            wino_at(v0, v1, v2, v3, &s0[b], &s1[b]);
        }
        __m256 y00, y01, y10, y11;
        wino_at(s0[0], s0[1], s0[2], s0[3], &y00, &y01);
        wino_at(s1[0], s1[1], s1[2], s1[3], &y10, &y11);
        __m256 r0, r2, r1, r3; /* image rows 2th .. 2th + 3 */
        interleave(y00, y01, &r0, &r2);
        interleave(y10, y11, &r1, &r3);
        put_row8(g, yp, 2 * th, r0, 0);
        put_row8(g, yp, 2 * th + 1, r1, 0);
        put_row8(g, yp, 2 * th + 2, r2, 0);
        put_row8(g, yp, 2 * th + 3, r3, 0);
    }
}

static void rp_grad_output_transform(const geo *g, const float *dyp, float *dm, size_t xs)
{
    for (int th = 0; th < g->th; th += 2) {
        __m256 hr[2][4];
        for (int i = 0; i < 2; i++) {
            __m256 a = row8(g, dyp, 2 * th + i), b = row8(g, dyp, 2 * th + 2 + i);
            __m256 e = evens(a, b), o = odds(a, b);
            wino_a(e, o, hr[i]);
        }
        float *mt = dm + (size_t)th * 4;
        for (int b = 0; b < 4; b++) {
            __m256 c[4];
            wino_a(hr[0][b], hr[1][b], c);
            for (int i = 0; i < 4; i++)
                _mm256_storeu_ps(mt + (size_t)(4 * i + b) * xs, c[i]);
        }
    }
}

static ALWAYS_INLINE void rp_input_adjoint(const geo *g, const float *dv, size_t xs, float *dxp,
                                           int acc)
{
    const __m256 zero = _mm256_setzero_ps();
    const __m256 lo_half = _mm256_castsi256_ps(_mm256_setr_epi32(-1, -1, -1, -1, 0, 0, 0, 0));
    const __m256 cols = _mm256_castsi256_ps(g->lm[0]);
    __m256 c2 = zero, c3 = zero; /* rows 2th - 1, 2th from the previous pair */
    for (int th = 0; th < g->th; th += 2) {
        const float *vt = dv + (size_t)th * 4;
        /* a lone last tile row: the upper lanes hold other tiles' values */
        const __m256 keep = th + 1 < g->th ? _mm256_castsi256_ps(_mm256_set1_epi32(-1)) : lo_half;
        __m256 d[4][4];
        for (int j = 0; j < 4; j++) {
            __m256 v0 = _mm256_and_ps(keep, _mm256_loadu_ps(vt + (size_t)(0 + j) * xs));
            __m256 v1 = _mm256_and_ps(keep, _mm256_loadu_ps(vt + (size_t)(4 + j) * xs));
            __m256 v2 = _mm256_and_ps(keep, _mm256_loadu_ps(vt + (size_t)(8 + j) * xs));
            __m256 v3 = _mm256_and_ps(keep, _mm256_loadu_ps(vt + (size_t)(12 + j) * xs));
            wino_b(v0, v1, v2, v3, d[j]); /* d[column window j][row k] */
        }
        __m256 lo[4], hi[4]; /* image rows 2th - 1 + k (tile row th), 2th + 1 + k (th + 1) */
        for (int k = 0; k < 4; k++) {
            __m256 cm[4];
            wino_b(d[0][k], d[1][k], d[2][k], d[3][k], cm);
            __m256 ev = _mm256_add_ps(cm[1], half_up(cm[3]));
            __m256 od = _mm256_add_ps(cm[2], half_down(cm[0]));
            interleave(ev, od, &lo[k], &hi[k]);
            if (acc) /* column w (window 3 of the last tile) must not spill */
                lo[k] = _mm256_and_ps(lo[k], cols), hi[k] = _mm256_and_ps(hi[k], cols);
        }
        put_row8(g, dxp, 2 * th - 1, _mm256_add_ps(c2, lo[0]), acc);
        put_row8(g, dxp, 2 * th, _mm256_add_ps(c3, lo[1]), acc);
        put_row8(g, dxp, 2 * th + 1, _mm256_add_ps(lo[2], hi[0]), acc);
        put_row8(g, dxp, 2 * th + 2, _mm256_add_ps(lo[3], hi[1]), acc);
        c2 = hi[2], c3 = hi[3];
    }
    const int end = (g->th + 1) / 2 * 2; /* the tile row after the last pair */
    put_row8(g, dxp, 2 * end - 1, c2, acc);
    put_row8(g, dxp, 2 * end, c3, acc);
}

/* ---- per-plane dispatch on the vectors per tile row, and the drivers ----- */

typedef geo wino_planes;

static void planes_init(wino_planes *p, const rcn_conv_shape *s)
{
    geo_init(p, s);
}

static void t_input(const geo *g, const float *xp, float *v, size_t xs)
{
    if (g->rp)
        rp_input_transform(g, xp, v, xs);
    else if (g->nv == 1)
        input_transform(g, 1, xp, v, xs);
    else
        input_transform(g, 2, xp, v, xs);
}

static void t_output(const geo *g, const float *m, size_t xs, float *yp)
{
    if (g->rp)
        rp_output_transform(g, m, xs, yp);
    else if (g->nv == 1)
        output_transform(g, 1, m, xs, yp);
    else
        output_transform(g, 2, m, xs, yp);
}

static void t_grad_output(const geo *g, const float *dyp, float *dm, size_t xs)
{
    if (g->rp)
        rp_grad_output_transform(g, dyp, dm, xs);
    else if (g->nv == 1)
        grad_output_transform(g, 1, dyp, dm, xs);
    else
        grad_output_transform(g, 2, dyp, dm, xs);
}

static void t_adjoint(const geo *g, const float *dv, size_t xs, float *dxp, int acc)
{
    if (g->rp) {
        if (acc)
            rp_input_adjoint(g, dv, xs, dxp, 1);
        else
            rp_input_adjoint(g, dv, xs, dxp, 0);
    } else if (g->nv == 1) {
        if (acc)
            input_adjoint(g, 1, dv, xs, dxp, 1);
        else
            input_adjoint(g, 1, dv, xs, dxp, 0);
    } else {
        if (acc)
            input_adjoint(g, 2, dv, xs, dxp, 1);
        else
            input_adjoint(g, 2, dv, xs, dxp, 0);
    }
}

#define WINO_APPLIES(s) rcn_wino2_applies(s)
#define WINO_GEMM_NN rcn_gemm_nn_avx2
#define WINO_GEMM_NT rcn_gemm_nt_avx2
/* whole vectors: the columns past T are the row padding of V and M */
#define WINO_GEMM_COLS(T) (((T) + 7) & ~7)
#include "wino_driver.h"

void rcn_wino2_forward(const rcn_conv_shape *s, int n, const float *x, const float *w,
                      float *y, float *scratch, const rcn_conv_ops *ops)
{
    wino_forward(s, n, x, w, y, scratch, ops);
}

void rcn_wino2_prepare(const rcn_conv_shape *s, const float *w, float *u)
{
    kernels_transform(w, s->cout, s->cin, u, 0);
}

void rcn_wino2_backward(const rcn_conv_shape *s, int n, const float *x, const float *w,
                      const float *dy, float *dx, float *dw, float *scratch, int accumulate_dx,
                      const float *res)
{
    wino_backward(s, n, x, w, dy, dx, dw, scratch, accumulate_dx, res);
}
