/* arch.c - network architectures: the presets of MODEL.md, custom specs from
 * JSON, validation, the walk over an architecture's layers (the one
 * statement of its topology and shapes), parameter counts and FLOPs. */
#include "rcn/net.h"

#include <stdio.h>
#include <string.h>

int rcn_arch_preset(const char *name, rcn_arch *a, rcn_error *err)
{
    memset(a, 0, sizeof *a);
    a->dropout = 0.5f;
    if (!strcmp(name, "rcn8") || !strcmp(name, "rcn14")) {
        int blocks = name[3] == '8' ? 1 : 2;
        a->stem_k = 3, a->stem_stride = 1, a->stem_c = 16, a->stem_pool = 0;
        a->n_stages = 3;
        int c[3] = {16, 32, 64};
        for (int i = 0; i < 3; i++)
            a->stage_c[i] = c[i], a->stage_blocks[i] = blocks;
    } else if (!strcmp(name, "resnet18")) {
        a->stem_k = 7, a->stem_stride = 2, a->stem_c = 64, a->stem_pool = 1;
        a->n_stages = 4;
        int c[4] = {64, 128, 256, 512};
        for (int i = 0; i < 4; i++)
            a->stage_c[i] = c[i], a->stage_blocks[i] = 2;
    } else {
        return rcn_errorf(err, "unknown preset '%s' (known: rcn8, rcn14, resnet18)", name);
    }
    snprintf(a->name, sizeof a->name, "%s", name);
    return 0;
}

/* Spatial size after a k x k conv/pool with stride s and padding p. */
static int out_size(int h, int k, int s, int p) { return (h + 2 * p - k) / s + 1; }

/* Walk visitor of rcn_arch_validate: every layer keeps at least 1x1. */
static int check_side(const rcn_layer *l, void *ud)
{
    if (l->ho >= 1)
        return 0;
    if (l->stage < 0)
        return rcn_errorf(ud, "stem: the 28x28 input shrinks to nothing");
    return rcn_errorf(ud, "stages[%d]: the 28x28 input shrinks to nothing "
                      "(too many stride-2 stages)", l->stage);
}

int rcn_arch_validate(const rcn_arch *a, rcn_error *err)
{
    if (a->stem_k < 1 || a->stem_k > 11 || a->stem_k % 2 == 0)
        return rcn_errorf(err, "stem.kernel must be odd and in 1..11 (got %d)", a->stem_k);
    if (a->stem_stride < 1 || a->stem_stride > 4)
        return rcn_errorf(err, "stem.stride must be in 1..4 (got %d)", a->stem_stride);
    if (a->stem_c < 1 || a->stem_c > 4096)
        return rcn_errorf(err, "stem.channels must be in 1..4096 (got %d)", a->stem_c);
    if (a->n_stages < 1 || a->n_stages > RCN_MAX_STAGES)
        return rcn_errorf(err, "stages must have 1..%d entries (got %d)", RCN_MAX_STAGES,
                          a->n_stages);
    if (!(a->dropout >= 0.0f && a->dropout < 1.0f))
        return rcn_errorf(err, "dropout must be in [0, 1) (got %g)", (double)a->dropout);
    int blocks = 0;
    for (int i = 0; i < a->n_stages; i++) {
        if (a->stage_c[i] < 1 || a->stage_c[i] > 4096)
            return rcn_errorf(err, "stages[%d].channels must be in 1..4096 (got %d)", i,
                              a->stage_c[i]);
        if (a->stage_blocks[i] < 1 || a->stage_blocks[i] > 64)
            return rcn_errorf(err, "stages[%d].blocks must be in 1..64 (got %d)", i,
                              a->stage_blocks[i]);
        blocks += a->stage_blocks[i];
        if (blocks > RCN_MAX_BLOCKS)
            return rcn_errorf(err, "stages: %d residual blocks in all (up to stages[%d]), more "
                              "than the %d a network may have", blocks, i, RCN_MAX_BLOCKS);
    }
    return rcn_arch_walk(a, check_side, err);
}

static int get_int(const json_t *o, const char *key, const char *where, int *out,
                   rcn_error *err)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_integer(v))
        return rcn_errorf(err, "%s.%s: must be an integer", where, key);
    json_int_t x = json_integer_value(v);
    if (x < -1000000 || x > 1000000)
        return rcn_errorf(err, "%s.%s: out of range (got %lld)", where, key, (long long)x);
    *out = (int)x;
    return 0;
}

static int check_keys(const json_t *o, const char *where, const char *const *allowed,
                      rcn_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        int ok = 0;
        for (int i = 0; allowed[i]; i++)
            ok |= !strcmp(key, allowed[i]);
        if (!ok)
            return rcn_errorf(err, "%s.%s: unknown key", where, key);
    }
    return 0;
}

int rcn_arch_from_json(const json_t *j, const char *where, rcn_arch *a, rcn_error *err)
{
    if (json_is_string(j)) {
        if (rcn_arch_preset(json_string_value(j), a, err))
            return rcn_error_prefix(err, "%s", where);
        return 0;
    }
    if (!json_is_object(j))
        return rcn_errorf(err, "%s: must be a preset name (string) or a spec (object)", where);
    static const char *const keys[] = {"name", "preset", "stem", "stages", "dropout", NULL};
    if (check_keys(j, where, keys, err))
        return -1;
    json_t *preset = json_object_get(j, "preset");
    if (preset) {
        if (!json_is_string(preset))
            return rcn_errorf(err, "%s.preset: must be a string", where);
        if (rcn_arch_preset(json_string_value(preset), a, err))
            return rcn_error_prefix(err, "%s.preset", where);
        if (json_object_get(j, "stem") || json_object_get(j, "stages"))
            return rcn_errorf(err, "%s: give either \"preset\" or \"stem\"/\"stages\", not both",
                              where);
    } else {
        memset(a, 0, sizeof *a);
        snprintf(a->name, sizeof a->name, "custom");
        a->dropout = 0.5f;
        a->stem_k = 3, a->stem_stride = 1, a->stem_c = 16;
        json_t *stem = json_object_get(j, "stem");
        char w[512];
        if (stem) {
            snprintf(w, sizeof w, "%s.stem", where);
            if (!json_is_object(stem))
                return rcn_errorf(err, "%s: must be an object", w);
            static const char *const sk[] = {"kernel", "stride", "channels", "maxpool", NULL};
            if (check_keys(stem, w, sk, err) || get_int(stem, "kernel", w, &a->stem_k, err) ||
                get_int(stem, "stride", w, &a->stem_stride, err) ||
                get_int(stem, "channels", w, &a->stem_c, err))
                return -1;
            json_t *mp = json_object_get(stem, "maxpool");
            if (mp && !json_is_boolean(mp))
                return rcn_errorf(err, "%s.maxpool: must be true or false", w);
            a->stem_pool = mp && json_is_true(mp);
        }
        json_t *stages = json_object_get(j, "stages");
        if (!stages)
            return rcn_errorf(err, "%s.stages: missing (a list of {\"channels\", \"blocks\"})", where);
        if (!json_is_array(stages) || json_array_size(stages) == 0 ||
            json_array_size(stages) > RCN_MAX_STAGES)
            return rcn_errorf(err, "%s.stages: must be a list of 1..%d {\"channels\", \"blocks\"} objects",
                              where, RCN_MAX_STAGES);
        a->n_stages = (int)json_array_size(stages);
        for (int i = 0; i < a->n_stages; i++) {
            json_t *s = json_array_get(stages, i);
            snprintf(w, sizeof w, "%s.stages[%d]", where, i);
            static const char *const stk[] = {"channels", "blocks", NULL};
            if (!json_is_object(s))
                return rcn_errorf(err, "%s: must be an object {\"channels\", \"blocks\"}", w);
            if (!json_object_get(s, "channels"))
                return rcn_errorf(err, "%s.channels: missing", w);
            a->stage_blocks[i] = 1;
            if (check_keys(s, w, stk, err) || get_int(s, "channels", w, &a->stage_c[i], err) ||
                get_int(s, "blocks", w, &a->stage_blocks[i], err))
                return -1;
        }
    }
    json_t *d = json_object_get(j, "dropout");
    if (d) {
        if (!json_is_number(d))
            return rcn_errorf(err, "%s.dropout: must be a number", where);
        a->dropout = (float)json_number_value(d);
    }
    /* "name" labels the spec (rcn_arch_to_json writes it, so reports
     * round-trip); it never changes the structure. */
    json_t *name = json_object_get(j, "name");
    if (name) {
        if (!json_is_string(name) || json_string_length(name) == 0 ||
            json_string_length(name) >= sizeof a->name)
            return rcn_errorf(err, "%s.name: must be a string of 1..%zu characters", where,
                              sizeof a->name - 1);
        snprintf(a->name, sizeof a->name, "%s", json_string_value(name));
    }
    if (rcn_arch_validate(a, err))
        return rcn_error_prefix(err, "%s", where);
    return 0;
}

json_t *rcn_arch_to_json(const rcn_arch *a)
{
    json_t *stages = json_array();
    for (int i = 0; i < a->n_stages; i++)
        json_array_append_new(stages, json_pack("{s:i, s:i}", "channels", a->stage_c[i],
                                                "blocks", a->stage_blocks[i]));
    return json_pack("{s:s, s:{s:i, s:i, s:i, s:b}, s:o, s:f}", "name", a->name, "stem",
                     "kernel", a->stem_k, "stride", a->stem_stride, "channels", a->stem_c,
                     "maxpool", a->stem_pool, "stages", stages, "dropout",
                     (double)a->dropout);
}

/* ---- the walk ------------------------------------------------------------ */

typedef struct {
    rcn_layer_fn fn;
    void *ud;
    char prefix[32]; /* "stem" or "stages.<i>.<j>" */
} walker;

/* Visits a conv of l->part (padding (k-1)/2) and the BN after it, named
 * <prefix>.<conv> and <prefix>.<bn>; l->ho is then their output side. */
static int conv_bn(walker *w, rcn_layer *l, const char *conv, const char *bn, int cin,
                   int cout, int k, int stride, int h, int relu)
{
    l->kind = RCN_LAYER_CONV;
    snprintf(l->name, sizeof l->name, "%s.%s", w->prefix, conv);
    l->cin = cin, l->cout = cout;
    l->k = k, l->stride = stride, l->pad = (k - 1) / 2;
    l->h = h, l->ho = out_size(h, k, stride, l->pad);
    l->relu = 0;
    l->needs_dx = l->part != RCN_PART_STEM;
    l->params = (int64_t)cin * cout * k * k;
    l->flops = 2.0 * cin * cout * k * k * l->ho * l->ho;
    int rc = w->fn(l, w->ud);
    if (rc)
        return rc;
    l->kind = RCN_LAYER_BN;
    snprintf(l->name, sizeof l->name, "%s.%s", w->prefix, bn);
    l->cin = cout;
    l->k = l->stride = l->pad = 0;
    l->h = l->ho;
    l->relu = relu;
    l->needs_dx = 0;
    l->params = 2 * (int64_t)cout; /* gamma, beta */
    l->flops = 0.0;
    return w->fn(l, w->ud);
}

/* Visits residual block `block` of stage `stage` (`index` over all stages)
 * on a (cin, *h, *h) input; *h becomes its output side. */
static int visit_block(walker *w, int stage, int block, int index, int cin, int cout, int *h)
{
    int s = (stage > 0 && block == 0) ? 2 : 1, rc;
    rcn_layer l = {.stage = stage, .block = block, .index = index};
    snprintf(w->prefix, sizeof w->prefix, "stages.%d.%d", stage, block);
    l.part = RCN_PART_CONV1;
    if ((rc = conv_bn(w, &l, "conv1", "bn1", cin, cout, 3, s, *h, 1)))
        return rc;
    int ho = l.ho;
    l.part = RCN_PART_CONV2;
    if ((rc = conv_bn(w, &l, "conv2", "bn2", cout, cout, 3, 1, ho, 0)))
        return rc;
    if (s != 1 || cin != cout) {
        l.part = RCN_PART_SHORTCUT;
        if ((rc = conv_bn(w, &l, "shortcut.conv", "shortcut.bn", cin, cout, 1, s, *h, 0)))
            return rc;
    }
    *h = ho;
    return 0;
}

/* Visits the global average pool and fc over (c, h, h) features. */
static int visit_head(walker *w, int c, int h)
{
    rcn_layer l = {.kind = RCN_LAYER_GAP, .part = RCN_PART_HEAD, .stage = -1, .block = -1,
                   .index = -1, .cin = c, .cout = c, .h = h, .ho = 1};
    int rc = w->fn(&l, w->ud);
    if (rc)
        return rc;
    l.kind = RCN_LAYER_FC;
    snprintf(l.name, sizeof l.name, "fc");
    l.cout = RCN_CLASSES, l.h = 1;
    l.params = (int64_t)c * RCN_CLASSES + RCN_CLASSES;
    l.flops = 2.0 * c * RCN_CLASSES;
    return w->fn(&l, w->ud);
}

int rcn_arch_walk(const rcn_arch *a, rcn_layer_fn fn, void *ud)
{
    walker w = {fn, ud, "stem"};
    rcn_layer l = {.part = RCN_PART_STEM, .stage = -1, .block = -1, .index = -1};
    int rc = conv_bn(&w, &l, "conv", "bn", 1, a->stem_c, a->stem_k, a->stem_stride,
                     RCN_IMG_H, 1);
    if (rc)
        return rc;
    int h = l.ho;
    if (a->stem_pool) {
        l.kind = RCN_LAYER_MAXPOOL;
        l.name[0] = '\0';
        l.k = 3, l.stride = 2, l.pad = 1;
        l.ho = out_size(h, 3, 2, 1);
        l.relu = 0, l.params = 0;
        if ((rc = fn(&l, ud)))
            return rc;
        h = l.ho;
    }
    int c = a->stem_c, index = 0;
    for (int i = 0; i < a->n_stages; i++) {
        for (int j = 0; j < a->stage_blocks[i]; j++) {
            if ((rc = visit_block(&w, i, j, index++, c, a->stage_c[i], &h)))
                return rc;
            c = a->stage_c[i];
        }
    }
    return visit_head(&w, c, h);
}

static int add_params(const rcn_layer *l, void *ud)
{
    *(int64_t *)ud += l->params;
    return 0;
}

static int add_flops(const rcn_layer *l, void *ud)
{
    *(double *)ud += l->flops;
    return 0;
}

int64_t rcn_arch_param_count(const rcn_arch *a)
{
    int64_t n = 0;
    rcn_arch_walk(a, add_params, &n);
    return n;
}

static int add_buffers(const rcn_layer *l, void *ud)
{
    if (l->kind == RCN_LAYER_BN)
        *(int64_t *)ud += 2 * l->cout; /* running mean and variance */
    return 0;
}

int64_t rcn_arch_buffer_count(const rcn_arch *a)
{
    int64_t n = 0;
    rcn_arch_walk(a, add_buffers, &n);
    return n;
}

double rcn_arch_forward_flops(const rcn_arch *a)
{
    double f = 0;
    rcn_arch_walk(a, add_flops, &f);
    return f;
}
