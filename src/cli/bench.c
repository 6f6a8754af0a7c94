/* bench.c - `rcn bench`: training and inference throughput of one network
 * configuration on synthetic data, the per-core peak it is measured against
 * (an SGEMM run and an FMA-only loop), and a per-layer-kind breakdown timed
 * on the preset's own kernel shapes, so the next bottleneck is visible.
 *
 * Timing: warm-up steps, then at least --steps steps and --min-seconds of
 * them; the figure reported is the median step (robust to a shared, noisy
 * machine). Nothing here touches the training path: the breakdown calls the
 * nn.h kernels directly on buffers of the same shapes as the network.
 * --fold (bench_fold.c) also runs one real fold and sets it against these
 * rates. */
#include <getopt.h>
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cblas.h>

#include "rcn/cli.h"
#include "rcn/data.h"
#include "rcn/fileio.h"
#include "rcn/clock.h"
#include "rcn/jsonutil.h"
#include "rcn/net.h"
#include "rcn/nn.h"
#include "rcn/prof.h"
#include "rcn/vecpath.h"

#include "bench_fold.h"

static const char usage_text[] =
    "usage: rcn bench [options]\n"
    "\n"
    "Times training steps (forward + backward + SGD) and inference (eval-mode\n"
    "forward) of one network on synthetic data: warm-up, then the median of many\n"
    "steps. Reports images/s, GFLOP/s (forward FLOPs x3 for training, im2col\n"
    "counting: 2 per multiply-add) against the per-core peak measured here (an\n"
    "SGEMM run and an FMA-only loop), time per layer kind on the network's own\n"
    "shapes, peak memory and the vector path the kernels take (avx512, avx2 or\n"
    "portable; RCN_NO_AVX512=1 in the environment forces avx2).\n"
    "\n"
    "With --fold it also runs one real fold the way a search does (a 10-fold\n"
    "split of the training set of --data: 54,000 trained, 6,000 validated after\n"
    "every epoch, lr 0.05, momentum 0.5, no checkpoints), times it in process\n"
    "CPU time and sets it against the model at the rates measured here:\n"
    "  model = images x epochs / train rate + validation images x epochs / eval rate\n"
    "  overhead = fold / model - 1\n"
    "with where the fold's time went. --fold skips the breakdown and the peak.\n"
    "\n"
    "options:\n"
    "  --preset NAME       rcn8 (default), rcn14 or resnet18\n"
    "  --spec JSON         a custom model spec instead of a preset\n"
    "  --batch-size N      samples per step (default 64)\n"
    "  --threads N         OpenBLAS threads (default 1)\n"
    "  --steps N           at least N timed steps per measurement (default 10)\n"
    "  --min-seconds X     and at least X seconds of them (default 2)\n"
    "  --warmup N          untimed steps first (default 3)\n"
    "  --no-train          skip the training measurement\n"
    "  --no-eval           skip the inference measurement\n"
    "  --no-layers         skip the per-layer breakdown\n"
    "  --no-peak           skip the SGEMM / FMA peak measurement\n"
    "  --verbose           text output lists every convolution of the breakdown\n"
    "  --fold              also run and time one real fold (see above)\n"
    "  --data DIR          the fold's IDX training set (default data/mnist)\n"
    "  --epochs N          the fold's epochs (default 1)\n"
    "  --fold-images N     train the fold on about N images (a subset of N x 10/9,\n"
    "                      1/10 validated) instead of the whole set\n"
    "  --json              print one JSON object instead of text\n"
    "  --out FILE          also write the JSON object to FILE (atomically)\n"
    "  --help              this text\n"
    "\n"
    "\n"
    "JSON keys: preset, model, batch_size, threads, vector_path,\n"
    "forward_flops_per_image, train_flops_per_image; per measured part (train,\n"
    "eval) <part>_images_per_second, _images_per_cpu_second, _gflops, _gflops_cpu,\n"
    "_percent_of_sgemm, _percent_of_fma_peak; sgemm_gflops, fma_peak_gflops,\n"
    "fma_width_bits, peak_memory_bytes, net_bytes, layers; with --fold, \"fold\":\n"
    "  data, folds, train_images, validation_images (per epoch), epochs,\n"
    "  epochs_trained, diverged, fold_cpu_seconds, fold_wall_seconds,\n"
    "  train_images_per_cpu_second, eval_images_per_cpu_second (the rates of the\n"
    "  model), model_train_cpu_seconds, model_eval_cpu_seconds,\n"
    "  model_cpu_seconds, overhead_percent, fold_train_images_per_cpu_second,\n"
    "  fold_eval_images_per_cpu_second (the fold's own rates, setup excluded),\n"
    "  train_batches, validation_batches, and breakdown: {train_steps,\n"
    "  train_batch_assembly, shuffle, validation_forward,\n"
    "  validation_batch_assembly, epoch_bookkeeping, setup} each with\n"
    "  cpu_seconds and percent_of_fold.\n"
    "\n"
    "exit status: 0 ok, 1 error, 2 bad command line.\n";

typedef struct {
    rcn_arch arch;
    int batch, threads, steps, warmup;
    double min_seconds;
    int train, eval, layers, peak, json, verbose;
    const char *out;
    int fold;
    rcn_bench_fold_opts fold_opts;
} bench_opts;

/* ---- clocks and statistics ---------------------------------------------- */

static double now(void) { return rcn_clock(); }
static double cpu_now(void) { return rcn_cpu_clock(); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Median seconds per call, by the wall clock and in process CPU time. The
 * CPU figure is what one core delivers when it is not time-shared with
 * other work (it still pays for shared caches and memory bandwidth). */
typedef struct {
    double wall, cpu;
} timing;

typedef void (*step_fn)(void *);

/* Runs fn until at least min_steps calls and min_seconds have passed (after
 * `warmup` untimed calls). */
static timing time_median(step_fn fn, void *ctx, int warmup, int min_steps,
                          double min_seconds)
{
    for (int i = 0; i < warmup; i++)
        fn(ctx);
    enum { CAP = 4096 };
    double *t = malloc(sizeof *t * 2 * CAP), start = now();
    if (!t)
        return (timing){NAN, NAN};
    double *c = t + CAP;
    int n = 0;
    while (n < CAP && (n < min_steps || now() - start < min_seconds)) {
        double t0 = now(), c0 = cpu_now();
        fn(ctx);
        c[n] = cpu_now() - c0;
        t[n++] = now() - t0;
    }
    timing r = {median(t, n), median(c, n)};
    free(t);
    return r;
}

/* ---- peak: SGEMM and an FMA-only loop ------------------------------------ */

typedef struct {
    int n;
    float *a, *b, *c;
} sgemm_ctx;

static void sgemm_step(void *p)
{
    sgemm_ctx *s = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->n, s->n, s->n, 1.0f, s->a, s->n,
                s->b, s->n, 0.0f, s->c, s->n);
}

static double sgemm_gflops(double min_seconds)
{
    sgemm_ctx s = {.n = 768};
    size_t len = (size_t)s.n * s.n;
    s.a = malloc(len * sizeof(float));
    s.b = malloc(len * sizeof(float));
    s.c = malloc(len * sizeof(float));
    if (!s.a || !s.b || !s.c) {
        free(s.a), free(s.b), free(s.c);
        return NAN;
    }
    for (size_t i = 0; i < len; i++)
        s.a[i] = (float)(i % 13) * 0.01f, s.b[i] = (float)(i % 7) * 0.02f;
    double t = time_median(sgemm_step, &s, 2, 10, min_seconds).cpu;
    free(s.a), free(s.b), free(s.c);
    return 2.0 * s.n * s.n * s.n / t * 1e-9;
}

/* FMAs in 16 (AVX-512) or 12 (AVX2) independent register chains, more than
 * latency x throughput of any current core; written in asm so that the
 * compiler can neither spill nor fold them. Operands are zero: no
 * denormals. */
#define FMA16(i) "vfmadd231ps %%zmm16, %%zmm17, %%zmm" #i "\n\t"
#define FMA8(i) "vfmadd231ps %%ymm14, %%ymm15, %%ymm" #i "\n\t"

__attribute__((target("avx512f"))) static void fma_loop_avx512(long iters)
{
    __asm__ volatile("vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
                     "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
                     "1:\n\t" FMA16(0) FMA16(1) FMA16(2) FMA16(3) FMA16(4) FMA16(5) FMA16(6)
                         FMA16(7) FMA16(8) FMA16(9) FMA16(10) FMA16(11) FMA16(12) FMA16(13)
                             FMA16(14) FMA16(15) "dec %0\n\t"
                                                 "jnz 1b\n\t"
                     : "+r"(iters)
                     :
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16",
                       "xmm17", "cc");
}

static void fma_loop_avx2(long iters)
{
    __asm__ volatile("vxorps %%ymm14, %%ymm14, %%ymm14\n\t"
                     "vxorps %%ymm15, %%ymm15, %%ymm15\n\t"
                     "1:\n\t" FMA8(0) FMA8(1) FMA8(2) FMA8(3) FMA8(4) FMA8(5) FMA8(6) FMA8(7)
                         FMA8(8) FMA8(9) FMA8(10) FMA8(11) "dec %0\n\t"
                                                           "jnz 1b\n\t"
                     : "+r"(iters)
                     :
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm14", "xmm15", "cc");
}

typedef struct {
    int avx512;
    long iters;
} fma_ctx;

static void fma_step(void *p)
{
    fma_ctx *f = p;
    if (f->avx512)
        fma_loop_avx512(f->iters);
    else
        fma_loop_avx2(f->iters);
}

/* Peak single-precision GFLOP/s of one core: the widest FMA the CPU has. */
static double fma_gflops(double min_seconds, int *width)
{
    fma_ctx f = {.avx512 = __builtin_cpu_supports("avx512f"), .iters = 200000};
    *width = f.avx512 ? 512 : 256;
    double t = time_median(fma_step, &f, 1, 10, min_seconds).cpu;
    double flops = f.avx512 ? 2.0 * 16 * 16 * f.iters : 2.0 * 8 * 12 * f.iters;
    return flops / t * 1e-9;
}

/* ---- whole-network steps ------------------------------------------------ */

typedef struct {
    rcn_net *net;
    int n;
    const uint8_t *images, *labels;
    int32_t *idx;
    int64_t pool_n;
    int64_t cursor;
    rcn_rng drop;
} net_ctx;

static void next_batch(net_ctx *c)
{
    for (int i = 0; i < c->n; i++)
        c->idx[i] = (int32_t)((c->cursor + i) % c->pool_n);
    c->cursor = (c->cursor + c->n) % c->pool_n;
    rcn_net_load_batch(c->net, c->images, c->labels, c->idx, c->n);
}

static void train_step(void *p)
{
    net_ctx *c = p;
    next_batch(c);
    rcn_net_forward(c->net, c->n, 1, &c->drop, NULL);
    rcn_net_backward(c->net, c->n);
    rcn_net_sgd_step(c->net, 0.01f, 0.5f, 0.0f);
}

static void eval_step(void *p)
{
    net_ctx *c = p;
    next_batch(c);
    rcn_net_forward(c->net, c->n, 0, NULL, NULL);
}

/* ---- per-layer-kind breakdown ------------------------------------------- */

/* Kinds of work in a training step; they partition its time. The three
 * convolution kinds exclude their data transforms (im2col / col2im,
 * Winograd transforms), which are a kind of their own. */
enum { K_CONV_FWD, K_CONV_BWD_DATA, K_CONV_BWD_WEIGHTS, K_TRANSFORMS, K_BN, K_OTHER, K_NKINDS };
static const char *kind_names[K_NKINDS] = {"conv_forward", "conv_backward_data",
                                           "conv_backward_weights", "conv_transforms",
                                           "batchnorm", "other"};

typedef struct {
    rcn_conv_shape s;
    int needs_dx; /* the stem's input needs no gradient */
} conv_item;

typedef struct {
    int c, hw, relu;
} bn_item;

#define MAX_ITEMS 512

typedef struct {
    int nconv, nbn;
    conv_item conv[MAX_ITEMS];
    bn_item bn[MAX_ITEMS];
} layer_list;

/* rcn_arch_walk visitor: the convolutions and BatchNorms of the network,
 * the shapes rcn_net_create plans. */
static int list_layer(const rcn_layer *w, void *ud)
{
    layer_list *l = ud;
    if (w->kind == RCN_LAYER_CONV && l->nconv < MAX_ITEMS) {
        conv_item *c = &l->conv[l->nconv++];
        rcn_conv_shape_init(&c->s, w->cin, w->cout, w->k, w->stride, w->pad, w->h, w->h);
        c->needs_dx = w->needs_dx;
    } else if (w->kind == RCN_LAYER_BN && l->nbn < MAX_ITEMS) {
        l->bn[l->nbn++] = (bn_item){w->cout, w->h * w->h, w->relu};
    }
    return 0;
}

static void list_layers(const rcn_arch *a, layer_list *l)
{
    memset(l, 0, sizeof *l);
    rcn_arch_walk(a, list_layer, l);
}

typedef struct {
    const rcn_conv_shape *s;
    int n, mode; /* 0 forward, 1 backward dw only, 2 backward dw + dx */
    float *x, *w, *y, *dx, *dw, *scratch;
} conv_ctx;

static void conv_step(void *p)
{
    conv_ctx *c = p;
    if (c->mode == 0)
        rcn_conv_forward(c->s, c->n, c->x, c->w, c->y, c->scratch);
    else
        rcn_conv_backward(c->s, c->n, c->x, c->w, c->y, c->mode == 2 ? c->dx : NULL, c->dw,
                          c->scratch, 0);
}

typedef struct {
    int c, relu;
    size_t m;
    float *x, *y, *dy, *dx, *gamma, *beta, *mean, *invstd, *rm, *rv, *dg, *db;
} bn_ctx;

static void bn_step(void *p)
{
    bn_ctx *b = p;
    rcn_bn_forward_train(b->c, b->m, b->x, b->gamma, b->beta, b->y, b->mean, b->invstd, b->rm,
                         b->rv, b->relu);
    rcn_bn_backward(b->c, b->m, b->x, b->y, b->dy, b->gamma, b->mean, b->invstd, b->dx, b->dg,
                    b->db, b->relu);
}

static void fill(float *p, size_t n, uint64_t seed)
{
    rcn_rng r;
    rcn_rng_seed(&r, seed, RCN_STREAM_TEST, 7, 0);
    for (size_t i = 0; i < n; i++)
        p[i] = 2.0f * rcn_rng_uniform(&r) - 1.0f;
}

typedef struct {
    double fwd, bwd_data, bwd_weights; /* CPU seconds per call at the batch, transforms included */
    double tr_fwd, tr_data, tr_weights; /* ... of which data transforms */
    double flops;                       /* forward FLOPs at the batch */
} conv_time;

typedef struct {
    double seconds[K_NKINDS];  /* per training step of the batch */
    double with_tr[K_NKINDS];  /* conv kinds: seconds including their transforms */
    double flops[K_NKINDS];    /* per training step */
    int nconv;
    rcn_conv_shape shape[MAX_ITEMS];
    conv_time conv[MAX_ITEMS];
} layer_times;

/* Share of the data transforms in a few calls of c's mode, from the
 * kernels' time stamps (a time-shared core stretches both parts alike). */
static double transform_share(conv_ctx *c)
{
    double pt0[RCN_PROF_NKINDS], pt1[RCN_PROF_NKINDS];
    rcn_prof_on = 1;
    rcn_prof_read(pt0);
    double s0 = rcn_prof_now();
    for (int r = 0; r < 3; r++)
        conv_step(c);
    double ticks = rcn_prof_now() - s0;
    rcn_prof_read(pt1);
    rcn_prof_on = 0;
    double share = (pt1[RCN_PROF_TRANSFORM] - pt0[RCN_PROF_TRANSFORM]) /
                   (ticks * rcn_prof_tick_seconds());
    return share > 0.0 ? (share < 1.0 ? share : 1.0) : 0.0;
}

/* Times every convolution (forward, backward weights, backward data) and
 * BatchNorm (train forward + backward) of the network at batch n. */
static int time_layers(const rcn_arch *a, int n, int steps, double min_seconds,
                       layer_times *lt, rcn_error *err)
{
    layer_list *l = malloc(sizeof *l);
    if (!l)
        return rcn_errorf(err, "out of memory");
    list_layers(a, l);
    memset(lt, 0, sizeof *lt);
    size_t maxx = 0, maxy = 0, maxw = 0, maxs = 1;
    for (int i = 0; i < l->nconv; i++) {
        const rcn_conv_shape *s = &l->conv[i].s;
        size_t xl = (size_t)s->cin * n * s->h * s->w, yl = (size_t)s->cout * n * s->ho * s->wo;
        size_t wl = (size_t)s->cout * s->cin * s->k * s->k, sl = rcn_conv_scratch_floats(s, n);
        maxx = xl > maxx ? xl : maxx;
        maxy = yl > maxy ? yl : maxy;
        maxw = wl > maxw ? wl : maxw;
        maxs = sl > maxs ? sl : maxs;
    }
    for (int i = 0; i < l->nbn; i++) {
        size_t len = (size_t)l->bn[i].c * n * l->bn[i].hw;
        maxx = len > maxx ? len : maxx;
        maxy = len > maxy ? len : maxy;
    }
    float *x = aligned_alloc(64, ((maxx + 15) & ~(size_t)15) * sizeof(float));
    float *dx = aligned_alloc(64, ((maxx + 15) & ~(size_t)15) * sizeof(float));
    float *y = aligned_alloc(64, ((maxy + 15) & ~(size_t)15) * sizeof(float));
    float *dy = aligned_alloc(64, ((maxy + 15) & ~(size_t)15) * sizeof(float));
    float *w = aligned_alloc(64, ((maxw + 15) & ~(size_t)15) * sizeof(float));
    float *dw = aligned_alloc(64, ((maxw + 15) & ~(size_t)15) * sizeof(float));
    float *scr = aligned_alloc(64, ((maxs + 15) & ~(size_t)15) * sizeof(float));
    float *vec = aligned_alloc(64, 16 * 4096 * sizeof(float));
    int rc = 0;
    if (!x || !dx || !y || !dy || !w || !dw || !scr || !vec) {
        rc = rcn_errorf(err, "out of memory for the per-layer buffers at batch %d", n);
        goto done;
    }
    fill(x, maxx, 1);
    fill(y, maxy, 2);
    fill(dy, maxy, 3);
    fill(w, maxw, 4);
    for (int i = 0; i < l->nconv; i++) {
        const conv_item *ci = &l->conv[i];
        const rcn_conv_shape *s = &ci->s;
        double fl = 2.0 * s->cin * s->cout * s->k * s->k * s->ho * s->wo * n;
        conv_ctx c = {s, n, 0, x, w, y, dx, dw, scr};
        double tf = time_median(conv_step, &c, 1, steps, min_seconds).cpu;
        c.mode = 1;
        double tw = time_median(conv_step, &c, 1, steps, min_seconds).cpu;
        double td = 0.0;
        if (ci->needs_dx) {
            c.mode = 2;
            td = time_median(conv_step, &c, 1, steps, min_seconds).cpu - tw;
            if (td < 0.0)
                td = 0.0;
        }
        c.mode = 0;
        double trf = transform_share(&c) * tf;
        c.mode = 1;
        double trw = transform_share(&c) * tw, trd = 0.0;
        if (ci->needs_dx) {
            c.mode = 2;
            trd = transform_share(&c) * (tw + td) - trw;
            trd = trd < 0.0 ? 0.0 : trd > td ? td : trd;
        }
        if (lt->nconv < MAX_ITEMS) {
            lt->shape[lt->nconv] = *s;
            lt->conv[lt->nconv++] = (conv_time){tf, td, tw, trf, trd, trw, fl};
        }
        lt->seconds[K_CONV_FWD] += tf - trf;
        lt->seconds[K_CONV_BWD_WEIGHTS] += tw - trw;
        lt->seconds[K_CONV_BWD_DATA] += td - trd;
        lt->seconds[K_TRANSFORMS] += trf + trw + trd;
        lt->with_tr[K_CONV_FWD] += tf;
        lt->with_tr[K_CONV_BWD_WEIGHTS] += tw;
        lt->with_tr[K_CONV_BWD_DATA] += td;
        lt->flops[K_CONV_FWD] += fl;
        lt->flops[K_CONV_BWD_WEIGHTS] += fl;
        lt->flops[K_CONV_BWD_DATA] += ci->needs_dx ? fl : 0.0;
    }
    for (int i = 0; i < l->nbn; i++) {
        const bn_item *bi = &l->bn[i];
        bn_ctx b = {bi->c, bi->relu, (size_t)n * bi->hw, x, y, dy, dx,
                    vec, vec + 4096, vec + 2 * 4096, vec + 3 * 4096, vec + 4 * 4096,
                    vec + 5 * 4096, vec + 6 * 4096, vec + 7 * 4096};
        for (int j = 0; j < bi->c; j++)
            b.gamma[j] = 1.0f, b.beta[j] = 0.0f, b.rm[j] = 0.0f, b.rv[j] = 1.0f;
        lt->seconds[K_BN] += time_median(bn_step, &b, 1, steps, min_seconds).cpu;
    }
done:
    free(x), free(dx), free(y), free(dy), free(w), free(dw), free(scr), free(vec);
    free(l);
    return rc;
}

/* ---- results ------------------------------------------------------------ */

typedef struct {
    double ips, ips_cpu;       /* images per second: wall clock, CPU time */
    double gflops, gflops_cpu; /* FLOPs counted per image / time */
} rate;

typedef struct {
    rate train, eval;
    double fwd_flops; /* per image */
    double sgemm_gflops, fma_gflops;
    int fma_width;
    double peak_rss_bytes, net_bytes;
    int have_layers;
    layer_times lt;
    rcn_bench_fold fold; /* when opts.fold */
} bench_result;

static void rate_json(json_t *j, const char *what, const rate *r, const bench_result *b,
                      int peak)
{
    char k[96];
    snprintf(k, sizeof k, "%s_images_per_second", what);
    json_object_set_new(j, k, rcn_json_num(r->ips));
    snprintf(k, sizeof k, "%s_images_per_cpu_second", what);
    json_object_set_new(j, k, rcn_json_num(r->ips_cpu));
    snprintf(k, sizeof k, "%s_gflops", what);
    json_object_set_new(j, k, rcn_json_num(r->gflops));
    snprintf(k, sizeof k, "%s_gflops_cpu", what);
    json_object_set_new(j, k, rcn_json_num(r->gflops_cpu));
    if (peak) {
        snprintf(k, sizeof k, "%s_percent_of_sgemm", what);
        json_object_set_new(j, k, rcn_json_num(100.0 * r->gflops_cpu / b->sgemm_gflops));
        snprintf(k, sizeof k, "%s_percent_of_fma_peak", what);
        json_object_set_new(j, k, rcn_json_num(100.0 * r->gflops_cpu / b->fma_gflops));
    }
}

static json_t *result_json(const bench_opts *o, const bench_result *r)
{
    json_t *j = json_object();
    json_object_set_new(j, "preset", json_string(o->arch.name));
    json_object_set_new(j, "model", rcn_arch_to_json(&o->arch));
    json_object_set_new(j, "batch_size", json_integer(o->batch));
    json_object_set_new(j, "threads", json_integer(o->threads));
    json_object_set_new(j, "vector_path", json_string(rcn_vector_path()));
    json_object_set_new(j, "forward_flops_per_image", rcn_json_num(r->fwd_flops));
    json_object_set_new(j, "train_flops_per_image", rcn_json_num(3.0 * r->fwd_flops));
    if (o->train)
        rate_json(j, "train", &r->train, r, o->peak);
    if (o->eval)
        rate_json(j, "eval", &r->eval, r, o->peak);
    if (o->peak) {
        json_object_set_new(j, "sgemm_gflops", rcn_json_num(r->sgemm_gflops));
        json_object_set_new(j, "fma_peak_gflops", rcn_json_num(r->fma_gflops));
        json_object_set_new(j, "fma_width_bits", json_integer(r->fma_width));
    }
    json_object_set_new(j, "peak_memory_bytes", rcn_json_num(r->peak_rss_bytes));
    json_object_set_new(j, "net_bytes", rcn_json_num(r->net_bytes));
    if (r->have_layers) {
        json_t *L = json_object();
        double step = o->train ? o->batch / r->train.ips_cpu : NAN;
        for (int k = 0; k < K_NKINDS; k++) {
            json_t *e = json_object();
            double s = r->lt.seconds[k];
            json_object_set_new(e, "cpu_seconds_per_step", rcn_json_num(s));
            json_object_set_new(e, "share_of_train_step", rcn_json_num(s / step));
            if (r->lt.flops[k] > 0) {
                /* im2col-counted FLOPs over the kind's time with its transforms */
                double g = r->lt.flops[k] / r->lt.with_tr[k] * 1e-9;
                json_object_set_new(e, "effective_gflops", rcn_json_num(g));
                if (o->peak)
                    json_object_set_new(e, "percent_of_fma_peak", rcn_json_num(100.0 * g / r->fma_gflops));
            }
            json_object_set_new(L, kind_names[k], e);
        }
        json_t *cv = json_array();
        for (int i = 0; i < r->lt.nconv; i++) {
            const rcn_conv_shape *s = &r->lt.shape[i];
            const conv_time *t = &r->lt.conv[i];
            json_t *c = json_pack("{s:i, s:i, s:i, s:i, s:i, s:o}", "cin", s->cin, "cout",
                                  s->cout, "k", s->k, "stride", s->stride, "h", s->h,
                                  "forward_flops", rcn_json_num(t->flops));
            json_object_set_new(c, "forward_seconds", rcn_json_num(t->fwd));
            json_object_set_new(c, "backward_data_seconds", rcn_json_num(t->bwd_data));
            json_object_set_new(c, "backward_weights_seconds", rcn_json_num(t->bwd_weights));
            json_object_set_new(c, "transform_seconds",
                                rcn_json_num(t->tr_fwd + t->tr_data + t->tr_weights));
            json_array_append_new(cv, c);
        }
        json_object_set_new(L, "convolutions", cv);
        json_object_set_new(j, "layers", L);
    }
    if (o->fold)
        json_object_set_new(j, "fold",
                            rcn_bench_fold_json(&r->fold, r->train.ips_cpu, r->eval.ips_cpu));
    return j;
}

static void print_rate(const char *what, const rate *r, const bench_result *b, int peak)
{
    printf("  %-6s %8.1f img/s (%8.1f per CPU-second)  %6.1f GFLOP/s", what, r->ips, r->ips_cpu,
           r->gflops_cpu);
    if (peak)
        printf("  %3.0f%% of SGEMM, %3.0f%% of FMA peak", 100 * r->gflops_cpu / b->sgemm_gflops,
               100 * r->gflops_cpu / b->fma_gflops);
    printf("\n");
}

static void print_text(const bench_opts *o, const bench_result *r)
{
    printf("%s, batch %d, %d thread%s, %s kernels: %.1f MFLOP forward per image\n",
           o->arch.name, o->batch, o->threads, o->threads == 1 ? "" : "s", rcn_vector_path(),
           r->fwd_flops * 1e-6);
    if (o->peak)
        printf("  peak (CPU time): SGEMM %.1f GFLOP/s, FMA loop (%d-bit) %.1f GFLOP/s\n",
               r->sgemm_gflops, r->fma_width, r->fma_gflops);
    if (o->train)
        print_rate("train:", &r->train, r, o->peak);
    if (o->eval)
        print_rate("eval:", &r->eval, r, o->peak);
    printf("  memory: peak RSS %.1f MiB, network buffers %.1f MiB\n",
           r->peak_rss_bytes / 1048576.0, r->net_bytes / 1048576.0);
    if (o->fold)
        rcn_bench_fold_print(&r->fold, r->train.ips_cpu, r->eval.ips_cpu);
    if (r->have_layers) {
        double step = o->train ? o->batch / r->train.ips_cpu : NAN;
        printf("  per training step (%.2f ms CPU):\n", step * 1e3);
        for (int k = 0; k < K_NKINDS; k++) {
            printf("    %-22s %8.2f ms  %5.1f%%", kind_names[k], r->lt.seconds[k] * 1e3,
                   100 * r->lt.seconds[k] / step);
            if (r->lt.flops[k] > 0)
                printf("  %6.1f GFLOP/s effective (with its transforms)",
                       r->lt.flops[k] / r->lt.with_tr[k] * 1e-9);
            printf("\n");
        }
        if (o->verbose) {
            printf("  convolutions (CPU ms per call; GFLOP/s): forward, backward data, "
                   "backward weights; transforms\n");
            for (int i = 0; i < r->lt.nconv; i++) {
                const rcn_conv_shape *s = &r->lt.shape[i];
                const conv_time *t = &r->lt.conv[i];
                printf("    %3d->%-3d k%d s%d %2dx%-2d  %7.3f %6.1f  %7.3f %6.1f  %7.3f %6.1f  %7.3f\n",
                       s->cin, s->cout, s->k, s->stride, s->h, s->w, t->fwd * 1e3,
                       t->flops / t->fwd * 1e-9, t->bwd_data * 1e3,
                       t->bwd_data > 0 ? t->flops / t->bwd_data * 1e-9 : 0.0,
                       t->bwd_weights * 1e3, t->flops / t->bwd_weights * 1e-9,
                       (t->tr_fwd + t->tr_data + t->tr_weights) * 1e3);
            }
        }
    }
}

/* ---- command line ------------------------------------------------------- */

enum { O_PRESET = 256, O_SPEC, O_BATCH, O_THREADS, O_STEPS, O_MINSEC, O_WARMUP, O_NOTRAIN,
       O_NOEVAL, O_NOLAYERS, O_NOPEAK, O_JSON, O_OUT, O_VERBOSE, O_HELP, O_FOLD, O_DATA,
       O_EPOCHS, O_FOLD_IMAGES };

static const struct option long_opts[] = {
    {"preset", required_argument, 0, O_PRESET},   {"spec", required_argument, 0, O_SPEC},
    {"batch-size", required_argument, 0, O_BATCH}, {"threads", required_argument, 0, O_THREADS},
    {"steps", required_argument, 0, O_STEPS},     {"min-seconds", required_argument, 0, O_MINSEC},
    {"warmup", required_argument, 0, O_WARMUP},   {"no-train", no_argument, 0, O_NOTRAIN},
    {"no-eval", no_argument, 0, O_NOEVAL},        {"no-layers", no_argument, 0, O_NOLAYERS},
    {"no-peak", no_argument, 0, O_NOPEAK},        {"json", no_argument, 0, O_JSON},
    {"out", required_argument, 0, O_OUT},         {"help", no_argument, 0, O_HELP},
    {"verbose", no_argument, 0, O_VERBOSE},       {"fold", no_argument, 0, O_FOLD},
    {"data", required_argument, 0, O_DATA},       {"epochs", required_argument, 0, O_EPOCHS},
    {"fold-images", required_argument, 0, O_FOLD_IMAGES},
    {0, 0, 0, 0}};

static int parse(int argc, char **argv, bench_opts *o, rcn_error *err, int *help)
{
    long long iv;
    double dv;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
        switch (c) {
        case O_PRESET:
            if (rcn_arch_preset(optarg, &o->arch, err))
                return rcn_error_prefix(err, "--preset");
            break;
        case O_SPEC: {
            json_error_t je;
            json_t *j = json_loads(optarg, JSON_DECODE_ANY, &je);
            if (!j)
                return rcn_errorf(err, "--spec: not JSON: %s (column %d)", je.text, je.column);
            int rc = rcn_arch_from_json(j, "--spec", &o->arch, err);
            json_decref(j);
            if (rc)
                return -1;
            break;
        }
        case O_BATCH:
            if (rcn_arg_int("--batch-size", optarg, 1, 1 << 16, &iv, err))
                return -1;
            o->batch = (int)iv;
            break;
        case O_THREADS:
            if (rcn_arg_int("--threads", optarg, 1, 1024, &iv, err))
                return -1;
            o->threads = (int)iv;
            break;
        case O_STEPS:
            if (rcn_arg_int("--steps", optarg, 1, 1000000, &iv, err))
                return -1;
            o->steps = (int)iv;
            break;
        case O_WARMUP:
            if (rcn_arg_int("--warmup", optarg, 0, 1000000, &iv, err))
                return -1;
            o->warmup = (int)iv;
            break;
        case O_MINSEC:
            if (rcn_arg_double("--min-seconds", optarg, 0, 86400, &dv, err))
                return -1;
            o->min_seconds = dv;
            break;
        case O_NOTRAIN: o->train = 0; break;
        case O_NOEVAL: o->eval = 0; break;
        case O_NOLAYERS: o->layers = 0; break;
        case O_NOPEAK: o->peak = 0; break;
        case O_JSON: o->json = 1; break;
        case O_OUT: o->out = optarg; break;
        case O_VERBOSE: o->verbose = 1; break;
        case O_FOLD: o->fold = 1; break;
        case O_DATA: o->fold_opts.data_dir = optarg; break;
        case O_EPOCHS:
            if (rcn_arg_int("--epochs", optarg, 1, RCN_MAX_EPOCHS, &iv, err))
                return -1;
            o->fold_opts.epochs = (int)iv;
            break;
        case O_FOLD_IMAGES:
            if (rcn_arg_int("--fold-images", optarg, 1, RCN_IDX_MAX_ITEMS, &iv, err))
                return -1;
            o->fold_opts.fold_images = iv;
            break;
        case O_HELP: *help = 1; return 0;
        case ':': return rcn_errorf(err, "%s needs a value", argv[optind - 1]);
        default: return rcn_errorf(err, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return rcn_errorf(err, "unexpected argument '%s'", argv[optind]);
    if (o->fold) {
        if (!o->train || !o->eval)
            return rcn_errorf(err, "--fold needs both rates: not with --no-train or --no-eval");
        o->layers = o->peak = 0;
    }
    return 0;
}

static rate to_rate(timing t, int batch, double flops_per_image)
{
    rate r = {batch / t.wall, batch / t.cpu, 0, 0};
    r.gflops = flops_per_image * r.ips * 1e-9;
    r.gflops_cpu = flops_per_image * r.ips_cpu * 1e-9;
    return r;
}

/* Times whole training steps and inference passes of the network at the
 * batch size on synthetic images (the rates), and the peak memory. */
static int measure_net(const bench_opts *o, bench_result *r, rcn_error *err)
{
    r->fwd_flops = rcn_arch_forward_flops(&o->arch);
    rcn_net *net = rcn_net_create(&o->arch, o->batch, err);
    if (!net)
        return -1;
    r->net_bytes = (double)rcn_net_bytes(net);
    rcn_net_init(net, 1, 0);
    rcn_dataset ds;
    int64_t pool = o->batch > 1024 ? o->batch : 1024;
    if (rcn_synth_dataset(pool, 1, RCN_SYNTH_STREAM_TRAIN, &ds, err)) {
        rcn_net_destroy(net);
        return -1;
    }
    net_ctx c = {net, o->batch, ds.images, ds.labels, malloc(sizeof(int32_t) * o->batch), pool,
                 0, {{0}}};
    if (!c.idx) {
        rcn_net_destroy(net);
        free(ds.images), free(ds.labels);
        return rcn_errorf(err, "out of memory");
    }
    rcn_rng_seed(&c.drop, 1, RCN_STREAM_DROPOUT, 0, 0);
    if (o->train)
        r->train = to_rate(time_median(train_step, &c, o->warmup, o->steps, o->min_seconds),
                           o->batch, 3.0 * r->fwd_flops);
    if (o->eval)
        r->eval = to_rate(time_median(eval_step, &c, o->warmup, o->steps, o->min_seconds),
                          o->batch, r->fwd_flops);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    r->peak_rss_bytes = (double)ru.ru_maxrss * 1024.0;
    rcn_net_destroy(net);
    free(c.idx);
    free(ds.images), free(ds.labels);
    return 0;
}

int rcn_cmd_bench(int argc, char **argv)
{
    bench_opts o = {.batch = 64, .threads = 1, .steps = 10, .warmup = 3, .min_seconds = 2.0,
                    .train = 1, .eval = 1, .layers = 1, .peak = 1,
                    .fold_opts = {.data_dir = "data/mnist", .epochs = 1}};
    rcn_error err;
    int help = 0;
    rcn_arch_preset("rcn8", &o.arch, &err);
    if (parse(argc, argv, &o, &err, &help)) {
        fprintf(stderr, "rcn bench: %s\n", err.msg);
        fprintf(stderr, "'rcn bench --help' lists the options\n");
        return RCN_EXIT_USAGE;
    }
    if (help) {
        fputs(usage_text, stdout);
        return RCN_EXIT_OK;
    }
    rcn_set_blas_threads(o.threads);

    static bench_result r; /* large (the breakdown's tables) */
    if ((o.fold && rcn_bench_fold_run(&o.arch, o.batch, &o.fold_opts, &r.fold, &err)) ||
        measure_net(&o, &r, &err)) {
        fprintf(stderr, "rcn bench: %s\n", err.msg);
        return RCN_EXIT_ERROR;
    }

    if (o.peak) {
        r.sgemm_gflops = sgemm_gflops(o.min_seconds / 2);
        r.fma_gflops = fma_gflops(o.min_seconds / 4, &r.fma_width);
    }
    if (o.layers) {
        if (time_layers(&o.arch, o.batch, 3, o.min_seconds / 20, &r.lt, &err)) {
            fprintf(stderr, "rcn bench: %s\n", err.msg);
            return RCN_EXIT_ERROR;
        }
        r.have_layers = 1;
        if (o.train) {
            double step = o.batch / r.train.ips_cpu, sum = 0;
            for (int k = 0; k < K_OTHER; k++)
                sum += r.lt.seconds[k];
            r.lt.seconds[K_OTHER] = step - sum > 0 ? step - sum : 0.0;
        }
    }

    json_t *j = result_json(&o, &r);
    int rc = RCN_EXIT_OK;
    if (o.out && rcn_write_json_atomic(o.out, j, &err)) {
        fprintf(stderr, "rcn bench: %s\n", err.msg);
        rc = RCN_EXIT_ERROR;
    }
    if (o.json) {
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        if (s)
            printf("%s\n", s);
        free(s);
    } else {
        print_text(&o, &r);
    }
    json_decref(j);
    return rc;
}
