/* winograd_avx512.c - 3x3 stride-1 pad-1 convolutions over CNHW activations by
 * Winograd's minimal filtering F(4x4,3x3) (Lavin & Gray 2016), forward and
 * both backward products, in AVX-512.
 *
 * Each 4x4 output tile is A^T [ U (.) V ] A with U = G g G^T (the 3x3
 * kernel, 6x6 after transform) and V = B^T d B (the 6x6 input patch at
 * stride 4). Over all (input channel, output channel) pairs the pointwise
 * products become 36 independent matrix products, one per transformed
 * position xi = 6i + j:  M[xi] (cout x T) = U[xi] (cout x cin) V[xi]
 * (cin x T), T = tiles. That is 36 multiply-adds per 16 outputs, against
 * 144 for the direct convolution and 64 for F(2x2,3x3). The matrices
 * (interpolation points 0, 1, -1, 2, -2 and infinity):
 *
 *   B^T = [4  0 -5  0 1 0;  0 -4 -4  1 1 0;  0  4 -4 -1 1 0;
 *          0 -2 -1  2 1 0;  0  2 -1 -2 1 0;  0  4  0 -5 0 1]
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
 *          1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   A^T = [1 1 1 1 1 0;  0 1 -1 2 -2 0;  0 1 1 4 4 0;  0 1 -1 8 -8 1]
 *
 * The backward is the exact adjoint of the forward (linear in the input
 * and in the weights): with dM = A dY A^T per tile,
 *   dV[xi] = U[xi]^T dM[xi]      -> dx = sum over tiles of B dV B^T,
 *   dU[xi] = dM[xi] V[xi]^T      -> dw = G^T dU G,
 * so the gradients equal the direct convolution's up to float rounding.
 *
 * The batch is processed in chunks of whole samples, of equal sizes, sized
 * so that V and M of a chunk stay in the L2 cache (wino_plan.h). The
 * F(2x2,3x3) kernels of the AVX2 path (winograd_avx2.c) round differently.
 * A transform gives every
 * tile a lane: the tile rows of one channel of a chunk (sample after
 * sample, top to bottom; their tiles are consecutive in V and M) are taken
 * G at a time, G = 16 / tiles per row, so that a vector holds G whole tile
 * rows and its stores are contiguous. Along the other axis a row of the
 * plane is one vector (columns -1 .. 14, "narrow": w <= 14) or a pair
 * (columns -1 .. 30, w <= 30): the vertical half of a transform works on
 * such rows, the horizontal half on tile lanes, and lane permutations
 * from tables built per shape move between the two. Tables and transforms
 * fix the order of every operation: results are reproducible bit for bit. */
#pragma GCC target("avx512f")

#include <assert.h>
#include <immintrin.h>
#include <string.h>

#include "conv_ops.h"
#include "prof.h"
#include "simd.h"
#include "wino_plan.h"

#define MAX_W 30
#define XI 36         /* transformed positions */
#define MAX_G 16      /* tile rows per group */
#define MAX_P 8       /* two-source permutations per gathered vector */
#define NARROW_W 14   /* rows up to this wide are one vector */

/* Floats of V + M per chunk in the forward: 1 MiB, the L2 of the Zen 5
 * cores this was tuned on (eval rcn14 +8% over 512 KiB). The backward's
 * weight product reduces over the tiles of a chunk and pays a horizontal
 * sum per chunk, so it takes chunks of at least BWD_MIN_TILES tiles when
 * they fit BWD_BUDGET (4 MiB: 512 tiles at 64 + 64 channels). */
#define CHUNK_BUDGET (1 << 18)
#define BWD_BUDGET (1 << 20)
#define BWD_MIN_TILES 512

static const rcn_wino_budget BUDGET = {4, CHUNK_BUDGET, BWD_BUDGET, BWD_MIN_TILES};

typedef struct {
    int h, w, hw, th, tw, G;
    int narrow;             /* a row is one vector (else a pair) */
    int np;                 /* permutations per gathered vector (G slots) */
    __mmask16 pad0, pad1;   /* padded pair: lanes whose column (lane - 1, lane + 15) is in [0, w) */
    __mmask16 row0, row1;   /* plain pair: columns lane, lane + 16 in [0, w) */
    __mmask16 pm[MAX_P];    /* lanes of a group that permutation p writes */
    /* window column l (input) / column j (output gradient) of every tile of
     * a group, from the rows of its source pair (padded / plain): the same
     * lane of a pair for every permutation */
    __m512i in_idx[6];
    __m512i dy_idx[4];
    /* half hf of plain output row of slot g: lane c from tile lane c / 4 of
     * (Y0, Y1) (c % 4 < 2) or (Y2, Y3) (lanes of out_hi) */
    __m512i out_idx[MAX_G][2];
    __mmask16 out_hi[2];
    /* half hf of padded gradient row of slot g: window l = u % 4 of tile u / 4
     * from (E0, E1) / (E2, E3) (lanes adj_hi), plus window l + 4 of the tile
     * before it from (E4, E5), u = lane + 16 hf (column u - 1) */
    __m512i adj_idx[MAX_G][2], adj2_idx[MAX_G][2];
    __mmask16 adj_m[MAX_G][2], adj2_m[MAX_G][2], adj_hi[2];
} geo;

static __mmask16 lanes(int n)
{
    return n <= 0 ? 0 : n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u);
}

int rcn_wino_applies(const rcn_conv_shape *s)
{
    return s->k == 3 && s->stride == 1 && s->pad == 1 && s->w <= MAX_W && s->w >= 1 &&
           s->h >= 1 && s->ho == s->h && s->wo == s->w;
}

size_t rcn_wino_scratch_floats(const rcn_conv_shape *s, int n)
{
    return rcn_wino_plan_scratch(s, n, &BUDGET);
}

static void geo_init(geo *g, const rcn_conv_shape *s)
{
    memset(g, 0, sizeof *g);
    const int w = s->w;
    g->h = s->h, g->w = w, g->hw = s->h * w;
    g->th = (s->h + 3) / 4, g->tw = (w + 3) / 4;
    g->G = 16 / g->tw;
    g->narrow = w <= NARROW_W;
    g->np = g->narrow ? (g->G + 1) / 2 : g->G;
    assert(g->G >= 1 && g->G <= MAX_G && g->np <= MAX_P);
    g->pad0 = (__mmask16)(lanes(w < 15 ? w : 15) << 1);
    g->pad1 = lanes(w - 15);
    g->row0 = lanes(w);
    g->row1 = lanes(w - 16);
    const int tw = g->tw, spp = g->narrow ? 2 : 1; /* slots per permutation */
    for (int p = 0; p < g->np; p++)
        g->pm[p] = (__mmask16)(lanes((p + 1) * spp * tw) & ~lanes(p * spp * tw));
    /* gathers: lane L is tile t of slot s; its source lane in the pair (or,
     * narrow, the vector pair of slots 2p, 2p+1) */
    int idx[16];
    for (int l = 0; l < 6; l++) {
        for (int L = 0; L < 16; L++) {
            int sl = L / tw, t = L % tw, u = 4 * t + l; /* padded lane: column u - 1 */
            if (g->narrow)
                idx[L] = (sl % 2) * 16 + (u <= 15 ? u : 15); /* lane 15: column 14 >= w */
            else
                idx[L] = u <= 31 ? u : 31;                   /* lane 31: column 30 >= w */
        }
        g->in_idx[l] = _mm512_loadu_si512(idx);
    }
    for (int j = 0; j < 4; j++) {
        for (int L = 0; L < 16; L++) {
            int sl = L / tw, c = 4 * (L % tw) + j; /* plain lane: column c */
            idx[L] = g->narrow ? (sl % 2) * 16 + (c & 15) : (c & 31);
        }
        g->dy_idx[j] = _mm512_loadu_si512(idx);
    }
    for (int hf = 0; hf < 2; hf++) {
        for (int o = 0; o < 16; o++) {
            int c = 16 * hf + o, u = c;
            if (c % 4 >= 2)
                g->out_hi[hf] |= (__mmask16)(1u << o);
            if (u % 4 >= 2)
                g->adj_hi[hf] |= (__mmask16)(1u << o);
        }
        for (int sl = 0; sl < g->G; sl++) {
            int oi[16], ai[16], a2[16];
            for (int o = 0; o < 16; o++) {
                int c = 16 * hf + o, t = c / 4;
                oi[o] = (c % 2) * 16 + (t < tw ? sl * tw + t : 0);
                int u = c, t1 = u / 4, l1 = u % 4;
                ai[o] = (l1 % 2) * 16 + (t1 < tw ? sl * tw + t1 : 0);
                if (t1 < tw)
                    g->adj_m[sl][hf] |= (__mmask16)(1u << o);
                a2[o] = 0;
                if (l1 < 2 && t1 >= 1 && t1 - 1 < tw) {
                    a2[o] = l1 * 16 + sl * tw + t1 - 1;
                    g->adj2_m[sl][hf] |= (__mmask16)(1u << o);
                }
            }
            g->out_idx[sl][hf] = _mm512_loadu_si512(oi);
            g->adj_idx[sl][hf] = _mm512_loadu_si512(ai);
            g->adj2_idx[sl][hf] = _mm512_loadu_si512(a2);
        }
    }
}

/* ---- the transform matrices, one column of vectors at a time ------------ */

#define C(x) _mm512_set1_ps(x)

/* o = B^T d */
static ALWAYS_INLINE void bt6(const __m512 d[6], __m512 o[6])
{
    __m512 t0 = _mm512_fnmadd_ps(C(4.0f), d[2], d[4]); /* d4 - 4 d2 */
    __m512 t1 = _mm512_fnmadd_ps(C(4.0f), d[1], d[3]); /* d3 - 4 d1 */
    __m512 t2 = _mm512_sub_ps(d[4], d[2]);
    __m512 t3 = _mm512_mul_ps(C(2.0f), _mm512_sub_ps(d[3], d[1]));
    o[0] = _mm512_fmadd_ps(C(4.0f), d[0], _mm512_fnmadd_ps(C(5.0f), d[2], d[4]));
    o[1] = _mm512_add_ps(t0, t1);
    o[2] = _mm512_sub_ps(t0, t1);
    o[3] = _mm512_add_ps(t2, t3);
    o[4] = _mm512_sub_ps(t2, t3);
    o[5] = _mm512_fmadd_ps(C(4.0f), d[1], _mm512_fnmadd_ps(C(5.0f), d[3], d[5]));
}

/* o = B v (the adjoint of B^T) */
static ALWAYS_INLINE void b6(const __m512 v[6], __m512 o[6])
{
    __m512 d12 = _mm512_sub_ps(v[1], v[2]), d34 = _mm512_sub_ps(v[3], v[4]);
    __m512 s12 = _mm512_add_ps(v[1], v[2]), s34 = _mm512_add_ps(v[3], v[4]);
    o[0] = _mm512_mul_ps(C(4.0f), v[0]);
    o[1] = _mm512_fnmadd_ps(C(2.0f), d34, _mm512_mul_ps(C(4.0f), _mm512_sub_ps(v[5], d12)));
    o[2] = _mm512_fnmsub_ps(C(5.0f), v[0], _mm512_fmadd_ps(C(4.0f), s12, s34));
    o[3] = _mm512_fnmadd_ps(C(5.0f), v[5], _mm512_fmadd_ps(C(2.0f), d34, d12));
    o[4] = _mm512_add_ps(_mm512_add_ps(v[0], s12), s34);
    o[5] = v[5];
}

/* y = A^T m */
static ALWAYS_INLINE void at6(const __m512 m[6], __m512 y[4])
{
    __m512 s12 = _mm512_add_ps(m[1], m[2]), d12 = _mm512_sub_ps(m[1], m[2]);
    __m512 s34 = _mm512_add_ps(m[3], m[4]), d34 = _mm512_sub_ps(m[3], m[4]);
    y[0] = _mm512_add_ps(_mm512_add_ps(m[0], s12), s34);
    y[1] = _mm512_fmadd_ps(C(2.0f), d34, d12);
    y[2] = _mm512_fmadd_ps(C(4.0f), s34, s12);
    y[3] = _mm512_add_ps(_mm512_fmadd_ps(C(8.0f), d34, d12), m[5]);
}

/* o = A e (the adjoint of A^T) */
static ALWAYS_INLINE void a6(const __m512 e[4], __m512 o[6])
{
    __m512 p = _mm512_add_ps(e[0], e[2]), q = _mm512_add_ps(e[1], e[3]);
    __m512 p2 = _mm512_fmadd_ps(C(4.0f), e[2], e[0]);
    __m512 q2 = _mm512_mul_ps(C(2.0f), _mm512_fmadd_ps(C(4.0f), e[3], e[1]));
    o[0] = e[0];
    o[1] = _mm512_add_ps(p, q);
    o[2] = _mm512_sub_ps(p, q);
    o[3] = _mm512_add_ps(p2, q2);
    o[4] = _mm512_sub_ps(p2, q2);
    o[5] = e[3];
}

/* u = G g */
static ALWAYS_INLINE void g6(__m512 g0, __m512 g1, __m512 g2, __m512 u[6])
{
    __m512 s = _mm512_add_ps(g0, g2);
    __m512 p = _mm512_fmadd_ps(C(1.0f / 24), g0, _mm512_mul_ps(C(1.0f / 6), g2));
    __m512 q = _mm512_mul_ps(C(1.0f / 12), g1);
    u[0] = _mm512_mul_ps(C(0.25f), g0);
    u[1] = _mm512_mul_ps(C(-1.0f / 6), _mm512_add_ps(s, g1));
    u[2] = _mm512_mul_ps(C(-1.0f / 6), _mm512_sub_ps(s, g1));
    u[3] = _mm512_add_ps(p, q);
    u[4] = _mm512_sub_ps(p, q);
    u[5] = g2;
}

/* o = G^T u (the adjoint of G) */
static ALWAYS_INLINE void gt6(const __m512 u[6], __m512 o[3])
{
    __m512 s12 = _mm512_add_ps(u[1], u[2]), s34 = _mm512_add_ps(u[3], u[4]);
    __m512 d21 = _mm512_sub_ps(u[2], u[1]), d34 = _mm512_sub_ps(u[3], u[4]);
    o[0] = _mm512_fmadd_ps(C(1.0f / 24), s34,
                           _mm512_fnmadd_ps(C(1.0f / 6), s12, _mm512_mul_ps(C(0.25f), u[0])));
    o[1] = _mm512_fmadd_ps(C(1.0f / 12), d34, _mm512_mul_ps(C(1.0f / 6), d21));
    o[2] = _mm512_add_ps(_mm512_mul_ps(C(1.0f / 6), _mm512_sub_ps(s34, s12)), u[5]);
}

/* ---- weight transforms --------------------------------------------------- */

/* U = G g G^T for every kernel g of w (cout, cin, 3, 3), into u[xi][co][ci]
 * (transposed = 0: the forward) or u[xi][ci][co] (transposed = 1: the data
 * gradient); 36 * cout * cin floats, 16 kernels at a time. */
static void kernels_transform(const float *w, int cout, int cin, float *u, int transposed)
{
    const size_t cc = (size_t)cout * cin;
    const int outer = transposed ? cin : cout, inner = transposed ? cout : cin;
    const __m512i lidx = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(transposed ? cin * 9 : 9));
    for (int o = 0; o < outer; o++)
        for (int i0 = 0; i0 < inner; i0 += 16) {
            const __mmask16 m = lanes(inner - i0);
            const int co = transposed ? i0 : o, ci = transposed ? o : i0;
            const float *base = w + ((size_t)co * cin + ci) * 9;
            __m512 g[9], t[3][6], r[6];
            for (int k = 0; k < 9; k++)
                g[k] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, lidx, base + k, 4);
            for (int b = 0; b < 3; b++)
                g6(g[b], g[3 + b], g[6 + b], t[b]);
            float *dst = u + (size_t)o * inner + i0;
            for (int i = 0; i < 6; i++) {
                g6(t[0][i], t[1][i], t[2][i], r);
                for (int j = 0; j < 6; j++)
                    _mm512_mask_storeu_ps(dst + (size_t)(6 * i + j) * cc, m, r[j]);
            }
        }
}

/* dw = G^T dU G for every kernel: du[xi][co][ci] into dw (cout, cin, 3, 3),
 * 16 input channels at a time. */
static void kernels_adjoint(const float *du, int cout, int cin, float *dw)
{
    const size_t cc = (size_t)cout * cin;
    for (int co = 0; co < cout; co++)
        for (int i0 = 0; i0 < cin; i0 += 16) {
            const int left = cin - i0;
            const __mmask16 m = lanes(left);
            const float *src = du + (size_t)co * cin + i0;
            __m512 r[6][3], q[3], col[6];
            for (int i = 0; i < 6; i++) {
                __m512 row[6];
                for (int j = 0; j < 6; j++)
                    row[j] = _mm512_maskz_loadu_ps(m, src + (size_t)(6 * i + j) * cc);
                gt6(row, r[i]);
            }
            float tmp[9][16];
            for (int b = 0; b < 3; b++) {
                for (int i = 0; i < 6; i++)
                    col[i] = r[i][b];
                gt6(col, q);
                for (int a = 0; a < 3; a++)
                    _mm512_storeu_ps(tmp[3 * a + b], q[a]);
            }
            float *dst = dw + ((size_t)co * cin + i0) * 9;
            for (int l = 0; l < (left < 16 ? left : 16); l++)
                for (int k = 0; k < 9; k++)
                    dst[(size_t)l * 9 + k] = tmp[k][l];
        }
}

/* ---- data transforms: groups of G tile rows of one channel ---------------- */

/* The scalars and row masks of a shape, as locals of the transforms (the
 * vector stores may alias the geo they were read from). */
typedef struct {
    int h, w, th, tw;
    size_t hw;
    __mmask16 pad0, pad1, row0, row1;
} dims;

static ALWAYS_INLINE dims dims_of(const geo *g)
{
    dims d = {g->h, g->w, g->th, g->tw, (size_t)g->hw, g->pad0, g->pad1, g->row0, g->row1};
    return d;
}

/* The tile rows of one channel of a chunk are q = sample * th + tile row,
 * in V and M one after another (tw tiles each). A group is gn <= G of them
 * from q0, the tile row r0 of sample i0; its slot sl is walked to by
 * slot_next from (i0, r0) without divisions. */
static ALWAYS_INLINE void slot_next(const dims *d, int *i, int *r)
{
    if (++*r == d->th)
        *r = 0, ++*i;
}

/* Row r of the plane at p as a padded source (columns -1 ..): zero outside. */
static ALWAYS_INLINE void load_padded(const int NARROW, const dims *d, const float *p, int r,
                                      __m512 *a, __m512 *b)
{
    *a = *b = _mm512_setzero_ps();
    if (r < 0 || r >= d->h)
        return;
    const float *row = p + (size_t)r * d->w;
    *a = _mm512_maskz_loadu_ps(d->pad0, row - 1);
    if (!NARROW)
        *b = _mm512_maskz_loadu_ps(d->pad1, row + 15);
}

/* ... as a plain source (columns 0 ..). */
static ALWAYS_INLINE void load_plain(const int NARROW, const dims *d, const float *p, int r,
                                     __m512 *a, __m512 *b)
{
    *a = *b = _mm512_setzero_ps();
    if (r >= d->h)
        return;
    const float *row = p + (size_t)r * d->w;
    *a = _mm512_maskz_loadu_ps(d->row0, row);
    if (!NARROW)
        *b = _mm512_maskz_loadu_ps(d->row1, row + 16);
}

/* The sources of a group: S[2p], S[2p+1] feed permutation p (a row pair
 * per slot, or, NARROW, the rows of slots 2p and 2p+1); sources of slots
 * past the group's gn are zero. */
static ALWAYS_INLINE void put_source(const int NARROW, __m512 *S, int sl, __m512 a, __m512 b)
{
    if (NARROW)
        S[sl] = a;
    else
        S[2 * sl] = a, S[2 * sl + 1] = b;
}

/* The group's lanes from its sources: permutation p by idx from the pair
 * S[2p], S[2p+1] into its lanes pm[p]. */
static ALWAYS_INLINE __m512 gather_lanes(const int NP, const __mmask16 *pm, const __m512 *S,
                                         __m512i idx)
{
    __m512 r = _mm512_permutex2var_ps(S[0], idx, S[1]);
    for (int p = 1; p < NP; p++)
        r = _mm512_mask_mov_ps(r, pm[p], _mm512_permutex2var_ps(S[2 * p], idx, S[2 * p + 1]));
    return r;
}

/* Stores into V and M are whole vectors: the lanes past a group spill onto
 * the tiles after it (the next group, the next channel's row, or the
 * padding after a plane's last row: wino_plan.h), written later in the
 * same pass. Loads are whole vectors too; lanes past the group are not
 * used. */

static ALWAYS_INLINE void input_group_k(const int NARROW, const int NP, const geo *g,
                                        const float *x0, int i0, int r0, int q0, int gn,
                                        float *v, size_t xs)
{
    const dims d = dims_of(g);
    __m512 S[6][2 * MAX_P];
    __mmask16 pm[MAX_P];
    for (int p = 0; p < NP; p++)
        pm[p] = g->pm[p];
    for (int sl = 0, i = i0, r = r0; sl < 2 * NP / (NARROW ? 1 : 2); sl++, slot_next(&d, &i, &r)) {
        __m512 ra[6], rb[6], ca[6], cb[6];
        if (sl < gn) {
            for (int k = 0; k < 6; k++)
                load_padded(NARROW, &d, x0 + i * d.hw, 4 * r - 1 + k, &ra[k], &rb[k]);
            bt6(ra, ca);
            if (!NARROW)
                bt6(rb, cb);
        } else {
            for (int k = 0; k < 6; k++)
                ca[k] = cb[k] = _mm512_setzero_ps();
        }
        for (int k = 0; k < 6; k++)
            put_source(NARROW, S[k], sl, ca[k], NARROW ? ca[k] : cb[k]);
    }
    float *vt = v + (size_t)q0 * d.tw;
    for (int k = 0; k < 6; k++) {
        __m512 w[6], o[6];
        for (int l = 0; l < 6; l++)
            w[l] = gather_lanes(NP, pm, S[k], g->in_idx[l]);
        bt6(w, o);
        for (int j = 0; j < 6; j++)
            _mm512_storeu_ps(vt + (size_t)(6 * k + j) * xs, o[j]);
    }
}

static ALWAYS_INLINE void grad_output_group_k(const int NARROW, const int NP, const geo *g,
                                              const float *dy0, int i0, int r0, int q0, int gn,
                                              float *dm, size_t xs)
{
    const dims d = dims_of(g);
    __m512 S[4][2 * MAX_P];
    __mmask16 pm[MAX_P];
    for (int p = 0; p < NP; p++)
        pm[p] = g->pm[p];
    for (int sl = 0, i = i0, r = r0; sl < 2 * NP / (NARROW ? 1 : 2); sl++, slot_next(&d, &i, &r))
        for (int a = 0; a < 4; a++) {
            __m512 ra = _mm512_setzero_ps(), rb = ra;
            if (sl < gn)
                load_plain(NARROW, &d, dy0 + i * d.hw, 4 * r + a, &ra, &rb);
            put_source(NARROW, S[a], sl, ra, rb);
        }
    __m512 f[6][4];
    for (int b = 0; b < 4; b++) {
        __m512 e[4], o[6];
        for (int a = 0; a < 4; a++)
            e[a] = gather_lanes(NP, pm, S[a], g->dy_idx[b]);
        a6(e, o);
        for (int i = 0; i < 6; i++)
            f[i][b] = o[i];
    }
    float *mt = dm + (size_t)q0 * d.tw;
    for (int i = 0; i < 6; i++) {
        __m512 o[6];
        a6(f[i], o);
        for (int j = 0; j < 6; j++)
            _mm512_storeu_ps(mt + (size_t)(6 * i + j) * xs, o[j]);
    }
}

/* out[a][b] = F applied down the columns, then along the rows, of the 6x6
 * transformed tiles of a group (lanes) whose 36 positions lie at src + xi *
 * xs: A^T M A (F = at6, N = 4) or B dV B^T (F = b6, N = 6). */
#define FROM_TILES(F, N, src, xs, out)                                                      \
    do {                                                                                   \
        __m512 t_[N][6];                                                                   \
        for (int j_ = 0; j_ < 6; j_++) {                                                   \
            __m512 c_[6], o_[N];                                                           \
            for (int i_ = 0; i_ < 6; i_++)                                                 \
                c_[i_] = _mm512_loadu_ps((src) + (size_t)(6 * i_ + j_) * (xs));            \
            F(c_, o_);                                                                     \
            for (int a_ = 0; a_ < (N); a_++)                                               \
                t_[a_][j_] = o_[a_];                                                       \
        }                                                                                  \
        for (int a_ = 0; a_ < (N); a_++)                                                   \
            F(t_[a_], (out)[a_]);                                                          \
    } while (0)

static ALWAYS_INLINE void output_group_k(const int NARROW, const geo *g, const float *m,
                                         size_t xs, int i0, int r0, int q0, int gn, float *y0)
{
    const dims d = dims_of(g);
    __m512 y[4][4];
    FROM_TILES(at6, 4, m + (size_t)q0 * d.tw, xs, y);
    for (int sl = 0, i = i0, r = r0; sl < gn; sl++, slot_next(&d, &i, &r)) {
        float *yp = y0 + i * d.hw;
        for (int a = 0; a < 4 && 4 * r + a < d.h; a++) {
            float *row = yp + (size_t)(4 * r + a) * d.w;
            for (int hf = 0; hf < (NARROW ? 1 : 2); hf++) {
                __m512 lo = _mm512_permutex2var_ps(y[a][0], g->out_idx[sl][hf], y[a][1]);
                __m512 hi = _mm512_permutex2var_ps(y[a][2], g->out_idx[sl][hf], y[a][3]);
                _mm512_mask_storeu_ps(row + 16 * hf, hf ? d.row1 : d.row0,
                                      _mm512_mask_blend_ps(g->out_hi[hf], lo, hi));
            }
        }
    }
}

/* A padded row pair (a: columns -1 .. 14, b: 15 .. 30) written into row r
 * of the plane at p, if the row is in the plane: plus the same row of the
 * plane at add when add is not NULL (add may be p). */
static ALWAYS_INLINE void put_padded(const int NARROW, const dims *d, float *p, const float *add,
                                     int r, __m512 a, __m512 b)
{
    if (r < 0 || r >= d->h)
        return;
    const size_t at = (size_t)r * d->w;
    float *row = p + at;
    if (add)
        a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(d->pad0, add + at - 1));
    _mm512_mask_storeu_ps(row - 1, d->pad0, a);
    if (!NARROW && d->pad1) {
        if (add)
            b = _mm512_add_ps(b, _mm512_maskz_loadu_ps(d->pad1, add + at + 15));
        _mm512_mask_storeu_ps(row + 15, d->pad1, b);
    }
}

/* Rows shared by consecutive tile rows of a plane: the last two window rows
 * of tile row r (plane rows 4r + 3, 4r + 4), added to the first two of
 * tile row r + 1. */
typedef struct {
    __m512 a[2], b[2];
} carry;

static ALWAYS_INLINE void adjoint_group_k(const int NARROW, const geo *g, const float *dv,
                                          size_t xs, int i0, int r0, int q0, int gn,
                                          float *dx0, const float *add0, carry *cy)
{
    const dims d = dims_of(g);
    __m512 e[6][6]; /* [window row k][window column l] */
    FROM_TILES(b6, 6, dv + (size_t)q0 * d.tw, xs, e);
    for (int sl = 0, i = i0, r = r0; sl < gn; sl++, slot_next(&d, &i, &r)) {
        float *dp = dx0 + i * d.hw;
        const float *ap = add0 ? add0 + i * d.hw : NULL;
        __m512 ra[6], rb[6];
        for (int k = 0; k < 6; k++) {
            __m512 hv[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
            for (int hf = 0; hf < (NARROW ? 1 : 2); hf++) {
                __m512 lo = _mm512_maskz_permutex2var_ps(g->adj_m[sl][hf], e[k][0],
                                                         g->adj_idx[sl][hf], e[k][1]);
                __m512 hi = _mm512_maskz_permutex2var_ps(g->adj_m[sl][hf], e[k][2],
                                                         g->adj_idx[sl][hf], e[k][3]);
                __m512 t2 = _mm512_maskz_permutex2var_ps(g->adj2_m[sl][hf], e[k][4],
                                                         g->adj2_idx[sl][hf], e[k][5]);
                hv[hf] = _mm512_add_ps(_mm512_mask_blend_ps(g->adj_hi[hf], lo, hi), t2);
            }
            ra[k] = hv[0], rb[k] = hv[1];
        }
        if (r == 0)
            for (int c = 0; c < 2; c++)
                cy->a[c] = cy->b[c] = _mm512_setzero_ps();
        put_padded(NARROW, &d, dp, ap, 4 * r - 1, _mm512_add_ps(cy->a[0], ra[0]),
                   _mm512_add_ps(cy->b[0], rb[0]));
        put_padded(NARROW, &d, dp, ap, 4 * r, _mm512_add_ps(cy->a[1], ra[1]),
                   _mm512_add_ps(cy->b[1], rb[1]));
        put_padded(NARROW, &d, dp, ap, 4 * r + 1, ra[2], rb[2]);
        put_padded(NARROW, &d, dp, ap, 4 * r + 2, ra[3], rb[3]);
        cy->a[0] = ra[4], cy->b[0] = rb[4], cy->a[1] = ra[5], cy->b[1] = rb[5];
        if (r == d.th - 1) {
            put_padded(NARROW, &d, dp, ap, 4 * r + 3, ra[4], rb[4]);
            put_padded(NARROW, &d, dp, ap, 4 * r + 4, ra[5], rb[5]);
        }
    }
}

/* The row layouts and permutation counts the shapes take (geo_init):
 * wide rows with 1..4 slots, narrow rows with 1..4 or 8 slot pairs. */
#define GROUP_CASES(F, ...)                                                                 \
    switch (g->narrow * 16 + g->np) {                                                      \
    case 1: F(0, 1, __VA_ARGS__); break;                                                   \
    case 2: F(0, 2, __VA_ARGS__); break;                                                   \
    case 3: F(0, 3, __VA_ARGS__); break;                                                   \
    case 4: F(0, 4, __VA_ARGS__); break;                                                   \
    case 16 + 1: F(1, 1, __VA_ARGS__); break;                                              \
    case 16 + 2: F(1, 2, __VA_ARGS__); break;                                              \
    case 16 + 3: F(1, 3, __VA_ARGS__); break;                                              \
    case 16 + 4: F(1, 4, __VA_ARGS__); break;                                              \
    case 16 + 8: F(1, 8, __VA_ARGS__); break;                                              \
    default: assert(0);                                                                    \
    }

/* ---- one channel of a chunk: its cnt planes, group after group ----------- */

/* While a channel's planes are transformed, the next channel's (cnt * hw
 * floats at next, NULL: none; n * h * w floats away, too far for the
 * hardware prefetcher) are asked into the cache, a share per group.
 * write: with intent to write. */
typedef struct {
    const float *next;
    size_t len, done, per;
    int write;
} ahead;

static ALWAYS_INLINE ahead ahead_init(const geo *g, const float *next, int cnt, int write)
{
    ahead a;
    const int groups = (cnt * g->th + g->G - 1) / g->G;
    a.next = next, a.write = write, a.done = 0;
    a.len = (size_t)cnt * g->hw;
    a.per = (a.len / groups + 15) & ~(size_t)15;
    return a;
}

static ALWAYS_INLINE void ahead_step(ahead *a)
{
    if (!a->next)
        return;
    size_t end = a->done + a->per < a->len ? a->done + a->per : a->len;
    for (; a->done < end; a->done += 16) {
        if (a->write)
            _mm_prefetch((const char *)(a->next + a->done), _MM_HINT_ET0);
        else
            _mm_prefetch((const char *)(a->next + a->done), _MM_HINT_T0);
    }
}

/* The group loop of a channel: F(NARROW, NP, g, ..., i0, r0, q0, gn, ...)
 * for every group, the sample i0 and tile row r0 of its first tile row
 * carried along without divisions. */
#define CHANNEL_GROUPS(cnt, pf, CALL)                                                       \
    do {                                                                                   \
        const int Q_ = (cnt) * g->th;                                                      \
        int i0 = 0, r0 = 0;                                                                \
        for (int q0 = 0; q0 < Q_; q0 += g->G) {                                            \
            const int gn = Q_ - q0 < g->G ? Q_ - q0 : g->G;                                \
            ahead_step(pf);                                                                \
            CALL;                                                                          \
            for (r0 += gn; r0 >= g->th; r0 -= g->th)                                       \
                i0++;                                                                      \
        }                                                                                  \
    } while (0)

#define INPUT_K(NARROW, NP, ...) input_group_k(NARROW, NP, __VA_ARGS__)
#define GRAD_K(NARROW, NP, ...) grad_output_group_k(NARROW, NP, __VA_ARGS__)
#define OUTPUT_K(NARROW, NP, ...) output_group_k(NARROW, __VA_ARGS__)
#define ADJOINT_K(NARROW, NP, ...) adjoint_group_k(NARROW, __VA_ARGS__)

static void input_channel(const geo *g, const float *x0, int cnt, float *v, size_t xs,
                          const float *next)
{
    ahead pf = ahead_init(g, next, cnt, 0);
    CHANNEL_GROUPS(cnt, &pf, GROUP_CASES(INPUT_K, g, x0, i0, r0, q0, gn, v, xs));
}

static void output_channel(const geo *g, const float *m, size_t xs, int cnt, float *y0,
                           float *next)
{
    ahead pf = ahead_init(g, next, cnt, 1);
    CHANNEL_GROUPS(cnt, &pf, GROUP_CASES(OUTPUT_K, g, m, xs, i0, r0, q0, gn, y0));
}

static void grad_output_channel(const geo *g, const float *dy0, int cnt, float *dm, size_t xs,
                                const float *next)
{
    ahead pf = ahead_init(g, next, cnt, 0);
    CHANNEL_GROUPS(cnt, &pf, GROUP_CASES(GRAD_K, g, dy0, i0, r0, q0, gn, dm, xs));
}

/* dx planes = the adjoint of dV [+ the planes at add0, which may be dx0];
 * next, next_add: the next channel's (NULL: none). */
static void adjoint_channel(const geo *g, const float *dv, size_t xs, int cnt, float *dx0,
                            const float *add0, float *next, const float *next_add)
{
    ahead pf = ahead_init(g, next_add ? next_add : next, cnt, !next_add);
    carry cy;
    for (int c = 0; c < 2; c++)
        cy.a[c] = cy.b[c] = _mm512_setzero_ps();
    CHANNEL_GROUPS(cnt, &pf, GROUP_CASES(ADJOINT_K, g, dv, xs, i0, r0, q0, gn, dx0, add0, &cy));
}

/* ---- the drivers ----------------------------------------------------------- */

typedef rcn_wino_chunk chunk;

/* Chunk i of the batch of n cut into `chunks` of sizes that differ by at
 * most one (at most nb samples each, nb from wino_plan.h): no short last
 * chunk whose products would run on a few tiles. */
static chunk chunk_at(const rcn_conv_shape *s, int n, int i, int chunks)
{
    const int n0 = (int)((long)i * n / chunks);
    chunk c = rcn_wino_chunk_of(s, n, n0, (int)((long)(i + 1) * n / chunks) - n0, &BUDGET);
    assert(c.cnt >= 1 && (size_t)c.T <= c.ld);
    return c;
}

/* Offset of channel ch's plane of the chunk's first sample. */
static size_t plane_at(const chunk *c, int ch)
{
    return rcn_wino_plane_at(c, ch, 0);
}

void rcn_wino_prepare(const rcn_conv_shape *s, const float *w, float *u)
{
    kernels_transform(w, s->cout, s->cin, u, 0);
}

/* y = conv(x, w), then ops (NULL: none) on each output channel of a chunk
 * as it is written; ops->prep, when set, is the transformed weights U. */
void rcn_wino_forward(const rcn_conv_shape *s, int n, const float *x, const float *w, float *y,
                      float *scratch, const rcn_conv_ops *ops)
{
    assert(rcn_wino_applies(s) && n >= 0 && s->cin >= 1 && s->cout >= 1);
    assert(x && w && y && scratch);
    geo g;
    geo_init(&g, s);
    const int cin = s->cin, cout = s->cout, tps = rcn_wino_tiles(s, &BUDGET);
    const int nb = rcn_wino_chunk_samples(s, n, 0, &BUDGET);
    float *u = scratch;
    float *v = u + XI * (size_t)cout * cin;
    float *m = v + XI * rcn_wino_plane_stride(cin, rcn_wino_row_ld((size_t)nb * tps));
    const int finish = conv_ops_active(ops);
    const float *uw = ops && ops->prep ? ops->prep : u;
    if (uw == u)
        kernels_transform(w, cout, cin, u, 0);
    const int chunks = (n + nb - 1) / nb;
    for (int ck = 0; ck < chunks; ck++) {
        const chunk c = chunk_at(s, n, ck, chunks);
        RCN_PROF_BEGIN(t0);
        for (int ci = 0; ci < cin; ci++)
            input_channel(&g, x + plane_at(&c, ci), c.cnt, v + (size_t)ci * c.ld, c.vs,
                          ci + 1 < cin ? x + plane_at(&c, ci + 1) : NULL);
        RCN_PROF_END(t0, RCN_PROF_TRANSFORM);
        RCN_PROF_BEGIN(t1);
        for (int xi = 0; xi < XI; xi++)
            rcn_gemm_nn_avx512(cout, c.T, cin, uw + (size_t)xi * cout * cin, cin, v + xi * c.vs,
                               c.ld, m + xi * c.ms, c.ld, 0);
        RCN_PROF_END(t1, RCN_PROF_GEMM);
        RCN_PROF_BEGIN(t2);
        for (int co = 0; co < cout; co++) {
            const size_t at = plane_at(&c, co);
            output_channel(&g, m + (size_t)co * c.ld, c.ms, c.cnt, y + at,
                           co + 1 < cout ? y + plane_at(&c, co + 1) : NULL);
            if (finish)
                conv_ops_row(ops, co, y + at, ops->res ? ops->res + at : NULL, c.cnt * c.hw, 1);
        }
        RCN_PROF_END(t2, RCN_PROF_TRANSFORM);
    }
}

/* dw, and dx (when not NULL) = [dx +] dL/dx, or res + dL/dx when res is
 * not NULL (then accumulate_dx is 0). */
void rcn_wino_backward(const rcn_conv_shape *s, int n, const float *x, const float *w,
                       const float *dy, float *dx, float *dw, float *scratch, int accumulate_dx,
                       const float *res)
{
    /* n >= 1: dU is written by the first chunk's product, then added to */
    assert(rcn_wino_applies(s) && n >= 1 && s->cin >= 1 && s->cout >= 1);
    assert(x && w && dy && dw && scratch && (accumulate_dx == 0 || accumulate_dx == 1));
    assert(!res || (dx && !accumulate_dx));
    geo g;
    geo_init(&g, s);
    const int cin = s->cin, cout = s->cout, tps = rcn_wino_tiles(s, &BUDGET);
    const int nb = rcn_wino_chunk_samples(s, n, 1, &BUDGET);
    const size_t cc = (size_t)cout * cin;
    float *ut = scratch;
    float *du = ut + XI * cc;
    float *v = du + XI * cc;
    float *dm = v + XI * rcn_wino_plane_stride(cin, rcn_wino_row_ld((size_t)nb * tps));
    if (dx)
        kernels_transform(w, cout, cin, ut, 1);
    const int chunks = (n + nb - 1) / nb;
    for (int ck = 0; ck < chunks; ck++) {
        const chunk c = chunk_at(s, n, ck, chunks);
        const int n0 = c.n0;
        RCN_PROF_BEGIN(t0);
        for (int ci = 0; ci < cin; ci++)
            input_channel(&g, x + plane_at(&c, ci), c.cnt, v + (size_t)ci * c.ld, c.vs,
                          ci + 1 < cin ? x + plane_at(&c, ci + 1) : NULL);
        for (int co = 0; co < cout; co++)
            grad_output_channel(&g, dy + plane_at(&c, co), c.cnt, dm + (size_t)co * c.ld,
                                c.ms, co + 1 < cout ? dy + plane_at(&c, co + 1) : NULL);
        RCN_PROF_END(t0, RCN_PROF_TRANSFORM);
        RCN_PROF_BEGIN(t1);
        for (int xi = 0; xi < XI; xi++)
            rcn_gemm_nt_avx512(cout, cin, c.T, dm + xi * c.ms, c.ld, v + xi * c.vs, c.ld,
                               du + (size_t)xi * cc, cin, n0 > 0);
        if (dx)
            for (int xi = 0; xi < XI; xi++)
                rcn_gemm_nn_avx512(cin, c.T, cout, ut + (size_t)xi * cc, cout, dm + xi * c.ms,
                                   c.ld, v + xi * c.vs, c.ld, 0);
        RCN_PROF_END(t1, RCN_PROF_GEMM);
        if (dx) {
            RCN_PROF_BEGIN(t2);
            /* dx = [dx or res +] the adjoint, dx and res in the same layout */
            const float *add = accumulate_dx ? dx : res;
            for (int ci = 0; ci < cin; ci++) {
                const size_t at = plane_at(&c, ci), nx = plane_at(&c, ci + 1);
                const int last = ci + 1 == cin;
                adjoint_channel(&g, v + (size_t)ci * c.ld, c.vs, c.cnt, dx + at,
                                add ? add + at : NULL, last ? NULL : dx + nx,
                                last || !add ? NULL : add + nx);
            }
            RCN_PROF_END(t2, RCN_PROF_TRANSFORM);
        }
    }
    kernels_adjoint(du, cout, cin, dw);
}
