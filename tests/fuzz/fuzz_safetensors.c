/* fuzz_safetensors.c - libFuzzer target: the safetensors reader and the
 * model loader (safetensors.h).
 *
 * Input: the whole file. Properties beyond "no crash, no leak, no UB":
 *  - a file that reads has tensors whose numel is the product of their
 *    shape, and writing them back (rcn_safetensors_write) gives a file that
 *    reads again with the same names, shapes, values and metadata;
 *  - rcn_safetensors_load (an rcn model) either fails with a message naming
 *    the file or returns a net whose every tensor came from the file. */
#include <math.h>

#include "fuzz_common.h"
#include "rcn/netfile.h"
#include "rcn/safetensors.h"

static int same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

static void round_trip(const rcn_st_file *f)
{
    rcn_st_tensor *t = calloc((size_t)f->n + 1, sizeof *t);
    FUZZ_ASSERT(t != NULL, "calloc");
    for (int i = 0; i < f->n; i++) {
        t[i].name = f->t[i].name;
        t[i].ndim = f->t[i].ndim;
        memcpy(t[i].shape, f->t[i].shape, sizeof t[i].shape);
        t[i].data = f->t[i].data;
    }
    rcn_error err;
    int rc = rcn_safetensors_write("copy.safetensors", t, f->n, f->metadata, &err);
    free(t);
    FUZZ_ASSERT(rc == 0, "a file that reads cannot be written back: %s", err.msg);
    rcn_st_file g;
    FUZZ_ASSERT(rcn_safetensors_read("copy.safetensors", &g, &err) == 0,
                "rcn's own copy does not read: %s", err.msg);
    FUZZ_ASSERT(g.n == f->n, "%d tensors, copy has %d", f->n, g.n);
    for (int i = 0; i < f->n; i++) {
        int k = rcn_st_file_find(&g, f->t[i].name);
        FUZZ_ASSERT(k >= 0, "tensor '%s' lost", f->t[i].name);
        FUZZ_ASSERT(g.t[k].ndim == f->t[i].ndim && g.t[k].numel == f->t[i].numel &&
                        !memcmp(g.t[k].shape, f->t[i].shape,
                                sizeof(int64_t) * (size_t)f->t[i].ndim),
                    "tensor '%s' changed shape", f->t[i].name);
        for (size_t j = 0; j < f->t[i].numel; j++)
            FUZZ_ASSERT(same_bits(g.t[k].data[j], f->t[i].data[j]), "'%s'[%zu] changed",
                        f->t[i].name, j);
    }
    FUZZ_ASSERT((f->metadata == NULL) == (g.metadata == NULL) &&
                    (!f->metadata || json_equal(f->metadata, g.metadata)),
                "metadata changed");
    rcn_st_file_free(&g);
}

static void safetensors_one(const uint8_t *data, size_t size)
{
    fuzz_write("model.safetensors", data, size);
    rcn_error err;
    rcn_st_file f;
    if (rcn_safetensors_read("model.safetensors", &f, &err) == 0) {
        for (int i = 0; i < f.n; i++) {
            size_t numel = 1;
            for (int d = 0; d < f.t[i].ndim; d++)
                numel *= (size_t)f.t[i].shape[d];
            FUZZ_ASSERT(numel == f.t[i].numel, "'%s': numel %zu, shape product %zu",
                        f.t[i].name, f.t[i].numel, numel);
            FUZZ_ASSERT(4 * numel <= size, "'%s' larger than the file", f.t[i].name);
        }
        round_trip(&f);
        rcn_st_file_free(&f);
    } else {
        FUZZ_ASSERT(f.n == 0 && f.t == NULL && f.metadata == NULL, "failed read left data");
        FUZZ_ASSERT_NAMES(err, "model.safetensors");
    }

    json_t *meta = NULL;
    rcn_net *net = rcn_safetensors_load("model.safetensors", 2, &meta, &err);
    if (net) {
        FUZZ_ASSERT(json_is_object(meta), "loaded without metadata");
        /* every parameter was loaded from the file: run a forward pass on it */
        float *x = rcn_net_input(net);
        uint8_t *y = rcn_net_labels(net);
        for (int i = 0; i < 2 * 28 * 28; i++)
            x[i] = (float)(i % 7) * 0.25f;
        y[0] = 1, y[1] = 3;
        double loss = rcn_net_forward(net, 2, 0, NULL, NULL);
        (void)loss; /* any value, NaN included: a result, not UB */
        rcn_net_destroy(net);
        json_decref(meta);
    } else {
        FUZZ_ASSERT(meta == NULL, "metadata returned on failure");
        FUZZ_ASSERT_NAMES(err, "model.safetensors");
    }
}

FUZZ_TARGET("safetensors", NULL, safetensors_one)
