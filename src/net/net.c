/* net.c - a residual network as a fixed plan of layers over one arena of
 * buffers: creation (every buffer sized once for max_batch), the tensor
 * table (PyTorch state_dict names), init, forward, backward and SGD.
 *
 * Activations are CNHW (see nn.h). Per block, forward keeps what the
 * backward needs: a1 = conv1(x), r1 = relu(bn1(a1)), a2 = conv2(r1),
 * asc = conv_sc(x) (projection only), y = relu(bn2(a2) + shortcut(x)).
 * The backward runs with four gradient buffers of the largest activation's
 * size (two ping-pong between blocks, two temporaries), not one per layer. */
#include "rcn/net.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "rcn/nn.h"
#include "rcn/sysmem.h"

#define MAX_BLOCKS RCN_MAX_BLOCKS
#define MAX_TENSORS (16 + MAX_BLOCKS * 16)

typedef struct {
    rcn_conv_shape s;
    int w;      /* tensor index of the weight */
    float *prep; /* the weights prepared for the eval forward (NULL: none) */
} conv_layer;

typedef struct {
    int c;
    int gamma, beta, rmean, rvar; /* tensor indices */
    float *mean, *invstd;         /* batch statistics of the last train forward */
    float *scale, *shift;         /* the eval forward's affine */
} bn_layer;

typedef struct {
    conv_layer c1, c2, sc;
    bn_layer b1, b2, bsc;
    int has_sc;
    int cin, cout, h, ho; /* input / output side (square) */
    float *x;             /* input: previous block's y (not owned) */
    float *a1, *r1, *a2, *asc, *y;
} block;

struct rcn_net {
    rcn_arch arch;
    int max_batch;
    size_t bytes;

    int n_tensors;
    rcn_tensor_info tensors[MAX_TENSORS];
    size_t n_params, n_buffers;
    float *params, *grads, *mom, *bufs;

    /* stem */
    conv_layer stem_conv;
    bn_layer stem_bn;
    int stem_h, pool_h; /* after conv, after the optional max pool */
    int pool_k, pool_stride, pool_pad;
    float *input, *stem_a, *stem_r, *pool_y;
    int32_t *pool_arg;

    int n_blocks;
    block blocks[MAX_BLOCKS];

    /* head */
    int fc_w, fc_b, feat_c, feat_hw;
    float *pooled, *dropped, *logits, *dlogits, *dpooled;
    uint8_t *drop_mask;
    uint8_t *labels;

    /* backward and shared scratch */
    size_t max_act;
    float *g[4];
    float *tmp;     /* shortcut BN output in forward */
    float *scratch; /* convolution im2col tiles */
};

/* ---- building the tensor table ---------------------------------------- */

static int add_tensor(rcn_net *net, const char *name, int is_param, int ndim, int d0,
                      int d1, int d2, int d3)
{
    assert(net->n_tensors < MAX_TENSORS && ndim >= 1 && ndim <= 4);
    rcn_tensor_info *t = &net->tensors[net->n_tensors];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    int d[4] = {d0, d1, d2, d3};
    t->numel = 1;
    for (int i = 0; i < 4; i++) {
        t->shape[i] = i < ndim ? d[i] : 0;
        if (i < ndim)
            t->numel *= (size_t)d[i];
    }
    t->is_param = is_param;
    if (is_param) {
        t->offset = net->n_params;
        net->n_params += t->numel;
    } else {
        t->offset = net->n_buffers;
        net->n_buffers += t->numel;
    }
    return net->n_tensors++;
}

/* A walked CONV layer: its shape and weight tensor. */
static void add_conv(rcn_net *net, conv_layer *cv, const rcn_layer *l)
{
    char name[64];
    assert(l->kind == RCN_LAYER_CONV);
    rcn_conv_shape_init(&cv->s, l->cin, l->cout, l->k, l->stride, l->pad, l->h, l->h);
    assert(cv->s.ho == l->ho && cv->s.wo == l->ho);
    snprintf(name, sizeof name, "%s.weight", l->name);
    cv->w = add_tensor(net, name, 1, 4, l->cout, l->cin, l->k, l->k);
}

/* A walked BN layer: gamma, beta and running statistics. */
static void add_bn(rcn_net *net, bn_layer *bn, const rcn_layer *l)
{
    char name[64];
    const int c = l->cout;
    assert(l->kind == RCN_LAYER_BN && l->cin == c);
    bn->c = c;
    snprintf(name, sizeof name, "%s.weight", l->name);
    bn->gamma = add_tensor(net, name, 1, 1, c, 0, 0, 0);
    snprintf(name, sizeof name, "%s.bias", l->name);
    bn->beta = add_tensor(net, name, 1, 1, c, 0, 0, 0);
    snprintf(name, sizeof name, "%s.running_mean", l->name);
    bn->rmean = add_tensor(net, name, 0, 1, c, 0, 0, 0);
    snprintf(name, sizeof name, "%s.running_var", l->name);
    bn->rvar = add_tensor(net, name, 0, 1, c, 0, 0, 0);
}

/* ---- the plan: rcn_arch_walk's layers as the stem, blocks and head ------- */

static void plan_stem(rcn_net *net, const rcn_layer *l)
{
    switch (l->kind) {
    case RCN_LAYER_CONV:
        add_conv(net, &net->stem_conv, l);
        break;
    case RCN_LAYER_BN:
        add_bn(net, &net->stem_bn, l);
        assert(l->relu); /* the forward fuses it */
        net->stem_h = net->pool_h = l->h;
        break;
    case RCN_LAYER_MAXPOOL:
        assert(net->arch.stem_pool && l->h == net->stem_h && l->cin == net->stem_bn.c);
        net->pool_h = l->ho;
        net->pool_k = l->k, net->pool_stride = l->stride, net->pool_pad = l->pad;
        break;
    default:
        assert(!"a stem layer of an unknown kind");
    }
}

/* The walk's relu flags are the ones forward and backward fuse: after bn1
 * only (bn2 and the shortcut BN feed the sum, whose ReLU is separate). */
static void plan_block(rcn_net *net, const rcn_layer *l)
{
    if (l->part == RCN_PART_CONV1 && l->kind == RCN_LAYER_CONV) {
        assert(l->index == net->n_blocks && net->n_blocks < MAX_BLOCKS);
        block *b = &net->blocks[net->n_blocks++];
        b->cin = l->cin, b->cout = l->cout, b->h = l->h, b->ho = l->ho;
    }
    assert(l->index == net->n_blocks - 1);
    block *b = &net->blocks[l->index];
    assert(l->cout == b->cout && l->ho == b->ho);
    const int p = l->part;
    conv_layer *cv = p == RCN_PART_CONV1 ? &b->c1 : p == RCN_PART_CONV2 ? &b->c2 : &b->sc;
    bn_layer *bn = p == RCN_PART_CONV1 ? &b->b1 : p == RCN_PART_CONV2 ? &b->b2 : &b->bsc;
    if (l->kind == RCN_LAYER_CONV) {
        /* conv1 and the shortcut read the block's input, conv2 bn1's output */
        assert(l->part == RCN_PART_CONV2 ? l->cin == b->cout && l->h == b->ho
                                         : l->cin == b->cin && l->h == b->h);
        add_conv(net, cv, l);
    } else {
        assert(l->kind == RCN_LAYER_BN && l->relu == (l->part == RCN_PART_CONV1));
        add_bn(net, bn, l);
    }
    if (l->part == RCN_PART_SHORTCUT)
        b->has_sc = 1;
}

static void plan_head(rcn_net *net, const rcn_layer *l)
{
    if (l->kind == RCN_LAYER_GAP) {
        assert(net->n_blocks > 0 && l->cin == net->blocks[net->n_blocks - 1].cout &&
               l->h == net->blocks[net->n_blocks - 1].ho);
        net->feat_c = l->cin;
        net->feat_hw = l->h * l->h;
        return;
    }
    assert(l->kind == RCN_LAYER_FC && l->cin == net->feat_c && l->cout == RCN_CLASSES);
    char name[64];
    snprintf(name, sizeof name, "%s.weight", l->name);
    net->fc_w = add_tensor(net, name, 1, 2, l->cout, l->cin, 0, 0);
    snprintf(name, sizeof name, "%s.bias", l->name);
    net->fc_b = add_tensor(net, name, 1, 1, l->cout, 0, 0, 0);
}

/* rcn_arch_walk visitor: adds each layer to the plan of the net `ud`. */
static int plan_layer(const rcn_layer *l, void *ud)
{
    rcn_net *net = ud;
    if (l->part == RCN_PART_STEM)
        plan_stem(net, l);
    else if (l->part == RCN_PART_HEAD)
        plan_head(net, l);
    else
        plan_block(net, l);
    return 0;
}

/* Each block reads the previous block's output (the first, the stem's). */
static void check_plan(const rcn_net *net)
{
    int c = net->arch.stem_c, h = net->pool_h;
    for (int i = 0; i < net->n_blocks; i++) {
        const block *b = &net->blocks[i];
        assert(b->cin == c && b->h == h);
        assert(b->has_sc == (b->c1.s.stride != 1 || b->cin != b->cout));
        c = b->cout, h = b->ho;
    }
    assert(net->feat_c == c && net->feat_hw == h * h);
    assert((int64_t)net->n_params == rcn_arch_param_count(&net->arch));
    (void)c, (void)h;
}

/* ---- the arena ---------------------------------------------------------- */

typedef struct {
    char *base;
    size_t used;
} arena;

/* First pass (base == NULL) only counts; second pass hands out 64-byte
 * aligned slices. */
static void *take(arena *a, size_t bytes)
{
    size_t off = (a->used + 63) & ~(size_t)63;
    a->used = off + bytes;
    return a->base ? a->base + off : NULL;
}

/* A BN layer's per-channel vectors. */
static void take_bn(arena *a, bn_layer *bn)
{
    const size_t bytes = bn->c * sizeof(float);
    bn->mean = take(a, bytes);
    bn->invstd = take(a, bytes);
    bn->scale = take(a, bytes);
    bn->shift = take(a, bytes);
}

/* A convolution's prepared weights, if its forward has such a form. */
static void take_prep(arena *a, conv_layer *cv)
{
    size_t f = rcn_conv_prep_floats(&cv->s);
    cv->prep = f ? take(a, f * sizeof(float)) : NULL;
}

static void layout(rcn_net *net, arena *a)
{
    const int N = net->max_batch;
    const size_t F = sizeof(float);
    net->params = take(a, net->n_params * F);
    net->grads = take(a, net->n_params * F);
    net->mom = take(a, net->n_params * F);
    net->bufs = take(a, net->n_buffers * F);
    net->input = take(a, (size_t)N * RCN_IMG_H * RCN_IMG_W * F);
    net->labels = take(a, (size_t)N);
    size_t stem_len = (size_t)net->arch.stem_c * N * net->stem_h * net->stem_h;
    net->stem_a = take(a, stem_len * F);
    net->stem_r = take(a, stem_len * F);
    take_bn(a, &net->stem_bn);
    take_prep(a, &net->stem_conv);
    if (net->arch.stem_pool) {
        size_t pl = (size_t)net->arch.stem_c * N * net->pool_h * net->pool_h;
        net->pool_y = take(a, pl * F);
        net->pool_arg = take(a, pl * sizeof(int32_t));
    } else {
        net->pool_y = net->stem_r;
        net->pool_arg = NULL;
    }
    size_t max_act = stem_len, scratch = rcn_conv_scratch_floats(&net->stem_conv.s, N);
    float *x = net->pool_y;
    for (int i = 0; i < net->n_blocks; i++) {
        block *b = &net->blocks[i];
        size_t len = (size_t)b->cout * N * b->ho * b->ho;
        b->x = x;
        b->a1 = take(a, len * F);
        b->r1 = take(a, len * F);
        b->a2 = take(a, len * F);
        b->asc = b->has_sc ? take(a, len * F) : NULL;
        b->y = take(a, len * F);
        bn_layer *bns[3] = {&b->b1, &b->b2, &b->bsc};
        conv_layer *cvs[3] = {&b->c1, &b->c2, &b->sc};
        for (int j = 0; j < (b->has_sc ? 3 : 2); j++) {
            take_bn(a, bns[j]);
            take_prep(a, cvs[j]);
        }
        size_t in_len = (size_t)b->cin * N * b->h * b->h;
        if (len > max_act)
            max_act = len;
        if (in_len > max_act)
            max_act = in_len;
        conv_layer *cs[3] = {&b->c1, &b->c2, &b->sc};
        for (int j = 0; j < (b->has_sc ? 3 : 2); j++) {
            size_t s = rcn_conv_scratch_floats(&cs[j]->s, N);
            if (s > scratch)
                scratch = s;
        }
        x = b->y;
    }
    net->max_act = max_act;
    for (int i = 0; i < 4; i++)
        net->g[i] = take(a, max_act * F);
    net->tmp = take(a, max_act * F);
    net->scratch = take(a, (scratch ? scratch : 1) * F);
    size_t fc = (size_t)N * net->feat_c;
    net->pooled = take(a, fc * F);
    net->dropped = take(a, fc * F);
    net->dpooled = take(a, fc * F);
    net->drop_mask = take(a, fc);
    net->logits = take(a, (size_t)N * RCN_CLASSES * F);
    net->dlogits = take(a, (size_t)N * RCN_CLASSES * F);
}

/* The arena: 2 MiB aligned and, where the kernel offers transparent huge
 * pages on request, backed by them: a training step streams through tens
 * of MiB of activations, and 4 KiB pages cost a TLB miss every 4 KiB. */
#define HUGE_PAGE ((size_t)2 << 20)
static void *arena_alloc(size_t bytes)
{
    if (bytes < HUGE_PAGE)
        return aligned_alloc(64, bytes);
    size_t rounded = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    void *p = aligned_alloc(HUGE_PAGE, rounded);
    if (p)
        (void)madvise(p, rounded, MADV_HUGEPAGE); /* advice only: may be refused */
    return p;
}

/* Builds the layer plan (rcn_arch_walk's layers) and tensor table for
 * max_batch and sizes the arena (the counting layout pass): *arena_bytes
 * gets its size. Allocates only the struct itself. */
static rcn_net *plan_net(const rcn_arch *arch, int max_batch, size_t *arena_bytes,
                         rcn_error *err)
{
    if (rcn_arch_validate(arch, err))
        return NULL;
    if (max_batch < 1 || max_batch > RCN_MAX_BATCH)
        return rcn_errorf(err, "batch size must be in 1..%d (got %d)", RCN_MAX_BATCH,
                          max_batch), NULL;
    rcn_net *net = calloc(1, sizeof *net);
    if (!net)
        return rcn_errorf(err, "out of memory creating the network"), NULL;
    net->arch = *arch;
    net->max_batch = max_batch;
    rcn_arch_walk(arch, plan_layer, net);
    check_plan(net);

    arena ar = {NULL, 0};
    layout(net, &ar);
    *arena_bytes = (ar.used + 63) & ~(size_t)63;
    return net;
}

int rcn_net_estimate_bytes(const rcn_arch *arch, int max_batch, size_t *bytes, rcn_error *err)
{
    size_t total;
    rcn_net *net = plan_net(arch, max_batch, &total, err);
    if (!net)
        return -1;
    free(net);
    *bytes = total + sizeof(rcn_net);
    return 0;
}

rcn_net *rcn_net_create(const rcn_arch *arch, int max_batch, rcn_error *err)
{
    size_t total;
    rcn_net *net = plan_net(arch, max_batch, &total, err);
    if (!net)
        return NULL;
    /* refuse what cannot fit rather than let the allocation (overcommitted)
     * succeed and the first touch of the pages summon the OOM killer */
    char limit[160];
    uint64_t avail = rcn_mem_available(limit, sizeof limit);
    if ((uint64_t)total + sizeof *net > avail) {
        free(net);
        char a[32], b[32];
        return rcn_errorf(err, "the network needs %s for batch %d, more than the %s of "
                          "memory available (%s)",
                          rcn_mem_str((uint64_t)total + sizeof(rcn_net), a, sizeof a), max_batch,
                          rcn_mem_str(avail, b, sizeof b), limit), NULL;
    }
    arena ar = {NULL, 0};
    ar.base = arena_alloc(total);
    if (!ar.base) {
        free(net);
        return rcn_errorf(err, "out of memory: the network needs %.1f MiB for batch %d",
                          total / 1048576.0, max_batch), NULL;
    }
    memset(ar.base, 0, total);
    ar.used = 0;
    layout(net, &ar);
    net->bytes = total + sizeof *net;
    return net;
}

void rcn_net_destroy(rcn_net *net)
{
    if (!net)
        return;
    free(net->params); /* the arena's base: params are its first slice */
    free(net);
}

/* ---- accessors ---------------------------------------------------------- */

const rcn_arch *rcn_net_arch(const rcn_net *net) { return &net->arch; }
int rcn_net_max_batch(const rcn_net *net) { return net->max_batch; }
size_t rcn_net_bytes(const rcn_net *net) { return net->bytes; }
size_t rcn_net_num_params(const rcn_net *net) { return net->n_params; }
float *rcn_net_params(rcn_net *net) { return net->params; }
float *rcn_net_grads(rcn_net *net) { return net->grads; }
float *rcn_net_momentum(rcn_net *net) { return net->mom; }
size_t rcn_net_num_buffers(const rcn_net *net) { return net->n_buffers; }
float *rcn_net_buffers(rcn_net *net) { return net->bufs; }
int rcn_net_num_tensors(const rcn_net *net) { return net->n_tensors; }

const rcn_tensor_info *rcn_net_tensor(const rcn_net *net, int i)
{
    assert(i >= 0 && i < net->n_tensors);
    return &net->tensors[i];
}

float *rcn_net_input(rcn_net *net) { return net->input; }
uint8_t *rcn_net_labels(rcn_net *net) { return net->labels; }
const float *rcn_net_logits(const rcn_net *net) { return net->logits; }

float *rcn_net_tensor_data(rcn_net *net, int i)
{
    const rcn_tensor_info *t = rcn_net_tensor(net, i);
    return (t->is_param ? net->params : net->bufs) + t->offset;
}

float *rcn_net_tensor_grad(rcn_net *net, int i)
{
    const rcn_tensor_info *t = rcn_net_tensor(net, i);
    return t->is_param ? net->grads + t->offset : NULL;
}

int rcn_net_find_tensor(const rcn_net *net, const char *name)
{
    for (int i = 0; i < net->n_tensors; i++)
        if (!strcmp(net->tensors[i].name, name))
            return i;
    return -1;
}

#define P(net, idx) ((net)->params + (net)->tensors[idx].offset)
#define G(net, idx) ((net)->grads + (net)->tensors[idx].offset)
#define B(net, idx) ((net)->bufs + (net)->tensors[idx].offset)

/* ---- init ------------------------------------------------------------- */

static void xavier(rcn_rng *r, float *w, size_t numel, double fan_in, double fan_out)
{
    float bound = (float)sqrt(6.0 / (fan_in + fan_out));
    for (size_t i = 0; i < numel; i++)
        w[i] = (2.0f * rcn_rng_uniform(r) - 1.0f) * bound;
}

void rcn_net_init(rcn_net *net, uint64_t seed, uint64_t stream_a)
{
    rcn_rng r;
    rcn_rng_seed(&r, seed, RCN_STREAM_INIT, stream_a, 0);
    /* Tensors in table order: weights drawn in state_dict order. */
    for (int i = 0; i < net->n_tensors; i++) {
        const rcn_tensor_info *t = &net->tensors[i];
        float *d = rcn_net_tensor_data(net, i);
        size_t len = strlen(t->name);
        int is_weight = t->ndim >= 2;
        if (is_weight) {
            double rf = t->ndim == 4 ? (double)t->shape[2] * t->shape[3] : 1.0;
            xavier(&r, d, t->numel, t->shape[1] * rf, t->shape[0] * rf);
        } else {
            float v = 0.0f;
            /* BN gamma ("<bn>.weight", 1-D) and running_var start at 1. */
            if ((len > 7 && !strcmp(t->name + len - 7, ".weight")) ||
                (len > 12 && !strcmp(t->name + len - 12, ".running_var")))
                v = 1.0f;
            for (size_t j = 0; j < t->numel; j++)
                d[j] = v;
        }
    }
    memset(net->mom, 0, net->n_params * sizeof(float));
}

/* ---- input -------------------------------------------------------------- */

void rcn_net_load_batch(rcn_net *net, const uint8_t *images, const uint8_t *labels,
                        const int32_t *idx, int n)
{
    const int px = RCN_IMG_H * RCN_IMG_W;
    const float scale = 1.0f / (255.0f * RCN_PIXEL_STD);
    const float shift = -RCN_PIXEL_MEAN / RCN_PIXEL_STD;
    assert(n >= 0 && n <= net->max_batch);
    for (int i = 0; i < n; i++) {
        const uint8_t *src = images + (size_t)idx[i] * px;
        float *dst = net->input + (size_t)i * px;
        for (int j = 0; j < px; j++)
            dst[j] = (float)src[j] * scale + shift;
        net->labels[i] = labels[idx[i]];
    }
}

/* ---- forward ------------------------------------------------------------ */

/* Train mode: batch statistics, running statistics updated. */
static void bn_fwd(rcn_net *net, bn_layer *bn, size_t m, const float *x, float *y, int relu)
{
    rcn_bn_forward_train(bn->c, m, x, P(net, bn->gamma), P(net, bn->beta), y, bn->mean,
                         bn->invstd, B(net, bn->rmean), B(net, bn->rvar), relu);
}

/* The stem's max pool, when the architecture has one (else pool_y is stem_r). */
static void stem_pool(rcn_net *net, int n)
{
    if (net->arch.stem_pool)
        rcn_maxpool_forward(net->arch.stem_c, n, net->stem_h, net->stem_h, net->pool_k,
                            net->pool_stride, net->pool_pad, net->stem_r, net->pool_y,
                            net->pool_arg);
}

static void bn_bwd(rcn_net *net, bn_layer *bn, size_t m, const float *x, const float *y,
                   const float *dy, float *dx, int relu)
{
    rcn_bn_backward(bn->c, m, x, y, dy, P(net, bn->gamma), bn->mean, bn->invstd, dx,
                    G(net, bn->gamma), G(net, bn->beta), relu);
}

/* ---- the eval forward: convolutions fused with BN, residual and ReLU ---- */

static void eval_prepare_conv(rcn_net *net, conv_layer *cv)
{
    if (cv->prep)
        rcn_conv_prepare(&cv->s, P(net, cv->w), cv->prep);
}

static void eval_prepare_bn(rcn_net *net, bn_layer *bn)
{
    rcn_bn_eval_coeffs(bn->c, P(net, bn->gamma), P(net, bn->beta), B(net, bn->rmean),
                       B(net, bn->rvar), bn->scale, bn->shift);
}

/* What every eval forward until the weights change shares: the prepared
 * weights and the BatchNorm affines. */
static void eval_prepare(rcn_net *net)
{
    eval_prepare_conv(net, &net->stem_conv);
    eval_prepare_bn(net, &net->stem_bn);
    for (int i = 0; i < net->n_blocks; i++) {
        block *b = &net->blocks[i];
        eval_prepare_conv(net, &b->c1), eval_prepare_bn(net, &b->b1);
        eval_prepare_conv(net, &b->c2), eval_prepare_bn(net, &b->b2);
        if (b->has_sc)
            eval_prepare_conv(net, &b->sc), eval_prepare_bn(net, &b->bsc);
    }
}

/* conv then bn (eval), then + res, then the ReLU if asked: one pass. */
static void conv_bn_eval(rcn_net *net, conv_layer *cv, bn_layer *bn, int n, const float *x,
                         float *y, const float *res, int relu)
{
    const rcn_conv_ops ops = {cv->prep, bn->scale, bn->shift, res, relu};
    rcn_conv_forward_ops(&cv->s, n, x, P(net, cv->w), y, net->scratch, &ops);
}

/* The eval-mode activations of samples [0, n) from `in` (eval_prepare done):
 * the features the head reads. Equal bit for bit to the layers one by one. */
static const float *forward_eval_body(rcn_net *net, int n, const float *in)
{
    conv_bn_eval(net, &net->stem_conv, &net->stem_bn, n, in, net->stem_r, NULL, 1);
    stem_pool(net, n);
    for (int i = 0; i < net->n_blocks; i++) {
        block *b = &net->blocks[i];
        const float *res = b->x;
        if (b->has_sc) {
            conv_bn_eval(net, &b->sc, &b->bsc, n, b->x, net->tmp, NULL, 0);
            res = net->tmp;
        }
        conv_bn_eval(net, &b->c1, &b->b1, n, b->x, b->r1, NULL, 1);
        conv_bn_eval(net, &b->c2, &b->b2, n, b->r1, b->y, res, 1);
    }
    return net->n_blocks ? net->blocks[net->n_blocks - 1].y : net->pool_y;
}

/* The train-mode activations of samples [0, n) from `in`, keeping what the
 * backward needs: the features the head reads. */
static const float *forward_train_body(rcn_net *net, int n, const float *in)
{
    size_t m = (size_t)n * net->stem_h * net->stem_h;
    rcn_conv_forward(&net->stem_conv.s, n, in, P(net, net->stem_conv.w), net->stem_a,
                     net->scratch);
    bn_fwd(net, &net->stem_bn, m, net->stem_a, net->stem_r, 1);
    stem_pool(net, n);
    for (int i = 0; i < net->n_blocks; i++) {
        block *b = &net->blocks[i];
        size_t mo = (size_t)n * b->ho * b->ho;
        rcn_conv_forward(&b->c1.s, n, b->x, P(net, b->c1.w), b->a1, net->scratch);
        bn_fwd(net, &b->b1, mo, b->a1, b->r1, 1);
        rcn_conv_forward(&b->c2.s, n, b->r1, P(net, b->c2.w), b->a2, net->scratch);
        const float *res = b->x;
        if (b->has_sc) {
            rcn_conv_forward(&b->sc.s, n, b->x, P(net, b->sc.w), b->asc, net->scratch);
            bn_fwd(net, &b->bsc, mo, b->asc, net->tmp, 0);
            res = net->tmp;
        }
        /* y = relu(bn2(a2) + shortcut) in one pass */
        bn_layer *b2 = &b->b2;
        rcn_bn_forward_train_res(b2->c, mo, b->a2, P(net, b2->gamma), P(net, b2->beta), b->y,
                                 b2->mean, b2->invstd, B(net, b2->rmean), B(net, b2->rvar), res);
    }
    return net->n_blocks ? net->blocks[net->n_blocks - 1].y : net->pool_y;
}

/* The forward of samples [0, n) whose inputs, labels and logits are at
 * `in`, `labels`, `logits` (the net's buffers, or an offset into them); the
 * activations use the start of the net's buffers as a batch of n. */
static double forward(rcn_net *net, int n, int train, rcn_rng *dropout_rng, int64_t *correct,
                      const float *in, const uint8_t *labels, float *logits)
{
    const rcn_arch *a = &net->arch;
    const float *feat = train ? forward_train_body(net, n, in) : forward_eval_body(net, n, in);
    rcn_gap_forward(net->feat_c, n, net->feat_hw, feat, net->pooled);
    const float *fc_in = net->pooled;
    if (train && a->dropout > 0.0f) {
        rcn_dropout_forward((size_t)n * net->feat_c, a->dropout, dropout_rng, net->pooled,
                            net->dropped, net->drop_mask);
        fc_in = net->dropped;
    }
    rcn_linear_forward(n, net->feat_c, RCN_CLASSES, fc_in, P(net, net->fc_w),
                       P(net, net->fc_b), logits);
    return rcn_softmax_xent(n, RCN_CLASSES, logits, labels, train ? net->dlogits : NULL,
                            correct);
}

int rcn_net_eval_chunk(const rcn_net *net)
{
    return net->n_params > RCN_EVAL_CHUNK_BIG_PARAMS ? RCN_EVAL_CHUNK_BIG : RCN_EVAL_CHUNK;
}

double rcn_net_forward(rcn_net *net, int n, int train, rcn_rng *dropout_rng, int64_t *correct)
{
    const int chunk = rcn_net_eval_chunk(net);
    assert(n >= 0 && n <= net->max_batch);
    if (!train)
        eval_prepare(net);
    if (train || n <= chunk)
        return forward(net, n, train, dropout_rng, correct, net->input, net->labels,
                       net->logits);
    const size_t px = (size_t)RCN_IMG_H * RCN_IMG_W;
    double sum = 0.0;
    for (int i = 0; i < n; i += chunk) {
        int k = n - i < chunk ? n - i : chunk;
        sum += forward(net, k, 0, NULL, correct, net->input + (size_t)i * px, net->labels + i,
                       net->logits + (size_t)i * RCN_CLASSES);
    }
    return sum;
}

/* ---- backward ----------------------------------------------------------- */

void rcn_net_backward(rcn_net *net, int n)
{
    const rcn_arch *a = &net->arch;
    const int dropped = a->dropout > 0.0f;
    const float *fc_in = dropped ? net->dropped : net->pooled;
    assert(n >= 0 && n <= net->max_batch);
    rcn_linear_backward(n, net->feat_c, RCN_CLASSES, fc_in, P(net, net->fc_w), net->dlogits,
                        net->dpooled, G(net, net->fc_w), G(net, net->fc_b));
    if (dropped)
        rcn_dropout_backward((size_t)n * net->feat_c, a->dropout, net->drop_mask,
                             net->dpooled, net->dpooled);
    float *dy = net->g[0], *dx = net->g[1], *t1 = net->g[2], *t2 = net->g[3];
    rcn_gap_backward(net->feat_c, n, net->feat_hw, net->dpooled, dy);
    for (int i = net->n_blocks - 1; i >= 0; i--) {
        block *b = &net->blocks[i];
        size_t mo = (size_t)n * b->ho * b->ho, len = (size_t)b->cout * mo;
        rcn_relu_backward(len, b->y, dy, dy); /* dy now d(pre-ReLU sum) */
        bn_bwd(net, &b->b2, mo, b->a2, NULL, dy, t1, 0);
        rcn_conv_backward(&b->c2.s, n, b->r1, P(net, b->c2.w), t1, t2, G(net, b->c2.w),
                          net->scratch, 0);
        bn_bwd(net, &b->b1, mo, b->a1, b->r1, t2, t2, 1);
        if (b->has_sc) {
            rcn_conv_backward(&b->c1.s, n, b->x, P(net, b->c1.w), t2, dx, G(net, b->c1.w),
                              net->scratch, 0);
            bn_bwd(net, &b->bsc, mo, b->asc, NULL, dy, t1, 0);
            rcn_conv_backward(&b->sc.s, n, b->x, P(net, b->sc.w), t1, dx, G(net, b->sc.w),
                              net->scratch, 1);
        } else {
            /* the identity shortcut's gradient added as dx is written */
            rcn_conv_backward_res(&b->c1.s, n, b->x, P(net, b->c1.w), t2, dx, G(net, b->c1.w),
                                  net->scratch, dy);
        }
        float *sw = dy;
        dy = dx, dx = sw;
    }
    /* dy: gradient w.r.t. the stem output (after the optional pool). */
    size_t m = (size_t)n * net->stem_h * net->stem_h;
    if (a->stem_pool) {
        rcn_maxpool_backward(a->stem_c, n, net->stem_h, net->stem_h, net->pool_k,
                             net->pool_stride, net->pool_pad, dy, net->pool_arg, dx);
        float *sw = dy;
        dy = dx, dx = sw;
    }
    bn_bwd(net, &net->stem_bn, m, net->stem_a, net->stem_r, dy, dy, 1);
    rcn_conv_backward(&net->stem_conv.s, n, net->input, P(net, net->stem_conv.w), dy, NULL,
                      G(net, net->stem_conv.w), net->scratch, 0);
}

/* ---- optimiser ---------------------------------------------------------- */

void rcn_net_sgd_step(rcn_net *net, float lr, float momentum, float weight_decay)
{
    float *w = net->params, *g = net->grads, *v = net->mom;
    const size_t n = net->n_params;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + weight_decay * w[i];
        v[i] = momentum * v[i] + gi;
        w[i] -= lr * v[i];
    }
}
