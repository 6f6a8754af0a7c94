/* train.c - `rcn train`: train one network on a training set, evaluate on
 * the test set after every epoch, print a line per epoch and write the same
 * as JSON; optionally save the model (the paper's Experiment 1). On a
 * terminal, a line on stderr shows the progress within the epoch. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rcn/cli.h"
#include "rcn/clock.h"
#include "rcn/data.h"
#include "rcn/fileio.h"
#include "rcn/job.h"
#include "rcn/jsonutil.h"
#include "rcn/netfile.h"
#include "rcn/plan.h"
#include "rcn/train_json.h"
#include "rcn/train.h"

/* The help; "\001" + digit d stands for the line of axis order[d] (axes.h
 * holds its option, help and default). */
static const char usage_text[] =
    "usage: rcn train [options]\n"
    "\n"
    "Trains a network of docs/MODEL.md on a training set and evaluates it on the\n"
    "test set after every epoch (the paper's Experiment 1). Prints one line per\n"
    "epoch; --out writes the same as JSON, --save the trained model as safetensors.\n"
    "When stderr is a terminal, a line there shows the progress within the epoch\n"
    "(images, images/s, ETA), erased before each epoch's line.\n"
    "Losses are mean per-sample cross-entropy; the JSON also carries the paper's\n"
    "Table 1 convention (sum of per-batch mean losses).\n"
    "\n"
    "options:\n"
    "  --job FILE            take data, model and hyperparameters from a job file\n"
    "                        (its scalars, or its grid if that has exactly one cell);\n"
    "                        options given on the command line override it\n"
    "  --preset NAME         rcn8 (default), rcn14 or resnet18\n"
    "  --spec JSON           a custom model spec (see rcn search --help)\n"
    "\001" "0" "\001" "1" "\001" "2"
    "  --weight-decay X      L2 weight decay (default 0)\n"
    "  --dropout P           dropout before the classifier (default: the preset's, 0.5)\n"
    "\001" "3"
    "  --seed N              seed of every random stream (default 1)\n"
    "  --train-limit N       train on a deterministic subset of N images\n"
    "  --data DIR            directory with the four IDX files, raw or .gz\n"
    "                        (default data/mnist)\n"
    "  --diverge-threshold X a batch loss above X (or not finite) stops the run as\n"
    "                        diverged (default 1000)\n"
    "  --threads N           OpenBLAS threads (default 1)\n"
    "  --out FILE.json       write the per-epoch results as JSON\n"
    "  --save FILE.safetensors  save the trained model\n"
    "  --quiet               no per-epoch lines and no progress line\n"
    "  --help                this text\n"
    "\n"
    "exit status: 0 trained (also when the run diverged: that is a result), 1 error,\n"
    "2 bad command line.\n";

static const int usage_axes[RCN_NAXES] = {RCN_AXIS_BATCH, RCN_AXIS_LR, RCN_AXIS_MOMENTUM,
                                          RCN_AXIS_EPOCHS};

static void print_usage(void)
{
    for (const char *p = usage_text; *p; p++) {
        if (*p != '\001') {
            putchar(*p);
            continue;
        }
        int d = *++p - '0';
        assert(d >= 0 && d < RCN_NAXES);
        const rcn_axis_def *ax = rcn_axis_def_of(usage_axes[d]);
        char opt[40], def[32];
        snprintf(opt, sizeof opt, "%s %s", ax->flag, ax->flag_arg);
        rcn_num_text(ax->def, def, sizeof def);
        printf("  %-21s %s (default %s)\n", opt, ax->help, def);
    }
}

typedef struct {
    rcn_arch arch;
    char arch_set;
    rcn_plan_cell cell; /* the hyperparameters of the axes (key, params unused) */
    int threads;
    double weight_decay, diverge_threshold, dropout;
    unsigned long long seed;
    long long train_limit;
    char data_dir[RCN_PATH_MAX];
    char train_images[RCN_PATH_MAX], train_labels[RCN_PATH_MAX];
    char test_images[RCN_PATH_MAX], test_labels[RCN_PATH_MAX];
    const char *out, *save;
    int quiet;
} train_opts;

/* The progress line within an epoch, on stderr when it is a terminal
 * (tty NULL: none). The poll hook runs once per batch, first the epoch's
 * training batches, then its evaluation batches: their count places it. */
typedef struct {
    const train_opts *o;
    FILE *tty;
    int64_t n_train, n_val;
    int batch, eval_batch;  /* images per training / evaluation batch */
    int64_t train_batches;  /* per epoch */
    int64_t polls;          /* batches since the epoch began */
    int epoch, shown;       /* epoch in progress; a line is on the terminal */
    double t_epoch, t_drawn;
    double epoch_seconds;   /* the last whole epoch, evaluation included; 0: none yet */
} train_progress;

#define PROGRESS_INTERVAL 0.25 /* seconds between redraws */

static void progress_clear(train_progress *p)
{
    if (p->shown)
        fputs("\r\033[K", p->tty);
    p->shown = 0;
}

static int progress_poll(void *ud)
{
    train_progress *p = ud;
    p->polls++;
    double now;
    if (!p->tty || (now = rcn_clock()) - p->t_drawn < PROGRESS_INTERVAL)
        return 0;
    p->t_drawn = now;
    double el = now - p->t_epoch;
    if (p->polls <= p->train_batches) {
        int64_t done = p->polls * p->batch < p->n_train ? p->polls * p->batch : p->n_train;
        double rate = el > 0 ? (double)done / el : 0;
        double left = rate > 0 ? (double)(p->n_train - done) / rate : NAN;
        double per_epoch = p->epoch_seconds > 0 ? p->epoch_seconds : (double)p->n_train / rate;
        char eta[32], eta_all[32];
        rcn_format_duration(left, eta, sizeof eta);
        rcn_format_duration(left + (p->o->cell.epochs - p->epoch) * per_epoch, eta_all,
                            sizeof eta_all);
        fprintf(p->tty, "\r\033[Kepoch %d/%d: %lld/%lld images (%.0f%%), %.0f img/s, ETA %s "
                "(all epochs: %s)", p->epoch, p->o->cell.epochs, (long long)done,
                (long long)p->n_train, 100.0 * (double)done / (double)p->n_train, rate, eta,
                eta_all);
    } else {
        int64_t done = (p->polls - p->train_batches) * p->eval_batch;
        fprintf(p->tty, "\r\033[Kepoch %d/%d: evaluating, %lld/%lld test images", p->epoch,
                p->o->cell.epochs, (long long)(done < p->n_val ? done : p->n_val),
                (long long)p->n_val);
    }
    p->shown = 1;
    return 0;
}

static void print_epoch(const rcn_epoch_stats *st, void *ud)
{
    train_progress *p = ud;
    progress_clear(p);
    double now = rcn_clock();
    p->epoch = st->epoch + 1;
    p->polls = 0;
    p->epoch_seconds = now - p->t_epoch;
    p->t_epoch = p->t_drawn = now;
    if (p->o->quiet)
        return;
    printf("%5d  %10.6f  %8.2f%%  %10.6f  %8.2f%%  %8.1f  %8.0f\n", st->epoch, st->train_loss,
           100 * st->train_accuracy, st->val_loss, 100 * st->val_accuracy, st->seconds,
           st->images_per_second);
    fflush(stdout);
}

static json_t *epoch_json(const rcn_epoch_stats *st)
{
    return json_pack("{s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "epoch", st->epoch,
                     "train_loss", rcn_json_num(st->train_loss), "train_accuracy",
                     rcn_json_num(st->train_accuracy), "test_loss", rcn_json_num(st->val_loss),
                     "test_accuracy", rcn_json_num(st->val_accuracy), "seconds",
                     rcn_json_num(st->seconds), "images_per_second",
                     rcn_json_num(st->images_per_second), "train_loss_sum_of_batch_means",
                     rcn_json_num(st->train_loss_batch_sum), "test_loss_sum_of_batch_means",
                     rcn_json_num(st->val_loss_batch_sum));
}

/* Takes what a job file says; command-line options applied afterwards win. */
static int apply_job(train_opts *o, const char *path, rcn_error *err)
{
    rcn_job job;
    if (rcn_job_load(path, &job, err))
        return -1;
    int nc = job.plan.n_cells;
    if (nc != 1) {
        rcn_job_free(&job);
        return rcn_errorf(err, "%s: the job's grid has %d cells; rcn train takes one "
                          "(use rcn search for a grid)", path, nc);
    }
    o->cell = *rcn_plan_cell_at(&job.plan, 0);
    o->cell.params = NULL; /* the job's, freed below */
    o->arch = job.arch;
    o->arch_set = 1;
    o->dropout = job.arch.dropout;
    o->weight_decay = job.weight_decay;
    o->diverge_threshold = job.diverge_threshold;
    o->seed = job.seed;
    o->threads = job.threads;
    o->train_limit = job.train_limit;
    snprintf(o->train_images, sizeof o->train_images, "%s", job.train_images);
    snprintf(o->train_labels, sizeof o->train_labels, "%s", job.train_labels);
    snprintf(o->test_images, sizeof o->test_images, "%s", job.test_images);
    snprintf(o->test_labels, sizeof o->test_labels, "%s", job.test_labels);
    rcn_job_free(&job);
    return 0;
}

/* O_AXIS + a: the option of axis a (axes.h). */
enum { O_JOB = 256, O_PRESET, O_SPEC, O_WD, O_DROP, O_SEED, O_LIMIT, O_DATA, O_DIV, O_THREADS,
       O_OUT, O_SAVE, O_QUIET, O_HELP, O_AXIS };

#define N_FIXED_OPTS 14
static const struct option fixed_opts[N_FIXED_OPTS] = {
    {"job", required_argument, 0, O_JOB},         {"preset", required_argument, 0, O_PRESET},
    {"spec", required_argument, 0, O_SPEC},       {"weight-decay", required_argument, 0, O_WD},
    {"dropout", required_argument, 0, O_DROP},    {"seed", required_argument, 0, O_SEED},
    {"train-limit", required_argument, 0, O_LIMIT}, {"data", required_argument, 0, O_DATA},
    {"diverge-threshold", required_argument, 0, O_DIV},
    {"threads", required_argument, 0, O_THREADS}, {"out", required_argument, 0, O_OUT},
    {"save", required_argument, 0, O_SAVE},       {"quiet", no_argument, 0, O_QUIET},
    {"help", no_argument, 0, O_HELP}};

/* The options: the fixed ones, then one per axis (its flag without "--"). */
static void make_opts(struct option opts[N_FIXED_OPTS + RCN_NAXES + 1])
{
    memcpy(opts, fixed_opts, sizeof fixed_opts);
    for (int a = 0; a < RCN_NAXES; a++) {
        const char *flag = rcn_axis_def_of(a)->flag;
        assert(!strncmp(flag, "--", 2));
        opts[N_FIXED_OPTS + a] = (struct option){flag + 2, required_argument, 0, O_AXIS + a};
    }
    opts[N_FIXED_OPTS + RCN_NAXES] = (struct option){0, 0, 0, 0};
}

/* The value of axis a from its option: the axis's type and range (the same
 * as a job's). */
static int parse_axis(int a, const char *arg, rcn_plan_cell *cell, rcn_error *err)
{
    const rcn_axis_def *ax = rcn_axis_def_of(a);
    const rcn_range *r = &ax->range;
    double v;
    if (r->integer) {
        long long iv;
        long long hi = r->hi == HUGE_VAL ? LLONG_MAX : (long long)r->hi;
        if (rcn_arg_int(ax->flag, arg, (long long)r->lo, hi, &iv, err))
            return -1;
        v = (double)iv;
    } else {
        if (rcn_arg_double(ax->flag, arg, -HUGE_VAL, HUGE_VAL, &v, err))
            return -1;
        if (!rcn_range_has(r, v)) {
            char cond[96];
            rcn_range_text(r, cond, sizeof cond);
            return rcn_errorf(err, "%s: %g is out of range (must be %s)", ax->flag, v, cond);
        }
    }
    rcn_plan_cell_set(cell, a, v);
    return 0;
}

/* Parses argv into o; returns 0, or an exit status (help printed / usage error). */
static int parse_args(int argc, char **argv, train_opts *o, int *exit_now)
{
    rcn_error err;
    long long iv;
    double dv;
    *exit_now = 0;
    struct option long_opts[N_FIXED_OPTS + RCN_NAXES + 1];
    make_opts(long_opts);
    /* First pass: --job (so that options override it), --help. */
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (c == O_HELP) {
            print_usage();
            *exit_now = 1;
            return RCN_EXIT_OK;
        }
        if (c == O_JOB && apply_job(o, optarg, &err)) {
            fprintf(stderr, "rcn train: %s\n", err.msg);
            *exit_now = 1;
            return RCN_EXIT_ERROR;
        }
    }
    optind = 1;
    opterr = 1;
    int rc = 0;
    while (!rc && (c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case O_JOB: break;
        case O_PRESET:
            if (rcn_arch_preset(optarg, &o->arch, &err)) {
                rc = rcn_error_prefix(&err, "--preset");
                break;
            }
            o->arch_set = 1, o->dropout = o->arch.dropout;
            break;
        case O_SPEC: {
            json_error_t je;
            json_t *j = json_loads(optarg, JSON_DECODE_ANY, &je);
            if (!j) {
                rc = rcn_errorf(&err, "--spec: not JSON: %s (column %d)", je.text, je.column);
                break;
            }
            rc = rcn_arch_from_json(j, "--spec", &o->arch, &err);
            json_decref(j);
            if (!rc)
                o->arch_set = 1, o->dropout = o->arch.dropout;
            break;
        }
        case O_SEED:
            if (!(rc = rcn_arg_int("--seed", optarg, 0, (1LL << 53), &iv, &err)))
                o->seed = (unsigned long long)iv;
            break;
        case O_LIMIT:
            if (!(rc = rcn_arg_int("--train-limit", optarg, 1, RCN_IDX_MAX_ITEMS, &iv, &err)))
                o->train_limit = iv;
            break;
        case O_THREADS:
            if (!(rc = rcn_arg_int("--threads", optarg, 1, 1024, &iv, &err)))
                o->threads = (int)iv;
            break;
        case O_WD:
            rc = rcn_arg_double("--weight-decay", optarg, 0, 1e3, &o->weight_decay, &err);
            break;
        case O_DROP:
            if (!(rc = rcn_arg_double("--dropout", optarg, 0, 0.999999, &dv, &err)))
                o->dropout = dv;
            break;
        case O_DIV:
            rc = rcn_arg_double("--diverge-threshold", optarg, 1e-6, 1e300,
                                &o->diverge_threshold, &err);
            break;
        case O_DATA:
            snprintf(o->data_dir, sizeof o->data_dir, "%s", optarg);
            o->train_images[0] = 0;
            break;
        case O_OUT: o->out = optarg; break;
        case O_SAVE: o->save = optarg; break;
        case O_QUIET: o->quiet = 1; break;
        case O_HELP: break;
        default:
            if (c >= O_AXIS && c < O_AXIS + RCN_NAXES) {
                rc = parse_axis(c - O_AXIS, optarg, &o->cell, &err);
                break;
            }
            /* getopt printed the problem */
            fprintf(stderr, "Try 'rcn train --help'.\n");
            *exit_now = 1;
            return RCN_EXIT_USAGE;
        }
    }
    if (!rc && optind < argc)
        rc = rcn_errorf(&err, "unexpected argument '%s'", argv[optind]);
    if (rc) {
        fprintf(stderr, "rcn train: %s\nTry 'rcn train --help'.\n", err.msg);
        *exit_now = 1;
        return RCN_EXIT_USAGE;
    }
    return 0;
}

/* The result files must be writable before hours are spent training: the
 * path is not a directory and its directory takes a new file. */
static int check_writable(const char *opt, const char *path, rcn_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return rcn_errorf(err, "%s %s: is a directory (expected a file name)", opt, path);
    char probe[RCN_PATH_MAX + 64];
    snprintf(probe, sizeof probe, "%s.probe.%ld", path, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return rcn_errorf(err, "%s %s: cannot write there: %s", opt, path, strerror(errno));
    close(fd);
    unlink(probe);
    return 0;
}

int rcn_cmd_train(int argc, char **argv)
{
    train_opts o = {.threads = 1, .diverge_threshold = 1000, .dropout = -1, .seed = 1};
    for (int a = 0; a < RCN_NAXES; a++)
        rcn_plan_cell_set(&o.cell, a, rcn_axis_def_of(a)->def);
    snprintf(o.data_dir, sizeof o.data_dir, "data/mnist");
    rcn_arch_preset("rcn8", &o.arch, NULL);
    int exit_now, rc = parse_args(argc, argv, &o, &exit_now);
    if (exit_now)
        return rc;
    if (o.dropout >= 0)
        o.arch.dropout = (float)o.dropout;
    rcn_set_blas_threads(o.threads);

    rcn_error err;
    if ((o.out && check_writable("--out", o.out, &err)) ||
        (o.save && check_writable("--save", o.save, &err))) {
        fprintf(stderr, "rcn train: %s\n", err.msg);
        return RCN_EXIT_ERROR;
    }
    if (!o.train_images[0] &&
        (rcn_dataset_resolve(o.data_dir, "train", o.train_images, o.train_labels, RCN_PATH_MAX,
                             &err) ||
         rcn_dataset_resolve(o.data_dir, "t10k", o.test_images, o.test_labels, RCN_PATH_MAX,
                             &err))) {
        fprintf(stderr, "rcn train: %s\n(fetch MNIST with 'make data')\n", err.msg);
        return RCN_EXIT_ERROR;
    }
    rcn_dataset tr = {0}, te = {0};
    rcn_net *net = NULL;
    int32_t *tr_idx = NULL, *te_idx = NULL;
    json_t *out = NULL;
    rcn_train_result *res = NULL;
    int status = RCN_EXIT_ERROR;
    if (rcn_dataset_load(o.train_images, o.train_labels, &tr, &err) ||
        rcn_dataset_load(o.test_images, o.test_labels, &te, &err))
        goto done;
    int64_t n_train = o.train_limit && o.train_limit < tr.n ? o.train_limit : tr.n;
    if (o.train_limit > tr.n) {
        rcn_errorf(&err, "--train-limit %lld is larger than the training set (%lld images in %s)",
                   o.train_limit, (long long)tr.n, o.train_images);
        goto done;
    }
    if (o.cell.batch_size > n_train) {
        rcn_errorf(&err, "--batch-size %d is larger than the training set (%lld images)",
                   o.cell.batch_size, (long long)n_train);
        goto done;
    }
    tr_idx = malloc(sizeof(int32_t) * (size_t)n_train);
    te_idx = malloc(sizeof(int32_t) * (size_t)te.n);
    if (!tr_idx || !te_idx) {
        rcn_errorf(&err, "out of memory");
        goto done;
    }
    rcn_subset(tr.n, n_train, o.seed, tr_idx);
    for (int64_t i = 0; i < te.n; i++)
        te_idx[i] = (int32_t)i;
    if (!(net = rcn_net_create(&o.arch, o.cell.batch_size, &err)))
        goto done;
    rcn_net_init(net, o.seed, 0);

    if (!o.quiet) {
        printf("rcn train: %s (%lld parameters), %lld training / %lld test images, batch %d, "
               "lr %g, momentum %g, weight decay %g, dropout %g, %d epochs, seed %llu\n",
               o.arch.name, (long long)rcn_arch_param_count(&o.arch), (long long)n_train,
               (long long)te.n, o.cell.batch_size, o.cell.lr, o.cell.momentum, o.weight_decay,
               (double)o.arch.dropout, o.cell.epochs, o.seed);
        printf("epoch  train_loss  train_acc   test_loss   test_acc   seconds     img/s\n");
        fflush(stdout);
    }
    rcn_split trs = {tr.images, tr.labels, tr_idx, n_train};
    rcn_split tes = {te.images, te.labels, te_idx, te.n};
    rcn_hparams hp = {.batch_size = o.cell.batch_size, .epochs = o.cell.epochs, .lr = o.cell.lr,
                      .momentum = o.cell.momentum, .weight_decay = o.weight_decay,
                      .diverge_threshold = o.diverge_threshold, .seed = o.seed, .stream_a = 0};
    train_progress prog = {.o = &o, .tty = !o.quiet && isatty(STDERR_FILENO) ? stderr : NULL,
                           .n_train = n_train, .n_val = te.n, .batch = o.cell.batch_size,
                           .eval_batch = rcn_net_max_batch(net),
                           .train_batches = (n_train + o.cell.batch_size - 1) / o.cell.batch_size,
                           .epoch = 1, .t_epoch = rcn_clock()};
    prog.t_drawn = prog.t_epoch;
    rcn_train_hooks hooks = {.on_epoch = print_epoch, .poll = progress_poll, .ud = &prog};
    res = rcn_train_result_create(o.cell.epochs, &err);
    int trc = !res || rcn_train(net, &trs, &tes, &hp, &hooks, res, &err);
    progress_clear(&prog);
    if (trc)
        goto done;
    if (res->diverged && !o.quiet)
        printf("diverged at epoch %d, batch %d (batch loss %g): stopped\n", res->diverged_epoch,
               res->diverged_batch, res->diverged_loss);

    json_t *cfg = json_pack(
        "{s:o, s:I, s:i, s:f, s:f, s:f, s:f, s:i, s:I, s:I, s:I, s:f, s:i, s:{s:s, s:s, s:s, s:s}}",
        "model", rcn_arch_to_json(&o.arch), "parameters",
        (json_int_t)rcn_arch_param_count(&o.arch), rcn_axis_name(RCN_AXIS_BATCH),
        o.cell.batch_size, rcn_axis_name(RCN_AXIS_LR), o.cell.lr,
        rcn_axis_name(RCN_AXIS_MOMENTUM), o.cell.momentum, "weight_decay", o.weight_decay,
        "dropout", (double)o.arch.dropout, rcn_axis_name(RCN_AXIS_EPOCHS), o.cell.epochs, "seed", (json_int_t)o.seed, "train_limit",
        (json_int_t)o.train_limit, "n_train", (json_int_t)n_train, "diverge_threshold",
        o.diverge_threshold, "threads", o.threads, "data", "train_images", o.train_images,
        "train_labels", o.train_labels, "test_images", o.test_images, "test_labels",
        o.test_labels);
    json_t *eps = json_array();
    for (int i = 0; i < res->n_epochs; i++)
        json_array_append_new(eps, epoch_json(&res->epochs[i]));
    json_t *tj = rcn_train_result_to_json(res);
    out = json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:O, s:O, s:o}", "command", "rcn train",
                    "rcn_version", RCN_VERSION, "git_revision", RCN_GIT_REV, "config", cfg,
                    "loss_convention",
                    "train_loss/test_loss: mean per-sample cross-entropy; "
                    "*_sum_of_batch_means: the paper's Table 1 convention",
                    "epochs", eps, "status", json_object_get(tj, "status"), "diverged",
                    json_object_get(tj, "diverged"), "seconds", rcn_json_num(res->seconds));
    json_decref(tj);
    if (o.save) {
        json_t *meta = json_pack("{s:f, s:i, s:f, s:i, s:I}", rcn_axis_name(RCN_AXIS_LR),
                                 o.cell.lr, rcn_axis_name(RCN_AXIS_BATCH), o.cell.batch_size,
                                 rcn_axis_name(RCN_AXIS_MOMENTUM), o.cell.momentum,
                                 rcn_axis_name(RCN_AXIS_EPOCHS), res->n_epochs, "seed",
                                 (json_int_t)o.seed);
        int src = rcn_safetensors_save(o.save, net, meta, &err);
        json_decref(meta);
        if (src)
            goto done;
        json_object_set_new(out, "model", json_string(o.save));
    }
    if (o.out && rcn_write_json_atomic(o.out, out, &err))
        goto done;
    status = RCN_EXIT_OK;
done:
    if (status != RCN_EXIT_OK)
        fprintf(stderr, "rcn train: %s\n", err.msg);
    json_decref(out);
    rcn_train_result_free(res);
    rcn_net_destroy(net);
    free(tr_idx);
    free(te_idx);
    rcn_dataset_free(&tr);
    rcn_dataset_free(&te);
    return status;
}
