/* test_arch_walk.c - rcn_arch_walk, the one description of a network's
 * layers, against what is built from it and what is printed from it:
 *  - the presets' parameter counts (MODEL.md: rcn8 77,754, rcn14 174,970,
 *    resnet18 11,175,370) and forward FLOPs, summed over the walk, equal
 *    rcn_arch_param_count / rcn_arch_forward_flops and the built network's
 *    rcn_net_num_params;
 *  - every walked layer with tensors names them in the built network's
 *    tensor table, in table order, with the layer's shapes, and nothing
 *    else is in the table;
 *  - the convolutions, in the per-layer format `rcn bench --verbose` prints,
 *    are the presets' known lists; BatchNorms follow their conv with its
 *    output shape and the ReLU only after the stem's and each conv1;
 *  - a custom spec with the stem's max pool, and a visitor that stops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rcn/net.h"

#define MAX_LAYERS 1024

typedef struct {
    int n;
    rcn_layer l[MAX_LAYERS];
} layers;

static int collect(const rcn_layer *l, void *ud)
{
    layers *ls = ud;
    if (ls->n < MAX_LAYERS)
        ls->l[ls->n++] = *l;
    return 0;
}

/* `rcn bench --verbose`'s description of each convolution, one a line. */
static void conv_lines(const layers *ls, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < ls->n && used < cap; i++) {
        const rcn_layer *l = &ls->l[i];
        if (l->kind == RCN_LAYER_CONV)
            used += (size_t)snprintf(out + used, cap - used, "    %3d->%-3d k%d s%d %2dx%-2d\n",
                                     l->cin, l->cout, l->k, l->stride, l->h, l->h);
    }
}

/* The tensor <prefix>.<suffix> is at position *pos of the table, with
 * shape (d0, .., d[ndim-1]); advances *pos. */
static void check_tensor(const rcn_net *net, int *pos, const char *prefix, const char *suffix,
                         int ndim, int d0, int d1, int d2, int d3)
{
    char name[96];
    snprintf(name, sizeof name, "%s.%s", prefix, suffix);
    int k = rcn_net_find_tensor(net, name);
    CHECK(k == *pos, "%s: at %d in the tensor table, walked at %d", name, k, *pos);
    if (k >= 0) {
        const rcn_tensor_info *t = rcn_net_tensor(net, k);
        int d[4] = {d0, d1, d2, d3}, same = t->ndim == ndim;
        for (int i = 0; i < ndim && same; i++)
            same = t->shape[i] == d[i];
        CHECK(same, "%s: the table's shape differs from the walk's", name);
    }
    (*pos)++;
}

/* The walk against the tensor table of a net built from the same arch. */
static void check_against_net(const rcn_arch *a, const layers *ls)
{
    rcn_error err;
    rcn_net *net = rcn_net_create(a, 1, &err);
    CHECK(net != NULL, "%s: create: %s", a->name, err.msg);
    if (!net)
        return;
    int pos = 0;
    int64_t params = 0;
    for (int i = 0; i < ls->n; i++) {
        const rcn_layer *l = &ls->l[i];
        params += l->params;
        if (l->kind == RCN_LAYER_CONV) {
            check_tensor(net, &pos, l->name, "weight", 4, l->cout, l->cin, l->k, l->k);
        } else if (l->kind == RCN_LAYER_BN) {
            static const char *const sfx[4] = {"weight", "bias", "running_mean", "running_var"};
            for (int j = 0; j < 4; j++)
                check_tensor(net, &pos, l->name, sfx[j], 1, l->cout, 0, 0, 0);
        } else if (l->kind == RCN_LAYER_FC) {
            check_tensor(net, &pos, l->name, "weight", 2, l->cout, l->cin, 0, 0);
            check_tensor(net, &pos, l->name, "bias", 1, l->cout, 0, 0, 0);
        } else {
            CHECK(l->name[0] == '\0' && l->params == 0, "%s: a pool with tensors", a->name);
        }
    }
    CHECK(pos == rcn_net_num_tensors(net), "%s: walked %d tensors, the net has %d", a->name,
          pos, rcn_net_num_tensors(net));
    CHECK(params == (int64_t)rcn_net_num_params(net),
          "%s: walked %lld parameters, the net has %zu", a->name, (long long)params,
          rcn_net_num_params(net));
    rcn_net_destroy(net);
}

/* Order and local consistency: BN after its conv, sides chaining, head. */
static void check_sequence(const rcn_arch *a, const layers *ls)
{
    CHECK(ls->n >= 4 && ls->l[0].kind == RCN_LAYER_CONV && ls->l[1].kind == RCN_LAYER_BN,
          "%s: the walk does not open with the stem's conv and BN", a->name);
    CHECK(ls->l[ls->n - 2].kind == RCN_LAYER_GAP && ls->l[ls->n - 1].kind == RCN_LAYER_FC,
          "%s: the walk does not end with GAP, FC", a->name);
    int blocks = 0;
    for (int i = 0; i < ls->n; i++) {
        const rcn_layer *l = &ls->l[i];
        if (l->kind == RCN_LAYER_BN) {
            const rcn_layer *c = &ls->l[i - 1];
            CHECK(c->kind == RCN_LAYER_CONV && c->part == l->part && c->cout == l->cout &&
                      c->ho == l->h && l->h == l->ho,
                  "%s: %s does not follow its conv's output", a->name, l->name);
            CHECK(l->relu == (l->part == RCN_PART_STEM || l->part == RCN_PART_CONV1),
                  "%s: %s: relu %d", a->name, l->name, l->relu);
        }
        if (l->kind == RCN_LAYER_CONV) {
            CHECK(l->pad == (l->k - 1) / 2 && l->needs_dx == (l->part != RCN_PART_STEM),
                  "%s: %s: pad %d needs_dx %d", a->name, l->name, l->pad, l->needs_dx);
            if (l->part == RCN_PART_CONV1)
                blocks++;
        }
    }
    int want = 0;
    for (int s = 0; s < a->n_stages; s++)
        want += a->stage_blocks[s];
    CHECK(blocks == want, "%s: walked %d blocks, want %d", a->name, blocks, want);
}

static void check_preset(const char *name, int64_t params, double flops, const char *convs)
{
    rcn_arch a;
    rcn_error err;
    CHECK(rcn_arch_preset(name, &a, &err) == 0, "%s: %s", name, err.msg);
    static layers ls;
    ls.n = 0;
    CHECK(rcn_arch_walk(&a, collect, &ls) == 0, "%s: walk failed", name);
    int64_t p = 0;
    double f = 0;
    for (int i = 0; i < ls.n; i++)
        p += ls.l[i].params, f += ls.l[i].flops;
    CHECK(p == params, "%s: walked %lld parameters, want %lld", name, (long long)p,
          (long long)params);
    CHECK(rcn_arch_param_count(&a) == params, "%s: rcn_arch_param_count %lld", name,
          (long long)rcn_arch_param_count(&a));
    CHECK(f == flops && rcn_arch_forward_flops(&a) == flops, "%s: FLOPs %.0f / %.0f, want %.0f",
          name, f, rcn_arch_forward_flops(&a), flops);
    static char got[16384];
    conv_lines(&ls, got, sizeof got);
    CHECK(!strcmp(got, convs), "%s: convolutions\n%s\nwant\n%s", name, got, convs);
    check_sequence(&a, &ls);
    check_against_net(&a, &ls);
}

static const char rcn8_convs[] =
    "      1->16  k3 s1 28x28\n"
    "     16->16  k3 s1 28x28\n"
    "     16->16  k3 s1 28x28\n"
    "     16->32  k3 s2 28x28\n"
    "     32->32  k3 s1 14x14\n"
    "     16->32  k1 s2 28x28\n"
    "     32->64  k3 s2 14x14\n"
    "     64->64  k3 s1  7x7 \n"
    "     32->64  k1 s2 14x14\n";

static const char rcn14_convs[] =
    "      1->16  k3 s1 28x28\n"
    "     16->16  k3 s1 28x28\n"
    "     16->16  k3 s1 28x28\n"
    "     16->16  k3 s1 28x28\n"
    "     16->16  k3 s1 28x28\n"
    "     16->32  k3 s2 28x28\n"
    "     32->32  k3 s1 14x14\n"
    "     16->32  k1 s2 28x28\n"
    "     32->32  k3 s1 14x14\n"
    "     32->32  k3 s1 14x14\n"
    "     32->64  k3 s2 14x14\n"
    "     64->64  k3 s1  7x7 \n"
    "     32->64  k1 s2 14x14\n"
    "     64->64  k3 s1  7x7 \n"
    "     64->64  k3 s1  7x7 \n";

static const char resnet18_convs[] =
    "      1->64  k7 s2 28x28\n"
    "     64->64  k3 s1  7x7 \n"
    "     64->64  k3 s1  7x7 \n"
    "     64->64  k3 s1  7x7 \n"
    "     64->64  k3 s1  7x7 \n"
    "     64->128 k3 s2  7x7 \n"
    "    128->128 k3 s1  4x4 \n"
    "     64->128 k1 s2  7x7 \n"
    "    128->128 k3 s1  4x4 \n"
    "    128->128 k3 s1  4x4 \n"
    "    128->256 k3 s2  4x4 \n"
    "    256->256 k3 s1  2x2 \n"
    "    128->256 k1 s2  4x4 \n"
    "    256->256 k3 s1  2x2 \n"
    "    256->256 k3 s1  2x2 \n"
    "    256->512 k3 s2  2x2 \n"
    "    512->512 k3 s1  1x1 \n"
    "    256->512 k1 s2  2x2 \n"
    "    512->512 k3 s1  1x1 \n"
    "    512->512 k3 s1  1x1 \n";

static int stop_at_third(const rcn_layer *l, void *ud)
{
    (void)l;
    return ++*(int *)ud == 3 ? 42 : 0;
}

/* A custom spec: stem 5x5/2 with the max pool, two identity blocks, then
 * two projecting ones (stride 2), one widening and one narrowing. */
static void check_custom(void)
{
    const char *spec = "{\"stem\": {\"kernel\": 5, \"stride\": 2, \"channels\": 8, "
                       "\"maxpool\": true}, \"stages\": [{\"channels\": 8, \"blocks\": 2}, "
                       "{\"channels\": 24, \"blocks\": 1}, {\"channels\": 12, \"blocks\": 1}]}";
    json_t *j = json_loads(spec, 0, NULL);
    rcn_arch a;
    rcn_error err;
    CHECK(j && rcn_arch_from_json(j, "spec", &a, &err) == 0, "custom: %s", err.msg);
    json_decref(j);
    static layers ls;
    ls.n = 0;
    rcn_arch_walk(&a, collect, &ls);
    const rcn_layer *pool = &ls.l[2];
    CHECK(pool->kind == RCN_LAYER_MAXPOOL && pool->part == RCN_PART_STEM && pool->h == 14 &&
              pool->ho == 7 && pool->cin == 8 && pool->k == 3 && pool->stride == 2,
          "custom: the stem's pool is %d %dx%d -> %d", pool->kind, pool->h, pool->h, pool->ho);
    CHECK(ls.l[3].h == 7 && ls.l[3].index == 0 && ls.l[3].stage == 0 && ls.l[3].block == 0,
          "custom: the first block reads %dx%d", ls.l[3].h, ls.l[3].h);
    CHECK(rcn_arch_param_count(&a) == 14210, "custom: %lld parameters",
          (long long)rcn_arch_param_count(&a));
    check_sequence(&a, &ls);
    check_against_net(&a, &ls);
    int seen = 0;
    CHECK(rcn_arch_walk(&a, stop_at_third, &seen) == 42 && seen == 3,
          "a visitor's nonzero return stops the walk (%d layers seen)", seen);
}

int main(void)
{
    check_preset("rcn8", 77754, 18691840, rcn8_convs);
    check_preset("rcn14", 174970, 40367872, rcn14_convs);
    check_preset("resnet18", 11175370, 66021888, resnet18_convs);
    check_custom();
    return check_exit("test_arch_walk");
}
