/* safetensors.c - the safetensors file format (see include/rcn/safetensors.h):
 * a generic writer/reader of named float32 tensors with full validation.
 * Networks are saved and loaded on top of it by src/net/netfile.c.
 *
 * File layout: bytes 0-7 the header length N (little-endian u64), bytes
 * 8..8+N a JSON object {"name": {"dtype", "shape", "data_offsets"}, ...,
 * "__metadata__": {str: str}} padded with spaces so that N % 8 == 0, then the
 * data section: raw little-endian float32, each tensor at
 * [8+N+begin, 8+N+end), tensors contiguous and covering the section. */
#include "rcn/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rcn/fileio.h"

/* The format's own cap on the header (the reference implementation's). */
#define ST_MAX_HEADER (100u * 1000u * 1000u)

/* ---- little-endian encoding, independent of the host's order ----------- */

static void put_u64_le(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64_le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_f32_le(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(u >> (8 * i));
}

static float get_f32_le(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

const char *rcn_st_shape_str(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t used = 0;
    used += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", i ? ", " : "",
                                 (long long)shape[i]);
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
    return buf;
}

/* ---- writing ------------------------------------------------------------ */

/* Metadata values must be strings: non-strings are stored JSON-encoded (15
 * significant digits, so decimal hyperparameters read back as written). */
static json_t *metadata_strings(const json_t *metadata, const char *path, rcn_error *err)
{
    json_t *out = json_object();
    if (!out) {
        rcn_errorf(err, "%s: out of memory", path);
        return NULL;
    }
    if (!metadata)
        return out;
    if (!json_is_object(metadata)) {
        json_decref(out);
        rcn_errorf(err, "%s: metadata must be a JSON object", path);
        return NULL;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)metadata, key, v) {
        json_t *s;
        if (json_is_string(v)) {
            s = json_incref(v);
        } else {
            char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER |
                                           JSON_REAL_PRECISION(15));
            s = text ? json_string(text) : NULL;
            free(text);
        }
        if (!s || json_object_set_new(out, key, s)) {
            json_decref(out);
            rcn_errorf(err, "%s: __metadata__.%s: cannot encode the value", path, key);
            return NULL;
        }
    }
    return out;
}

int rcn_safetensors_write(const char *path, const rcn_st_tensor *t, int n,
                          const json_t *metadata, rcn_error *err)
{
    if (n < 0)
        return rcn_errorf(err, "%s: negative tensor count %d", path, n);
    json_t *root = json_object();
    if (!root)
        return rcn_errorf(err, "%s: out of memory", path);
    if (metadata) {
        json_t *m = metadata_strings(metadata, path, err);
        if (!m) {
            json_decref(root);
            return -1;
        }
        json_object_set_new(root, "__metadata__", m);
    }
    uint64_t offset = 0;
    for (int i = 0; i < n; i++) {
        const char *name = t[i].name;
        if (!name || !*name || !strcmp(name, "__metadata__")) {
            json_decref(root);
            return rcn_errorf(err, "%s: tensor %d: invalid name '%s'", path, i, name ? name : "");
        }
        if (json_object_get(root, name)) {
            json_decref(root);
            return rcn_errorf(err, "%s: tensor '%s' given twice", path, name);
        }
        if (t[i].ndim < 0 || t[i].ndim > RCN_ST_MAX_DIMS) {
            json_decref(root);
            return rcn_errorf(err, "%s: tensor '%s': %d dimensions (at most %d)", path, name,
                              t[i].ndim, RCN_ST_MAX_DIMS);
        }
        json_t *shape = json_array();
        uint64_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) {
            if (t[i].shape[d] < 0 || (t[i].shape[d] > 0 && numel > (UINT64_MAX / 8) / (uint64_t)t[i].shape[d])) {
                json_decref(shape);
                json_decref(root);
                return rcn_errorf(err, "%s: tensor '%s': bad dimension %d: %lld", path, name, d,
                                  (long long)t[i].shape[d]);
            }
            numel *= (uint64_t)t[i].shape[d];
            json_array_append_new(shape, json_integer(t[i].shape[d]));
        }
        if (numel > 0 && !t[i].data) {
            json_decref(shape);
            json_decref(root);
            return rcn_errorf(err, "%s: tensor '%s': no data", path, name);
        }
        json_t *e = json_pack("{s:s, s:o, s:[I, I]}", "dtype", "F32", "shape", shape,
                              "data_offsets", (json_int_t)offset,
                              (json_int_t)(offset + 4 * numel));
        if (!e || json_object_set_new(root, name, e)) {
            json_decref(root);
            return rcn_errorf(err, "%s: out of memory building the header", path);
        }
        offset += 4 * numel;
    }
    char *hdr = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!hdr)
        return rcn_errorf(err, "%s: cannot encode the header JSON", path);
    size_t hlen = strlen(hdr);
    size_t padded = (hlen + 7) / 8 * 8;
    size_t total = 8 + padded + (size_t)offset;
    unsigned char *buf = malloc(total);
    if (!buf) {
        free(hdr);
        return rcn_errorf(err, "%s: out of memory (%zu bytes)", path, total);
    }
    put_u64_le(buf, padded);
    memcpy(buf + 8, hdr, hlen);
    memset(buf + 8 + hlen, ' ', padded - hlen);
    free(hdr);
    unsigned char *p = buf + 8 + padded;
    for (int i = 0; i < n; i++) {
        size_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++)
            numel *= (size_t)t[i].shape[d];
        for (size_t k = 0; k < numel; k++, p += 4)
            put_f32_le(p, t[i].data[k]);
    }
    int rc = rcn_write_atomic(path, buf, total, err);
    free(buf);
    return rc;
}

/* ---- reading ------------------------------------------------------------ */

void rcn_st_file_free(rcn_st_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++) {
        free(f->t[i].name);
        free(f->t[i].data);
    }
    free(f->t);
    json_decref(f->metadata);
    memset(f, 0, sizeof *f);
}

int rcn_st_file_find(const rcn_st_file *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name))
            return i;
    return -1;
}

/* Reads exactly len bytes at offset; 0 or -1 (errno set; EIO on short read). */
static int read_at(int fd, void *buf, size_t len, off_t off)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t r = pread(fd, p, len, off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0) {
            errno = EIO;
            return -1;
        }
        p += r, len -= (size_t)r, off += r;
    }
    return 0;
}

typedef struct {
    uint64_t begin, end;
    int index;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->index - y->index;
}

/* Checks one header entry; fills e (name, shape, numel) and s (offsets). */
static int parse_entry(const char *path, const char *name, json_t *v, uint64_t data_size,
                       rcn_st_entry *e, span *s, rcn_error *err)
{
    if (!json_is_object(v))
        return rcn_errorf(err, "%s: tensor '%s': header entry must be an object "
                          "{\"dtype\", \"shape\", \"data_offsets\"}", path, name);
    const char *key;
    json_t *x;
    json_object_foreach(v, key, x) {
        if (strcmp(key, "dtype") && strcmp(key, "shape") && strcmp(key, "data_offsets"))
            return rcn_errorf(err, "%s: tensor '%s': unknown key \"%s\" in its header entry",
                              path, name, key);
    }
    json_t *dtype = json_object_get(v, "dtype");
    json_t *shape = json_object_get(v, "shape");
    json_t *offs = json_object_get(v, "data_offsets");
    if (!dtype)
        return rcn_errorf(err, "%s: tensor '%s': no \"dtype\"", path, name);
    if (!json_is_string(dtype))
        return rcn_errorf(err, "%s: tensor '%s': \"dtype\" must be a string", path, name);
    if (strcmp(json_string_value(dtype), "F32"))
        return rcn_errorf(err, "%s: tensor '%s': dtype \"%s\" is not supported (only F32)", path,
                          name, json_string_value(dtype));
    if (!shape)
        return rcn_errorf(err, "%s: tensor '%s': no \"shape\"", path, name);
    if (!json_is_array(shape) || json_array_size(shape) > RCN_ST_MAX_DIMS)
        return rcn_errorf(err, "%s: tensor '%s': \"shape\" must be a list of at most %d "
                          "non-negative integers", path, name, RCN_ST_MAX_DIMS);
    e->ndim = (int)json_array_size(shape);
    uint64_t numel = 1;
    int too_big = 0; /* numel saturated: more floats than the data section holds */
    for (int d = 0; d < e->ndim; d++) {
        json_t *dim = json_array_get(shape, (size_t)d);
        if (!json_is_integer(dim) || json_integer_value(dim) < 0)
            return rcn_errorf(err, "%s: tensor '%s': shape[%d] must be a non-negative integer",
                              path, name, d);
        uint64_t k = (uint64_t)json_integer_value(dim);
        e->shape[d] = (int64_t)k;
        if (k != 0 && numel > (data_size / 4) / k)
            numel = data_size / 4 + 1, too_big = 1;
        else
            numel *= k;
    }
    char sb[160];
    for (int d = 0; d < e->ndim; d++)
        if (e->shape[d] == 0)
            too_big = 0;
    if (too_big)
        return rcn_errorf(err, "%s: tensor '%s': shape %s needs more bytes than the whole "
                          "%llu-byte data section", path, name,
                          rcn_st_shape_str(sb, sizeof sb, e->ndim, e->shape),
                          (unsigned long long)data_size);
    if (!offs)
        return rcn_errorf(err, "%s: tensor '%s': no \"data_offsets\"", path, name);
    if (!json_is_array(offs) || json_array_size(offs) != 2 ||
        !json_is_integer(json_array_get(offs, 0)) || !json_is_integer(json_array_get(offs, 1)))
        return rcn_errorf(err, "%s: tensor '%s': \"data_offsets\" must be [begin, end] (integers)",
                          path, name);
    json_int_t b = json_integer_value(json_array_get(offs, 0));
    json_int_t en = json_integer_value(json_array_get(offs, 1));
    if (b < 0 || en < b)
        return rcn_errorf(err, "%s: tensor '%s': data_offsets [%lld, %lld] are not 0 <= begin <= end",
                          path, name, (long long)b, (long long)en);
    if ((uint64_t)en > data_size)
        return rcn_errorf(err, "%s: tensor '%s': data_offsets [%lld, %lld] run past the end of the "
                          "%llu-byte data section (file truncated?)", path, name, (long long)b,
                          (long long)en, (unsigned long long)data_size);
    if (numel * 4 != (uint64_t)(en - b))
        return rcn_errorf(err, "%s: tensor '%s': data_offsets [%lld, %lld] span %lld bytes but shape "
                          "%s of F32 needs %llu", path, name, (long long)b, (long long)en,
                          (long long)(en - b), rcn_st_shape_str(sb, sizeof sb, e->ndim, e->shape),
                          (unsigned long long)(numel * 4));
    e->numel = (size_t)numel;
    s->begin = (uint64_t)b;
    s->end = (uint64_t)en;
    return 0;
}

int rcn_safetensors_read(const char *path, rcn_st_file *f, rcn_error *err)
{
    memset(f, 0, sizeof *f);
    struct stat st;
    int fd = rcn_open_read(path, "safetensors file", &st, err);
    if (fd < 0)
        return -1;
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return rcn_errorf(err, "%s: not a regular file", path);
    }
    uint64_t size = (uint64_t)st.st_size;
    unsigned char lenbuf[8];
    if (size < 8) {
        close(fd);
        return rcn_errorf(err, "%s: truncated: %llu bytes, shorter than the 8-byte header length",
                          path, (unsigned long long)size);
    }
    if (read_at(fd, lenbuf, 8, 0)) {
        int e = errno;
        close(fd);
        return rcn_errorf(err, "%s: cannot read the header length (bytes 0-7): %s", path,
                          strerror(e));
    }
    uint64_t hlen = get_u64_le(lenbuf);
    if (hlen > size - 8) {
        close(fd);
        return rcn_errorf(err, "%s: bytes 0-7: header length %llu claims more than the %llu bytes "
                          "that follow (truncated, or not a safetensors file)", path,
                          (unsigned long long)hlen, (unsigned long long)(size - 8));
    }
    if (hlen < 2) {
        close(fd);
        return rcn_errorf(err, "%s: bytes 0-7: header length %llu is too small for a JSON object",
                          path, (unsigned long long)hlen);
    }
    if (hlen > ST_MAX_HEADER) {
        close(fd);
        return rcn_errorf(err, "%s: bytes 0-7: header length %llu exceeds the format's limit of %u",
                          path, (unsigned long long)hlen, ST_MAX_HEADER);
    }
    char *hdr = malloc((size_t)hlen);
    if (!hdr) {
        close(fd);
        return rcn_errorf(err, "%s: out of memory reading a %llu-byte header", path,
                          (unsigned long long)hlen);
    }
    if (read_at(fd, hdr, (size_t)hlen, 8)) {
        int e = errno;
        free(hdr);
        close(fd);
        return rcn_errorf(err, "%s: cannot read the header (bytes 8-%llu): %s", path,
                          (unsigned long long)(8 + hlen - 1), strerror(e));
    }
    json_error_t jerr;
    json_t *root = json_loadb(hdr, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    free(hdr);
    if (!root) {
        close(fd);
        return rcn_errorf(err, "%s: header JSON is invalid at byte %lld (line %d, column %d): %s",
                          path, (long long)(8 + jerr.position), jerr.line, jerr.column, jerr.text);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        close(fd);
        return rcn_errorf(err, "%s: the header (bytes 8-%llu) is not a JSON object", path,
                          (unsigned long long)(8 + hlen - 1));
    }

    uint64_t data_size = size - 8 - hlen;
    size_t cap = json_object_size(root);
    f->t = calloc(cap ? cap : 1, sizeof *f->t);
    span *spans = calloc(cap ? cap : 1, sizeof *spans);
    unsigned char *data = NULL;
    if (!f->t || !spans)
        goto oom;

    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(v)) {
                rcn_errorf(err, "%s: __metadata__ must be an object of strings", path);
                goto fail;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach(v, mk, mv) {
                if (!json_is_string(mv)) {
                    rcn_errorf(err, "%s: __metadata__.%s: must be a string (the format allows "
                               "string values only)", path, mk);
                    goto fail;
                }
            }
            f->metadata = json_incref(v);
            continue;
        }
        if (!*key) {
            rcn_errorf(err, "%s: a tensor has an empty name", path);
            goto fail;
        }
        rcn_st_entry *e = &f->t[f->n];
        if (parse_entry(path, key, v, data_size, e, &spans[f->n], err))
            goto fail;
        e->name = strdup(key);
        if (!e->name)
            goto oom;
        spans[f->n].index = f->n;
        f->n++;
    }

    /* The tensors must tile the data section exactly. */
    qsort(spans, (size_t)f->n, sizeof *spans, span_cmp);
    uint64_t at = 0;
    for (int i = 0; i < f->n; i++) {
        const span *s = &spans[i];
        if (s->begin < at) {
            const span *p = &spans[i - 1];
            rcn_errorf(err, "%s: tensors '%s' data_offsets [%llu, %llu] and '%s' [%llu, %llu] overlap",
                       path, f->t[p->index].name, (unsigned long long)p->begin,
                       (unsigned long long)p->end, f->t[s->index].name,
                       (unsigned long long)s->begin, (unsigned long long)s->end);
            goto fail;
        }
        if (s->begin > at) {
            rcn_errorf(err, "%s: data bytes [%llu, %llu) (file offset %llu) belong to no tensor "
                       "(gap before '%s')", path, (unsigned long long)at,
                       (unsigned long long)s->begin, (unsigned long long)(8 + hlen + at),
                       f->t[s->index].name);
            goto fail;
        }
        at = s->end;
    }
    if (at != data_size) {
        rcn_errorf(err, "%s: the data section has %llu bytes but the tensors cover %llu "
                   "(trailing bytes from file offset %llu)", path, (unsigned long long)data_size,
                   (unsigned long long)at, (unsigned long long)(8 + hlen + at));
        goto fail;
    }

    data = malloc(data_size ? (size_t)data_size : 1);
    if (!data)
        goto oom;
    if (data_size && read_at(fd, data, (size_t)data_size, (off_t)(8 + hlen))) {
        rcn_errorf(err, "%s: cannot read the data section (file offset %llu, %llu bytes): %s",
                   path, (unsigned long long)(8 + hlen), (unsigned long long)data_size,
                   strerror(errno));
        goto fail;
    }
    for (int i = 0; i < f->n; i++) {
        const span *s = &spans[i];
        rcn_st_entry *e = &f->t[s->index];
        e->data = malloc(e->numel ? e->numel * sizeof(float) : 1);
        if (!e->data)
            goto oom;
        for (size_t k = 0; k < e->numel; k++)
            e->data[k] = get_f32_le(data + s->begin + 4 * k);
    }
    free(data);
    free(spans);
    json_decref(root);
    close(fd);
    return 0;

oom:
    rcn_errorf(err, "%s: out of memory", path);
fail:
    free(data);
    free(spans);
    json_decref(root);
    close(fd);
    rcn_st_file_free(f);
    return -1;
}
