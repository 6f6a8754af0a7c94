/* job.c - job files: read the JSON, validate every field before any training
 * (all errors, one per line, each naming the file, the JSON path and the
 * reason), resolve and check the data files, expand the grid (grid.c),
 * build the normalised job JSON and its hash. See include/rcn/job.h. */
#include "rcn/job.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rcn/data.h"
#include "rcn/race.h"
#include "rcn/sysmem.h"
#include "rcn/train.h"

#define JOB_FILE_MAX (16 << 20) /* a job file is a few hundred bytes */
#define MAX_FOLDS 1000
#define MAX_THREADS 256
#define DEFAULT_FOLDS 10

/* ---- error collection ------------------------------------------------- */

typedef struct {
    const char *file;
    char buf[RCN_ERROR_MAX];
    size_t len;
    int n, dropped;
} ctx_t;

static void add_line(ctx_t *c, const char *line)
{
    size_t l = strlen(line);
    c->n++;
    if (c->n == 1) {
        snprintf(c->buf, sizeof c->buf, "%s", line);
        c->len = strlen(c->buf);
        return;
    }
    /* keep room for the "... and N more" line */
    if (c->len + 1 + l + 96 >= sizeof c->buf) {
        c->dropped++;
        return;
    }
    c->buf[c->len++] = '\n';
    memcpy(c->buf + c->len, line, l + 1);
    c->len += l;
}

__attribute__((format(printf, 3, 4)))
static void fail(ctx_t *c, const char *jpath, const char *fmt, ...)
{
    char reason[512], line[RCN_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (jpath && *jpath)
        snprintf(line, sizeof line, "%.400s: %.200s: %.400s", c->file, jpath, reason);
    else
        snprintf(line, sizeof line, "%.400s: %s", c->file, reason);
    add_line(c, line);
}

static int finish(ctx_t *c, rcn_error *err)
{
    if (!c->n)
        return 0;
    if (c->dropped) {
        char more[96];
        snprintf(more, sizeof more, "\n(and %d more error%s)", c->dropped,
                 c->dropped == 1 ? "" : "s");
        size_t l = strlen(more);
        if (c->len + l < sizeof c->buf) {
            memcpy(c->buf + c->len, more, l + 1);
            c->len += l;
        }
    }
    return rcn_errorf(err, "%s", c->buf);
}

/* ---- JSON helpers ----------------------------------------------------- */

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* A short rendering of a value for messages: numbers in their shortest
 * spelling, strings quoted, containers by type. */
static void show(const json_t *v, char *buf, size_t cap)
{
    if (json_is_real(v)) {
        rcn_num_text(json_real_value(v), buf, cap);
    } else if (json_is_integer(v)) {
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        snprintf(buf, cap, "\"%.40s%s\"", s, strlen(s) > 40 ? "..." : "");
    } else if (json_is_boolean(v)) {
        snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
    } else if (json_is_null(v)) {
        snprintf(buf, cap, "null");
    } else {
        snprintf(buf, cap, "%s", type_name(v));
    }
}

static void join(char *out, size_t cap, const char *a, const char *b)
{
    if (a && *a)
        snprintf(out, cap, "%.200s.%.100s", a, b);
    else
        snprintf(out, cap, "%.100s", b);
}

static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    int d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

/* Reports every key of object o not in `allowed`; returns how many. */
static int unknown_keys(ctx_t *c, const char *where, const json_t *o,
                        const char *const *allowed)
{
    const char *key;
    json_t *v;
    int bad = 0;
    json_object_foreach((json_t *)o, key, v) {
        int ok = 0;
        for (int i = 0; allowed[i] && !ok; i++)
            ok = !strcmp(key, allowed[i]);
        if (ok)
            continue;
        bad++;
        char path[320], list[400] = "";
        join(path, sizeof path, where, key);
        const char *near = NULL;
        int best = 99;
        size_t len = 0;
        for (int i = 0; allowed[i]; i++) {
            int dist = edit_distance(key, allowed[i]);
            if (dist < best)
                best = dist, near = allowed[i];
            int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", allowed[i]);
            if (w > 0 && (size_t)w < sizeof list - len)
                len += (size_t)w;
        }
        /* what people type for a key: the key, or axis (an rcn_axis_id) when >= 0 */
        static const struct { const char *typo, *key; int axis; } synonyms[] = {
            {"learning_rate", NULL, RCN_AXIS_LR}, {"learning-rate", NULL, RCN_AXIS_LR},
            {"batch", NULL, RCN_AXIS_BATCH}, {"batchsize", NULL, RCN_AXIS_BATCH},
            {"batch-size", NULL, RCN_AXIS_BATCH},
            {"folds", "validation\": {\"kind\": \"kfold\", \"folds", -1},
            {"model_name", "model", -1}, {"preset", "model", -1}, {"out", "output", -1}};
        for (size_t i = 0; i < sizeof synonyms / sizeof synonyms[0]; i++)
            if (!strcmp(key, synonyms[i].typo)) {
                const char *to =
                    synonyms[i].axis >= 0 ? rcn_axis_name(synonyms[i].axis) : synonyms[i].key;
                for (int k = 0; allowed[k]; k++)
                    if (!strncmp(to, allowed[k], strlen(allowed[k])) &&
                        (to[strlen(allowed[k])] == 0 || to[strlen(allowed[k])] == '"'))
                        near = to, best = 0;
            }
        int limit = strlen(key) > 5 ? 2 : 1;
        if (near && best <= limit)
            fail(c, path, "unknown key (did you mean \"%s\"?)", near);
        else
            fail(c, path, "unknown key (allowed: %s)", list);
    }
    return bad;
}

/* An integer field; integral reals (64.0, 1e3) are accepted. */
static int want_int(ctx_t *c, const char *path, const json_t *v, long long lo, long long hi,
                    long long *out)
{
    char got[64];
    show(v, got, sizeof got);
    long long x;
    if (json_is_integer(v)) {
        x = (long long)json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
               fabs(json_real_value(v)) < 9e15) {
        x = (long long)json_real_value(v);
    } else {
        fail(c, path, "must be an integer (got %s)", got);
        return -1;
    }
    if (x < lo || x > hi) {
        if (hi == LLONG_MAX)
            fail(c, path, "must be >= %lld (got %s)", lo, got);
        else
            fail(c, path, "must be between %lld and %lld (got %s)", lo, hi, got);
        return -1;
    }
    *out = x;
    return 0;
}

/* The numeric hyperparameters: the axes (axes.h, first, in rcn_axis_id
 * order) and the other scalars with their admissible ranges. */
typedef enum { P_WD = RCN_NAXES, P_DROPOUT, P_DIVERGE } param_id;

static const rcn_range other_ranges[] = {
    [P_WD - RCN_NAXES] = {0, 0, 0, HUGE_VAL, 0},
    [P_DROPOUT - RCN_NAXES] = {0, 0, 0, 1, 1},
    [P_DIVERGE - RCN_NAXES] = {0, 0, 1, HUGE_VAL, 0},
};

/* The range of parameter p: an axis (rcn_axis_id) or a param_id. */
static const rcn_range *range_of(int p)
{
    assert(p >= 0 && p < P_DIVERGE + 1);
    return p < RCN_NAXES ? &rcn_axis_def_of(p)->range : &other_ranges[p - RCN_NAXES];
}

/* A value of parameter p (see range_of): type and range checked. */
static int want_param(ctx_t *c, const char *path, const json_t *v, int p, double *out)
{
    const rcn_range *r = range_of(p);
    if (r->integer) {
        long long x;
        long long hi = r->hi == HUGE_VAL ? LLONG_MAX : (long long)r->hi;
        if (want_int(c, path, v, (long long)r->lo, hi, &x))
            return -1;
        *out = (double)x;
        return 0;
    }
    char got[64];
    show(v, got, sizeof got);
    if (!json_is_number(v)) {
        fail(c, path, "must be a number (got %s)", got);
        return -1;
    }
    double x = json_number_value(v);
    if (!rcn_range_has(r, x)) {
        char cond[96];
        rcn_range_text(r, cond, sizeof cond);
        fail(c, path, "must be %s (got %s)", cond, got);
        return -1;
    }
    *out = x;
    return 0;
}

static int want_string(ctx_t *c, const char *path, const json_t *v, size_t max_len,
                       const char **out)
{
    char got[64];
    show(v, got, sizeof got);
    if (!json_is_string(v)) {
        fail(c, path, "must be a string (got %s)", got);
        return -1;
    }
    const char *s = json_string_value(v);
    if (!*s) {
        fail(c, path, "must not be empty");
        return -1;
    }
    if (strlen(s) > max_len) {
        fail(c, path, "too long (%zu characters, at most %zu)", strlen(s), max_len);
        return -1;
    }
    if (strlen(s) != json_string_length(v)) {
        fail(c, path, "must not contain NUL characters");
        return -1;
    }
    *out = s;
    return 0;
}

/* ---- grid axes -------------------------------------------------------- */

typedef struct {
    int is_range;
    double from, to, step;
} axis_src;

static int axis_set(rcn_axis *ax, const double *vals, int n)
{
    ax->values = malloc(sizeof *ax->values * (size_t)n);
    ax->text = malloc(sizeof *ax->text * (size_t)n);
    if (!ax->values || !ax->text) {
        free(ax->values), free(ax->text);
        ax->values = NULL, ax->text = NULL;
        return -1;
    }
    for (int i = 0; i < n; i++) {
        ax->values[i] = vals[i];
        rcn_num_text(vals[i], ax->text[i], sizeof ax->text[i]);
    }
    ax->n = n;
    return 0;
}

/* A list of values (path names the list). Returns 0 and fills *vals (malloc'ed). */
static int axis_list(ctx_t *c, const char *path, const json_t *list, int p, double **vals,
                     int *n)
{
    size_t len = json_array_size(list);
    if (len == 0) {
        fail(c, path, "must not be empty (give at least one value)");
        return -1;
    }
    if (len > RCN_MAX_AXIS) {
        fail(c, path, "has %zu values, more than the %d allowed", len, RCN_MAX_AXIS);
        return -1;
    }
    double *v = malloc(sizeof *v * len);
    if (!v) {
        fail(c, path, "out of memory");
        return -1;
    }
    int bad = 0;
    for (size_t i = 0; i < len; i++) {
        char ip[340];
        snprintf(ip, sizeof ip, "%.320s[%zu]", path, i);
        if (want_param(c, ip, json_array_get(list, i), p, &v[i])) {
            bad = 1;
            v[i] = NAN;
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (v[j] == v[i]) {
                char t[32];
                rcn_num_text(v[i], t, sizeof t);
                fail(c, ip, "duplicate value %s (also at [%zu])", t, j);
                bad = 1;
                break;
            }
    }
    if (bad) {
        free(v);
        return -1;
    }
    *vals = v;
    *n = (int)len;
    return 0;
}

static int axis_parse(ctx_t *c, const char *path, const json_t *j, int p, rcn_axis *ax,
                      axis_src *src)
{
    double *vals = NULL;
    int n = 0;
    memset(src, 0, sizeof *src);
    if (json_is_array(j)) {
        if (axis_list(c, path, j, p, &vals, &n))
            return -1;
    } else if (json_is_object(j)) {
        static const char *const keys[] = {"from", "to", "step", "values", NULL};
        if (unknown_keys(c, path, j, keys))
            return -1;
        json_t *jf = json_object_get(j, "from"), *jt = json_object_get(j, "to");
        json_t *js = json_object_get(j, "step"), *jv = json_object_get(j, "values");
        char pv[340];
        snprintf(pv, sizeof pv, "%.320s.values", path);
        if (!jf && !jt && !js) {
            if (!jv) {
                fail(c, path, "must have \"from\", \"to\" and \"step\" (a range) or "
                              "\"values\" (a list)");
                return -1;
            }
            if (!json_is_array(jv)) {
                char got[64];
                show(jv, got, sizeof got);
                fail(c, pv, "must be a list (got %s)", got);
                return -1;
            }
            if (axis_list(c, pv, jv, p, &vals, &n))
                return -1;
        } else {
            const char *names[3] = {"from", "to", "step"};
            json_t *parts[3] = {jf, jt, js};
            double x[3] = {0, 0, 0};
            int bad = 0;
            for (int i = 0; i < 3; i++) {
                char pp[340];
                snprintf(pp, sizeof pp, "%.320s.%s", path, names[i]);
                if (!parts[i]) {
                    fail(c, pp, "missing (a range needs \"from\", \"to\" and \"step\")");
                    bad = 1;
                } else if (i < 2) {
                    bad |= want_param(c, pp, parts[i], p, &x[i]) != 0;
                } else if (rcn_axis_is_integer(p)) {
                    long long s;
                    if (want_int(c, pp, parts[i], 1, LLONG_MAX, &s))
                        bad = 1;
                    else
                        x[i] = (double)s;
                } else {
                    char got[64];
                    show(parts[i], got, sizeof got);
                    if (!json_is_number(parts[i])) {
                        fail(c, pp, "must be a number (got %s)", got);
                        bad = 1;
                    } else if (!(json_number_value(parts[i]) > 0)) {
                        fail(c, pp, "must be > 0 (got %s)", got);
                        bad = 1;
                    } else {
                        x[i] = json_number_value(parts[i]);
                    }
                }
            }
            if (bad)
                return -1;
            if (x[0] > x[1]) {
                char a[32], b[32];
                rcn_num_text(x[0], a, sizeof a);
                rcn_num_text(x[1], b, sizeof b);
                fail(c, path, "from must be <= to (got from %s, to %s)", a, b);
                return -1;
            }
            long count = rcn_range_expand(x[0], x[1], x[2], NULL, 0);
            if (count == -2) {
                fail(c, path, "cannot expand this range exactly (too many decimal places or "
                              "values); give a list instead");
                return -1;
            }
            if (count > RCN_MAX_AXIS) {
                fail(c, path, "the range has %ld values, more than the %d allowed", count,
                     RCN_MAX_AXIS);
                return -1;
            }
            vals = malloc(sizeof *vals * (size_t)count);
            if (!vals) {
                fail(c, path, "out of memory");
                return -1;
            }
            n = (int)rcn_range_expand(x[0], x[1], x[2], vals, count);
            src->is_range = 1;
            src->from = x[0], src->to = x[1], src->step = x[2];
            if (jv) { /* a normalised job: "values" must be the expansion */
                int same = json_is_array(jv) && json_array_size(jv) == (size_t)n;
                for (int i = 0; same && i < n; i++) {
                    json_t *e = json_array_get(jv, (size_t)i);
                    same = json_is_number(e) && json_number_value(e) == vals[i];
                }
                if (!same) {
                    fail(c, pv, "does not match from/to/step (the range has %d values); "
                                "leave \"values\" out", n);
                    free(vals);
                    return -1;
                }
            }
        }
    } else {
        char got[64];
        show(j, got, sizeof got);
        fail(c, path, "must be a list of values or a {\"from\", \"to\", \"step\"} range "
                      "(got %s)", got);
        return -1;
    }
    int rc = axis_set(ax, vals, n);
    free(vals);
    if (rc)
        fail(c, path, "out of memory");
    return rc;
}

static json_t *axis_json(const rcn_axis *ax, const axis_src *src, int integer)
{
    json_t *o = json_object();
#define NUM(x) (integer ? json_integer((json_int_t)(x)) : json_real(x))
    if (src->is_range) {
        json_object_set_new(o, "from", NUM(src->from));
        json_object_set_new(o, "to", NUM(src->to));
        json_object_set_new(o, "step", NUM(src->step));
    }
    json_t *vals = json_array();
    for (int i = 0; i < ax->n; i++)
        json_array_append_new(vals, NUM(ax->values[i]));
#undef NUM
    json_object_set_new(o, "values", vals);
    return o;
}

/* ---- data files ------------------------------------------------------- */

static void check_file(ctx_t *c, const char *jpath, const char *path, int hint)
{
    struct stat st;
    if (stat(path, &st)) {
        int e = errno;
        fail(c, jpath, "cannot open %s: %s%s", path, strerror(e),
             hint && e == ENOENT ? " (`make data` fetches MNIST into data/mnist)" : "");
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        fail(c, jpath, "%s is a directory, not a data file", path);
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        fail(c, jpath, "%s is not a regular file", path);
        return;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(c, jpath, "cannot read %s: %s", path, strerror(errno));
        return;
    }
    fclose(f);
}

static const char *const data_paths[4] = {"train_images", "train_labels", "test_images",
                                          "test_labels"};

static void parse_data(ctx_t *c, const json_t *d, rcn_job *job, json_t **norm)
{
    char got[64];
    if (!d) {
        fail(c, "data", "missing (give {\"dir\": \"data/mnist\"} or the four paths "
                        "train_images, train_labels, test_images, test_labels)");
        return;
    }
    if (!json_is_object(d)) {
        show(d, got, sizeof got);
        fail(c, "data", "must be an object (got %s)", got);
        return;
    }
    static const char *const keys[] = {"dir", "train_images", "train_labels", "test_images",
                                       "test_labels", NULL};
    if (unknown_keys(c, "data", d, keys))
        return;
    char *dst[4] = {job->train_images, job->train_labels, job->test_images, job->test_labels};
    json_t *jdir = json_object_get(d, "dir");
    if (jdir) {
        for (int i = 0; i < 4; i++)
            if (json_object_get(d, data_paths[i])) {
                char p[64];
                snprintf(p, sizeof p, "data.%s", data_paths[i]);
                fail(c, p, "give either \"dir\" or the four paths, not both");
                return;
            }
        const char *dir;
        if (want_string(c, "data.dir", jdir, RCN_PATH_MAX - 64, &dir))
            return;
        const char *env = getenv("RCN_DATA_DIR");
        const char *where = "data.dir";
        if (env && *env) {
            if (strlen(env) > RCN_PATH_MAX - 64) {
                fail(c, "data.dir", "RCN_DATA_DIR is too long");
                return;
            }
            dir = env;
            where = "data.dir (from RCN_DATA_DIR)";
        }
        *norm = json_pack("{s:s}", "dir", dir);
        struct stat st;
        if (stat(dir, &st)) {
            int e = errno;
            fail(c, where, "cannot open directory %s: %s%s", dir, strerror(e),
                 e == ENOENT ? " (`make data` fetches MNIST into data/mnist)" : "");
            return;
        }
        if (!S_ISDIR(st.st_mode)) {
            fail(c, where, "%s is not a directory", dir);
            return;
        }
        rcn_error e;
        if (rcn_dataset_resolve(dir, "train", job->train_images, job->train_labels,
                                RCN_PATH_MAX, &e) ||
            rcn_dataset_resolve(dir, "t10k", job->test_images, job->test_labels,
                                RCN_PATH_MAX, &e)) {
            fail(c, where, "%s", e.msg);
            return;
        }
        for (int i = 0; i < 4; i++)
            check_file(c, where, dst[i], 1);
        return;
    }
    *norm = json_object();
    for (int i = 0; i < 4; i++) {
        char p[64];
        snprintf(p, sizeof p, "data.%s", data_paths[i]);
        json_t *v = json_object_get(d, data_paths[i]);
        if (!v) {
            fail(c, p, "missing (give \"dir\" or all four of train_images, train_labels, "
                       "test_images, test_labels)");
            continue;
        }
        const char *s;
        if (want_string(c, p, v, RCN_PATH_MAX - 64, &s))
            continue;
        snprintf(dst[i], RCN_PATH_MAX, "%s", s);
        json_object_set_new(*norm, data_paths[i], json_string(s));
        check_file(c, p, s, 0);
    }
}

/* ---- sizes ------------------------------------------------------------ */

/* The field a batch-size error names: the grid axis when swept, else the
 * scalar. */
static const char *batch_path(const rcn_axis *ax, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s", ax->n > 0 ? "grid." : "", rcn_axis_name(RCN_AXIS_BATCH));
    return buf;
}

/* Batch sizes and folds against a training set of n images; `what` says
 * where n comes from. */
static void check_sizes(ctx_t *c, const rcn_job *job, int64_t n, const char *what)
{
    int64_t fold_train = n;
    if (job->valid_kind == RCN_VALID_KFOLD) {
        if (job->folds > n) {
            fail(c, "validation.folds", "%d folds need at least %d training images (%s has "
                                        "%" PRId64 ")", job->folds, job->folds, what, n);
            return;
        }
        fold_train = n - (n + job->folds - 1) / job->folds;
    }
    const rcn_axis *ax = &job->axes[RCN_AXIS_BATCH];
    char path[32];
    int nb = ax->n > 0 ? ax->n : 1;
    for (int i = 0; i < nb; i++) {
        int b = ax->n > 0 ? (int)ax->values[i] : job->batch_size;
        if (b <= fold_train)
            continue;
        if (job->valid_kind == RCN_VALID_KFOLD)
            fail(c, batch_path(ax, path, sizeof path),
                 "%d is more than the %" PRId64 " training images of a fold (%s: %" PRId64
                 " images, %d folds)", b, fold_train, what, n, job->folds);
        else
            fail(c, batch_path(ax, path, sizeof path),
                 "%d is more than the %" PRId64 " training images (%s)", b, n, what);
    }
}

int rcn_job_check_sizes(const rcn_job *job, int64_t n_train, rcn_error *err)
{
    ctx_t c = {.file = job->path};
    if (n_train < 1) {
        fail(&c, "data", "the training set is empty (%s)", job->train_images);
        return finish(&c, err);
    }
    int64_t n = n_train;
    if (job->train_limit > 0) {
        if (job->train_limit > n_train)
            fail(&c, "train_limit", "%" PRId64 " is more than the %" PRId64
                 " images of the training set (%s)", job->train_limit, n_train,
                 job->train_images);
        else
            n = job->train_limit;
    }
    if (!c.n)
        check_sizes(&c, job, n, job->train_limit > 0 ? "train_limit" : "the training set");
    return finish(&c, err);
}

/* ---- memory ----------------------------------------------------------- */

/* The network of the largest batch must fit in the memory this process may
 * use (sysmem.h): a job that cannot is refused now, with the estimate, not
 * after loading the data or by the OOM killer hours into a search. */
static void check_memory(ctx_t *c, const rcn_job *job)
{
    const rcn_axis *ax = &job->axes[RCN_AXIS_BATCH];
    char path[32];
    int batch = job->batch_size;
    if (ax->n > 0) {
        batch = 1;
        for (int i = 0; i < ax->n; i++)
            if ((int)ax->values[i] > batch)
                batch = (int)ax->values[i];
    }
    size_t need, need1;
    rcn_error e;
    if (rcn_net_estimate_bytes(&job->arch, batch, &need, &e)) {
        fail(c, "model", "%s", e.msg);
        return;
    }
    char limit[160];
    uint64_t avail = rcn_mem_available(limit, sizeof limit);
    if ((uint64_t)need <= avail)
        return;
    char n[32], a[32];
    rcn_mem_str(avail, a, sizeof a);
    if (rcn_net_estimate_bytes(&job->arch, 1, &need1, &e) == 0 && (uint64_t)need1 > avail)
        fail(c, "model", "the network (%lld parameters) needs %s even for batch 1, more than "
             "the %s of memory available (%s)", (long long)rcn_arch_param_count(&job->arch),
             rcn_mem_str(need1, n, sizeof n), a, limit);
    else
        fail(c, batch_path(ax, path, sizeof path),
             "batch %d needs %s for the network (%lld parameters), more than the %s of "
             "memory available (%s)", batch, rcn_mem_str(need, n, sizeof n),
             (long long)rcn_arch_param_count(&job->arch), a, limit);
}

/* ---- the job ---------------------------------------------------------- */

static int read_file(ctx_t *c, const char *path, char **buf, size_t *len)
{
    struct stat st;
    if (stat(path, &st)) {
        fail(c, NULL, "cannot open job file: %s", strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        fail(c, NULL, "is a directory, not a job file");
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(c, NULL, "cannot read job file: %s", strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        if (n == cap) {
            if (cap >= JOB_FILE_MAX) {
                fail(c, NULL, "job file larger than %d bytes", JOB_FILE_MAX);
                free(b);
                fclose(f);
                return -1;
            }
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb, cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int rd_err = ferror(f);
    fclose(f);
    if (!b) {
        fail(c, NULL, "out of memory reading the job file");
        return -1;
    }
    if (rd_err) {
        fail(c, NULL, "read error");
        free(b);
        return -1;
    }
    *buf = b, *len = n;
    return 0;
}

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void compute_hash(rcn_job *job)
{
    json_t *copy = json_copy(job->json);
    json_object_del(copy, "output");
    json_object_del(copy, "description");
    json_object_del(copy, "stragglers");
    char *s = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(copy);
    snprintf(job->hash, sizeof job->hash, "%016" PRIx64, s ? fnv1a64(s) : 0);
    free(s);
}

/* "stragglers" (see rcn_stragglers); *norm: the normalised object. */
static void parse_stragglers(ctx_t *c, const json_t *v, rcn_stragglers *s, json_t **norm)
{
    static const char *const keys[] = {"backups", "silent_after", "silent_min_seconds", NULL};
    *s = (rcn_stragglers){1, 3.0, 30.0};
    *norm = NULL;
    if (!v)
        return;
    if (!json_is_object(v)) {
        char got[64];
        show(v, got, sizeof got);
        fail(c, "stragglers", "must be an object {\"backups\", \"silent_after\", "
                              "\"silent_min_seconds\"} (got %s)", got);
        return;
    }
    int bad = unknown_keys(c, "stragglers", v, keys);
    const json_t *b = json_object_get(v, "backups");
    if (b && !json_is_boolean(b)) {
        char got[64];
        show(b, got, sizeof got);
        fail(c, "stragglers.backups", "must be true or false (got %s)", got);
        bad++;
    } else if (b) {
        s->backups = json_is_true(b);
    }
    struct { const char *key, *path, *cond; double lo; double *out; } num[] = {
        {"silent_after", "stragglers.silent_after", "a number > 0", 0, &s->silent_after},
        {"silent_min_seconds", "stragglers.silent_min_seconds", "a number >= 2", 2,
         &s->silent_min_seconds}};
    for (int i = 0; i < 2; i++) {
        const json_t *n = json_object_get(v, num[i].key);
        if (!n)
            continue;
        double x = json_number_value(n);
        if (!json_is_number(n) || !isfinite(x) || x < num[i].lo || (num[i].lo == 0 && x == 0)) {
            char got[64];
            show(n, got, sizeof got);
            fail(c, num[i].path, "must be %s (got %s)", num[i].cond, got);
            bad++;
        } else {
            *num[i].out = x;
        }
    }
    if (!bad)
        *norm = json_pack("{s:b, s:f, s:f}", "backups", s->backups, "silent_after",
                          s->silent_after, "silent_min_seconds", s->silent_min_seconds);
}

static int output_ok(ctx_t *c, const char *out)
{
    size_t l = strlen(out);
    if (l <= 5 || strcmp(out + l - 5, ".json")) {
        fail(c, "output", "must be a path ending in .json (got \"%.200s\")", out);
        return -1;
    }
    if (l > RCN_PATH_MAX - 64) {
        fail(c, "output", "path too long");
        return -1;
    }
    return 0;
}

static void set_output(rcn_job *job, const char *out)
{
    size_t l = strlen(out);
    snprintf(job->output, sizeof job->output, "%s", out);
    snprintf(job->journal, sizeof job->journal, "%.*s.journal.jsonl", (int)(l - 5), out);
}

int rcn_job_set_output(rcn_job *job, const char *output, rcn_error *err)
{
    ctx_t c = {.file = job->path};
    if (!output || !*output)
        fail(&c, "output", "must not be empty");
    else if (output_ok(&c, output) == 0) {
        set_output(job, output);
        if (job->json)
            json_object_set_new(job->json, "output", json_string(output));
    }
    return finish(&c, err);
}

/* A float dropout as the shortest double that spells it (0.3f -> 0.3). */
static double float_short(float f)
{
    char t[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(t, sizeof t, "%.*g", p, (double)f);
        if (strtof(t, NULL) == f)
            return strtod(t, NULL);
    }
    return (double)f;
}

static int name_ok(ctx_t *c, const char *name, const char *why)
{
    size_t l = strlen(name);
    if (l == 0 || l >= sizeof(((rcn_job *)0)->name) || !strcmp(name, ".") ||
        !strcmp(name, "..")) {
        fail(c, "name", "%s: must be 1..127 characters and not \".\" or \"..\"", why);
        return -1;
    }
    for (size_t i = 0; i < l; i++)
        if (name[i] == '/' || name[i] == '\\' || (unsigned char)name[i] < 32) {
            fail(c, "name", "%s: must not contain '/', '\\' or control characters "
                            "(it names the default output file)", why);
            return -1;
        }
    return 0;
}

/* The order in which the axes' scalars are read, listed and written (the
 * normalised JSON's key order, which the hash sees). */
static const int scalar_order[RCN_NAXES] = {RCN_AXIS_EPOCHS, RCN_AXIS_BATCH, RCN_AXIS_LR,
                                            RCN_AXIS_MOMENTUM};

/* The job's scalar default of axis a. */
static double job_axis(const rcn_job *job, int a)
{
    switch ((rcn_axis_id)a) {
    case RCN_AXIS_BATCH: return job->batch_size;
    case RCN_AXIS_LR: return job->lr;
    case RCN_AXIS_MOMENTUM: return job->momentum;
    case RCN_AXIS_EPOCHS: return job->epochs;
    default: assert(!"axis out of range"); return NAN;
    }
}

static void job_set_axis(rcn_job *job, int a, double v)
{
    switch ((rcn_axis_id)a) {
    case RCN_AXIS_BATCH: job->batch_size = (int)v; break;
    case RCN_AXIS_LR: job->lr = v; break;
    case RCN_AXIS_MOMENTUM: job->momentum = v; break;
    case RCN_AXIS_EPOCHS: job->epochs = (int)v; break;
    default: assert(!"axis out of range");
    }
}

/* The top-level keys, in the order "allowed:" lists them; NULL marks where
 * the axes go (in scalar_order). */
static const char *const top_keys_tmpl[] = {
    "name", "description", "data", "train_limit", "model", NULL, "weight_decay", "dropout",
    "diverge_threshold", "seed", "threads", "grid", "validation", "refit", "schedule",
    "stragglers", "output"};
#define N_TOP_KEYS (sizeof top_keys_tmpl / sizeof top_keys_tmpl[0] + RCN_NAXES - 1)

static void top_keys(const char *keys[N_TOP_KEYS + 1])
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof top_keys_tmpl / sizeof top_keys_tmpl[0]; i++) {
        if (top_keys_tmpl[i]) {
            keys[n++] = top_keys_tmpl[i];
            continue;
        }
        for (int k = 0; k < RCN_NAXES; k++)
            keys[n++] = rcn_axis_name(scalar_order[k]);
    }
    assert(n == N_TOP_KEYS);
    keys[n] = NULL;
}

int rcn_job_load(const char *path, rcn_job *job, rcn_error *err)
{
    memset(job, 0, sizeof *job);
    ctx_t c = {.file = path};
    if (strlen(path) >= sizeof job->path) {
        fail(&c, NULL, "job file path too long");
        return finish(&c, err);
    }
    snprintf(job->path, sizeof job->path, "%s", path);
    c.file = job->path;

    char *text = NULL;
    size_t len = 0;
    if (read_file(&c, path, &text, &len))
        return finish(&c, err);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!root) {
        char line[RCN_ERROR_MAX];
        snprintf(line, sizeof line, "%.400s:%d:%d: invalid JSON (line %d, column %d): %s",
                 path, jerr.line, jerr.column, jerr.line, jerr.column, jerr.text);
        add_line(&c, line);
        return finish(&c, err);
    }
    if (!json_is_object(root)) {
        fail(&c, NULL, "must be a JSON object {...} (got %s)", type_name(root));
        json_decref(root);
        return finish(&c, err);
    }
    const char *keys[N_TOP_KEYS + 1];
    top_keys(keys);
    unknown_keys(&c, "", root, keys);

    json_t *v;
    json_t *norm_data = NULL, *norm_grid = json_object();
    const char *s;

    /* name, description */
    char name[128] = "";
    if ((v = json_object_get(root, "name"))) {
        if (want_string(&c, "name", v, sizeof name - 1, &s) == 0 &&
            name_ok(&c, s, "the job name") == 0)
            snprintf(name, sizeof name, "%s", s);
    } else {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t bl = strlen(base);
        if (bl > 5 && !strcmp(base + bl - 5, ".json"))
            bl -= 5;
        char tmp[RCN_PATH_MAX];
        snprintf(tmp, sizeof tmp, "%.*s", (int)bl, base);
        if (name_ok(&c, tmp, "the job's name (from its file name; set \"name\")") == 0)
            memcpy(name, tmp, strlen(tmp) + 1); /* name_ok: < sizeof name */
    }
    snprintf(job->name, sizeof job->name, "%s", name);
    const char *description = "";
    if ((v = json_object_get(root, "description"))) {
        if (!json_is_string(v)) {
            char got[64];
            show(v, got, sizeof got);
            fail(&c, "description", "must be a string (got %s)", got);
        } else {
            description = json_string_value(v);
        }
    }

    /* data */
    parse_data(&c, json_object_get(root, "data"), job, &norm_data);

    /* train_limit */
    long long ll;
    if ((v = json_object_get(root, "train_limit")) && !json_is_null(v))
        if (want_int(&c, "train_limit", v, 1, RCN_IDX_MAX_ITEMS, &ll) == 0)
            job->train_limit = ll;

    /* model and dropout */
    int arch_ok = 1;
    rcn_error e;
    if ((v = json_object_get(root, "model"))) {
        char where[600];
        snprintf(where, sizeof where, "%.400s: model", path);
        if (rcn_arch_from_json(v, where, &job->arch, &e)) {
            add_line(&c, e.msg);
            arch_ok = 0;
        }
    } else if (rcn_arch_preset("rcn8", &job->arch, &e)) {
        fail(&c, "model", "%s", e.msg);
        arch_ok = 0;
    }
    double dropout = 0;
    if ((v = json_object_get(root, "dropout"))) {
        if (want_param(&c, "dropout", v, P_DROPOUT, &dropout) == 0)
            job->arch.dropout = (float)dropout;
    } else {
        dropout = float_short(job->arch.dropout);
    }

    /* scalar hyperparameters */
    double x;
    for (int i = 0; i < RCN_NAXES; i++) {
        int a = scalar_order[i];
        const char *an = rcn_axis_name(a);
        x = rcn_axis_def_of(a)->def;
        if ((v = json_object_get(root, an)))
            want_param(&c, an, v, a, &x);
        job_set_axis(job, a, x);
    }
    job->weight_decay = 0, job->diverge_threshold = 1000, job->seed = 1, job->threads = 1;
    if ((v = json_object_get(root, "weight_decay")) &&
        want_param(&c, "weight_decay", v, P_WD, &x) == 0)
        job->weight_decay = x;
    if ((v = json_object_get(root, "diverge_threshold")) &&
        want_param(&c, "diverge_threshold", v, P_DIVERGE, &x) == 0)
        job->diverge_threshold = x;
    if ((v = json_object_get(root, "seed")) && want_int(&c, "seed", v, 0, LLONG_MAX, &ll) == 0)
        job->seed = (uint64_t)ll;
    if ((v = json_object_get(root, "threads")) &&
        want_int(&c, "threads", v, 1, MAX_THREADS, &ll) == 0)
        job->threads = (int)ll;

    /* grid */
    int grid_ok = 1;
    if ((v = json_object_get(root, "grid"))) {
        if (!json_is_object(v)) {
            char got[64];
            show(v, got, sizeof got);
            fail(&c, "grid", "must be an object {\"%s\": ..., \"%s\": ...} (got %s)",
                 rcn_axis_name(RCN_AXIS_BATCH), rcn_axis_name(RCN_AXIS_LR), got);
            grid_ok = 0;
        } else {
            const char *keys[RCN_NAXES + 1];
            for (int a = 0; a < RCN_NAXES; a++)
                keys[a] = rcn_axis_name(a);
            keys[RCN_NAXES] = NULL;
            if (unknown_keys(&c, "grid", v, keys))
                grid_ok = 0;
            for (int a = 0; a < RCN_NAXES; a++) {
                json_t *ja = json_object_get(v, keys[a]);
                if (!ja)
                    continue;
                char ap[64];
                snprintf(ap, sizeof ap, "grid.%s", keys[a]);
                axis_src src;
                if (axis_parse(&c, ap, ja, a, &job->axes[a], &src)) {
                    grid_ok = 0;
                    continue;
                }
                json_object_set_new(norm_grid, keys[a],
                                    axis_json(&job->axes[a], &src, rcn_axis_is_integer(a)));
            }
            if (grid_ok) {
                long long cells = 1;
                for (int a = 0; a < RCN_NAXES; a++)
                    if (job->axes[a].n > 0)
                        cells *= job->axes[a].n;
                if (cells > RCN_MAX_CELLS) {
                    fail(&c, "grid", "%lld cells, more than the %d allowed", cells,
                         RCN_MAX_CELLS);
                    grid_ok = 0;
                }
            }
        }
    }

    /* validation, refit */
    job->valid_kind = RCN_VALID_KFOLD, job->folds = DEFAULT_FOLDS;
    int valid_ok = 1;
    if ((v = json_object_get(root, "validation"))) {
        static const char *const keys[] = {"kind", "folds", NULL};
        json_t *kind = json_object_get(v, "kind");
        if (!json_is_object(v)) {
            char got[64];
            show(v, got, sizeof got);
            fail(&c, "validation", "must be an object {\"kind\": \"kfold\", \"folds\": K} or "
                                   "{\"kind\": \"test\"} (got %s)", got);
            valid_ok = 0;
        } else if (unknown_keys(&c, "validation", v, keys)) {
            valid_ok = 0;
        } else if (!kind) {
            fail(&c, "validation.kind", "missing (\"kfold\" or \"test\")");
            valid_ok = 0;
        } else if (json_is_string(kind) && !strcmp(json_string_value(kind), "kfold")) {
            json_t *f = json_object_get(v, "folds");
            if (f && want_int(&c, "validation.folds", f, 2, MAX_FOLDS, &ll) == 0)
                job->folds = (int)ll;
            else if (f)
                valid_ok = 0;
        } else if (json_is_string(kind) && !strcmp(json_string_value(kind), "test")) {
            job->valid_kind = RCN_VALID_TEST, job->folds = 1;
            if (json_object_get(v, "folds")) {
                fail(&c, "validation.folds", "only for kind \"kfold\" (kind \"test\" trains on "
                                             "the whole training set)");
                valid_ok = 0;
            }
        } else {
            char got[64];
            show(kind, got, sizeof got);
            fail(&c, "validation.kind", "must be \"kfold\" or \"test\" (got %s)", got);
            valid_ok = 0;
        }
    }
    if ((v = json_object_get(root, "refit"))) {
        if (!json_is_boolean(v)) {
            char got[64];
            show(v, got, sizeof got);
            fail(&c, "refit", "must be true or false (got %s)", got);
        } else {
            job->refit = json_is_true(v);
            if (job->refit && valid_ok && job->valid_kind == RCN_VALID_TEST)
                fail(&c, "refit", "needs {\"kind\": \"kfold\"} validation (with kind \"test\" "
                                  "every cell already trains on the whole training set)");
        }
    }

    /* schedule: needs the epochs, the grid and the validation */
    if ((v = json_object_get(root, "schedule")) && grid_ok && valid_ok) {
        char where[RCN_PATH_MAX + 8];
        snprintf(where, sizeof where, "%s", path);
        if (rcn_schedule_from_json(v, where, job->epochs, job->folds,
                                   job->valid_kind == RCN_VALID_KFOLD,
                                   job->axes[RCN_AXIS_EPOCHS].n > 0, &job->schedule, &e))
            add_line(&c, e.msg);
    } else if (!v && job->epochs >= 1 && job->folds >= 1) {
        rcn_schedule_from_json(NULL, path, job->epochs, job->folds, 1, 0, &job->schedule, &e);
    }

    json_t *norm_stragglers = NULL;
    parse_stragglers(&c, json_object_get(root, "stragglers"), &job->stragglers,
                     &norm_stragglers);

    /* output */
    char out[RCN_PATH_MAX];
    snprintf(out, sizeof out, "results/%s.json", name);
    if ((v = json_object_get(root, "output"))) {
        if (want_string(&c, "output", v, RCN_PATH_MAX - 64, &s) == 0 && output_ok(&c, s) == 0)
            snprintf(out, sizeof out, "%s", s);
    }
    set_output(job, out);

    /* what needs the grid and the validation: batch sizes vs train_limit */
    if (grid_ok && valid_ok && job->train_limit > 0)
        check_sizes(&c, job, job->train_limit, "train_limit");

    /* what needs the model and the batch sizes: memory, before any data */
    if (arch_ok && grid_ok)
        check_memory(&c, job);

    if (c.n || !arch_ok) {
        json_decref(root);
        json_decref(norm_data);
        json_decref(norm_grid);
        json_decref(norm_stragglers);
        rcn_job_free(job);
        return finish(&c, err);
    }

    /* the normalised job: every field explicit */
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(job->name));
    json_object_set_new(o, "description", json_string(description));
    json_object_set_new(o, "data", norm_data);
    json_object_set_new(o, "train_limit",
                        job->train_limit ? json_integer(job->train_limit) : json_null());
    json_object_set_new(o, "model", rcn_arch_to_json(&job->arch));
    for (int i = 0; i < RCN_NAXES; i++) {
        int a = scalar_order[i];
        double d = job_axis(job, a);
        json_object_set_new(o, rcn_axis_name(a), rcn_axis_is_integer(a)
                                                     ? json_integer((json_int_t)d)
                                                     : json_real(d));
    }
    json_object_set_new(o, "weight_decay", json_real(job->weight_decay));
    json_object_set_new(o, "dropout", json_real(dropout));
    json_object_set_new(o, "diverge_threshold", json_real(job->diverge_threshold));
    json_object_set_new(o, "seed", json_integer((json_int_t)job->seed));
    json_object_set_new(o, "threads", json_integer(job->threads));
    json_object_set_new(o, "grid", norm_grid);
    json_object_set_new(o, "validation",
                        job->valid_kind == RCN_VALID_TEST
                            ? json_pack("{s:s}", "kind", "test")
                            : json_pack("{s:s, s:i}", "kind", "kfold", "folds", job->folds));
    json_object_set_new(o, "refit", json_boolean(job->refit));
    /* a grid schedule is left out, so the hash of a job without racing
     * stays what it was before schedules existed */
    if (job->schedule.kind != RCN_SCHEDULE_GRID)
        json_object_set_new(o, "schedule", rcn_schedule_to_json(&job->schedule));
    if (norm_stragglers) /* only when given: not part of the hash either */
        json_object_set_new(o, "stragglers", norm_stragglers);
    json_object_set_new(o, "output", json_string(job->output));
    json_decref(root);
    job->json = o;
    compute_hash(job);
    if (rcn_plan_from_json(job->json, job->path, &job->plan, err)) {
        rcn_job_free(job);
        return -1;
    }
    assert(job->plan.n_folds == job->folds && (int)job->plan.kind == (int)job->valid_kind);
    return 0;
}

void rcn_job_free(rcn_job *job)
{
    if (!job)
        return;
    for (int a = 0; a < RCN_NAXES; a++) {
        free(job->axes[a].values);
        free(job->axes[a].text);
        job->axes[a].values = NULL;
        job->axes[a].text = NULL;
        job->axes[a].n = 0;
    }
    json_decref(job->json);
    job->json = NULL;
    rcn_plan_free(&job->plan);
}

/* The help's text before and after the lines of the axes' scalars; in the
 * tail, "\001g" stands for the "grid" entry's first lines and "\001o" for
 * the order of the axes (help_tail_expand). */
static const char help_head[] =
"Job file: a JSON object; unknown keys are errors. Every field is checked\n"
"before any training; errors name the file, the field and the reason.\n"
"\n"
"  \"name\"              string; default: the file name without .json\n"
"  \"description\"       free text (optional; not part of the job's identity)\n"
"  \"data\"              {\"dir\": \"data/mnist\"}: the four standard MNIST names in a\n"
"                      directory (train-images-idx3-ubyte, train-labels-idx1-ubyte,\n"
"                      t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, raw or .gz);\n"
"                      or {\"train_images\", \"train_labels\", \"test_images\",\n"
"                      \"test_labels\"}: four paths. Paths are relative to the current\n"
"                      directory. Environment RCN_DATA_DIR replaces \"dir\".\n"
"  \"train_limit\"       integer >= 1: train on a deterministic subset of this many\n"
"                      training images (default: all)\n"
"  \"model\"             preset name \"rcn8\" (default), \"rcn14\", \"resnet18\", or a\n"
"                      spec {\"preset\": ...} or {\"stem\": {\"kernel\", \"stride\",\n"
"                      \"channels\", \"maxpool\"}, \"stages\": [{\"channels\", \"blocks\"},\n"
"                      ...], \"dropout\"}\n";
static const char help_tail[] =
"  \"weight_decay\"      number >= 0, default 0\n"
"  \"dropout\"           number in [0, 1), default the model's (0.5 in the presets)\n"
"  \"diverge_threshold\" number > 0, default 1000: a batch loss above it (or not\n"
"                      finite) stops that training as diverged\n"
"  \"seed\"              integer >= 0, default 1: all randomness derives from it\n"
"  \"threads\"           OpenBLAS threads per rank, 1..256, default 1\n"
"\001" "g"
"                      values [32, 64] or an inclusive range {\"from\": 0.005,\n"
"                      \"to\": 0.195, \"step\": 0.005}, expanded decimal-exactly\n"
"                      (that one gives 39 values 0.005, 0.01, ..., 0.195); at most\n"
"                      4096 values per axis, 1000000 cells. Cells are the product,\n"
"\001" "o"
"  \"validation\"        {\"kind\": \"kfold\", \"folds\": K} (K >= 2, default 10): each\n"
"                      cell trains K times, validated on each fold once; or\n"
"                      {\"kind\": \"test\"}: each cell trains once on the whole\n"
"                      training set and is evaluated on the test set every epoch.\n"
"                      Default {\"kind\": \"kfold\", \"folds\": 10}.\n"
"  \"refit\"             true: after a kfold search, train the best cell on the whole\n"
"                      training set, evaluate it on the test set and save the\n"
"                      model (default false; kfold only)\n"
"  \"schedule\"          {\"kind\": \"grid\"} (default): every cell on every fold for\n"
"                      the full epochs; or {\"kind\": \"halving\", \"eta\": 3,\n"
"                      \"first\": {\"epochs\": 1, \"folds\": 2}, \"growth\": 2} (the\n"
"                      defaults) or {..., \"rungs\": [{\"epochs\", \"folds\"}, ...]}:\n"
"                      successive halving (kfold only, \"epochs\" not swept): each\n"
"                      rung trains the cells still in on its first folds up to its\n"
"                      epochs (continuing from the last rung's saved state) and\n"
"                      keeps the best 1/eta by mean validation loss, ties by cell\n"
"                      index; the last rung is (epochs, K). rcn search --dry-run\n"
"                      prints the plan.\n"
"  \"stragglers\"        {\"backups\": true, \"silent_after\": 3, \"silent_min_seconds\":\n"
"                      30} (the defaults): when no fold job is left to hand out,\n"
"                      idle ranks train backup copies of the folds in flight (the\n"
"                      first copy to finish is journaled, the other is dropped;\n"
"                      results are the same; false: only silent ranks' folds).\n"
"                      A rank is silent after max(silent_min_seconds (>= 2),\n"
"                      silent_after (> 0) x its fold's expected time) without a\n"
"                      word: it is named on stderr and in the report, its folds\n"
"                      are copied first, and at the end it is given up on (exit\n"
"                      status 76). Not part of the job's identity: a journal\n"
"                      resumes under any setting.\n"
"  \"output\"            report path ending in .json, default results/<name>.json;\n"
"                      the journal is <output without .json>.journal.jsonl\n"
"\n"
"Example:\n"
"  {\"data\": {\"dir\": \"data/mnist\"}, \"model\": \"rcn8\", \"epochs\": 10,\n"
"   \"momentum\": 0.5, \"grid\": {\"batch_size\": {\"from\": 32, \"to\": 256, \"step\": 32},\n"
"   \"lr\": {\"from\": 0.005, \"to\": 0.195, \"step\": 0.005}},\n"
"   \"validation\": {\"kind\": \"kfold\", \"folds\": 10}, \"refit\": true}\n";

/* One help line per axis, in scalar_order: its JSON key, range and default;
 * the four carry a bracket saying what the scalars are. */
static size_t help_axes(char *buf, size_t cap)
{
    static const char *const note[RCN_NAXES] = {"defaults of every", "cell; the grid",
                                                 "overrides the", "swept ones"};
    size_t len = 0;
    for (int i = 0; i < RCN_NAXES; i++) {
        const rcn_axis_def *d = rcn_axis_def_of(scalar_order[i]);
        char key[40], range[64], def[32], what[128];
        snprintf(key, sizeof key, "\"%s\"", d->name);
        rcn_range_help(&d->range, range, sizeof range);
        rcn_num_text(d->def, def, sizeof def);
        snprintf(what, sizeof what, "%s, default %s", range, def);
        int w = snprintf(buf + len, cap - len, "  %-19s %-38s } %s\n", key, what, note[i]);
        assert(w > 0 && (size_t)w < cap - len);
        len += (size_t)w;
    }
    return len;
}

static size_t help_tail_expand(char *buf, size_t cap)
{
    size_t len = 0;
#define PUT(...) (len += (size_t)snprintf(buf + len, cap - len, __VA_ARGS__))
    for (const char *p = help_tail; *p && len < cap; p++) {
        if (*p != '\001') {
            buf[len++] = *p;
            continue;
        }
        if (*++p == 'g') { /* the axes as "name": AXIS, three on the first line */
            PUT("  %-19s {", "\"grid\"");
            for (int a = 0; a < RCN_NAXES; a++)
                PUT("%s\"%s\": AXIS%s", a == 3 ? "                      " : a ? " " : "",
                    rcn_axis_name(a), a == RCN_NAXES - 1 ? "}" : a == 2 ? ",\n" : ",");
            PUT(", any subset; AXIS is a list of distinct\n");
        } else {
            assert(*p == 'o');
            PUT("                      row-major in the order ");
            for (int a = 0; a < RCN_NAXES; a++)
                PUT("%s%s", rcn_axis_name(a), a == RCN_NAXES - 1 ? ".\n" : ", ");
        }
    }
#undef PUT
    assert(len < cap);
    buf[len] = 0;
    return len;
}

const char *rcn_job_help(void)
{
    static char text[sizeof help_head + sizeof help_tail + 1024];
    if (!text[0]) {
        size_t len = snprintf(text, sizeof text, "%s", help_head);
        len += help_axes(text + len, sizeof text - len);
        help_tail_expand(text + len, sizeof text - len);
    }
    return text;
}
