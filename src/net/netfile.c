/* netfile.c - saving and loading an rcn_net as a safetensors file (see
 * include/rcn/netfile.h): the tensor table written through the generic
 * writer of src/io/safetensors.c, the architecture in __metadata__; on
 * load the file's tensors checked against the network that architecture
 * builds. */
#include "rcn/netfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcn/safetensors.h"

static const char *const reserved_keys[] = {"format", "arch", "pixel_mean", "pixel_std", NULL};

int rcn_safetensors_save(const char *path, rcn_net *net, const json_t *extra, rcn_error *err)
{
    if (extra && !json_is_object(extra))
        return rcn_errorf(err, "%s: extra metadata must be a JSON object", path);
    json_t *arch = rcn_arch_to_json(rcn_net_arch(net));
    char *arch_text = arch ? json_dumps(arch, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                                  JSON_REAL_PRECISION(15))
                           : NULL;
    json_decref(arch);
    if (!arch_text)
        return rcn_errorf(err, "%s: cannot encode the architecture", path);
    char mean[32], std[32];
    snprintf(mean, sizeof mean, "%g", (double)RCN_PIXEL_MEAN);
    snprintf(std, sizeof std, "%g", (double)RCN_PIXEL_STD);
    json_t *meta = json_pack("{s:s, s:s, s:s, s:s}", "format", "rcn", "arch", arch_text,
                             "pixel_mean", mean, "pixel_std", std);
    free(arch_text);
    if (!meta)
        return rcn_errorf(err, "%s: out of memory", path);
    if (extra) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)extra, key, v) {
            for (int i = 0; reserved_keys[i]; i++) {
                if (!strcmp(key, reserved_keys[i])) {
                    json_decref(meta);
                    return rcn_errorf(err, "%s: extra metadata key \"%s\" is reserved", path, key);
                }
            }
            json_object_set(meta, key, v);
        }
    }
    int n = rcn_net_num_tensors(net);
    rcn_st_tensor *t = calloc(n > 0 ? (size_t)n : 1, sizeof *t);
    if (!t) {
        json_decref(meta);
        return rcn_errorf(err, "%s: out of memory", path);
    }
    for (int i = 0; i < n; i++) {
        const rcn_tensor_info *info = rcn_net_tensor(net, i);
        t[i].name = info->name;
        t[i].ndim = info->ndim;
        for (int d = 0; d < info->ndim; d++)
            t[i].shape[d] = info->shape[d];
        t[i].data = rcn_net_tensor_data(net, i);
    }
    int rc = rcn_safetensors_write(path, t, n, meta, err);
    free(t);
    json_decref(meta);
    return rc;
}

/* Copies every tensor of f into net, whose tensor table must match f's
 * exactly: no unknown, missing or misshapen tensor. */
static int fill_net(const char *path, const rcn_st_file *f, rcn_net *net, rcn_error *err)
{
    char s1[160], s2[160];
    for (int i = 0; i < f->n; i++) {
        const rcn_st_entry *e = &f->t[i];
        int k = rcn_net_find_tensor(net, e->name);
        if (k < 0)
            return rcn_errorf(err, "%s: unknown tensor '%s' (not part of the architecture "
                              "in __metadata__.arch)", path, e->name);
        const rcn_tensor_info *info = rcn_net_tensor(net, k);
        int64_t want[RCN_ST_MAX_DIMS];
        int same = info->ndim == e->ndim;
        for (int d = 0; d < info->ndim; d++) {
            want[d] = info->shape[d];
            same = same && want[d] == e->shape[d];
        }
        if (!same)
            return rcn_errorf(err, "%s: tensor '%s' has shape %s but the architecture in "
                              "__metadata__.arch needs %s", path, e->name,
                              rcn_st_shape_str(s1, sizeof s1, e->ndim, e->shape),
                              rcn_st_shape_str(s2, sizeof s2, info->ndim, want));
        memcpy(rcn_net_tensor_data(net, k), e->data, e->numel * sizeof(float));
    }
    for (int k = 0; k < rcn_net_num_tensors(net); k++) {
        const rcn_tensor_info *info = rcn_net_tensor(net, k);
        if (rcn_st_file_find(f, info->name) < 0) {
            int64_t want[RCN_ST_MAX_DIMS];
            for (int d = 0; d < info->ndim; d++)
                want[d] = info->shape[d];
            return rcn_errorf(err, "%s: missing tensor '%s' (shape %s)", path, info->name,
                              rcn_st_shape_str(s2, sizeof s2, info->ndim, want));
        }
    }
    return 0;
}

rcn_net *rcn_safetensors_load(const char *path, int max_batch, json_t **metadata,
                              rcn_error *err)
{
    if (metadata)
        *metadata = NULL;
    rcn_st_file f;
    if (rcn_safetensors_read(path, &f, err))
        return NULL;
    rcn_net *net = NULL;
    char where[4200];
    snprintf(where, sizeof where, "%s: __metadata__.arch", path);
    if (!f.metadata) {
        rcn_errorf(err, "%s: no __metadata__ in the header (an rcn model needs "
                   "__metadata__.arch)", path);
        goto fail;
    }
    json_t *arch_s = json_object_get(f.metadata, "arch");
    if (!arch_s) {
        rcn_errorf(err, "%s: no \"arch\" in __metadata__ (cannot tell which network the "
                   "tensors belong to)", path);
        goto fail;
    }
    json_error_t jerr;
    json_t *arch_j = json_loads(json_string_value(arch_s), JSON_DECODE_ANY, &jerr);
    if (!arch_j) {
        rcn_errorf(err, "%s: invalid JSON at column %d: %s", where, jerr.column, jerr.text);
        goto fail;
    }
    rcn_arch a;
    int rc = rcn_arch_from_json(arch_j, where, &a, err);
    json_decref(arch_j);
    if (rc)
        goto fail;
    /* a header that lies about the arch must not make us build a network
     * the file cannot fill: it holds at least every parameter */
    uint64_t have = 0;
    for (int i = 0; i < f.n; i++)
        have += f.t[i].numel;
    if ((uint64_t)rcn_arch_param_count(&a) > have) {
        rcn_errorf(err, "%s: __metadata__.arch describes a network of %lld parameters but "
                   "the file holds only %llu floats", path, (long long)rcn_arch_param_count(&a),
                   (unsigned long long)have);
        goto fail;
    }
    net = rcn_net_create(&a, max_batch, err);
    if (!net) {
        rcn_error_prefix(err, "%s", path);
        goto fail;
    }
    if (fill_net(path, &f, net, err))
        goto fail;
    if (metadata)
        *metadata = json_incref(f.metadata);
    rcn_st_file_free(&f);
    return net;

fail:
    if (net)
        rcn_net_destroy(net);
    rcn_st_file_free(&f);
    return NULL;
}
