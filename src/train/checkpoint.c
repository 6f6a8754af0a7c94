/* checkpoint.c - a training's state on disk (see include/rcn/checkpoint.h):
 * save (one buffer, atomic write), checked load, file names, clean-up. */
#include "rcn/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "rcn/fileio.h"

#define CKPT_MAGIC "RCNCKPT1"

typedef struct {
    char magic[8];
    char job_hash[32];
    int32_t cell, fold, batch_size, n_epochs;
    int64_t n_params, n_buffers;
    double seconds;
    uint32_t crc; /* CRC-32 of the body */
    uint32_t reserved;
} ckpt_header;

size_t rcn_ckpt_bytes(size_t n_params, size_t n_buffers, int n_epochs)
{
    return sizeof(ckpt_header) + (size_t)n_epochs * sizeof(rcn_epoch_stats) +
           (2 * n_params + n_buffers) * sizeof(float);
}

size_t rcn_ckpt_arch_bytes(const rcn_arch *a, int n_epochs)
{
    return rcn_ckpt_bytes((size_t)rcn_arch_param_count(a), (size_t)rcn_arch_buffer_count(a),
                          n_epochs);
}

static uint32_t body_crc(const char *body, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (len > 0) { /* crc32 takes a uInt length */
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = crc32(crc, (const Bytef *)body, chunk);
        body += chunk;
        len -= chunk;
    }
    return (uint32_t)crc;
}

int rcn_ckpt_save(const char *path, const rcn_ckpt_id *id, rcn_net *net,
                  const rcn_train_result *res, rcn_error *err)
{
    if (res->n_epochs < 1 || res->diverged)
        return rcn_errorf(err, "%s: no checkpoint of a training with %d epochs%s", path,
                          res->n_epochs, res->diverged ? " that diverged" : "");
    size_t np = rcn_net_num_params(net), nb = rcn_net_num_buffers(net);
    size_t len = rcn_ckpt_bytes(np, nb, res->n_epochs);
    char *buf = calloc(1, len);
    if (!buf)
        return rcn_errorf(err, "%s: out of memory for a checkpoint of %zu bytes", path, len);
    ckpt_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CKPT_MAGIC, sizeof h.magic);
    snprintf(h.job_hash, sizeof h.job_hash, "%s", id->job_hash);
    h.cell = id->cell;
    h.fold = id->fold;
    h.batch_size = id->batch_size;
    h.n_epochs = res->n_epochs;
    h.n_params = (int64_t)np;
    h.n_buffers = (int64_t)nb;
    h.seconds = res->seconds;
    char *p = buf + sizeof h;
    memcpy(p, res->epochs, (size_t)res->n_epochs * sizeof *res->epochs);
    p += (size_t)res->n_epochs * sizeof *res->epochs;
    memcpy(p, rcn_net_params(net), np * sizeof(float));
    p += np * sizeof(float);
    memcpy(p, rcn_net_momentum(net), np * sizeof(float));
    p += np * sizeof(float);
    memcpy(p, rcn_net_buffers(net), nb * sizeof(float));
    h.crc = body_crc(buf + sizeof h, len - sizeof h);
    memcpy(buf, &h, sizeof h);
    int rc = rcn_write_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

/* Reads the whole file; RCN_CKPT_NONE when it does not exist. */
static int read_file(const char *path, char **data, size_t *len, rcn_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? RCN_CKPT_NONE
                               : rcn_errorf(err, "%s: cannot open checkpoint: %s", path,
                                            strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || sb.st_size < 0) {
        fclose(f);
        return rcn_errorf(err, "%s: cannot stat checkpoint: %s", path, strerror(errno));
    }
    *len = (size_t)sb.st_size;
    *data = malloc(*len ? *len : 1);
    if (!*data) {
        fclose(f);
        return rcn_errorf(err, "%s: out of memory for a checkpoint of %zu bytes", path, *len);
    }
    size_t got = fread(*data, 1, *len, f);
    fclose(f);
    if (got != *len) {
        free(*data);
        return rcn_errorf(err, "%s: read %zu of %zu bytes of the checkpoint", path, got, *len);
    }
    return 0;
}

/* Checks the header against the identity and the net; 0 or -1 with *err. */
static int check_header(const char *path, const ckpt_header *h, size_t len,
                        const rcn_ckpt_id *id, const rcn_net *net, int cap_epochs,
                        rcn_error *err)
{
#define MISMATCH(field, fmt, have, want)                                                   \
    rcn_errorf(err, "%s: checkpoint field %s is " fmt ", this training's is " fmt, path,  \
               field, have, want)
    if (strncmp(h->job_hash, id->job_hash, sizeof h->job_hash))
        return MISMATCH("job_hash", "\"%.32s\"", h->job_hash, id->job_hash);
    if (h->cell != id->cell)
        return MISMATCH("cell", "%d", (int)h->cell, id->cell);
    if (h->fold != id->fold)
        return MISMATCH("fold", "%d", (int)h->fold, id->fold);
    if (h->batch_size != id->batch_size)
        return MISMATCH("batch_size", "%d", (int)h->batch_size, id->batch_size);
    if (h->n_params != id->n_params)
        return MISMATCH("n_params", "%lld", (long long)h->n_params, (long long)id->n_params);
    if (h->n_params != (int64_t)rcn_net_num_params(net))
        return MISMATCH("n_params", "%lld", (long long)h->n_params,
                        (long long)rcn_net_num_params(net));
    if (h->n_buffers != (int64_t)rcn_net_num_buffers(net))
        return MISMATCH("n_buffers", "%lld", (long long)h->n_buffers,
                        (long long)rcn_net_num_buffers(net));
#undef MISMATCH
    if (h->n_epochs < 1 || h->n_epochs > cap_epochs)
        return rcn_errorf(err, "%s: checkpoint field n_epochs is %d, outside 1..%d", path,
                          (int)h->n_epochs, cap_epochs);
    size_t want = rcn_ckpt_bytes((size_t)h->n_params, (size_t)h->n_buffers, h->n_epochs);
    if (len != want)
        return rcn_errorf(err, "%s: checkpoint is %zu bytes, its header says %zu (truncated?)",
                          path, len, want);
    return 0;
}

int rcn_ckpt_load(const char *path, const rcn_ckpt_id *id, rcn_net *net,
                  rcn_train_result *res, rcn_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len, err);
    if (rc)
        return rc;
    ckpt_header h;
    if (len < sizeof h || memcmp(buf, CKPT_MAGIC, 8)) {
        free(buf);
        return rcn_errorf(err, "%s: not a checkpoint (field magic: no \"%s\")", path,
                          CKPT_MAGIC);
    }
    memcpy(&h, buf, sizeof h);
    if (check_header(path, &h, len, id, net, res->cap_epochs, err)) {
        free(buf);
        return -1;
    }
    if (body_crc(buf + sizeof h, len - sizeof h) != h.crc) {
        free(buf);
        return rcn_errorf(err, "%s: checkpoint field crc does not match its contents "
                          "(damaged file)", path);
    }
    size_t np = (size_t)h.n_params, nb = (size_t)h.n_buffers;
    const char *p = buf + sizeof h;
    rcn_train_result_clear(res);
    res->n_epochs = h.n_epochs;
    res->seconds = h.seconds;
    memcpy(res->epochs, p, (size_t)h.n_epochs * sizeof *res->epochs);
    p += (size_t)h.n_epochs * sizeof *res->epochs;
    memcpy(rcn_net_params(net), p, np * sizeof(float));
    p += np * sizeof(float);
    memcpy(rcn_net_momentum(net), p, np * sizeof(float));
    p += np * sizeof(float);
    memcpy(rcn_net_buffers(net), p, nb * sizeof(float));
    free(buf);
    return 0;
}

int rcn_ckpt_peek_epochs(const char *path, int *n_epochs)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    ckpt_header h;
    size_t got = fread(&h, 1, sizeof h, f);
    fclose(f);
    if (got != sizeof h || memcmp(h.magic, CKPT_MAGIC, 8))
        return -1;
    *n_epochs = h.n_epochs;
    return 0;
}

void rcn_ckpt_dir_for_report(const char *report, char *buf, size_t cap)
{
    size_t n = strlen(report);
    if (n >= 5 && !strcmp(report + n - 5, ".json"))
        n -= 5;
    snprintf(buf, cap, "%.*s.ckpt", (int)n, report);
}

void rcn_ckpt_path(const char *dir, int cell, int fold, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/cell%d-fold%d.ckpt", dir, cell, fold);
}

int rcn_ckpt_dir_create(const char *dir, rcn_error *err)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return rcn_errorf(err, "%s: cannot create the checkpoint directory: %s", dir,
                          strerror(errno));
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return rcn_errorf(err, "%s: exists and is not a directory (checkpoints go there)", dir);
    return 0;
}

int rcn_ckpt_remove(const char *dir, int cell, int fold, rcn_error *err)
{
    char path[4200];
    rcn_ckpt_path(dir, cell, fold, path, sizeof path);
    if (unlink(path) != 0 && errno != ENOENT)
        return rcn_errorf(err, "%s: cannot remove checkpoint: %s", path, strerror(errno));
    return 0;
}

int rcn_ckpt_dir_remove(const char *dir, rcn_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0
                               : rcn_errorf(err, "%s: cannot open the checkpoint directory: %s",
                                            dir, strerror(errno));
    struct dirent *e;
    int cell, fold, used;
    while ((e = readdir(d))) { /* only our names: cell<c>-fold<f>.ckpt[.tmp.<pid>] */
        used = 0;
        if (sscanf(e->d_name, "cell%d-fold%d.ckpt%n", &cell, &fold, &used) != 2 || !used)
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    if (rmdir(dir) != 0 && errno != ENOENT)
        return rcn_errorf(err, "%s: cannot remove the checkpoint directory: %s", dir,
                          strerror(errno));
    return 0;
}
