/* test_conv_ops.c - the fused layers equal bit for bit the layers run one
 * after another, on the AVX-512, AVX2 and portable paths, on the network's
 * shapes and edge shapes, writing nothing outside their outputs:
 *   rcn_conv_forward_ops (a convolution finished by an eval-mode BatchNorm
 *   affine, a residual and a ReLU, with and without prepared weights) =
 *   rcn_conv_forward, rcn_bn_forward_eval, rcn_add_relu_forward;
 *   rcn_conv_backward_res = rcn_conv_backward, then dx += res;
 *   rcn_bn_forward_train_res = rcn_bn_forward_train, rcn_add_relu_forward. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rcn/nn.h"
#include "rcn/rng.h"

#include "../../src/nn/simd.h"

#define CANARY 1234.5f
#define NCAN 32

static rcn_rng rng;

static float *filled(size_t n, float lo, float hi)
{
    float *p = malloc((n + NCAN) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        p[i] = lo + (hi - lo) * rcn_rng_uniform(&rng);
    for (size_t i = n; i < n + NCAN; i++)
        p[i] = CANARY;
    return p;
}

typedef struct {
    int cin, cout, k, s, p, h, w, n;
} shape;

/* One shape, one path, one combination of ops. */
static void run(const shape *c, const char *path, int use_scale, int use_res, int relu,
                int use_prep)
{
    rcn_conv_shape s;
    rcn_conv_shape_init(&s, c->cin, c->cout, c->k, c->s, c->p, c->h, c->w);
    const int n = c->n;
    const size_t xl = (size_t)s.cin * n * s.h * s.w, yl = (size_t)s.cout * n * s.ho * s.wo;
    const size_t m = (size_t)n * s.ho * s.wo;
    float *x = filled(xl, -1, 1), *w = filled((size_t)s.cout * s.cin * s.k * s.k, -0.5f, 0.5f);
    float *gamma = filled(s.cout, 0.5f, 1.5f), *beta = filled(s.cout, -0.5f, 0.5f);
    float *rmean = filled(s.cout, -0.2f, 0.2f), *rvar = filled(s.cout, 0.5f, 2.0f);
    float *res = filled(yl, -1, 1);
    size_t sl = rcn_conv_scratch_floats(&s, n), pl = rcn_conv_prep_floats(&s);
    float *scr = filled(sl, 0, 1), *prep = filled(pl, 0, 1);
    float *ref = filled(yl, 0, 1), *got = filled(yl, 0, 1);
    float *scale = filled(s.cout, 0, 1), *shift = filled(s.cout, 0, 1);

    rcn_conv_forward(&s, n, x, w, ref, scr);
    if (use_scale)
        rcn_bn_forward_eval(s.cout, m, ref, gamma, beta, rmean, rvar, ref, relu && !use_res);
    if (use_res)
        rcn_add_relu_forward(yl, ref, res, ref);
    else if (relu && !use_scale)
        rcn_relu_forward(yl, ref, ref);
    assert(!use_res || relu); /* the residual join always ends in its ReLU */

    rcn_bn_eval_coeffs(s.cout, gamma, beta, rmean, rvar, scale, shift);
    if (use_prep && pl)
        rcn_conv_prepare(&s, w, prep);
    rcn_conv_ops ops = {use_prep && pl ? prep : NULL, use_scale ? scale : NULL,
                        use_scale ? shift : NULL, use_res ? res : NULL, relu};
    rcn_conv_forward_ops(&s, n, x, w, got, scr, &ops);

    char what[200];
    snprintf(what, sizeof what, "%s %d->%d k%d s%d %dx%d n=%d scale=%d res=%d relu=%d prep=%d",
             path, c->cin, c->cout, c->k, c->s, c->h, c->w, n, use_scale, use_res, relu,
             use_prep && pl);
    CHECK(!memcmp(ref, got, yl * sizeof(float)), "%s: differs from the layers one by one",
          what);
    int canary = 1;
    for (size_t i = yl; i < yl + NCAN; i++)
        canary &= got[i] == CANARY;
    for (size_t i = pl; i < pl + NCAN; i++)
        canary &= prep[i] == CANARY;
    CHECK(canary, "%s: wrote past the output or the prepared weights", what);
    float *all[] = {x, w, gamma, beta, rmean, rvar, res, scr, prep, ref, got, scale, shift};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        free(all[i]);
}

/* rcn_conv_backward_res against the backward and the sum. */
static void run_backward_res(const shape *c, const char *path)
{
    rcn_conv_shape s;
    rcn_conv_shape_init(&s, c->cin, c->cout, c->k, c->s, c->p, c->h, c->w);
    const int n = c->n;
    const size_t xl = (size_t)s.cin * n * s.h * s.w, yl = (size_t)s.cout * n * s.ho * s.wo;
    const size_t wl = (size_t)s.cout * s.cin * s.k * s.k;
    float *x = filled(xl, -1, 1), *w = filled(wl, -0.5f, 0.5f), *dy = filled(yl, -1, 1);
    float *res = filled(xl, -1, 1), *scr = filled(rcn_conv_scratch_floats(&s, n), 0, 1);
    float *dx0 = filled(xl, 0, 1), *dw0 = filled(wl, 0, 1);
    float *dx1 = filled(xl, 0, 1), *dw1 = filled(wl, 0, 1);
    rcn_conv_backward(&s, n, x, w, dy, dx0, dw0, scr, 0);
    for (size_t i = 0; i < xl; i++)
        dx0[i] += res[i];
    rcn_conv_backward_res(&s, n, x, w, dy, dx1, dw1, scr, res);
    char what[160];
    snprintf(what, sizeof what, "%s backward_res %d->%d k%d s%d %dx%d n=%d", path, c->cin,
             c->cout, c->k, c->s, c->h, c->w, n);
    CHECK(!memcmp(dx0, dx1, xl * sizeof(float)), "%s: dx differs", what);
    CHECK(!memcmp(dw0, dw1, wl * sizeof(float)), "%s: dw differs", what);
    int canary = 1;
    for (size_t i = xl; i < xl + NCAN; i++)
        canary &= dx1[i] == CANARY;
    CHECK(canary, "%s: wrote past dx", what);
    float *all[] = {x, w, dy, res, scr, dx0, dw0, dx1, dw1};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        free(all[i]);
}

/* rcn_bn_forward_train_res against the BatchNorm and the join. */
static void run_bn_res(int c, size_t m, const char *path)
{
    float *x = filled(c * m, -2, 3), *res = filled(c * m, -1, 1);
    float *gamma = filled(c, 0.5f, 1.5f), *beta = filled(c, -0.5f, 0.5f);
    float *st[2][4], *y[2];
    for (int k = 0; k < 2; k++) {
        for (int j = 0; j < 4; j++)
            st[k][j] = filled(c, 0.5f, 1.0f);
        y[k] = filled(c * m, 0, 1);
    }
    for (int j = 0; j < 4; j++) /* the same running statistics to update */
        memcpy(st[1][j], st[0][j], c * sizeof(float));
    rcn_bn_forward_train(c, m, x, gamma, beta, y[0], st[0][0], st[0][1], st[0][2], st[0][3], 0);
    rcn_add_relu_forward(c * m, y[0], res, y[0]);
    rcn_bn_forward_train_res(c, m, x, gamma, beta, y[1], st[1][0], st[1][1], st[1][2],
                             st[1][3], res);
    CHECK(!memcmp(y[0], y[1], c * m * sizeof(float)), "%s bn_res c=%d m=%zu: y differs", path,
          c, m);
    for (int j = 0; j < 4; j++)
        CHECK(!memcmp(st[0][j], st[1][j], c * sizeof(float)),
              "%s bn_res c=%d m=%zu: statistics %d differ", path, c, m, j);
    CHECK(y[1][c * m] == CANARY, "%s bn_res: wrote past y", path);
    free(x), free(res), free(gamma), free(beta);
    for (int k = 0; k < 2; k++) {
        for (int j = 0; j < 4; j++)
            free(st[k][j]);
        free(y[k]);
    }
}

int main(void)
{
    rcn_rng_seed(&rng, 11, RCN_STREAM_TEST, 2, 0);
    static const shape cases[] = {
        {1, 16, 3, 1, 1, 28, 28, 3},   /* stem */
        {16, 16, 3, 1, 1, 28, 28, 3},  /* Winograd */
        {16, 32, 3, 2, 1, 28, 28, 2},  /* im2col */
        {16, 32, 1, 2, 0, 28, 28, 3},  /* projection shortcut */
        {64, 64, 3, 1, 1, 7, 7, 9},    /* several samples per chunk */
        {64, 64, 3, 1, 1, 1, 1, 5},    /* centre tap only */
        {8, 8, 1, 1, 0, 5, 5, 3},      /* pointwise */
        {4, 5, 3, 1, 1, 31, 29, 2},    /* rows wider than the transforms take */
        {6, 4, 3, 1, 1, 5, 3, 3},
    };
    static const int combos[][3] = {{1, 0, 1}, {1, 0, 0}, {1, 1, 1}, {0, 1, 1}, {0, 0, 1}};
    static const char *paths[] = {"avx512", "avx2", "portable"};
    for (int pi = 0; pi < 3; pi++) {
        if (pi == 0 && !rcn_simd_avx512())
            continue;
        rcn_simd_set_avx512(pi == 0);
        rcn_simd_set_avx2(pi <= 1);
        for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++)
            for (size_t k = 0; k < sizeof combos / sizeof *combos; k++)
                for (int prep = 0; prep < 2; prep++)
                    run(&cases[ci], paths[pi], combos[k][0], combos[k][1], combos[k][2], prep);
        for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++)
            if (cases[ci].cin == cases[ci].cout && cases[ci].s == 1)
                run_backward_res(&cases[ci], paths[pi]);
        static const size_t ms[] = {1, 7, 49 * 3, 784 * 2 + 5};
        for (size_t k = 0; k < sizeof ms / sizeof *ms; k++)
            run_bn_res(3, ms[k], paths[pi]);
    }
    return check_exit("test_conv_ops");
}
