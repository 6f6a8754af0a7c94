/* test_layers.c - finite-difference and naive-reference checks of every
 * kernel in nn.h (conv, bn, relu, add_relu, maxpool, gap, dropout, linear,
 * softmax_xent), input AND parameter gradients, written against the header
 * only.
 *
 * Method: for a kernel y = f(x, w) pick a fixed random r and the scalar
 * objective L = sum(r .* y) (computed in double from the float outputs).
 * The analytic gradient is the kernel's backward with dy = r; the numeric
 * one is a central difference (L(x+e) - L(x-e)) / (x+e - x-e), where the
 * denominator is the actually representable float perturbation.
 *
 * Comparison (grad_mismatches): entry i is bad when
 *   |a - n| > rtol * max(|a|, |n|) + atol_frac * max_j |n_j| + 1e-6
 * and the whole vector is bad when ||a - n|| / ||n|| > rtol. The self-test
 * at the end shows that a sign flip, a single wrong entry, an off-by-one
 * shift (what a padding bug looks like), a transposed weight and a missing
 * BN backward term each fail this comparison. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixtures.h"
#include "rcn/nn.h"
#include "rcn/rng.h"

static rcn_rng g_rng;

static float urand(float lo, float hi) { return lo + (hi - lo) * rcn_rng_uniform(&g_rng); }

static void fill_uniform(float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = urand(lo, hi);
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static float *falloc(size_t n) { return xmalloc(n * sizeof(float)); }
static double *dalloc(size_t n) { return xmalloc(n * sizeof(double)); }

static void fill_nan(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
}

static double dot_rf(const float *r, const float *y, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)r[i] * (double)y[i];
    return s;
}

/* ---- gradient comparison --------------------------------------------- */

/* Number of mismatching entries (+1 if the aggregate relative L2 error is
 * too large). Prints the first few mismatches unless quiet. */
static int grad_mismatches(const char *what, const double *a, const double *num, size_t n,
                           double rtol, double atol_frac, int quiet)
{
    double scale = 0, diff2 = 0, norm2 = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(num[i]) > scale)
            scale = fabs(num[i]);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - num[i]);
        double m = fmax(fabs(a[i]), fabs(num[i]));
        diff2 += d * d;
        norm2 += num[i] * num[i];
        if (!(d <= rtol * m + atol_frac * scale + 1e-6)) {
            if (!quiet && bad < 5)
                fprintf(stderr, "  %s[%zu]: analytic %.8g numeric %.8g\n", what, i, a[i],
                        num[i]);
            bad++;
        }
    }
    double rel = norm2 > 0 ? sqrt(diff2 / norm2) : sqrt(diff2);
    if (!(rel <= rtol)) {
        if (!quiet)
            fprintf(stderr, "  %s: relative L2 error %.3g\n", what, rel);
        bad++;
    }
    return bad;
}

static void check_grad(const char *what, const double *a, const double *num, size_t n,
                       double rtol, double atol_frac)
{
    int bad = grad_mismatches(what, a, num, n, rtol, atol_frac, 0);
    CHECK(bad == 0, "%s: %d gradient mismatches of %zu", what, bad, n);
}

static void to_double(const float *x, double *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = x[i];
}

typedef double (*objective_fn)(void *ctx);

/* Central differences of f with respect to p[0..n). */
static void fd_grad(objective_fn f, void *ctx, float *p, size_t n, double eps, double *out)
{
    for (size_t i = 0; i < n; i++) {
        float save = p[i];
        p[i] = (float)(save + eps);
        double xp = p[i];
        double lp = f(ctx);
        p[i] = (float)(save - eps);
        double xm = p[i];
        double lm = f(ctx);
        p[i] = save;
        out[i] = (lp - lm) / (xp - xm);
    }
}

/* ---- convolution -------------------------------------------------------- */

typedef struct {
    rcn_conv_shape s;
    int n;
    float *x, *w, *y, *r, *scratch;
    size_t ylen;
} conv_ctx;

static double conv_objective(void *vctx)
{
    conv_ctx *c = vctx;
    rcn_conv_forward(&c->s, c->n, c->x, c->w, c->y, c->scratch);
    return dot_rf(c->r, c->y, c->ylen);
}

typedef struct {
    int cin, cout, k, stride, pad, h, w, n, nmax;
} conv_case;

#define CANARY 12345.678f
#define NCANARY 16

static void test_conv_case(const conv_case *cc)
{
    char what[160];
    snprintf(what, sizeof what, "conv cin=%d cout=%d k=%d s=%d p=%d %dx%d n=%d/%d", cc->cin,
             cc->cout, cc->k, cc->stride, cc->pad, cc->h, cc->w, cc->n, cc->nmax);
    conv_ctx c;
    rcn_conv_shape_init(&c.s, cc->cin, cc->cout, cc->k, cc->stride, cc->pad, cc->h, cc->w);
    int ho = (cc->h + 2 * cc->pad - cc->k) / cc->stride + 1;
    int wo = (cc->w + 2 * cc->pad - cc->k) / cc->stride + 1;
    CHECK(c.s.ho == ho && c.s.wo == wo, "%s: shape_init gives %dx%d, want %dx%d", what, c.s.ho,
          c.s.wo, ho, wo);
    CHECK(c.s.cin == cc->cin && c.s.cout == cc->cout && c.s.k == cc->k &&
              c.s.stride == cc->stride && c.s.pad == cc->pad && c.s.h == cc->h && c.s.w == cc->w,
          "%s: shape_init fields", what);
    c.s.ho = ho;
    c.s.wo = wo;
    c.n = cc->n;
    size_t xlen = (size_t)cc->cin * cc->n * cc->h * cc->w;
    size_t xlen_max = (size_t)cc->cin * cc->nmax * cc->h * cc->w;
    size_t wlen = (size_t)cc->cout * cc->cin * cc->k * cc->k;
    c.ylen = (size_t)cc->cout * cc->n * ho * wo;
    size_t ylen_max = (size_t)cc->cout * cc->nmax * ho * wo;
    size_t scr = rcn_conv_scratch_floats(&c.s, cc->nmax);

    c.x = falloc(xlen_max + NCANARY);
    c.w = falloc(wlen);
    c.y = falloc(ylen_max + NCANARY);
    c.r = falloc(c.ylen);
    c.scratch = falloc(scr + NCANARY);
    float *dx = falloc(xlen_max + NCANARY), *dw = falloc(wlen + NCANARY);
    fill_uniform(c.x, xlen, -1, 1);
    fill_uniform(c.w, wlen, -1, 1);
    fill_uniform(c.r, c.ylen, -1, 1);
    for (size_t i = xlen; i < xlen_max + NCANARY; i++)
        c.x[i] = CANARY;
    for (size_t i = 0; i < ylen_max + NCANARY; i++)
        c.y[i] = CANARY;
    for (size_t i = 0; i < scr + NCANARY; i++)
        c.scratch[i] = CANARY;

    /* forward against the naive convolution */
    rcn_conv_forward(&c.s, c.n, c.x, c.w, c.y, c.scratch);
    double *yref = dalloc(c.ylen);
    fixture_conv_naive(&c.s, c.n, c.x, c.w, yref);
    int fbad = 0;
    double tol = 1e-5 * (double)(cc->cin * cc->k * cc->k);
    for (size_t i = 0; i < c.ylen; i++)
        if (!(fabs(c.y[i] - yref[i]) <= tol)) {
            if (fbad < 3)
                fprintf(stderr, "  %s: y[%zu] = %.7g, naive %.7g\n", what, i, c.y[i], yref[i]);
            fbad++;
        }
    CHECK(fbad == 0, "%s: forward differs from naive convolution in %d of %zu", what, fbad,
          c.ylen);
    int ycan = 0;
    for (size_t i = c.ylen; i < ylen_max + NCANARY; i++)
        ycan += c.y[i] != CANARY;
    CHECK(ycan == 0, "%s: forward wrote %d floats past y (n*cout*ho*wo)", what, ycan);

    /* backward (dy = r) against central differences; linear in x and w, so
     * a large eps is exact up to rounding and the tolerance can be tight. */
    fill_nan(dx, xlen);
    fill_nan(dw, wlen);
    for (size_t i = xlen; i < xlen_max + NCANARY; i++)
        dx[i] = CANARY;
    for (size_t i = wlen; i < wlen + NCANARY; i++)
        dw[i] = CANARY;
    rcn_conv_backward(&c.s, c.n, c.x, c.w, c.r, dx, dw, c.scratch, 0);
    int dcan = 0;
    for (size_t i = xlen; i < xlen_max + NCANARY; i++)
        dcan += dx[i] != CANARY;
    for (size_t i = wlen; i < wlen + NCANARY; i++)
        dcan += dw[i] != CANARY;
    CHECK(dcan == 0, "%s: backward wrote %d floats past dx/dw", what, dcan);
    int scan = 0;
    for (size_t i = scr; i < scr + NCANARY; i++)
        scan += c.scratch[i] != CANARY;
    CHECK(scan == 0, "%s: conv wrote %d floats past rcn_conv_scratch_floats", what, scan);

    double *ax = dalloc(xlen), *nx = dalloc(xlen), *aw = dalloc(wlen), *nw = dalloc(wlen);
    to_double(dx, ax, xlen);
    to_double(dw, aw, wlen);
    fd_grad(conv_objective, &c, c.x, xlen, 0.25, nx);
    fd_grad(conv_objective, &c, c.w, wlen, 0.25, nw);
    char wn[200];
    snprintf(wn, sizeof wn, "%s dx", what);
    check_grad(wn, ax, nx, xlen, 1e-3, 1e-4);
    snprintf(wn, sizeof wn, "%s dw", what);
    check_grad(wn, aw, nw, wlen, 1e-3, 1e-4);

    /* accumulate_dx = 1 adds to what is there */
    float *dx2 = falloc(xlen), *dw2 = falloc(wlen);
    for (size_t i = 0; i < xlen; i++)
        dx2[i] = (float)(i % 7) - 3.0f;
    fill_nan(dw2, wlen);
    rcn_conv_backward(&c.s, c.n, c.x, c.w, c.r, dx2, dw2, c.scratch, 1);
    int abad = 0;
    for (size_t i = 0; i < xlen; i++)
        abad += !(fabs(dx2[i] - ((float)(i % 7) - 3.0f + dx[i])) <= 1e-5 * (1 + fabs(dx[i])));
    CHECK(abad == 0, "%s: accumulate_dx=1 is not dx_prev + dL/dx in %d entries", what, abad);
    int wbad = 0;
    for (size_t i = 0; i < wlen; i++)
        wbad += !(fabs(dw2[i] - dw[i]) <= 1e-5 * (1 + fabs(dw[i])));
    CHECK(wbad == 0, "%s: dw with accumulate_dx=1 differs (dw must be overwritten)", what);

    /* dx = NULL: dw alone */
    fill_nan(dw2, wlen);
    rcn_conv_backward(&c.s, c.n, c.x, c.w, c.r, NULL, dw2, c.scratch, 0);
    wbad = 0;
    for (size_t i = 0; i < wlen; i++)
        wbad += !(fabs(dw2[i] - dw[i]) <= 1e-5 * (1 + fabs(dw[i])));
    CHECK(wbad == 0, "%s: dw with dx=NULL differs in %d entries", what, wbad);
    fill_nan(dw2, wlen);
    rcn_conv_backward(&c.s, c.n, c.x, c.w, c.r, NULL, dw2, c.scratch, 1);
    wbad = 0;
    for (size_t i = 0; i < wlen; i++)
        wbad += !(fabs(dw2[i] - dw[i]) <= 1e-5 * (1 + fabs(dw[i])));
    CHECK(wbad == 0, "%s: dw with dx=NULL, accumulate=1 differs in %d entries", what, wbad);

    free(dx2);
    free(dw2);
    free(ax);
    free(nx);
    free(aw);
    free(nw);
    free(yref);
    free(dx);
    free(dw);
    free(c.x);
    free(c.w);
    free(c.y);
    free(c.r);
    free(c.scratch);
}

static void test_conv(void)
{
    static const conv_case cases[] = {
        /* cin cout k s pad h w n nmax */
        {1, 1, 1, 1, 0, 4, 4, 1, 1},
        {2, 3, 3, 1, 1, 7, 5, 2, 2},
        {3, 2, 3, 2, 1, 7, 5, 3, 3},
        {1, 4, 7, 2, 3, 9, 8, 2, 2},
        {5, 5, 3, 2, 0, 7, 7, 1, 1},
        {4, 2, 1, 2, 0, 7, 5, 3, 3}, /* projection shortcut shape */
        {2, 5, 3, 1, 2, 5, 6, 2, 3}, /* pad > (k-1)/2, short batch */
        {3, 1, 7, 1, 3, 7, 5, 1, 3}, /* short batch */
        {2, 3, 3, 2, 3, 6, 5, 2, 2}, /* all-padding outputs */
        {1, 2, 7, 1, 0, 7, 7, 2, 2}, /* 1x1 output */
        {3, 4, 1, 1, 0, 5, 7, 2, 2},
        {4, 4, 3, 1, 1, 6, 6, 3, 3},
        {5, 3, 3, 2, 1, 8, 6, 2, 2}, /* even size, stride 2 */
        {2, 2, 7, 2, 2, 11, 9, 1, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        test_conv_case(&cases[i]);
}

/* ---- batch norm (train) -------------------------------------------------- */

typedef struct {
    int c;
    size_t m;
    float *x, *gamma, *beta, *y, *r, *mean, *invstd, *rm, *rv;
    int relu;
} bn_ctx;

static double bn_objective(void *vctx)
{
    bn_ctx *b = vctx;
    rcn_bn_forward_train(b->c, b->m, b->x, b->gamma, b->beta, b->y, b->mean, b->invstd, b->rm,
                         b->rv, b->relu);
    return dot_rf(b->r, b->y, (size_t)b->c * b->m);
}

/* Pre-activation margin: min over entries of |gamma*(x-mean)*invstd + beta|. */
static double bn_min_preact(bn_ctx *b)
{
    double mn = INFINITY;
    for (int ch = 0; ch < b->c; ch++) {
        double mu = 0, var = 0;
        for (size_t i = 0; i < b->m; i++)
            mu += b->x[ch * b->m + i];
        mu /= (double)b->m;
        for (size_t i = 0; i < b->m; i++) {
            double d = b->x[ch * b->m + i] - mu;
            var += d * d;
        }
        var /= (double)b->m;
        for (size_t i = 0; i < b->m; i++) {
            double z = b->gamma[ch] * (b->x[ch * b->m + i] - mu) / sqrt(var + 1e-5) + b->beta[ch];
            if (fabs(z) < mn)
                mn = fabs(z);
        }
    }
    return mn;
}

/* BN backward as a buggy implementation might write it: the xhat*mean(dy*xhat)
 * term is missing. Used by the self-test only. */
static void bn_backward_missing_term(bn_ctx *b, const float *dy, double *dx)
{
    for (int ch = 0; ch < b->c; ch++) {
        double mu = 0, sdy = 0;
        for (size_t i = 0; i < b->m; i++)
            mu += b->x[ch * b->m + i];
        mu /= (double)b->m;
        for (size_t i = 0; i < b->m; i++)
            sdy += dy[ch * b->m + i];
        double var = 0;
        for (size_t i = 0; i < b->m; i++)
            var += (b->x[ch * b->m + i] - mu) * (b->x[ch * b->m + i] - mu);
        var /= (double)b->m;
        double is = 1 / sqrt(var + 1e-5);
        for (size_t i = 0; i < b->m; i++)
            dx[ch * b->m + i] = b->gamma[ch] * is * (dy[ch * b->m + i] - sdy / (double)b->m);
    }
}

static int selftest_bn_done = 0;

static void test_bn_case(int c, size_t m, int relu)
{
    char what[96];
    snprintf(what, sizeof what, "bn c=%d m=%zu relu=%d", c, m, relu);
    bn_ctx b = {.c = c, .m = m, .relu = relu};
    size_t len = (size_t)c * m;
    b.x = falloc(len);
    b.y = falloc(len);
    b.r = falloc(len);
    b.gamma = falloc(c);
    b.beta = falloc(c);
    b.mean = falloc(c);
    b.invstd = falloc(c);
    b.rm = falloc(c);
    b.rv = falloc(c);
    /* draw until every pre-activation is clear of the ReLU kink */
    int tries = 0;
    do {
        fill_uniform(b.x, len, -2, 2);
        for (int i = 0; i < c; i++) {
            b.gamma[i] = urand(0.5f, 2.0f) * (i % 2 ? -1.0f : 1.0f);
            b.beta[i] = urand(-0.5f, 0.5f);
        }
        tries++;
    } while (relu && bn_min_preact(&b) < 0.05 && tries < 1000);
    CHECK(!relu || bn_min_preact(&b) >= 0.05, "%s: could not draw kink-free data", what);
    fill_uniform(b.r, len, -1, 1);
    for (int i = 0; i < c; i++) {
        b.rm[i] = 0;
        b.rv[i] = 1;
    }
    bn_objective(&b);

    /* mean and invstd of the forward */
    for (int ch = 0; ch < c; ch++) {
        double mu = 0, var = 0;
        for (size_t i = 0; i < m; i++)
            mu += b.x[ch * m + i];
        mu /= (double)m;
        for (size_t i = 0; i < m; i++)
            var += (b.x[ch * m + i] - mu) * (b.x[ch * m + i] - mu);
        var /= (double)m;
        CHECK_CLOSE(b.mean[ch], mu, 1e-5, "bn mean");
        CHECK_CLOSE(b.invstd[ch], 1 / sqrt(var + 1e-5), 1e-4 / sqrt(var + 1e-5), "bn invstd");
    }

    float *dy = falloc(len), *dx = falloc(len), *dg = falloc(c), *db = falloc(c);
    memcpy(dy, b.r, len * sizeof(float));
    fill_nan(dx, len);
    fill_nan(dg, c);
    fill_nan(db, c);
    float *y = falloc(len);
    memcpy(y, b.y, len * sizeof(float));
    rcn_bn_backward(c, m, b.x, y, dy, b.gamma, b.mean, b.invstd, dx, dg, db, relu);

    double *ax = dalloc(len), *nx = dalloc(len), *ag = dalloc(c), *ng = dalloc(c),
           *ab = dalloc(c), *nb = dalloc(c);
    to_double(dx, ax, len);
    to_double(dg, ag, c);
    to_double(db, ab, c);
    fd_grad(bn_objective, &b, b.x, len, 1e-2, nx);
    fd_grad(bn_objective, &b, b.gamma, c, 1e-2, ng);
    fd_grad(bn_objective, &b, b.beta, c, 1e-2, nb);
    char wn[128];
    snprintf(wn, sizeof wn, "%s dx", what);
    check_grad(wn, ax, nx, len, 1e-2, 1e-3);
    snprintf(wn, sizeof wn, "%s dgamma", what);
    check_grad(wn, ag, ng, c, 1e-2, 1e-3);
    snprintf(wn, sizeof wn, "%s dbeta", what);
    check_grad(wn, ab, nb, c, 1e-2, 1e-3);

    /* dx may alias dy */
    float *alias = falloc(len), *dg2 = falloc(c), *db2 = falloc(c);
    memcpy(alias, b.r, len * sizeof(float));
    rcn_bn_backward(c, m, b.x, y, alias, b.gamma, b.mean, b.invstd, alias, dg2, db2, relu);
    int abad = 0;
    for (size_t i = 0; i < len; i++)
        abad += !(fabs(alias[i] - dx[i]) <= 1e-5 * (1 + fabs(dx[i])));
    for (int i = 0; i < c; i++)
        abad += !(fabs(dg2[i] - dg[i]) <= 1e-5 * (1 + fabs(dg[i]))) +
                !(fabs(db2[i] - db[i]) <= 1e-5 * (1 + fabs(db[i])));
    CHECK(abad == 0, "%s: backward with dx aliasing dy differs in %d entries", what, abad);

    /* self-test: the missing-term BN backward must be caught */
    if (!selftest_bn_done && !relu) {
        double *wrong = dalloc(len);
        bn_backward_missing_term(&b, dy, wrong);
        CHECK(grad_mismatches("bn missing term", wrong, nx, len, 1e-2, 1e-3, 1) > 0,
              "self-test: BN backward without the xhat*mean(dy*xhat) term passed the check");
        free(wrong);
        selftest_bn_done = 1;
    }

    free(alias);
    free(dg2);
    free(db2);
    free(y);
    free(dy);
    free(dx);
    free(dg);
    free(db);
    free(ax);
    free(nx);
    free(ag);
    free(ng);
    free(ab);
    free(nb);
    free(b.x);
    free(b.y);
    free(b.r);
    free(b.gamma);
    free(b.beta);
    free(b.mean);
    free(b.invstd);
    free(b.rm);
    free(b.rv);
}

static void test_bn(void)
{
    test_bn_case(3, 24, 0);
    test_bn_case(3, 24, 1);
    test_bn_case(2, 5, 0);
    test_bn_case(2, 5, 1);
    test_bn_case(4, 70, 1);
}

/* ---- relu and add_relu -------------------------------------------------- */

static void fill_away_from_zero(float *x, size_t n, float margin)
{
    for (size_t i = 0; i < n; i++) {
        float v = urand(margin, 2.0f);
        x[i] = rcn_rng_uniform(&g_rng) < 0.5f ? -v : v;
    }
}

typedef struct {
    size_t len;
    float *x, *y, *r;
} relu_ctx;

static double relu_objective(void *vctx)
{
    relu_ctx *c = vctx;
    rcn_relu_forward(c->len, c->x, c->y);
    return dot_rf(c->r, c->y, c->len);
}

static void test_relu(void)
{
    enum { N = 57 };
    float x[N], y[N], r[N], dx[N], al[N];
    relu_ctx c = {N, x, y, r};
    fill_away_from_zero(x, N, 0.05f);
    fill_uniform(r, N, -1, 1);
    rcn_relu_forward(N, x, y);
    int bad = 0;
    for (int i = 0; i < N; i++)
        bad += y[i] != (x[i] > 0 ? x[i] : 0.0f);
    CHECK(bad == 0, "relu forward wrong in %d entries", bad);
    memcpy(al, x, sizeof x);
    rcn_relu_forward(N, al, al);
    CHECK(memcmp(al, y, sizeof y) == 0, "relu forward in place differs");

    fill_nan(dx, N);
    rcn_relu_backward(N, y, r, dx);
    double a[N], num[N];
    to_double(dx, a, N);
    fd_grad(relu_objective, &c, x, N, 1e-2, num);
    check_grad("relu dx", a, num, N, 1e-3, 1e-4);
    bad = 0;
    for (int i = 0; i < N; i++)
        bad += dx[i] != (y[i] > 0 ? r[i] : 0.0f);
    CHECK(bad == 0, "relu backward is not dy*(y>0) in %d entries", bad);
    memcpy(al, r, sizeof r);
    rcn_relu_backward(N, y, al, al);
    CHECK(memcmp(al, dx, sizeof dx) == 0, "relu backward with dx aliasing dy differs");

    /* add_relu: values, both aliasings; the gradient reaching a and b is
     * relu_backward of the output (that is how the net uses it). */
    float a1[N], b1[N], y1[N], t[N];
    fill_uniform(a1, N, -2, 2);
    for (int i = 0; i < N; i++) {
        float s = urand(0.05f, 2.0f) * (rcn_rng_uniform(&g_rng) < 0.5f ? -1.0f : 1.0f);
        b1[i] = s - a1[i];
    }
    rcn_add_relu_forward(N, a1, b1, y1);
    bad = 0;
    for (int i = 0; i < N; i++) {
        float s = a1[i] + b1[i];
        bad += y1[i] != (s > 0 ? s : 0.0f);
    }
    CHECK(bad == 0, "add_relu forward wrong in %d entries", bad);
    memcpy(t, a1, sizeof t);
    rcn_add_relu_forward(N, t, b1, t);
    CHECK(memcmp(t, y1, sizeof t) == 0, "add_relu with y aliasing a differs");
    memcpy(t, b1, sizeof t);
    rcn_add_relu_forward(N, a1, t, t);
    CHECK(memcmp(t, y1, sizeof t) == 0, "add_relu with y aliasing b differs");
    int pos = 0, neg = 0;
    for (int i = 0; i < N; i++) {
        pos += y1[i] > 0;
        neg += y1[i] == 0;
    }
    CHECK(pos > 5 && neg > 5, "add_relu test data covers both sides (%d/%d)", pos, neg);
}

/* ---- max pooling -------------------------------------------------------- */

typedef struct {
    int c, n, h, w, k, s, p, ho, wo;
    float *x, *y, *r;
    int32_t *argmax;
} pool_ctx;

static double pool_objective(void *vctx)
{
    pool_ctx *c = vctx;
    rcn_maxpool_forward(c->c, c->n, c->h, c->w, c->k, c->s, c->p, c->x, c->y, c->argmax);
    return dot_rf(c->r, c->y, (size_t)c->c * c->n * c->ho * c->wo);
}

static void test_pool_case(int c, int n, int h, int w, int k, int s, int p)
{
    char what[96];
    snprintf(what, sizeof what, "maxpool c=%d n=%d %dx%d k=%d s=%d p=%d", c, n, h, w, k, s, p);
    pool_ctx pc = {c, n, h, w, k, s, p, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1,
                   NULL, NULL, NULL, NULL};
    size_t xlen = (size_t)c * n * h * w, ylen = (size_t)c * n * pc.ho * pc.wo;
    pc.x = falloc(xlen);
    pc.y = falloc(ylen);
    pc.r = falloc(ylen);
    pc.argmax = xmalloc(ylen * sizeof(int32_t));
    /* distinct values 0.01 apart (no ties; FD eps 1e-3 cannot reorder),
     * mostly negative so that -inf padding matters at the border */
    int32_t *perm = xmalloc(xlen * sizeof(int32_t));
    for (size_t i = 0; i < xlen; i++)
        perm[i] = (int32_t)i;
    rcn_rng_shuffle_i32(&g_rng, perm, (int64_t)xlen);
    for (size_t i = 0; i < xlen; i++)
        pc.x[i] = 0.01f * (float)perm[i] - 0.008f * (float)xlen;
    fill_uniform(pc.r, ylen, -1, 1);
    pool_objective(&pc);

    /* naive forward */
    int bad = 0, abad = 0;
    int *hits = xmalloc(xlen * sizeof(int));
    memset(hits, 0, xlen * sizeof(int));
    for (int ch = 0; ch < c; ch++)
        for (int b = 0; b < n; b++)
            for (int oh = 0; oh < pc.ho; oh++)
                for (int ow = 0; ow < pc.wo; ow++) {
                    float best = -INFINITY;
                    long bi = -1;
                    for (int kh = 0; kh < k; kh++)
                        for (int kw = 0; kw < k; kw++) {
                            int ih = oh * s - p + kh, iw = ow * s - p + kw;
                            if (ih < 0 || ih >= h || iw < 0 || iw >= w)
                                continue;
                            long xi = (((long)ch * n + b) * h + ih) * w + iw;
                            if (pc.x[xi] > best) {
                                best = pc.x[xi];
                                bi = xi;
                            }
                        }
                    size_t yi = (((size_t)ch * n + b) * pc.ho + oh) * pc.wo + ow;
                    if (pc.y[yi] != best) {
                        if (bad < 3)
                            fprintf(stderr, "  %s: y[%zu]=%g want %g\n", what, yi, pc.y[yi], best);
                        bad++;
                    }
                    abad += pc.argmax[yi] != bi;
                    if (bi >= 0)
                        hits[bi]++;
                }
    CHECK(bad == 0, "%s: forward differs from naive in %d of %zu", what, bad, ylen);
    CHECK(abad == 0, "%s: argmax differs from naive in %d of %zu", what, abad, ylen);
    int multi = 0;
    for (size_t i = 0; i < xlen; i++)
        multi += hits[i] > 1;
    if (k > s)
        CHECK(multi > 0, "%s: test data has no input that is the max of two windows", what);

    float *dx = falloc(xlen);
    fill_nan(dx, xlen);
    rcn_maxpool_backward(c, n, h, w, k, s, p, pc.r, pc.argmax, dx);
    double *a = dalloc(xlen), *num = dalloc(xlen);
    to_double(dx, a, xlen);
    fd_grad(pool_objective, &pc, pc.x, xlen, 1e-3, num);
    char wn[128];
    snprintf(wn, sizeof wn, "%s dx", what);
    check_grad(wn, a, num, xlen, 1e-3, 1e-4);
    free(a);
    free(num);
    free(dx);
    free(hits);
    free(perm);
    free(pc.x);
    free(pc.y);
    free(pc.r);
    free(pc.argmax);
}

static void test_pool(void)
{
    test_pool_case(2, 2, 7, 5, 3, 2, 1);
    test_pool_case(3, 1, 8, 6, 3, 2, 1);
    test_pool_case(2, 3, 14, 14, 3, 2, 1);
    test_pool_case(2, 2, 8, 6, 2, 2, 0);
    test_pool_case(1, 3, 7, 5, 2, 2, 0); /* odd: last row/col dropped */
}

/* ---- global average pool ------------------------------------------------ */

typedef struct {
    int c, n, hw;
    float *x, *y, *r;
} gap_ctx;

static double gap_objective(void *vctx)
{
    gap_ctx *g = vctx;
    rcn_gap_forward(g->c, g->n, g->hw, g->x, g->y);
    return dot_rf(g->r, g->y, (size_t)g->n * g->c);
}

static void test_gap(void)
{
    enum { C = 3, NB = 2, HW = 35 };
    float x[C * NB * HW], y[NB * C], r[NB * C], dx[C * NB * HW];
    gap_ctx g = {C, NB, HW, x, y, r};
    fill_uniform(x, C * NB * HW, -1, 1);
    fill_uniform(r, NB * C, -1, 1);
    rcn_gap_forward(C, NB, HW, x, y);
    int bad = 0;
    for (int ch = 0; ch < C; ch++)
        for (int b = 0; b < NB; b++) {
            double s = 0;
            for (int i = 0; i < HW; i++)
                s += x[(ch * NB + b) * HW + i];
            bad += !(fabs(y[b * C + ch] - s / HW) <= 1e-6);
        }
    CHECK(bad == 0, "gap forward (n, c) row-major wrong in %d entries", bad);
    fill_nan(dx, C * NB * HW);
    rcn_gap_backward(C, NB, HW, r, dx);
    double a[C * NB * HW], num[C * NB * HW];
    to_double(dx, a, C * NB * HW);
    fd_grad(gap_objective, &g, x, C * NB * HW, 0.25, num);
    check_grad("gap dx", a, num, C * NB * HW, 1e-3, 1e-4);
}

/* ---- dropout ------------------------------------------------------------ */

typedef struct {
    size_t len;
    float p;
    float *x, *y, *r;
    uint8_t *mask;
} drop_ctx;

static double drop_objective(void *vctx)
{
    drop_ctx *d = vctx;
    rcn_rng rng;
    rcn_rng_seed(&rng, 7, RCN_STREAM_TEST, 1, 2); /* same mask every call */
    rcn_dropout_forward(d->len, d->p, &rng, d->x, d->y, d->mask);
    return dot_rf(d->r, d->y, d->len);
}

static void test_dropout(void)
{
    enum { N = 2000 };
    static float x[N], y[N], r[N], dx[N];
    static uint8_t mask[N], mask2[N];
    drop_ctx d = {N, 0.3f, x, y, r, mask};
    fill_uniform(x, N, -1, 1);
    fill_uniform(r, N, -1, 1);
    drop_objective(&d);
    int keep = 0, bad = 0, badmask = 0;
    for (int i = 0; i < N; i++) {
        badmask += mask[i] > 1;
        keep += mask[i] == 1;
        float want = mask[i] ? x[i] / (1 - 0.3f) : 0.0f;
        bad += !(fabs(y[i] - want) <= 1e-6 * (1 + fabs(want)));
    }
    CHECK(badmask == 0, "dropout mask values must be 0/1 (%d bad)", badmask);
    CHECK(bad == 0, "dropout forward is not x*mask/(1-p) in %d entries", bad);
    /* binomial(2000, 0.7): sd ~ 20.5; 6 sd */
    CHECK(keep > 1400 - 123 && keep < 1400 + 123, "dropout p=0.3 kept %d of %d", keep, N);

    /* same seed -> same mask; other seed -> other mask */
    rcn_rng rng;
    rcn_rng_seed(&rng, 7, RCN_STREAM_TEST, 1, 2);
    rcn_dropout_forward(N, 0.3f, &rng, x, dx, mask2);
    CHECK(memcmp(mask, mask2, N) == 0, "dropout mask not reproducible from the same rng state");
    rcn_rng_seed(&rng, 8, RCN_STREAM_TEST, 1, 2);
    rcn_dropout_forward(N, 0.3f, &rng, x, dx, mask2);
    CHECK(memcmp(mask, mask2, N) != 0, "dropout mask identical for a different rng stream");

    /* backward = dy * mask / (1-p), and FD with the fixed mask */
    fill_nan(dx, N);
    rcn_dropout_backward(N, 0.3f, mask, r, dx);
    enum { NF = 200 };
    double a[NF], num[NF];
    to_double(dx, a, NF);
    d.len = N; /* FD over the first NF inputs only */
    fd_grad(drop_objective, &d, x, NF, 1e-2, num);
    check_grad("dropout dx", a, num, NF, 1e-3, 1e-4);
    bad = 0;
    for (int i = 0; i < N; i++) {
        float want = mask[i] ? r[i] / (1 - 0.3f) : 0.0f;
        bad += !(fabs(dx[i] - want) <= 1e-6 * (1 + fabs(want)));
    }
    CHECK(bad == 0, "dropout backward wrong in %d entries", bad);

    /* p = 0: identity, mask all ones, rng untouched */
    rcn_rng_seed(&rng, 9, RCN_STREAM_TEST, 0, 0);
    rcn_rng before = rng;
    memset(mask2, 0, N);
    rcn_dropout_forward(N, 0.0f, &rng, x, y, mask2);
    CHECK(memcmp(&before, &rng, sizeof rng) == 0, "dropout p=0 advanced the rng");
    CHECK(memcmp(x, y, sizeof x) == 0, "dropout p=0 is not the identity");
    int ones = 0;
    for (int i = 0; i < N; i++)
        ones += mask2[i] == 1;
    CHECK(ones == N, "dropout p=0 mask has %d ones of %d", ones, N);
    rcn_dropout_backward(N, 0.0f, mask2, r, dx);
    CHECK(memcmp(dx, r, sizeof r) == 0, "dropout p=0 backward is not the identity");
}

/* ---- linear ------------------------------------------------------------- */

typedef struct {
    int n, in, out;
    float *x, *w, *b, *y, *r;
} lin_ctx;

static double lin_objective(void *vctx)
{
    lin_ctx *l = vctx;
    rcn_linear_forward(l->n, l->in, l->out, l->x, l->w, l->b, l->y);
    return dot_rf(l->r, l->y, (size_t)l->n * l->out);
}

static void test_linear_case(int n, int in, int out)
{
    char what[64];
    snprintf(what, sizeof what, "linear n=%d in=%d out=%d", n, in, out);
    size_t xl = (size_t)n * in, wl = (size_t)out * in, yl = (size_t)n * out;
    lin_ctx l = {n, in, out, falloc(xl), falloc(wl), falloc(out), falloc(yl), falloc(yl)};
    fill_uniform(l.x, xl, -1, 1);
    fill_uniform(l.w, wl, -1, 1);
    fill_uniform(l.b, out, -1, 1);
    fill_uniform(l.r, yl, -1, 1);
    lin_objective(&l);
    int bad = 0;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double s = l.b[o];
            for (int k = 0; k < in; k++)
                s += (double)l.x[i * in + k] * l.w[o * in + k];
            bad += !(fabs(l.y[i * out + o] - s) <= 1e-5 * (1 + fabs(s)));
        }
    CHECK(bad == 0, "%s: forward differs from x w^T + b in %d entries", what, bad);

    float *dx = falloc(xl), *dw = falloc(wl), *db = falloc(out);
    fill_nan(dx, xl);
    fill_nan(dw, wl);
    fill_nan(db, out);
    rcn_linear_backward(n, in, out, l.x, l.w, l.r, dx, dw, db);
    double *a = dalloc(wl > xl ? wl : xl), *num = dalloc(wl > xl ? wl : xl);
    char wn[96];
    to_double(dx, a, xl);
    fd_grad(lin_objective, &l, l.x, xl, 0.25, num);
    snprintf(wn, sizeof wn, "%s dx", what);
    check_grad(wn, a, num, xl, 1e-3, 1e-4);
    to_double(dw, a, wl);
    fd_grad(lin_objective, &l, l.w, wl, 0.25, num);
    snprintf(wn, sizeof wn, "%s dw", what);
    check_grad(wn, a, num, wl, 1e-3, 1e-4);
    to_double(db, a, out);
    fd_grad(lin_objective, &l, l.b, out, 0.25, num);
    snprintf(wn, sizeof wn, "%s db", what);
    check_grad(wn, a, num, out, 1e-3, 1e-4);

    float *dw2 = falloc(wl), *db2 = falloc(out);
    fill_nan(dw2, wl);
    fill_nan(db2, out);
    rcn_linear_backward(n, in, out, l.x, l.w, l.r, NULL, dw2, db2);
    int wbad = 0;
    for (size_t i = 0; i < wl; i++)
        wbad += !(fabs(dw2[i] - dw[i]) <= 1e-6 * (1 + fabs(dw[i])));
    for (int i = 0; i < out; i++)
        wbad += !(fabs(db2[i] - db[i]) <= 1e-6 * (1 + fabs(db[i])));
    CHECK(wbad == 0, "%s: dw/db with dx=NULL differ in %d entries", what, wbad);
    free(dw2);
    free(db2);
    free(a);
    free(num);
    free(dx);
    free(dw);
    free(db);
    free(l.x);
    free(l.w);
    free(l.b);
    free(l.y);
    free(l.r);
}

/* ---- softmax cross-entropy ---------------------------------------------- */

typedef struct {
    int n, k;
    float *logits;
    uint8_t *labels;
} xent_ctx;

static double xent_objective(void *vctx)
{
    xent_ctx *x = vctx;
    int64_t correct = 0;
    return rcn_softmax_xent(x->n, x->k, x->logits, x->labels, NULL, &correct) / x->n;
}

static void test_xent(void)
{
    enum { NB = 5, K = 10 };
    float logits[NB * K], dl[NB * K];
    uint8_t labels[NB] = {3, 0, 9, 3, 7};
    xent_ctx xc = {NB, K, logits, labels};
    fill_uniform(logits, NB * K, -3, 3);
    logits[1 * K + 0] = 5.0f; /* sample 1: a sure hit */
    double ref = 0;
    int hits = 0;
    for (int i = 0; i < NB; i++) {
        double mx = -INFINITY, s = 0;
        int am = 0;
        for (int j = 0; j < K; j++)
            if (logits[i * K + j] > mx) {
                mx = logits[i * K + j];
                am = j;
            }
        for (int j = 0; j < K; j++)
            s += exp(logits[i * K + j] - mx);
        ref += log(s) + mx - logits[i * K + labels[i]];
        hits += am == labels[i];
    }
    int64_t correct = 5;
    fill_nan(dl, NB * K);
    double sum = rcn_softmax_xent(NB, K, logits, labels, dl, &correct);
    CHECK_CLOSE(sum, ref, 1e-5 * NB, "softmax_xent sum of per-sample losses");
    CHECK(correct == 5 + hits, "softmax_xent correct %lld, want 5 + %d (accumulates)",
          (long long)correct, hits);
    CHECK(hits >= 1, "test data has at least one hit");
    double a[NB * K], num[NB * K];
    to_double(dl, a, NB * K);
    fd_grad(xent_objective, &xc, logits, NB * K, 1e-2, num);
    check_grad("softmax_xent dlogits (mean loss)", a, num, NB * K, 1e-2, 1e-3);
    for (int i = 0; i < NB; i++) {
        double s = 0;
        for (int j = 0; j < K; j++)
            s += dl[i * K + j];
        CHECK_CLOSE(s, 0, 1e-6, "softmax_xent dlogits row sums to 0");
        CHECK(dl[i * K + labels[i]] < 0, "dlogits at the label must be negative, got %g", dl[i * K + labels[i]]);
    }
    /* NULL dlogits is allowed */
    correct = 0;
    double sum2 = rcn_softmax_xent(NB, K, logits, labels, NULL, &correct);
    CHECK_CLOSE(sum2, sum, 1e-9 * (1 + fabs(sum)), "softmax_xent without dlogits");

    /* hand values: all-zero logits -> log(K) per sample, gradient (1/K - onehot)/n */
    float z[2 * 4] = {0};
    uint8_t zl[2] = {1, 2};
    float dz[2 * 4];
    correct = 0;
    double zs = rcn_softmax_xent(2, 4, z, zl, dz, &correct);
    CHECK_CLOSE(zs, 2 * log(4.0), 1e-6, "xent of zero logits");
    CHECK_CLOSE(dz[0], 0.25 / 2, 1e-7, "zero-logit gradient off label");
    CHECK_CLOSE(dz[1], (0.25 - 1) / 2, 1e-7, "zero-logit gradient at label");
    CHECK_CLOSE(dz[4 + 2], (0.25 - 1) / 2, 1e-7, "zero-logit gradient at label, sample 2");

    /* large logits: stable (log-sum-exp), no overflow */
    float big[2 * 3] = {1000, 0, -1000, 1000, 0, -1000};
    uint8_t bl[2] = {0, 1};
    float dbig[6];
    correct = 0;
    double bs = rcn_softmax_xent(2, 3, big, bl, dbig, &correct);
    CHECK(isfinite(bs), "xent of logits +-1000 must be finite, got %g", bs);
    CHECK_CLOSE(bs, 1000.0, 1e-3, "xent of logits +-1000 (0 + 1000)");
    CHECK(correct == 1, "xent correct with big logits %lld", (long long)correct);
    CHECK_CLOSE(dbig[0], 0, 1e-6, "big-logit gradient, sure hit");
    CHECK_CLOSE(dbig[3], 0.5, 1e-6, "big-logit gradient, sure miss (1-0)/2");
    CHECK_CLOSE(dbig[4], -0.5, 1e-6, "big-logit gradient, label (0-1)/2");

    /* non-finite logits -> non-finite loss, no crash */
    float bad[3] = {0.5f, NAN, 0.1f};
    uint8_t b0 = 0;
    float dbad[3];
    correct = 0;
    CHECK(!isfinite(rcn_softmax_xent(1, 3, bad, &b0, dbad, &correct)), "NaN logit -> loss");
    bad[1] = INFINITY;
    CHECK(!isfinite(rcn_softmax_xent(1, 3, bad, &b0, dbad, &correct)), "+inf logit -> loss");
    bad[1] = -INFINITY;
    CHECK(!isfinite(rcn_softmax_xent(1, 3, bad, &b0, NULL, &correct)),
          "-inf logit -> loss must be non-finite (contract: any non-finite logit)");
}

/* ---- self-test of the checker --------------------------------------------- */

static void test_checker_catches_bugs(void)
{
    /* a conv with cin == cout so that a transposed weight is a valid shape */
    conv_ctx c;
    rcn_conv_shape_init(&c.s, 3, 3, 3, 1, 1, 6, 5);
    c.s.ho = 6;
    c.s.wo = 5;
    c.n = 2;
    size_t xlen = 3 * 2 * 6 * 5, wlen = 3 * 3 * 9;
    c.ylen = 3 * 2 * 6 * 5;
    c.x = falloc(xlen);
    c.w = falloc(wlen);
    c.y = falloc(c.ylen);
    c.r = falloc(c.ylen);
    c.scratch = falloc(rcn_conv_scratch_floats(&c.s, 2) + 1);
    fill_uniform(c.x, xlen, -1, 1);
    fill_uniform(c.w, wlen, -1, 1);
    fill_uniform(c.r, c.ylen, -1, 1);
    float *dx = falloc(xlen), *dw = falloc(wlen), *wt = falloc(wlen);
    rcn_conv_backward(&c.s, c.n, c.x, c.w, c.r, dx, dw, c.scratch, 0);
    double *a = dalloc(xlen), *num = dalloc(xlen), *m = dalloc(xlen);
    to_double(dx, a, xlen);
    fd_grad(conv_objective, &c, c.x, xlen, 0.25, num);
    CHECK(grad_mismatches("ok", a, num, xlen, 1e-3, 1e-4, 1) == 0,
          "self-test: the correct conv gradient passes");

    double scale = 0;
    size_t imax = 0;
    for (size_t i = 0; i < xlen; i++)
        if (fabs(num[i]) > scale) {
            scale = fabs(num[i]);
            imax = i;
        }
    /* wrong sign */
    for (size_t i = 0; i < xlen; i++)
        m[i] = -a[i];
    CHECK(grad_mismatches("sign", m, num, xlen, 1e-3, 1e-4, 1) > 0, "self-test: sign flip");
    /* wrong sign of one entry */
    memcpy(m, a, xlen * sizeof(double));
    m[imax] = -m[imax];
    CHECK(grad_mismatches("one sign", m, num, xlen, 1e-3, 1e-4, 1) > 0,
          "self-test: one flipped entry");
    /* one entry off by 2% of the largest gradient (a missing small term) */
    memcpy(m, a, xlen * sizeof(double));
    m[xlen / 3] += 0.02 * scale;
    CHECK(grad_mismatches("one entry", m, num, xlen, 1e-3, 1e-4, 1) > 0,
          "self-test: one entry off by 2%% of scale");
    /* off-by-one column shift (a padding bug) */
    for (size_t i = 0; i < xlen; i++)
        m[i] = (i % 5 == 0) ? 0 : a[i - 1];
    CHECK(grad_mismatches("shift", m, num, xlen, 1e-3, 1e-4, 1) > 0,
          "self-test: one-column shift");
    /* transposed weight (cout <-> cin) used in the backward */
    for (int o = 0; o < 3; o++)
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 9; k++)
                wt[(o * 3 + i) * 9 + k] = c.w[(i * 3 + o) * 9 + k];
    rcn_conv_backward(&c.s, c.n, c.x, wt, c.r, dx, dw, c.scratch, 0);
    to_double(dx, m, xlen);
    CHECK(grad_mismatches("transposed", m, num, xlen, 1e-3, 1e-4, 1) > 0,
          "self-test: transposed weight");
    /* the BN missing-term self-test runs inside test_bn */
    free(a);
    free(num);
    free(m);
    free(dx);
    free(dw);
    free(wt);
    free(c.x);
    free(c.w);
    free(c.y);
    free(c.r);
    free(c.scratch);
}

int main(void)
{
    rcn_rng_seed(&g_rng, 2024, RCN_STREAM_TEST, 0, 0);
    test_conv();
    test_bn();
    CHECK(selftest_bn_done, "BN self-test ran");
    test_relu();
    test_pool();
    test_gap();
    test_dropout();
    test_linear_case(3, 5, 4);
    test_linear_case(1, 7, 10);
    test_linear_case(4, 64, 10);
    test_xent();
    test_checker_catches_bugs();
    return check_exit("test_layers");
}
