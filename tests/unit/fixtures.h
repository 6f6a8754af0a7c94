/* fixtures.h - what several of rcn's C unit tests build alike: a scratch
 * directory and files in it, a network architecture from a JSON spec, a
 * network made from it and initialised, and the reference convolution. A failed arch or net is a CHECK
 * failure (check.h); a scratch file that cannot be written ends the test
 * (exit 2): the machine's fault, not rcn's. */
#ifndef RCN_FIXTURES_H
#define RCN_FIXTURES_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "rcn/net.h"
#include "rcn/nn.h"

/* The test's scratch directory, once fixture_tmpdir_make made it. */
static inline char *fixture_tmpdir(void)
{
    static char dir[256];
    return dir;
}

/* Makes /tmp/rcn-test-<name>.XXXXXX, the scratch directory. Returns 0, or
 * -1 after saying why on stderr. */
static inline int fixture_tmpdir_make(const char *name)
{
    snprintf(fixture_tmpdir(), 256, "/tmp/rcn-test-%s.XXXXXX", name);
    if (!mkdtemp(fixture_tmpdir())) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

/* Removes the scratch directory and all in it (a failure is only said). */
static inline void fixture_tmpdir_remove(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fixture_tmpdir());
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", fixture_tmpdir());
}

/* <scratch directory>/<name>, in one of 8 buffers used in turn: valid
 * until the eighth call after. */
static inline const char *fixture_path(const char *name)
{
    static char bufs[8][512];
    static int k = 0;
    char *b = bufs[k++ % 8];
    snprintf(b, 512, "%s/%s", fixture_tmpdir(), name);
    return b;
}

/* Writes data[0..len) to path (truncating). */
static inline void fixture_put_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

/* A small residual net for training tests: a 4-channel stem with maxpool,
 * two stages of one block, dropout 0.5 so that the dropout streams are
 * exercised too. */
#define FIXTURE_SMALL_SPEC                                                         \
    "{\"stem\": {\"kernel\": 3, \"stride\": 1, \"channels\": 4, \"maxpool\": true}," \
    " \"stages\": [{\"channels\": 4, \"blocks\": 1}, {\"channels\": 8, \"blocks\": 1}]," \
    " \"dropout\": 0.5}"

/* Seeds r with (seed, RCN_STREAM_TEST) and fills images[0..n) with
 * uniform random bytes from it; r goes on from there. */
static inline void fixture_noise(rcn_rng *r, uint64_t seed, uint8_t *images, size_t n)
{
    rcn_rng_seed(r, seed, RCN_STREAM_TEST, 0, 0);
    for (size_t i = 0; i < n; i++)
        images[i] = (uint8_t)rcn_rng_below(r, 256);
}

/* Parses spec (a model object, as in a job file) into *arch. Returns 0, or
 * -1 after a failed CHECK. */
static inline int fixture_arch(const char *spec, rcn_arch *arch)
{
    json_error_t jerr;
    json_t *j = json_loads(spec, 0, &jerr);
    rcn_error err = {{0}};
    int rc = j ? rcn_arch_from_json(j, "test: model", arch, &err) : -1;
    json_decref(j);
    CHECK(rc == 0, "arch: %s", j ? err.msg : jerr.text);
    return rc;
}

/* A net of arch for batches up to max_batch, initialised with (seed,
 * stream_a); NULL after a failed CHECK. */
static inline rcn_net *fixture_net(const rcn_arch *arch, int max_batch, uint64_t seed,
                                   uint64_t stream_a)
{
    rcn_error err = {{0}};
    rcn_net *n = rcn_net_create(arch, max_batch, &err);
    CHECK(n != NULL, "create: %s", err.msg);
    if (n)
        rcn_net_init(n, seed, stream_a);
    return n;
}

/* The reference convolution, 7 direct loops in double over CNHW
 * activations and (cout, cin, k, k) weights: with y (cout x n x ho x wo),
 * y = conv(x, w); with dy, the gradients dx and dw of sum(dy * y), which
 * the caller zeroes. */
static inline void fixture_conv_loops(const rcn_conv_shape *s, int n, const float *x,
                                      const float *w, double *y, const float *dy, double *dx,
                                      double *dw)
{
    for (int co = 0; co < s->cout; co++)
        for (int b = 0; b < n; b++)
            for (int oh = 0; oh < s->ho; oh++)
                for (int ow = 0; ow < s->wo; ow++) {
                    size_t yi = (((size_t)co * n + b) * s->ho + oh) * s->wo + ow;
                    double acc = 0, g = dy ? dy[yi] : 0;
                    for (int ci = 0; ci < s->cin; ci++)
                        for (int kh = 0; kh < s->k; kh++)
                            for (int kw = 0; kw < s->k; kw++) {
                                int ih = oh * s->stride - s->pad + kh;
                                int iw = ow * s->stride - s->pad + kw;
                                if (ih < 0 || ih >= s->h || iw < 0 || iw >= s->w)
                                    continue;
                                size_t xi = (((size_t)ci * n + b) * s->h + ih) * s->w + iw;
                                size_t wi = (((size_t)co * s->cin + ci) * s->k + kh) * s->k + kw;
                                acc += (double)x[xi] * (double)w[wi];
                                if (dy) {
                                    dw[wi] += g * x[xi];
                                    dx[xi] += g * w[wi];
                                }
                            }
                    if (y)
                        y[yi] = acc;
                }
}

/* y = the reference convolution of x and w. */
static inline void fixture_conv_naive(const rcn_conv_shape *s, int n, const float *x,
                                      const float *w, double *y)
{
    fixture_conv_loops(s, n, x, w, y, NULL, NULL, NULL);
}

#endif
