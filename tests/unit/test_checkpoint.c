/* test_checkpoint.c - a training continued from a checkpoint is the
 * training uninterrupted:
 *  - 3 epochs in one go vs 1 epoch, save, load into a FRESH net (created
 *    anew, initialised from another seed), continue to 3; the same from 2:
 *    weights, momentum, running statistics and every epoch's stats (but the
 *    timings) are bit-identical; the after_epoch hook runs after every
 *    epoch, and its error ends the training;
 *  - checkpoint files that are missing (RCN_CKPT_NONE), of another training
 *    (job hash, cell, fold, batch size, parameter count), truncated,
 *    damaged, not checkpoints, or of more epochs than the result holds, are
 *    refused with an error naming the file and the field;
 *  - the size functions agree with the files; file names and clean-up;
 *  - the cost of a checkpoint of rcn8 (printed). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fixtures.h"
#include "rcn/checkpoint.h"
#include "rcn/net.h"
#include "rcn/rng.h"
#include "rcn/train.h"

#define NTRAIN 200 /* the last batch of 32 is short */
#define NVAL 50
#define PIX (RCN_IMG_H * RCN_IMG_W)
#define EPOCHS 3

static uint8_t images[(NTRAIN + NVAL) * PIX], labels[NTRAIN + NVAL];
static int32_t train_idx[NTRAIN], val_idx[NVAL];
static rcn_arch arch;
static char dir[64];
static const rcn_split tr = {images, labels, train_idx, NTRAIN};
static const rcn_split va = {images, labels, val_idx, NVAL};
static const rcn_ckpt_id ID0 = {"0123456789abcdef", 4, 2, 32, 0};

static void make_data(void)
{
    rcn_rng r;
    fixture_noise(&r, 99, images, sizeof images);
    for (int i = 0; i < NTRAIN + NVAL; i++)
        labels[i] = (uint8_t)(images[i * PIX + 400] % 10); /* learnable */
    for (int i = 0; i < NTRAIN; i++)
        train_idx[i] = i;
    for (int i = 0; i < NVAL; i++)
        val_idx[i] = NTRAIN + i;
}

static rcn_hparams hparams(int epochs)
{
    return (rcn_hparams){.batch_size = 32, .epochs = epochs, .lr = 0.05, .momentum = 0.9,
                         .weight_decay = 1e-4, .diverge_threshold = 1e3, .seed = 11,
                         .stream_a = 2};
}

static rcn_net *new_net(uint64_t seed) { return fixture_net(&arch, 32, seed, 2); }

static rcn_ckpt_id id_of(rcn_net *net)
{
    rcn_ckpt_id id = ID0;
    id.n_params = (int64_t)rcn_net_num_params(net);
    return id;
}

static int same_floats(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof *a) == 0;
}

/* Everything but the timings. */
static int same_epochs(const rcn_train_result *a, const rcn_train_result *b)
{
    if (a->n_epochs != b->n_epochs || a->diverged != b->diverged)
        return 0;
    for (int e = 0; e < a->n_epochs; e++) {
        rcn_epoch_stats x = a->epochs[e], y = b->epochs[e];
        x.seconds = y.seconds = 0;
        x.images_per_second = y.images_per_second = 0;
        if (memcmp(&x, &y, sizeof x))
            return 0;
    }
    return 1;
}

typedef struct {
    int calls, last_epoch, fail_at;
} hook_log;

static int after_epoch(rcn_net *net, const rcn_train_result *res, void *ud, rcn_error *err)
{
    hook_log *h = ud;
    (void)net;
    h->calls++;
    h->last_epoch = res->n_epochs;
    if (res->n_epochs == h->fail_at)
        return rcn_errorf(err, "hook refused epoch %d", res->n_epochs);
    return 0;
}

/* Trains `split` epochs, checkpoints, continues on a fresh net to EPOCHS;
 * compares with `full`. */
static void check_continue(int split, rcn_net *full, const rcn_train_result *full_res)
{
    rcn_error err = {{0}};
    char path[128];
    snprintf(path, sizeof path, "%s/split%d.ckpt", dir, split);
    rcn_net *a = new_net(5);
    rcn_train_result *ra = rcn_train_result_create(EPOCHS, &err);
    rcn_hparams hp = hparams(split);
    CHECK(rcn_train(a, &tr, &va, &hp, NULL, ra, &err) == 0, "train %d: %s", split, err.msg);
    rcn_ckpt_id id = id_of(a);
    CHECK(rcn_ckpt_save(path, &id, a, ra, &err) == 0, "save: %s", err.msg);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (size_t)sb.st_size == rcn_ckpt_arch_bytes(&arch, split),
          "file size %lld, rcn_ckpt_arch_bytes %zu", (long long)sb.st_size,
          rcn_ckpt_arch_bytes(&arch, split));
    rcn_net_destroy(a);
    rcn_train_result_free(ra);

    rcn_net *b = new_net(77); /* fresh, and initialised differently */
    memset(rcn_net_momentum(b), 0x5a, rcn_net_num_params(b) * sizeof(float));
    rcn_train_result *rb = rcn_train_result_create(EPOCHS, &err);
    int pe = -1;
    CHECK(rcn_ckpt_peek_epochs(path, &pe) == 0 && pe == split, "peek: %d", pe);
    CHECK(rcn_ckpt_load(path, &id, b, rb, &err) == 0, "load: %s", err.msg);
    CHECK(rb->n_epochs == split, "loaded %d epochs, want %d", rb->n_epochs, split);
    hook_log log = {0, 0, -1};
    rcn_train_hooks hooks = {.after_epoch = after_epoch, .after_ud = &log};
    hp = hparams(EPOCHS);
    CHECK(rcn_train_continue(b, &tr, &va, &hp, &hooks, rb, &err) == 0, "continue: %s", err.msg);
    CHECK(rb->first_epoch == split + 1, "first_epoch %d", rb->first_epoch);
    CHECK(log.calls == EPOCHS - split && log.last_epoch == EPOCHS, "after_epoch: %d calls, last %d",
          log.calls, log.last_epoch);
    size_t np = rcn_net_num_params(b), nb = rcn_net_num_buffers(b);
    CHECK(same_floats(rcn_net_params(b), rcn_net_params(full), np), "%d->%d: weights differ",
          split, EPOCHS);
    CHECK(same_floats(rcn_net_momentum(b), rcn_net_momentum(full), np),
          "%d->%d: momentum differs", split, EPOCHS);
    CHECK(same_floats(rcn_net_buffers(b), rcn_net_buffers(full), nb),
          "%d->%d: running statistics differ", split, EPOCHS);
    CHECK(same_epochs(rb, full_res), "%d->%d: epoch stats differ", split, EPOCHS);
    CHECK(rb->seconds > rb->epochs[0].seconds, "seconds %g: the saved ones count", rb->seconds);
    rcn_net_destroy(b);
    rcn_train_result_free(rb);
}

/* Expects rcn_ckpt_load of `path` to fail with a message containing both
 * the path and `field`. */
static void expect_refused(const char *path, const rcn_ckpt_id *id, rcn_net *net, int cap,
                           const char *field)
{
    rcn_error err = {{0}};
    rcn_train_result *r = rcn_train_result_create(cap, &err);
    int rc = rcn_ckpt_load(path, id, net, r, &err);
    CHECK(rc == -1 && strstr(err.msg, path) && strstr(err.msg, field),
          "%s: rc %d, message \"%s\" should name the file and \"%s\"", field, rc, err.msg, field);
    fprintf(stderr, "refused (%s): %s\n", field, err.msg);
    rcn_train_result_free(r);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(p, 1, n, f) == n, "write %s", path);
    if (f)
        fclose(f);
}

/* Trains net `epochs` more epochs and checkpoints it as path (128 bytes:
 * <dir>/name) with id *id; returns the training's result. */
static rcn_train_result *train_saved(rcn_net *net, int epochs, const char *name, char *path,
                                     rcn_ckpt_id *id)
{
    rcn_error err = {{0}};
    snprintf(path, 128, "%s/%s", dir, name);
    rcn_train_result *r = rcn_train_result_create(EPOCHS, &err);
    rcn_hparams hp = hparams(epochs);
    rcn_train(net, &tr, &va, &hp, NULL, r, &err);
    *id = id_of(net);
    CHECK(rcn_ckpt_save(path, id, net, r, &err) == 0, "save: %s", err.msg);
    return r;
}

static void test_refused(rcn_net *net)
{
    rcn_error err = {{0}};
    char path[128], bad[128];
    rcn_ckpt_id id;
    rcn_train_result *r = train_saved(net, 1, "good.ckpt", path, &id);

    snprintf(bad, sizeof bad, "%s/none.ckpt", dir);
    CHECK(rcn_ckpt_load(bad, &id, net, r, &err) == RCN_CKPT_NONE, "missing file");
    snprintf(bad, sizeof bad, "%s/bad.ckpt", dir);

    rcn_ckpt_id other = id;
    snprintf(other.job_hash, sizeof other.job_hash, "fedcba9876543210");
    expect_refused(path, &other, net, EPOCHS, "job_hash");
    other = id, other.cell = 5;
    expect_refused(path, &other, net, EPOCHS, "cell");
    other = id, other.fold = 0;
    expect_refused(path, &other, net, EPOCHS, "fold");
    other = id, other.batch_size = 64;
    expect_refused(path, &other, net, EPOCHS, "batch_size");
    other = id, other.n_params++;
    expect_refused(path, &other, net, EPOCHS, "n_params");
    rcn_arch big = arch;
    big.stage_c[1] = 16;
    rcn_net *bn = rcn_net_create(&big, 32, &err);
    if (bn) {
        other = id, other.n_params = (int64_t)rcn_net_num_params(bn);
        expect_refused(path, &other, bn, EPOCHS, "n_params");
        rcn_net_destroy(bn);
    }

    FILE *f = fopen(path, "rb");
    size_t len = rcn_ckpt_arch_bytes(&arch, 1);
    char *buf = malloc(len);
    CHECK(f && fread(buf, 1, len, f) == len, "read back");
    if (f)
        fclose(f);
    write_bytes(bad, buf, len - 100);
    expect_refused(bad, &id, net, EPOCHS, "truncated");
    buf[len - 5] ^= 0x40;
    write_bytes(bad, buf, len);
    expect_refused(bad, &id, net, EPOCHS, "crc");
    write_bytes(bad, "hello, world\n", 13);
    expect_refused(bad, &id, net, EPOCHS, "magic");
    free(buf);
    rcn_train_result_free(r);
}

/* n_epochs beyond the result's capacity. */
static void test_capacity(rcn_net *net)
{
    rcn_error err = {{0}};
    char path[128];
    rcn_ckpt_id id;
    rcn_train_result *r = train_saved(net, 2, "two.ckpt", path, &id);
    expect_refused(path, &id, net, 1, "n_epochs");
    rcn_hparams hp = hparams(2);
    /* a failing after_epoch hook ends the training with its error */
    hook_log log = {0, 0, 1};
    rcn_train_hooks hooks = {.after_epoch = after_epoch, .after_ud = &log};
    err.msg[0] = 0;
    int rc = rcn_train(net, &tr, &va, &hp, &hooks, r, &err);
    CHECK(rc == -1 && strstr(err.msg, "hook refused epoch 1") && r->n_epochs == 1,
          "hook error: rc %d, %d epochs, \"%s\"", rc, r->n_epochs, err.msg);
    rcn_train_result_free(r);
}

static void test_files(void)
{
    char buf[256], p[256];
    rcn_error err = {{0}};
    rcn_ckpt_dir_for_report("results/x.json", buf, sizeof buf);
    CHECK(!strcmp(buf, "results/x.ckpt"), "dir for report: %s", buf);
    rcn_ckpt_path("d", 3, 1, buf, sizeof buf);
    CHECK(!strcmp(buf, "d/cell3-fold1.ckpt"), "path: %s", buf);
    snprintf(p, sizeof p, "%s/sub.ckpt", dir);
    CHECK(rcn_ckpt_dir_create(p, &err) == 0 && rcn_ckpt_dir_create(p, &err) == 0, "mkdir: %s",
          err.msg);
    rcn_ckpt_path(p, 0, 0, buf, sizeof buf);
    write_bytes(buf, "x", 1);
    CHECK(rcn_ckpt_remove(p, 0, 0, &err) == 0 && access(buf, F_OK) != 0, "remove");
    CHECK(rcn_ckpt_remove(p, 0, 0, &err) == 0, "remove of none: %s", err.msg);
    rcn_ckpt_path(p, 1, 2, buf, sizeof buf);
    strcat(buf, ".tmp.123");
    write_bytes(buf, "x", 1);
    CHECK(rcn_ckpt_dir_remove(p, &err) == 0 && access(p, F_OK) != 0, "dir remove: %s", err.msg);
    CHECK(rcn_ckpt_dir_remove(p, &err) == 0, "dir remove of none: %s", err.msg);
    CHECK(rcn_arch_buffer_count(&arch) > 0, "buffer count");
}

/* The cost of checkpointing rcn8 after an epoch (printed; the figure the
 * fold runner's save-every-epoch policy rests on). */
static void test_rcn8_cost(void)
{
    rcn_error err = {{0}};
    rcn_arch a;
    rcn_arch_preset("rcn8", &a, &err);
    rcn_net *net = rcn_net_create(&a, 1, &err);
    CHECK(net != NULL, "rcn8: %s", err.msg);
    if (!net)
        return;
    CHECK(rcn_arch_buffer_count(&a) == (int64_t)rcn_net_num_buffers(net), "rcn8 buffers");
    rcn_net_init(net, 1, 0);
    rcn_train_result *r = rcn_train_result_create(20, &err);
    r->n_epochs = 19;
    rcn_ckpt_id id = {"0123456789abcdef", 0, 0, 1, (int64_t)rcn_net_num_params(net)};
    char path[128];
    snprintf(path, sizeof path, "%s/rcn8.ckpt", dir);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 10; i++)
        CHECK(rcn_ckpt_save(path, &id, net, r, &err) == 0, "save: %s", err.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) * 1e-6) / 10;
    fprintf(stderr, "rcn8 checkpoint: %lld parameters, %zu bytes, %.2f ms a save (fsync incl.)\n",
            (long long)rcn_arch_param_count(&a), rcn_ckpt_arch_bytes(&a, 19), ms);
    unlink(path);
    rcn_train_result_free(r);
    rcn_net_destroy(net);
}

int main(void)
{
    rcn_error err = {{0}};
    fixture_arch(FIXTURE_SMALL_SPEC, &arch);
    snprintf(dir, sizeof dir, "/tmp/rcn_test_ckpt.XXXXXX");
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    make_data();

    rcn_net *full = new_net(5);
    rcn_train_result *full_res = rcn_train_result_create(EPOCHS, &err);
    rcn_hparams hp = hparams(EPOCHS);
    CHECK(rcn_train(full, &tr, &va, &hp, NULL, full_res, &err) == 0, "train: %s", err.msg);
    CHECK(full_res->n_epochs == EPOCHS && full_res->first_epoch == 1, "%d epochs",
          full_res->n_epochs);
    check_continue(1, full, full_res);
    check_continue(2, full, full_res);
    test_refused(full);
    test_capacity(full);
    test_files();
    test_rcn8_cost();
    rcn_net_destroy(full);
    rcn_train_result_free(full_res);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "clean-up");
    return check_exit("test_checkpoint");
}
