/* im2col_avx2.c - im2col and col2im in AVX2 for the convolutions that go
 * through im2col + SGEMM on CPUs without AVX-512 (the stem, strided and 1x1
 * strided convolutions), for rows that fit a few 8-lane vectors.
 *
 * im2col (stride 1 or 2, k <= 7, wo <= 32 / 16): each tap's output row is
 * one or a few masked loads of the input row (zero where the column is
 * padding), de-interleaved to even columns for stride 2. col2im (stride 2,
 * w <= 32): each input row gathers its contributions from every (kh, output
 * row, kw) into even and odd column vectors in registers, interleaves them
 * and is written once (overwritten, or added to when accumulating), so dx
 * needs no zeroing pass.
 *
 * Both write whole vectors: an im2col row spills up to 7 floats past its
 * wo columns onto the next output row of the same col row (written later),
 * the last one into the padding of the col row, so col rows are ld >= cols
 * + 8 floats apart; a dx row spills onto the plane's later rows (written
 * later; the spilled lanes are zero, so accumulating writes memory's own
 * value back), and the plane's last rows are stored masked. */
#include <immintrin.h>
#include <string.h>

#include "simd.h"
#include "avx2_lanes.h"

#define MAXK 7

static ALWAYS_INLINE __m256i lanes_in(int lo, int hi)
{
    /* lanes i with lo <= i < hi */
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_and_si256(_mm256_cmpgt_epi32(idx, _mm256_set1_epi32(lo - 1)),
                            _mm256_cmpgt_epi32(_mm256_set1_epi32(hi), idx));
}

/* 3x3 stride 2 pad 1 with w <= 32: each input row is loaded once and split
 * into even and odd columns; the three taps of an output row are the odd
 * columns shifted by one (column 2ow - 1), the even (2ow) and the odd
 * (2ow + 1) ones. */
static void im2col_k3s2(const rcn_conv_shape *s, int n, int n0, int t, const float *x,
                        float *col, size_t ld)
{
    const int h = s->h, w = s->w, ho = s->ho, wo = s->wo, nvo = (wo + 7) / 8;
    const size_t hw = (size_t)h * w, howo = (size_t)ho * wo;
    __m256i lm[4];
    for (int j = 0; j < 4; j++)
        lm[j] = lanes_in(-8 * j, w - 8 * j);
    const int full = w / 8; /* row vectors entirely inside the row */
    const __m256 zero = _mm256_setzero_ps();
    for (int ci = 0; ci < s->cin; ci++) {
        float *cc = col + (size_t)ci * 9 * ld;
        for (int ti = 0; ti < t; ti++) {
            const float *xs = x + ((size_t)ci * n + n0 + ti) * hw;
            for (int oh = 0; oh < ho; oh++) {
                float *dst0 = cc + (size_t)ti * howo + (size_t)oh * wo;
                for (int kh = 0; kh < 3; kh++) {
                    int ih = 2 * oh - 1 + kh;
                    float *dst = dst0 + (size_t)kh * 3 * ld;
                    if (ih < 0 || ih >= h) {
                        for (int kw = 0; kw < 3; kw++)
                            for (int j = 0; j < nvo; j++)
                                _mm256_storeu_ps(dst + kw * ld + 8 * j, zero);
                        continue;
                    }
                    const float *row = xs + (size_t)ih * w;
                    __m256 prev = zero;
                    for (int j = 0; j < nvo; j++) {
                        __m256 a = 2 * j < full ? _mm256_loadu_ps(row + 16 * j)
                                                : _mm256_maskload_ps(row + 16 * j, lm[2 * j]);
                        __m256 b = 2 * j + 1 < full
                                       ? _mm256_loadu_ps(row + 16 * j + 8)
                                       : _mm256_maskload_ps(row + 16 * j + 8, lm[2 * j + 1]);
                        __m256 ev = evens(a, b), od = odds(a, b);
                        _mm256_storeu_ps(dst + 8 * j, up1(od, prev));
                        _mm256_storeu_ps(dst + ld + 8 * j, ev);
                        _mm256_storeu_ps(dst + 2 * ld + 8 * j, od);
                        prev = od;
                    }
                }
            }
        }
    }
}

int rcn_im2col_avx2_applies(const rcn_conv_shape *s)
{
    if (s->k < 1 || s->k > MAXK || s->pad < 0 || s->pad >= s->k || s->ho < 1 || s->wo < 1)
        return 0;
    return (s->stride == 1 && s->wo <= 32) || (s->stride == 2 && s->wo <= 16);
}

void rcn_im2col_avx2(const rcn_conv_shape *s, int n, int n0, int t, const float *x, float *col,
                     size_t ld)
{
    if (s->k == 3 && s->stride == 2 && s->pad == 1 && s->w <= 32) {
        im2col_k3s2(s, n, n0, t, x, col, ld);
        return;
    }
    const int k = s->k, st = s->stride, pad = s->pad, h = s->h, w = s->w, ho = s->ho, wo = s->wo;
    const int nvo = (wo + 7) / 8;
    const size_t hw = (size_t)h * w, howo = (size_t)ho * wo;
    /* m[kw][j][half]: lanes of the load for output vector j whose column is in [0, w) */
    __m256i m[MAXK][4][2];
    for (int kw = 0; kw < k; kw++)
        for (int j = 0; j < nvo; j++)
            for (int hf = 0; hf < st; hf++) {
                int c0 = (st == 1 ? 8 * j : 16 * j + 8 * hf) - pad + kw;
                m[kw][j][hf] = lanes_in(-c0, w - c0);
            }
    const __m256 zero = _mm256_setzero_ps();
    for (int ci = 0; ci < s->cin; ci++) {
        float *cc = col + (size_t)ci * k * k * ld;
        for (int ti = 0; ti < t; ti++) {
            const float *xs = x + ((size_t)ci * n + n0 + ti) * hw;
            for (int oh = 0; oh < ho; oh++) {
                float *dst0 = cc + (size_t)ti * howo + (size_t)oh * wo;
                for (int kh = 0; kh < k; kh++) {
                    int ih = oh * st - pad + kh;
                    float *dst = dst0 + (size_t)kh * k * ld;
                    if (ih < 0 || ih >= h) {
                        for (int kw = 0; kw < k; kw++)
                            for (int j = 0; j < nvo; j++)
                                _mm256_storeu_ps(dst + kw * ld + 8 * j, zero);
                        continue;
                    }
                    const float *row = xs + (size_t)ih * w;
                    if (st == 1) {
                        for (int kw = 0; kw < k; kw++)
                            for (int j = 0; j < nvo; j++)
                                _mm256_storeu_ps(dst + kw * ld + 8 * j,
                                                 _mm256_maskload_ps(row + 8 * j - pad + kw, m[kw][j][0]));
                    } else {
                        for (int kw = 0; kw < k; kw++)
                            for (int j = 0; j < nvo; j++) {
                                const float *p = row + 16 * j - pad + kw;
                                __m256 a = _mm256_maskload_ps(p, m[kw][j][0]);
                                __m256 b = _mm256_maskload_ps(p + 8, m[kw][j][1]);
                                _mm256_storeu_ps(dst + kw * ld + 8 * j, evens(a, b));
                            }
                    }
                }
            }
        }
    }
}

int rcn_col2im_avx2_applies(const rcn_conv_shape *s)
{
    return rcn_im2col_avx2_applies(s) && s->stride == 2 && s->w <= 32;
}

void rcn_col2im_avx2(const rcn_conv_shape *s, int n, int n0, int t, const float *col, size_t ld,
                     float *dx, int acc)
{
    const int k = s->k, pad = s->pad, h = s->h, w = s->w, ho = s->ho, wo = s->wo;
    const int nvi = ((w + 1) / 2 + 7) / 8; /* even (odd) column vectors per row: 1 or 2 */
    const size_t hw = (size_t)h * w, howo = (size_t)ho * wo;
    /* column kw - pad + 2*ow: an even column 2s when d = kw - pad is even
     * (ow = s - d/2), else the odd column 2s+1 (ow = s - (d-1)/2); om[kw][j]:
     * lanes of vector j whose ow is in [0, wo) */
    int q[MAXK], odd[MAXK];
    __m256i om[MAXK][2], cm[4];
    for (int kw = 0; kw < k; kw++) {
        int d = kw - pad;
        odd[kw] = d & 1;
        q[kw] = odd[kw] ? (d - 1) / 2 : d / 2; /* exact divisions */
        for (int j = 0; j < nvi; j++)
            om[kw][j] = lanes_in(q[kw] - 8 * j, wo + q[kw] - 8 * j);
    }
    for (int j = 0; j < 4; j++)
        cm[j] = lanes_in(-8 * j, w - 8 * j);
    const long span = 16L * nvi;
    const int full_rows = (long)hw >= span ? (int)(((long)hw - span) / w + 1) : 0;
    const __m256 zero = _mm256_setzero_ps();
    for (int ci = 0; ci < s->cin; ci++) {
        const float *cc = col + (size_t)ci * k * k * ld;
        for (int ti = 0; ti < t; ti++) {
            float *xs = dx + ((size_t)ci * n + n0 + ti) * hw;
            const float *cs = cc + (size_t)ti * howo;
            for (int ih = 0; ih < h; ih++) {
                __m256 ev[2] = {zero, zero}, od[2] = {zero, zero};
                for (int kh = 0; kh < k; kh++) {
                    int e = ih + pad - kh; /* = 2 * oh */
                    if (e < 0 || (e & 1) || e / 2 >= ho)
                        continue;
                    const float *crow = cs + (size_t)kh * k * ld + (size_t)(e / 2) * wo;
                    for (int kw = 0; kw < k; kw++) {
                        const float *p = crow + (size_t)kw * ld - q[kw];
                        for (int j = 0; j < nvi; j++) {
                            __m256 v = _mm256_maskload_ps(p + 8 * j, om[kw][j]);
                            if (odd[kw])
                                od[j] = _mm256_add_ps(od[j], v);
                            else
                                ev[j] = _mm256_add_ps(ev[j], v);
                        }
                    }
                }
                __m256 o[4];
                for (int j = 0; j < nvi; j++) {
                    __m256 a = _mm256_unpacklo_ps(ev[j], od[j]), b = _mm256_unpackhi_ps(ev[j], od[j]);
                    o[2 * j] = _mm256_and_ps(_mm256_permute2f128_ps(a, b, 0x20),
                                             _mm256_castsi256_ps(cm[2 * j]));
                    o[2 * j + 1] = _mm256_and_ps(_mm256_permute2f128_ps(a, b, 0x31),
                                                 _mm256_castsi256_ps(cm[2 * j + 1]));
                }
                float *row = xs + (size_t)ih * w;
                if (ih < full_rows) {
                    for (int j = 0; j < 2 * nvi; j++) {
                        __m256 v = o[j];
                        if (acc)
                            v = _mm256_add_ps(v, _mm256_loadu_ps(row + 8 * j));
                        _mm256_storeu_ps(row + 8 * j, v);
                    }
                } else {
                    for (int j = 0; j < 2 * nvi; j++) {
                        __m256 v = o[j];
                        if (acc)
                            v = _mm256_add_ps(v, _mm256_maskload_ps(row + 8 * j, cm[j]));
                        _mm256_maskstore_ps(row + 8 * j, cm[j], v);
                    }
                }
            }
        }
    }
}
