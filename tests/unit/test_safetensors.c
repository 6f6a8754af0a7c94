/* test_safetensors.c - safetensors save/load of networks: round trips are
 * byte-exact (tensors, then logits) and keep the metadata; the layout is
 * the format's (LE length, space-padded JSON, 8-aligned data); and every
 * kind of bad file is refused with its own error naming the file and the
 * tensor or byte offset at fault. Bad files are made by editing the header
 * JSON and data of a good file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fixtures.h"
#include "rcn/netfile.h"
#include "rcn/safetensors.h"

#define P(name) fixture_path(name)

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* A file from header text + data bytes (header padded with spaces to 8). */
static void put_st(const char *path, const char *header, const unsigned char *data,
                   size_t dlen)
{
    size_t h = strlen(header), ph = (h + 7) / 8 * 8;
    unsigned char *b = calloc(8 + ph + dlen + 1, 1);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)ph >> (8 * i));
    memcpy(b + 8, header, h);
    memset(b + 8 + h, ' ', ph - h);
    if (dlen)
        memcpy(b + 8 + ph, data, dlen);
    fixture_put_bytes(path, b, 8 + ph + dlen);
    free(b);
}

/* The good file split into its parsed header and its data section. */
static json_t *good_header;
static unsigned char *good_data;
static size_t good_dlen;

static void put_edited(const char *path, json_t *header, const unsigned char *data, size_t dlen)
{
    char *h = json_dumps(header, JSON_COMPACT | JSON_PRESERVE_ORDER);
    put_st(path, h, data, dlen);
    free(h);
}

/* Loads `path` expecting failure; checks the message has the path and `want`. */
static void expect_error(const char *path, const char *want, const char *what)
{
    rcn_error err;
    memset(&err, 0, sizeof err);
    rcn_net *net = rcn_safetensors_load(path, 4, NULL, &err);
    CHECK(net == NULL, "%s: loaded a bad file", what);
    if (net)
        rcn_net_destroy(net);
    CHECK(strstr(err.msg, want) != NULL, "%s: message lacks \"%s\": %s", what, want, err.msg);
    CHECK(strstr(err.msg, path) != NULL, "%s: message does not name the file: %s", what,
          err.msg);
}

/* Fills every tensor with distinct, non-trivial values (running stats too). */
static void scribble(rcn_net *net, uint64_t seed)
{
    rcn_rng r;
    rcn_rng_seed(&r, seed, RCN_STREAM_TEST, 0, 0);
    for (int i = 0; i < rcn_net_num_tensors(net); i++) {
        const rcn_tensor_info *t = rcn_net_tensor(net, i);
        float *d = rcn_net_tensor_data(net, i);
        int var = strstr(t->name, "running_var") != NULL;
        for (size_t k = 0; k < t->numel; k++)
            d[k] = var ? 0.5f + rcn_rng_uniform(&r) : rcn_rng_uniform(&r) - 0.5f;
    }
}

static void fill_input(rcn_net *net, int n)
{
    rcn_rng r;
    rcn_rng_seed(&r, 5, RCN_STREAM_TEST, 1, 0);
    float *x = rcn_net_input(net);
    for (int i = 0; i < n * RCN_IMG_H * RCN_IMG_W; i++)
        x[i] = 2.0f * rcn_rng_uniform(&r) - 0.5f;
    uint8_t *y = rcn_net_labels(net);
    for (int i = 0; i < n; i++)
        y[i] = (uint8_t)(i % RCN_CLASSES);
}

static void round_trip(const rcn_arch *a, const char *file)
{
    rcn_error err;
    const int n = 4;
    rcn_net *net = rcn_net_create(a, n, &err);
    CHECK(net != NULL, "create %s: %s", a->name, err.msg);
    if (!net)
        return;
    rcn_net_init(net, 3, 0);
    scribble(net, 17);
    json_t *extra = json_pack("{s:f, s:i, s:s, s:[i,i]}", "lr", 0.135, "epochs", 10, "note",
                              "hello", "list", 1, 2);
    CHECK(rcn_safetensors_save(P(file), net, extra, &err) == 0, "save: %s", err.msg);
    json_decref(extra);

    json_t *meta = NULL;
    rcn_net *back = rcn_safetensors_load(P(file), n, &meta, &err);
    CHECK(back != NULL, "load %s: %s", file, err.msg);
    if (!back) {
        rcn_net_destroy(net);
        return;
    }
    CHECK(!strcmp(rcn_net_arch(back)->name, a->name), "arch name %s vs %s",
          rcn_net_arch(back)->name, a->name);
    CHECK(rcn_net_num_tensors(back) == rcn_net_num_tensors(net), "tensor count");
    int same = 1;
    for (int i = 0; i < rcn_net_num_tensors(net); i++) {
        const rcn_tensor_info *t = rcn_net_tensor(net, i);
        int k = rcn_net_find_tensor(back, t->name);
        if (k < 0 || memcmp(rcn_net_tensor_data(net, i), rcn_net_tensor_data(back, k),
                            t->numel * sizeof(float))) {
            same = 0;
            fprintf(stderr, "tensor %s differs after the round trip\n", t->name);
        }
    }
    CHECK(same, "%s: every tensor byte-identical", file);

    /* metadata */
    CHECK(meta && !strcmp(json_string_value(json_object_get(meta, "format")), "rcn"), "format");
    CHECK(meta && !strcmp(json_string_value(json_object_get(meta, "pixel_mean")), "0.1307"),
          "pixel_mean");
    CHECK(meta && !strcmp(json_string_value(json_object_get(meta, "pixel_std")), "0.3081"),
          "pixel_std");
    CHECK(meta && !strcmp(json_string_value(json_object_get(meta, "lr")), "0.135"),
          "lr stored as its decimal: %s", json_string_value(json_object_get(meta, "lr")));
    CHECK(meta && !strcmp(json_string_value(json_object_get(meta, "note")), "hello"), "note");
    CHECK(meta && !strcmp(json_string_value(json_object_get(meta, "list")), "[1,2]"), "list");
    json_decref(meta);

    /* same logits, eval and train mode */
    for (int train = 0; train <= 1; train++) {
        fill_input(net, n);
        fill_input(back, n);
        rcn_rng r1, r2; /* the same dropout masks for both */
        rcn_rng_seed(&r1, 9, RCN_STREAM_DROPOUT, 0, 0);
        rcn_rng_seed(&r2, 9, RCN_STREAM_DROPOUT, 0, 0);
        double l1 = rcn_net_forward(net, n, train, &r1, NULL);
        double l2 = rcn_net_forward(back, n, train, &r2, NULL);
        CHECK(l1 == l2 && isfinite(l1), "%s: loss %.9g vs %.9g", file, l1, l2);
        CHECK(!memcmp(rcn_net_logits(net), rcn_net_logits(back), n * RCN_CLASSES * sizeof(float)),
              "%s: logits identical (train=%d)", file, train);
    }
    rcn_net_destroy(back);
    rcn_net_destroy(net);
}

static void test_layout(void)
{
    size_t len;
    unsigned char *b = slurp(P("rcn8.safetensors"), &len);
    uint64_t n = le64(b);
    CHECK(n % 8 == 0, "header length %llu is a multiple of 8", (unsigned long long)n);
    CHECK(8 + n <= len, "header within the file");
    CHECK(b[8] == '{', "header starts with '{'");
    size_t end = 8 + n;
    while (end > 8 && b[end - 1] == ' ')
        end--;
    CHECK(b[end - 1] == '}', "header is JSON padded with spaces");
    json_error_t je;
    json_t *h = json_loadb((char *)b + 8, n, 0, &je);
    CHECK(h != NULL, "header parses: %s", je.text);
    if (!h)
        exit(check_exit("test_safetensors"));
    json_t *e = json_object_get(h, "stem.conv.weight");
    CHECK(e && !strcmp(json_string_value(json_object_get(e, "dtype")), "F32"), "dtype F32");
    json_t *shape = json_object_get(e, "shape");
    CHECK(json_array_size(shape) == 4 &&
              json_integer_value(json_array_get(shape, 0)) == 16 &&
              json_integer_value(json_array_get(shape, 1)) == 1 &&
              json_integer_value(json_array_get(shape, 2)) == 3,
          "stem.conv.weight shape [16,1,3,3]");
    json_t *meta = json_object_get(h, "__metadata__");
    const char *arch = json_string_value(json_object_get(meta, "arch"));
    CHECK(arch && strstr(arch, "\"stages\""), "arch metadata is the JSON spec: %s",
          arch ? arch : "(none)");
    /* total data = 4 bytes per parameter and running stat */
    rcn_arch a;
    rcn_arch_preset("rcn8", &a, NULL);
    int64_t params = rcn_arch_param_count(&a);
    CHECK(params == 77754, "rcn8 parameters %lld", (long long)params);
    size_t running = 0;
    rcn_net *net = rcn_net_create(&a, 1, NULL);
    running = rcn_net_num_buffers(net);
    rcn_net_destroy(net);
    CHECK(len - 8 - n == 4 * ((size_t)params + running), "data section %zu bytes",
          len - 8 - n);
    /* first tensor's first float is little-endian at 8+n+begin */
    rcn_net *back = rcn_safetensors_load(P("rcn8.safetensors"), 1, NULL, NULL);
    int k = rcn_net_find_tensor(back, "stem.conv.weight");
    json_int_t begin = json_integer_value(json_array_get(json_object_get(e, "data_offsets"), 0));
    uint32_t u = (uint32_t)b[8 + n + begin] | (uint32_t)b[8 + n + begin + 1] << 8 |
                 (uint32_t)b[8 + n + begin + 2] << 16 | (uint32_t)b[8 + n + begin + 3] << 24;
    float f;
    memcpy(&f, &u, 4);
    CHECK(back && f == rcn_net_tensor_data(back, k)[0], "little-endian float data");
    rcn_net_destroy(back);

    /* keep for the bad-file tests */
    good_header = h;
    good_dlen = len - 8 - n;
    good_data = malloc(good_dlen + 64);
    memcpy(good_data, b + 8 + n, good_dlen);
    memset(good_data + good_dlen, 0, 64);
    free(b);
}

static json_t *edit(void) { return json_deep_copy(good_header); }

static void set_offsets(json_t *h, const char *name, long long b, long long e)
{
    json_object_set_new(json_object_get(h, name), "data_offsets", json_pack("[I,I]", b, e));
}

/* Writes the good data under header h (an edit() copy, released here) as
 * <scratch>/name, dlen data bytes, and expects the load to fail with want. */
static void expect_edited(json_t *h, const char *name, size_t dlen, const char *want,
                          const char *what)
{
    put_edited(P(name), h, good_data, dlen);
    expect_error(P(name), want, what);
    json_decref(h);
}

static void test_bad_files(void)
{
    size_t len;
    unsigned char *b = slurp(P("rcn8.safetensors"), &len);
    json_t *h;
    char text[256];

    /* truncation at three depths */
    fixture_put_bytes(P("short.st"), b, 5);
    expect_error(P("short.st"), "truncated: 5 bytes", "truncated in the length");
    fixture_put_bytes(P("cut_header.st"), b, 100);
    expect_error(P("cut_header.st"), "claims more than the 92 bytes", "truncated in the header");
    fixture_put_bytes(P("cut_data.st"), b, len - 100);
    expect_error(P("cut_data.st"), "run past the end of the", "truncated in the data");
    fixture_put_bytes(P("empty.st"), b, 0);
    expect_error(P("empty.st"), "truncated: 0 bytes", "empty file");

    /* a header length claiming far more than the file (refused before allocating) */
    unsigned char *lie = malloc(len);
    memcpy(lie, b, len);
    lie[5] = 0x10; /* ~ 2^44 */
    fixture_put_bytes(P("lie.st"), lie, len);
    expect_error(P("lie.st"), "claims more than", "header length lying");
    /* ... and one slightly short: the JSON then ends early */
    memcpy(lie, b, len);
    uint64_t n = le64(b) - 16;
    for (int i = 0; i < 8; i++)
        lie[i] = (unsigned char)(n >> (8 * i));
    fixture_put_bytes(P("lie_short.st"), lie, len);
    expect_error(P("lie_short.st"), "header JSON is invalid", "header length too short");
    free(lie);
    put_st(P("tiny.st"), "{", NULL, 0);
    expect_error(P("tiny.st"), "header JSON is invalid", "header of 8 bytes, one '{'");

    /* JSON */
    put_st(P("badjson.st"), "{\"a\": [1, 2}", NULL, 0);
    expect_error(P("badjson.st"), "header JSON is invalid at byte", "bad JSON");
    put_st(P("array.st"), "[1, 2, 3]", NULL, 0);
    expect_error(P("array.st"), "is not a JSON object", "header not an object");
    put_st(P("dup.st"), "{\"x\": 1, \"x\": 2}", NULL, 0);
    expect_error(P("dup.st"), "header JSON is invalid", "duplicate key");

    /* entries */
    h = edit();
    json_object_set_new(json_object_get(h, "stem.bn.weight"), "dtype", json_string("F16"));
    expect_edited(h, "dtype.st", good_dlen,
                  "tensor 'stem.bn.weight': dtype \"F16\" is not supported", "wrong dtype");

    h = edit();
    json_object_set_new(json_object_get(h, "stem.conv.weight"), "shape", json_pack("[i,i,i,i]", 16, 1, 9, 1));
    expect_edited(h, "shape.st", good_dlen,
                  "tensor 'stem.conv.weight' has shape [16, 1, 9, 1] but the "
                  "architecture in __metadata__.arch needs [16, 1, 3, 3]",
                  "wrong shape");

    h = edit();
    json_object_set_new(json_object_get(h, "stem.conv.weight"), "shape", json_pack("[i,i,i,i]", 16, 1, 3, 4));
    expect_edited(h, "numel.st", good_dlen,
                  "tensor 'stem.conv.weight': data_offsets [0, 576] span 576 bytes "
                  "but shape [16, 1, 3, 4] of F32 needs 768",
                  "shape vs offsets");

    h = edit();
    json_object_set_new(json_object_get(h, "stem.conv.weight"), "shape",
                        json_pack("[I,I]", (json_int_t)1 << 40, (json_int_t)1 << 40));
    expect_edited(h, "huge.st", good_dlen, "needs more bytes than the whole", "huge shape");

    h = edit();
    json_object_set_new(json_object_get(h, "stem.conv.weight"), "shape", json_pack("[i,i]", 16, -1));
    expect_edited(h, "negshape.st", good_dlen, "shape[1] must be a non-negative integer",
                  "negative dim");

    h = edit();
    json_object_del(json_object_get(h, "fc.bias"), "data_offsets");
    expect_edited(h, "nooffs.st", good_dlen, "tensor 'fc.bias': no \"data_offsets\"",
                  "no data_offsets");

    h = edit();
    json_object_set_new(json_object_get(h, "fc.bias"), "extra", json_true());
    expect_edited(h, "entrykey.st", good_dlen, "tensor 'fc.bias': unknown key \"extra\"",
                  "unknown entry key");

    /* offsets: overlap, gap, backwards, past the end, trailing bytes */
    h = edit();
    set_offsets(h, "stem.bn.weight", 512, 576);
    expect_edited(h, "overlap.st", good_dlen,
                  "tensors 'stem.conv.weight' data_offsets [0, 576] and "
                  "'stem.bn.weight' [512, 576] overlap",
                  "overlapping offsets");

    h = edit();
    set_offsets(h, "stem.conv.weight", 4, 580);
    expect_edited(h, "gap.st", good_dlen, "data bytes [0, 4)", "gap before the first tensor");

    h = edit();
    set_offsets(h, "stem.bn.weight", 640, 576);
    expect_edited(h, "backwards.st", good_dlen, "are not 0 <= begin <= end", "end before begin");

    h = edit();
    snprintf(text, sizeof text, "the data section has %zu bytes but the tensors cover %zu",
             good_dlen + 8, good_dlen);
    expect_edited(h, "trailing.st", good_dlen + 8, text, "trailing bytes");

    /* names: missing, unknown */
    h = edit();
    json_object_del(h, "fc.bias");
    expect_edited(h, "missing.st", good_dlen - 40, "missing tensor 'fc.bias' (shape [10])",
                  "missing tensor");

    h = edit();
    json_object_set_new(h, "extra.weight", json_pack("{s:s, s:[i], s:[I,I]}", "dtype", "F32",
                                                     "shape", 2, "data_offsets",
                                                     (json_int_t)good_dlen,
                                                     (json_int_t)good_dlen + 8));
    expect_edited(h, "unknown.st", good_dlen + 8, "unknown tensor 'extra.weight'",
                  "unknown tensor");

    /* metadata */
    h = edit();
    json_object_del(json_object_get(h, "__metadata__"), "arch");
    expect_edited(h, "noarch.st", good_dlen, "no \"arch\" in __metadata__", "no arch metadata");

    h = edit();
    json_object_del(h, "__metadata__");
    expect_edited(h, "nometa.st", good_dlen, "no __metadata__", "no metadata at all");

    h = edit();
    json_object_set_new(json_object_get(h, "__metadata__"), "epochs", json_integer(3));
    expect_edited(h, "metanum.st", good_dlen, "__metadata__.epochs: must be a string",
                  "non-string metadata");

    h = edit();
    json_object_set_new(json_object_get(h, "__metadata__"), "arch", json_string("{\"stages\": 3"));
    expect_edited(h, "archjson.st", good_dlen, "__metadata__.arch: invalid JSON", "arch not JSON");

    h = edit();
    json_object_set_new(json_object_get(h, "__metadata__"), "arch",
                        json_string("{\"stages\": [{\"channels\": 16, \"blocks\": 1}]}"));
    expect_edited(h, "otherarch.st", good_dlen, "unknown tensor", "arch of another network");

    /* not files */
    expect_error(fixture_tmpdir(), "is a directory", "directory");
    expect_error(P("does-not-exist.safetensors"), "cannot open: No such file or directory",
                 "missing file");
    free(b);
}

static void test_generic(void)
{
    rcn_error err;
    float a[6] = {1, -2, 3.5f, 1e-30f, -0.0f, 7}, s = 42;
    rcn_st_tensor t[3] = {
        {.name = "a", .ndim = 2, .shape = {2, 3}, .data = a},
        {.name = "empty", .ndim = 2, .shape = {0, 5}, .data = NULL},
        {.name = "scalar", .ndim = 0, .data = &s},
    };
    json_t *meta = json_pack("{s:s}", "k", "v");
    CHECK(rcn_safetensors_write(P("generic.st"), t, 3, meta, &err) == 0, "write: %s", err.msg);
    rcn_st_file f;
    CHECK(rcn_safetensors_read(P("generic.st"), &f, &err) == 0, "read: %s", err.msg);
    CHECK(f.n == 3, "3 tensors, got %d", f.n);
    int ia = rcn_st_file_find(&f, "a"), ie = rcn_st_file_find(&f, "empty"),
        is = rcn_st_file_find(&f, "scalar");
    CHECK(ia >= 0 && f.t[ia].ndim == 2 && f.t[ia].shape[1] == 3 && f.t[ia].numel == 6 &&
              !memcmp(f.t[ia].data, a, sizeof a),
          "tensor a round trip");
    CHECK(ie >= 0 && f.t[ie].numel == 0, "empty tensor");
    CHECK(is >= 0 && f.t[is].ndim == 0 && f.t[is].numel == 1 && f.t[is].data[0] == 42,
          "scalar tensor");
    CHECK(f.metadata && !strcmp(json_string_value(json_object_get(f.metadata, "k")), "v"),
          "metadata");
    CHECK(rcn_st_file_find(&f, "nope") == -1, "find of an absent name");
    rcn_st_file_free(&f);

    /* the writer refuses bad input */
    rcn_st_tensor dup[2] = {{.name = "x", .ndim = 1, .shape = {1}, .data = a},
                            {.name = "x", .ndim = 1, .shape = {1}, .data = a}};
    CHECK(rcn_safetensors_write(P("dupnames.st"), dup, 2, NULL, &err) != 0 &&
              strstr(err.msg, "tensor 'x' given twice"),
          "duplicate names refused: %s", err.msg);
    rcn_st_tensor reserved = {.name = "__metadata__", .ndim = 1, .shape = {1}, .data = a};
    CHECK(rcn_safetensors_write(P("res.st"), &reserved, 1, NULL, &err) != 0, "reserved name");
    CHECK(access(P("dupnames.st"), F_OK) != 0, "nothing written on error");
    CHECK(rcn_safetensors_write(P("no/such/dir/x.st"), t, 1, meta, &err) != 0 &&
              strstr(err.msg, "no/such/dir/x.st"),
          "unwritable path names the file: %s", err.msg);
    json_decref(meta);

    /* save refuses reserved extra keys and keeps the previous file */
    rcn_arch ar;
    rcn_arch_preset("rcn8", &ar, NULL);
    rcn_net *net = rcn_net_create(&ar, 1, NULL);
    rcn_net_init(net, 1, 0);
    json_t *extra = json_pack("{s:s}", "arch", "rcn14");
    size_t before_len, after_len;
    unsigned char *before = slurp(P("rcn8.safetensors"), &before_len);
    CHECK(rcn_safetensors_save(P("rcn8.safetensors"), net, extra, &err) != 0 &&
              strstr(err.msg, "\"arch\" is reserved"),
          "reserved extra key: %s", err.msg);
    unsigned char *after = slurp(P("rcn8.safetensors"), &after_len);
    CHECK(before_len == after_len && !memcmp(before, after, before_len),
          "failed save left the old file");
    free(before);
    free(after);
    json_decref(extra);
    rcn_net_destroy(net);
}

int main(void)
{
    if (fixture_tmpdir_make("st") != 0)
        return 2;
    rcn_arch a;
    rcn_error err;
    rcn_arch_preset("rcn8", &a, &err);
    round_trip(&a, "rcn8.safetensors");

    json_t *spec = json_loads("{\"stem\": {\"kernel\": 7, \"stride\": 2, \"channels\": 6, "
                              "\"maxpool\": true}, \"stages\": [{\"channels\": 8, \"blocks\": 1}, "
                              "{\"channels\": 16, \"blocks\": 2}], \"dropout\": 0.3}",
                              0, NULL);
    CHECK(rcn_arch_from_json(spec, "spec", &a, &err) == 0, "custom spec: %s", err.msg);
    json_decref(spec);
    round_trip(&a, "custom.safetensors");
    rcn_net *c = rcn_safetensors_load(P("custom.safetensors"), 2, NULL, &err);
    CHECK(c && rcn_net_arch(c)->stem_pool == 1 && rcn_net_arch(c)->dropout == 0.3f &&
              rcn_net_find_tensor(c, "stages.0.0.shortcut.conv.weight") >= 0,
          "custom arch (maxpool, dropout 0.3, projection) survives: %s", c ? "" : err.msg);
    if (c)
        rcn_net_destroy(c);

    test_layout();
    test_bad_files();
    test_generic();

    json_decref(good_header);
    free(good_data);
    fixture_tmpdir_remove();
    return check_exit("test_safetensors");
}
