/* dump.c - `rcn dump`: one forward (and in train mode backward + SGD steps)
 * on a fixed batch, with every tensor written as safetensors, so that an
 * independent implementation (tests/torch/) can compare loss, logits,
 * gradients and updated weights; and `rcn dump --init` to create the initial
 * model file such a comparison starts from. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcn/cli.h"
#include "rcn/data.h"
#include "rcn/net.h"
#include "rcn/netfile.h"
#include "rcn/safetensors.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rcn dump --init (--preset P | --spec JSON) [--seed S] --out M.safetensors\n"
            "       rcn dump --model M.safetensors --images IDX --labels IDX --batch N\n"
            "                [--offset K] --mode train|eval [--lr LR] [--momentum M]\n"
            "                [--weight-decay WD] [--steps S] --out OUT.safetensors\n"
            "\n"
            "The first form writes a freshly initialised model (dropout 0) drawn from\n"
            "stream (seed, INIT, 0, 0).\n"
            "\n"
            "The second loads the model (its dropout forced to 0), takes samples\n"
            "K..K+N-1 of the IDX set, runs one forward in the given mode and writes\n"
            "OUT with \"input\" [N,1,28,28] (normalised), \"logits\" [N,10] and \"loss\"\n"
            "[1] (mean cross-entropy). In train mode (batch statistics) it also writes\n"
            "\"grad.<name>\" for every parameter (of the first step), runs S (1..16,\n"
            "default 1) SGD steps on the same batch (forward, backward, step;\n"
            "PyTorch's SGD convention) and writes \"after.<name>\" for every tensor\n"
            "(parameters and running stats) and \"momentum.<name>\" for every\n"
            "parameter after the last step. With S > 1 also \"step<k>.grad.<name>\"\n"
            "(k = 2..S) and \"step<k>.after.<name>\", \"step<k>.momentum.<name>\"\n"
            "(k = 1..S-1), so each step can be checked from rcn's own state.\n"
            "Defaults: --offset 0, --lr 0.01, --momentum 0.5, --weight-decay 0.\n");
}

static int parse_double(const char *s, const char *opt, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) {
        fprintf(stderr, "rcn dump: %s: not a number: '%s'\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_long(const char *s, const char *opt, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "rcn dump: %s: must be an integer in %lld..%lld (got '%s')\n", opt, lo,
                hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* --init: write a freshly initialised model. */
static int dump_init(const char *preset, const char *spec, long long seed, const char *out)
{
    rcn_error err;
    rcn_arch a;
    if (!!preset == !!spec) {
        fprintf(stderr, "rcn dump: --init needs exactly one of --preset or --spec\n");
        return RCN_EXIT_USAGE;
    }
    if (preset) {
        if (rcn_arch_preset(preset, &a, &err)) {
            fprintf(stderr, "rcn dump: --preset: %s\n", err.msg);
            return RCN_EXIT_USAGE;
        }
    } else {
        json_error_t jerr;
        json_t *j = json_loads(spec, JSON_DECODE_ANY, &jerr);
        if (!j) {
            fprintf(stderr, "rcn dump: --spec: invalid JSON at column %d: %s\n", jerr.column,
                    jerr.text);
            return RCN_EXIT_USAGE;
        }
        int rc = rcn_arch_from_json(j, "--spec", &a, &err);
        json_decref(j);
        if (rc) {
            fprintf(stderr, "rcn dump: %s\n", err.msg);
            return RCN_EXIT_USAGE;
        }
    }
    a.dropout = 0.0f;
    rcn_net *net = rcn_net_create(&a, 1, &err);
    if (!net) {
        fprintf(stderr, "rcn dump: %s\n", err.msg);
        return RCN_EXIT_ERROR;
    }
    rcn_net_init(net, (uint64_t)seed, 0);
    json_t *extra = json_pack("{s:I}", "init_seed", (json_int_t)seed);
    int rc = rcn_safetensors_save(out, net, extra, &err);
    json_decref(extra);
    rcn_net_destroy(net);
    if (rc) {
        fprintf(stderr, "rcn dump: %s\n", err.msg);
        return RCN_EXIT_ERROR;
    }
    return RCN_EXIT_OK;
}

/* Returns a net like `src` but with dropout 0 (a copy when src has dropout). */
static rcn_net *without_dropout(rcn_net *src, int max_batch, rcn_error *err)
{
    rcn_arch a = *rcn_net_arch(src);
    if (a.dropout == 0.0f)
        return src;
    a.dropout = 0.0f;
    rcn_net *net = rcn_net_create(&a, max_batch, err);
    if (!net) {
        rcn_net_destroy(src);
        return NULL;
    }
    memcpy(rcn_net_params(net), rcn_net_params(src), rcn_net_num_params(src) * sizeof(float));
    memcpy(rcn_net_buffers(net), rcn_net_buffers(src),
           rcn_net_num_buffers(src) * sizeof(float));
    rcn_net_destroy(src);
    return net;
}

typedef struct {
    rcn_st_tensor *t;
    int n, cap;
    char **names; /* owned copies of prefixed names */
} tensor_list;

static int list_add(tensor_list *l, const char *prefix, const char *name, int ndim,
                    const int64_t *shape, const float *data)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        rcn_st_tensor *t = realloc(l->t, (size_t)cap * sizeof *t);
        if (!t)
            return -1;
        l->t = t;
        char **names = realloc(l->names, (size_t)cap * sizeof *names);
        if (!names)
            return -1;
        l->names = names;
        l->cap = cap;
    }
    size_t len = strlen(prefix) + strlen(name) + 1;
    char *full = malloc(len);
    if (!full)
        return -1;
    snprintf(full, len, "%s%s", prefix, name);
    l->names[l->n] = full;
    rcn_st_tensor *t = &l->t[l->n++];
    memset(t, 0, sizeof *t);
    t->name = full;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        t->shape[d] = shape[d];
    t->data = data;
    return 0;
}

/* Adds "<prefix><name>" for every tensor of the net, its data taken from
 * copies of the net's arrays: `params` (laid out like rcn_net_params: also
 * gradients and momentum) and `buffers` (like rcn_net_buffers; NULL: the
 * buffer tensors are left out). */
static int list_add_snapshot(tensor_list *l, rcn_net *net, const char *prefix,
                             const float *params, const float *buffers)
{
    for (int i = 0; i < rcn_net_num_tensors(net); i++) {
        const rcn_tensor_info *info = rcn_net_tensor(net, i);
        const float *base = info->is_param ? params : buffers;
        if (!base)
            continue;
        const float *at = rcn_net_tensor_data(net, i);
        size_t off = (size_t)(at - (info->is_param ? rcn_net_params(net) : rcn_net_buffers(net)));
        int64_t shape[4];
        for (int d = 0; d < info->ndim; d++)
            shape[d] = info->shape[d];
        if (list_add(l, prefix, info->name, info->ndim, shape, base + off))
            return -1;
    }
    return 0;
}

static void list_free(tensor_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->t);
}

int rcn_cmd_dump(int argc, char **argv)
{
    static const struct option opts[] = {
        {"init", no_argument, NULL, 'I'},     {"preset", required_argument, NULL, 'p'},
        {"spec", required_argument, NULL, 'S'}, {"seed", required_argument, NULL, 's'},
        {"model", required_argument, NULL, 'm'}, {"images", required_argument, NULL, 'i'},
        {"labels", required_argument, NULL, 'l'}, {"batch", required_argument, NULL, 'b'},
        {"offset", required_argument, NULL, 'k'}, {"mode", required_argument, NULL, 'M'},
        {"lr", required_argument, NULL, 'r'},   {"momentum", required_argument, NULL, 'u'},
        {"weight-decay", required_argument, NULL, 'w'},
        {"steps", required_argument, NULL, 't'}, {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    int init = 0, train = -1;
    const char *preset = NULL, *spec = NULL, *model = NULL, *images = NULL, *labels = NULL,
               *out = NULL;
    long long seed = 1, batch = 0, offset = 0, steps = 1;
    double lr = 0.01, momentum = 0.5, wd = 0.0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'I': init = 1; break;
        case 'p': preset = optarg; break;
        case 'S': spec = optarg; break;
        case 's':
            if (parse_long(optarg, "--seed", 0, INT64_MAX, &seed))
                return RCN_EXIT_USAGE;
            break;
        case 'm': model = optarg; break;
        case 'i': images = optarg; break;
        case 'l': labels = optarg; break;
        case 'b':
            if (parse_long(optarg, "--batch", 1, 65536, &batch))
                return RCN_EXIT_USAGE;
            break;
        case 'k':
            if (parse_long(optarg, "--offset", 0, RCN_IDX_MAX_ITEMS, &offset))
                return RCN_EXIT_USAGE;
            break;
        case 'M':
            if (!strcmp(optarg, "train"))
                train = 1;
            else if (!strcmp(optarg, "eval"))
                train = 0;
            else {
                fprintf(stderr, "rcn dump: --mode must be 'train' or 'eval' (got '%s')\n", optarg);
                return RCN_EXIT_USAGE;
            }
            break;
        case 'r':
            if (parse_double(optarg, "--lr", &lr))
                return RCN_EXIT_USAGE;
            break;
        case 'u':
            if (parse_double(optarg, "--momentum", &momentum))
                return RCN_EXIT_USAGE;
            break;
        case 'w':
            if (parse_double(optarg, "--weight-decay", &wd))
                return RCN_EXIT_USAGE;
            break;
        case 't':
            if (parse_long(optarg, "--steps", 1, 16, &steps))
                return RCN_EXIT_USAGE;
            break;
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return RCN_EXIT_OK;
        case ':':
            fprintf(stderr, "rcn dump: option %s needs a value\n", argv[optind - 1]);
            return RCN_EXIT_USAGE;
        default:
            fprintf(stderr, "rcn dump: unknown option '%s' (see rcn dump --help)\n",
                    argv[optind - 1]);
            return RCN_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rcn dump: unexpected argument '%s'\n", argv[optind]);
        return RCN_EXIT_USAGE;
    }
    if (!out) {
        fprintf(stderr, "rcn dump: --out is required (see rcn dump --help)\n");
        return RCN_EXIT_USAGE;
    }
    if (init) {
        if (model || images || labels || batch || train >= 0) {
            fprintf(stderr, "rcn dump: --init takes only --preset/--spec, --seed and --out\n");
            return RCN_EXIT_USAGE;
        }
        return dump_init(preset, spec, seed, out);
    }
    if (preset || spec) {
        fprintf(stderr, "rcn dump: --preset/--spec go with --init\n");
        return RCN_EXIT_USAGE;
    }
    if (!model || !images || !labels || !batch || train < 0) {
        fprintf(stderr, "rcn dump: needs --model, --images, --labels, --batch and --mode "
                        "(see rcn dump --help)\n");
        return RCN_EXIT_USAGE;
    }

    rcn_error err;
    rcn_dataset ds;
    memset(&ds, 0, sizeof ds);
    if (rcn_dataset_load(images, labels, &ds, &err)) {
        fprintf(stderr, "rcn dump: %s\n", err.msg);
        return RCN_EXIT_ERROR;
    }
    if (offset + batch > ds.n) {
        fprintf(stderr, "rcn dump: --offset %lld --batch %lld needs %lld samples but %s has %lld\n",
                offset, batch, offset + batch, images, (long long)ds.n);
        rcn_dataset_free(&ds);
        return RCN_EXIT_USAGE;
    }
    rcn_net *net = rcn_safetensors_load(model, (int)batch, NULL, &err);
    if (net)
        net = without_dropout(net, (int)batch, &err);
    if (!net) {
        fprintf(stderr, "rcn dump: %s\n", err.msg);
        rcn_dataset_free(&ds);
        return RCN_EXIT_ERROR;
    }
    int n = (int)batch;
    int32_t *idx = malloc((size_t)n * sizeof *idx);
    size_t np = rcn_net_num_params(net), nb = rcn_net_num_buffers(net);
    size_t per_step = 3 * np + nb;
    float *snap = train ? malloc((size_t)steps * per_step * sizeof *snap) : NULL;
    float *logits = malloc((size_t)n * RCN_CLASSES * sizeof *logits);
    float *input = malloc((size_t)n * RCN_IMG_H * RCN_IMG_W * sizeof *input);
    tensor_list l;
    memset(&l, 0, sizeof l);
    int rc = RCN_EXIT_ERROR;
    if (!idx || (train && !snap) || !logits || !input) {
        fprintf(stderr, "rcn dump: out of memory\n");
        goto done;
    }
    for (int i = 0; i < n; i++)
        idx[i] = (int32_t)(offset + i);

    rcn_net_load_batch(net, ds.images, ds.labels, idx, n);
    memcpy(input, rcn_net_input(net), (size_t)n * RCN_IMG_H * RCN_IMG_W * sizeof *input);
    float loss = (float)(rcn_net_forward(net, n, train, NULL, NULL) / n);
    memcpy(logits, rcn_net_logits(net), (size_t)n * RCN_CLASSES * sizeof *logits);
    if (train) {
        /* snapshot k (step k+1): gradient, then parameters, buffers and
         * momentum after the step */
        for (long long k = 0; k < steps; k++) {
            float *g = snap + k * per_step, *p = g + np, *v = p + np, *b = v + np;
            if (k > 0) {
                rcn_net_load_batch(net, ds.images, ds.labels, idx, n);
                rcn_net_forward(net, n, 1, NULL, NULL);
            }
            rcn_net_backward(net, n);
            memcpy(g, rcn_net_grads(net), np * sizeof *g);
            rcn_net_sgd_step(net, (float)lr, (float)momentum, (float)wd);
            memcpy(p, rcn_net_params(net), np * sizeof *p);
            memcpy(v, rcn_net_momentum(net), np * sizeof *v);
            memcpy(b, rcn_net_buffers(net), nb * sizeof *b);
        }
    }

    int64_t in_shape[4] = {n, 1, RCN_IMG_H, RCN_IMG_W}, lg_shape[2] = {n, RCN_CLASSES},
            one[1] = {1};
    int fail = list_add(&l, "", "input", 4, in_shape, input) ||
               list_add(&l, "", "logits", 2, lg_shape, logits) ||
               list_add(&l, "", "loss", 1, one, &loss);
    for (long long k = 0; train && k < steps && !fail; k++) {
        float *g = snap + k * per_step, *p = g + np, *v = p + np, *b = v + np;
        char pre[3][48];
        if (k == steps - 1) {
            snprintf(pre[1], sizeof pre[1], "after.");
            snprintf(pre[2], sizeof pre[2], "momentum.");
        } else {
            snprintf(pre[1], sizeof pre[1], "step%lld.after.", k + 1);
            snprintf(pre[2], sizeof pre[2], "step%lld.momentum.", k + 1);
        }
        if (k == 0)
            snprintf(pre[0], sizeof pre[0], "grad.");
        else
            snprintf(pre[0], sizeof pre[0], "step%lld.grad.", k + 1);
        fail = list_add_snapshot(&l, net, pre[0], g, NULL) ||
               list_add_snapshot(&l, net, pre[1], p, b) ||
               list_add_snapshot(&l, net, pre[2], v, NULL);
    }
    if (fail) {
        fprintf(stderr, "rcn dump: out of memory\n");
        goto done;
    }
    json_t *meta = json_pack("{s:s, s:s, s:s, s:I, s:I, s:f, s:f, s:f, s:I}", "format", "rcn-dump",
                             "model", model, "mode", train ? "train" : "eval", "batch",
                             (json_int_t)n, "offset", (json_int_t)offset, "lr", lr, "momentum",
                             momentum, "weight_decay", wd, "steps", (json_int_t)steps);
    int wrc = rcn_safetensors_write(out, l.t, l.n, meta, &err);
    json_decref(meta);
    if (wrc) {
        fprintf(stderr, "rcn dump: %s\n", err.msg);
        goto done;
    }
    printf("rcn dump: %s: %d samples from offset %lld, %s mode, loss %.6f, %d tensors\n", out, n,
           offset, train ? "train" : "eval", (double)loss, l.n);
    rc = RCN_EXIT_OK;
done:
    list_free(&l);
    free(idx);
    free(snap);
    free(logits);
    free(input);
    rcn_net_destroy(net);
    rcn_dataset_free(&ds);
    return rc;
}
