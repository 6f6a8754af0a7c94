/* test_net_grad.c - end-to-end checks of a residual network through net.h:
 *  - a tiny custom spec (stem 3x3/1, 4 ch; stages {4,1} identity shortcut and
 *    {6,1} projection shortcut; dropout 0), batch 3 in a net sized for 4:
 *    the forward (train and eval mode) against a double-precision reference
 *    written here from MODEL.md; every parameter tensor's gradient against
 *    central differences of the mean loss (sampled entries and random
 *    directions); running statistics change in train mode only;
 *  - parameter counts of the presets equal MODEL.md and rcn_net_num_params;
 *    tensor names/shapes follow MODEL.md "Saved models"; tensors tile the
 *    parameter and buffer arrays;
 *  - rcn_net_sgd_step is PyTorch's update, twice in a row. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rcn/net.h"
#include "rcn/rng.h"

static rcn_rng g_rng;

static float urand(float lo, float hi) { return lo + (hi - lo) * rcn_rng_uniform(&g_rng); }

static void *xmalloc(size_t bytes)
{
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static const char *TINY_SPEC =
    "{\"stem\": {\"kernel\": 3, \"stride\": 1, \"channels\": 4, \"maxpool\": false},"
    " \"stages\": [{\"channels\": 4, \"blocks\": 1}, {\"channels\": 6, \"blocks\": 1}],"
    " \"dropout\": 0}";

static int tiny_arch(rcn_arch *a)
{
    json_error_t jerr;
    json_t *j = json_loads(TINY_SPEC, 0, &jerr);
    if (!j) {
        fprintf(stderr, "bad test JSON: %s\n", jerr.text);
        return -1;
    }
    rcn_error err = {{0}};
    int rc = rcn_arch_from_json(j, "test: model", a, &err);
    json_decref(j);
    CHECK(rc == 0, "rcn_arch_from_json(tiny spec): %s", err.msg);
    return rc;
}

/* ---- a reference forward in double, from MODEL.md ------------------------ */

typedef struct {
    int c, n, h, w;
    double *v; /* (c, n, h, w) */
} dtensor;

/* Smallest |pre-activation| at any ReLU seen by the reference forward. */
static double g_margin = INFINITY;

static dtensor dt_new(int c, int n, int h, int w)
{
    dtensor t = {c, n, h, w, xmalloc((size_t)c * n * h * w * sizeof(double))};
    return t;
}

static const float *tensor_by_name(rcn_net *net, const char *name, size_t numel)
{
    int i = rcn_net_find_tensor(net, name);
    CHECK(i >= 0, "tensor %s missing", name);
    if (i < 0)
        return NULL;
    CHECK(rcn_net_tensor(net, i)->numel == numel, "tensor %s has %zu values, want %zu", name,
          rcn_net_tensor(net, i)->numel, numel);
    return rcn_net_tensor_data(net, i);
}

/* conv(k, s, cout), zero padding (k-1)/2, no bias */
static dtensor ref_conv(const dtensor *x, const float *w, int cout, int k, int s)
{
    int p = (k - 1) / 2;
    int ho = (x->h + 2 * p - k) / s + 1, wo = (x->w + 2 * p - k) / s + 1;
    dtensor y = dt_new(cout, x->n, ho, wo);
    for (int co = 0; co < cout; co++)
        for (int b = 0; b < x->n; b++)
            for (int oh = 0; oh < ho; oh++)
                for (int ow = 0; ow < wo; ow++) {
                    double acc = 0;
                    for (int ci = 0; ci < x->c; ci++)
                        for (int kh = 0; kh < k; kh++)
                            for (int kw = 0; kw < k; kw++) {
                                int ih = oh * s - p + kh, iw = ow * s - p + kw;
                                if (ih < 0 || ih >= x->h || iw < 0 || iw >= x->w)
                                    continue;
                                acc += x->v[(((size_t)ci * x->n + b) * x->h + ih) * x->w + iw] *
                                       w[((co * x->c + ci) * k + kh) * k + kw];
                            }
                    y.v[(((size_t)co * x->n + b) * ho + oh) * wo + ow] = acc;
                }
    return y;
}

/* BN in place; train: batch stats (biased var); else running stats. */
static void ref_bn(dtensor *x, rcn_net *net, const char *prefix, int train, int relu)
{
    char nm[96];
    snprintf(nm, sizeof nm, "%s.weight", prefix);
    const float *g = tensor_by_name(net, nm, x->c);
    snprintf(nm, sizeof nm, "%s.bias", prefix);
    const float *be = tensor_by_name(net, nm, x->c);
    snprintf(nm, sizeof nm, "%s.running_mean", prefix);
    const float *rm = tensor_by_name(net, nm, x->c);
    snprintf(nm, sizeof nm, "%s.running_var", prefix);
    const float *rv = tensor_by_name(net, nm, x->c);
    if (!g || !be || !rm || !rv)
        return;
    size_t m = (size_t)x->n * x->h * x->w;
    for (int c = 0; c < x->c; c++) {
        double *v = x->v + c * m, mu = 0, var = 0;
        if (train) {
            for (size_t i = 0; i < m; i++)
                mu += v[i];
            mu /= (double)m;
            for (size_t i = 0; i < m; i++)
                var += (v[i] - mu) * (v[i] - mu);
            var /= (double)m;
        } else {
            mu = rm[c];
            var = rv[c];
        }
        double is = 1 / sqrt(var + 1e-5);
        for (size_t i = 0; i < m; i++) {
            v[i] = g[c] * (v[i] - mu) * is + be[c];
            if (relu && fabs(v[i]) < g_margin)
                g_margin = fabs(v[i]);
            if (relu && v[i] < 0)
                v[i] = 0;
        }
    }
}

static dtensor ref_maxpool(const dtensor *x)
{
    int ho = (x->h + 2 - 3) / 2 + 1, wo = (x->w + 2 - 3) / 2 + 1;
    dtensor y = dt_new(x->c, x->n, ho, wo);
    for (int c = 0; c < x->c * x->n; c++)
        for (int oh = 0; oh < ho; oh++)
            for (int ow = 0; ow < wo; ow++) {
                double best = -INFINITY;
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++) {
                        int ih = oh * 2 - 1 + kh, iw = ow * 2 - 1 + kw;
                        if (ih >= 0 && ih < x->h && iw >= 0 && iw < x->w &&
                            x->v[((size_t)c * x->h + ih) * x->w + iw] > best)
                            best = x->v[((size_t)c * x->h + ih) * x->w + iw];
                    }
                y.v[((size_t)c * ho + oh) * wo + ow] = best;
            }
    return y;
}

/* logits (n, 10) of the whole network, dropout ignored (p = 0 here). */
static void ref_forward(rcn_net *net, int n, int train, double *logits)
{
    const rcn_arch *a = rcn_net_arch(net);
    dtensor x = dt_new(1, n, RCN_IMG_H, RCN_IMG_W);
    const float *in = rcn_net_input(net);
    for (size_t i = 0; i < (size_t)n * RCN_IMG_H * RCN_IMG_W; i++)
        x.v[i] = in[i];
    char nm[96];
    dtensor y = ref_conv(&x, tensor_by_name(net, "stem.conv.weight",
                                            (size_t)a->stem_c * a->stem_k * a->stem_k),
                         a->stem_c, a->stem_k, a->stem_stride);
    free(x.v);
    ref_bn(&y, net, "stem.bn", train, 1);
    if (a->stem_pool) {
        dtensor p = ref_maxpool(&y);
        free(y.v);
        y = p;
    }
    int cin = a->stem_c;
    for (int i = 0; i < a->n_stages; i++)
        for (int j = 0; j < a->stage_blocks[i]; j++) {
            int cout = a->stage_c[i], s = (i > 0 && j == 0) ? 2 : 1;
            snprintf(nm, sizeof nm, "stages.%d.%d.conv1.weight", i, j);
            dtensor h1 = ref_conv(&y, tensor_by_name(net, nm, (size_t)cout * cin * 9), cout, 3, s);
            snprintf(nm, sizeof nm, "stages.%d.%d.bn1", i, j);
            ref_bn(&h1, net, nm, train, 1);
            snprintf(nm, sizeof nm, "stages.%d.%d.conv2.weight", i, j);
            dtensor h2 = ref_conv(&h1, tensor_by_name(net, nm, (size_t)cout * cout * 9), cout, 3, 1);
            snprintf(nm, sizeof nm, "stages.%d.%d.bn2", i, j);
            ref_bn(&h2, net, nm, train, 0);
            dtensor sc;
            if (s == 1 && cin == cout) {
                sc = y;
                y.v = NULL;
            } else {
                snprintf(nm, sizeof nm, "stages.%d.%d.shortcut.conv.weight", i, j);
                sc = ref_conv(&y, tensor_by_name(net, nm, (size_t)cout * cin), cout, 1, s);
                snprintf(nm, sizeof nm, "stages.%d.%d.shortcut.bn", i, j);
                ref_bn(&sc, net, nm, train, 0);
            }
            size_t len = (size_t)cout * n * h2.h * h2.w;
            for (size_t q = 0; q < len; q++) {
                double v = h2.v[q] + sc.v[q];
                if (fabs(v) < g_margin)
                    g_margin = fabs(v);
                h2.v[q] = v > 0 ? v : 0;
            }
            free(y.v);
            free(h1.v);
            free(sc.v);
            y = h2;
            cin = cout;
        }
    const float *fw = tensor_by_name(net, "fc.weight", (size_t)10 * cin);
    const float *fb = tensor_by_name(net, "fc.bias", 10);
    size_t hw = (size_t)y.h * y.w;
    for (int b = 0; b < n; b++)
        for (int o = 0; o < 10; o++) {
            double acc = fb[o];
            for (int c = 0; c < cin; c++) {
                double g = 0;
                for (size_t q = 0; q < hw; q++)
                    g += y.v[((size_t)c * n + b) * hw + q];
                acc += fw[o * cin + c] * g / (double)hw;
            }
            logits[b * 10 + o] = acc;
        }
    free(y.v);
}

static double ref_xent_sum(int n, const double *logits, const uint8_t *labels)
{
    double s = 0;
    for (int b = 0; b < n; b++) {
        double mx = -INFINITY, z = 0;
        for (int o = 0; o < 10; o++)
            mx = fmax(mx, logits[b * 10 + o]);
        for (int o = 0; o < 10; o++)
            z += exp(logits[b * 10 + o] - mx);
        s += log(z) + mx - logits[b * 10 + labels[b]];
    }
    return s;
}

/* ---- the tiny net: forward reference, gradients ------------------------- */

#define NB 3
#define MAXB 4

static size_t nbuf;
static float *buf0; /* buffers before any train forward */

/* Mean loss of one train-mode forward from the saved running statistics. */
static double mean_loss(rcn_net *net)
{
    memcpy(rcn_net_buffers(net), buf0, nbuf * sizeof(float));
    return rcn_net_forward(net, NB, 1, NULL, NULL) / NB;
}

/* Random non-default BN parameters (gamma != 1, beta != 0, fc bias != 0) so
 * that a backward ignoring any of them cannot pass, chosen to keep the
 * finite differences exact: ReLU is piecewise linear, and a unit whose
 * pre-activation crosses 0 inside [w-eps, w+eps] spoils the difference
 * quotient. With 28x28 images there are ~35k ReLU units; at beta = 0 enough
 * of them sit near 0 to give 5-50% FD error (measured). So every BN here has
 * gamma in [0.3, 0.45] and beta = +-2.5: each channel is either alive (all
 * units > 0) or dead (all units < 0), more than 5 standard deviations from
 * the kink, and the reference forward asserts the margin. The alive/dead
 * pattern differs between layers, so a ReLU mask taken from the wrong layer
 * or ignored gives a wrong gradient. At a residual join the two summands get
 * the same sign (an identity shortcut's input is >= 0 anyway). */
static void set_bn(rcn_net *net, const char *prefix, const char *signs)
{
    char nm[96];
    snprintf(nm, sizeof nm, "%s.weight", prefix);
    int ig = rcn_net_find_tensor(net, nm);
    snprintf(nm, sizeof nm, "%s.bias", prefix);
    int ib = rcn_net_find_tensor(net, nm);
    CHECK(ig >= 0 && ib >= 0, "BN %s missing", prefix);
    if (ig < 0 || ib < 0)
        return;
    float *g = rcn_net_tensor_data(net, ig), *b = rcn_net_tensor_data(net, ib);
    size_t c = rcn_net_tensor(net, ig)->numel;
    CHECK(strlen(signs) == c, "BN %s has %zu channels", prefix, c);
    for (size_t q = 0; q < c && signs[q]; q++) {
        g[q] = urand(0.6f, 0.9f);
        b[q] = (signs[q] == '+' ? 5.0f : -5.0f) + urand(-0.2f, 0.2f);
    }
}

static void randomize_bn(rcn_net *net)
{
    set_bn(net, "stem.bn", "+-++");
    set_bn(net, "stages.0.0.bn1", "++-+");
    set_bn(net, "stages.0.0.bn2", "+-++"); /* + where stem.bn is + */
    set_bn(net, "stages.1.0.bn1", "+-++-+");
    set_bn(net, "stages.1.0.bn2", "++-+-+");
    set_bn(net, "stages.1.0.shortcut.bn", "++-+-+");
    int i = rcn_net_find_tensor(net, "fc.bias");
    if (i >= 0)
        for (int q = 0; q < 10; q++)
            rcn_net_tensor_data(net, i)[q] = urand(-0.3f, 0.3f);
    /* alive channels average ~5-10: small fc weights keep the logits
     * moderate (a loss near log 10 has less float rounding than a saturated one) */
    i = rcn_net_find_tensor(net, "fc.weight");
    if (i >= 0)
        for (size_t q = 0; q < rcn_net_tensor(net, i)->numel; q++)
            rcn_net_tensor_data(net, i)[q] = urand(-0.1f, 0.1f);
}

/* Central differences of the mean loss for tensor i against the gradient gt:
 * up to 8 entries (the largest first, then random ones) and 2 directions.
 * The net has no ReLU input near 0 (see set_bn), so the loss is smooth
 * around the point. Float rounding of the loss (float logits) is up to
 * ~5e-7 (measured), so a step of 3e-2 gives up to ~1e-5 absolute noise and
 * a truncation error of ~2e-3 relative. Tolerances: entry |a-n| <=
 * 2e-2 max(|a|,|n|) + 5e-3 max|g| + 2.5e-5 (typical gradients: 1e-4..1e-2);
 * direction (loss change ~1e-3): |dL - g.dw| <= 2e-2 |g.dw| + 1.5e-6.
 * Gradients of BN biases that feed another conv+BN are ~0 by construction
 * (BN removes a per-channel constant; only the zero-padded border sees it),
 * so for those the check mainly asserts "about zero". Returns failures;
 * *worst gets the largest error/tolerance ratio seen. */
static int fd_check_tensor(rcn_net *net, int i, const float *gt, int quiet, double *worst)
{
    const rcn_tensor_info *t = rcn_net_tensor(net, i);
    float *w = rcn_net_tensor_data(net, i);
    double gmax = 0;
    size_t imax = 0;
    int bad = 0;
    for (size_t q = 0; q < t->numel; q++)
        if (fabs(gt[q]) > gmax) {
            gmax = fabs(gt[q]);
            imax = q;
        }
    if (!quiet)
        CHECK(gmax > 1e-6, "%s: gradient is all zero", t->name);
    int ns = t->numel < 8 ? (int)t->numel : 8;
    for (int s = 0; s < ns; s++) {
        size_t q = s == 0 ? imax : (size_t)rcn_rng_below(&g_rng, t->numel);
        float save = w[q];
        w[q] = (float)(save + 3e-2);
        double xp = w[q], lp = mean_loss(net);
        w[q] = (float)(save - 3e-2);
        double xm = w[q], lm = mean_loss(net);
        w[q] = save;
        double num = (lp - lm) / (xp - xm);
        double err = fabs(num - gt[q]);
        double tol = 2e-2 * fmax(fabs(num), fabs(gt[q])) + 5e-3 * gmax + 2.5e-5;
        if (err / tol > *worst)
            *worst = err / tol;
        if (!(err <= tol)) {
            if (!quiet)
                fprintf(stderr, "  %s[%zu]: analytic %.7g numeric %.7g\n", t->name, q, gt[q], num);
            bad++;
        }
    }
    /* directional: L(w + e d) - L(w - e d) vs g . (w+ - w-), along the
     * analytic gradient itself and along a random +-1 direction, with the
     * step scaled so that the loss changes by about 1e-4 */
    float *save = xmalloc(t->numel * sizeof(float));
    float *dvec = xmalloc(t->numel * sizeof(float));
    memcpy(save, w, t->numel * sizeof(float));
    for (int dir = 0; dir < 2; dir++) {
        double pred = 0, slope = 0, dnorm = 0;
        for (size_t q = 0; q < t->numel; q++) {
            dvec[q] = dir == 0 ? (gmax > 0 ? gt[q] / (float)gmax : 0.0f)
                               : (rcn_rng_uniform(&g_rng) < 0.5f ? -1.0f : 1.0f);
            slope += (double)gt[q] * dvec[q];
            dnorm += (double)dvec[q] * dvec[q];
        }
        /* loss change ~1e-3, but the whole step no longer than 3e-2 (third-order
         * truncation: a 0.1 step gave 4% error on stages.1.0.conv1, 0.05 gave 1%) */
        double e = fabs(slope) > 0 ? 1e-3 / fabs(slope) : 1e-2;
        e = fmin(e, 3e-2 / sqrt(fmax(dnorm, 1.0)));
        for (size_t q = 0; q < t->numel; q++)
            w[q] = (float)(save[q] + e * dvec[q]);
        double lp = mean_loss(net);
        for (size_t q = 0; q < t->numel; q++)
            pred += (double)gt[q] * w[q];
        for (size_t q = 0; q < t->numel; q++)
            w[q] = (float)(save[q] - e * dvec[q]);
        double lm = mean_loss(net);
        for (size_t q = 0; q < t->numel; q++)
            pred -= (double)gt[q] * w[q];
        memcpy(w, save, t->numel * sizeof(float));
        double got = lp - lm, tol = 2e-2 * fabs(pred) + 1.5e-6;
        if (fabs(got - pred) / tol > *worst)
            *worst = fabs(got - pred) / tol;
        if (!(fabs(got - pred) <= tol)) {
            if (!quiet)
                fprintf(stderr, "  %s: direction %d: loss change %.7g, gradient predicts %.7g\n",
                        t->name, dir, got, pred);
            bad++;
        }
    }
    free(save);
    free(dvec);
    return bad;
}

static void test_tiny_net(void)
{
    rcn_arch a;
    if (tiny_arch(&a) != 0)
        return;
    CHECK(a.stem_k == 3 && a.stem_stride == 1 && a.stem_c == 4 && a.stem_pool == 0 &&
              a.n_stages == 2 && a.stage_c[0] == 4 && a.stage_blocks[0] == 1 &&
              a.stage_c[1] == 6 && a.stage_blocks[1] == 1 && a.dropout == 0.0f,
          "tiny spec parsed into the wrong arch");
    /* 36+8 stem, 144+8+144+8 block 0, 216+12+324+12+24+12 block 1, 60+10 fc */
    CHECK(rcn_arch_param_count(&a) == 1018, "tiny param count %lld, want 1018",
          (long long)rcn_arch_param_count(&a));

    rcn_error err = {{0}};
    rcn_net *net = rcn_net_create(&a, MAXB, &err);
    CHECK(net != NULL, "rcn_net_create: %s", err.msg);
    if (!net)
        return;
    CHECK(rcn_net_num_params(net) == 1018, "num_params %zu", rcn_net_num_params(net));
    rcn_net_init(net, 11, 0);

    /* full tensor list of the tiny net, in any order */
    static const struct {
        const char *name;
        int ndim, shape[4], is_param;
    } want[] = {
        {"stem.conv.weight", 4, {4, 1, 3, 3}, 1},
        {"stem.bn.weight", 1, {4}, 1},
        {"stem.bn.bias", 1, {4}, 1},
        {"stem.bn.running_mean", 1, {4}, 0},
        {"stem.bn.running_var", 1, {4}, 0},
        {"stages.0.0.conv1.weight", 4, {4, 4, 3, 3}, 1},
        {"stages.0.0.bn1.weight", 1, {4}, 1},
        {"stages.0.0.bn1.running_var", 1, {4}, 0},
        {"stages.0.0.conv2.weight", 4, {4, 4, 3, 3}, 1},
        {"stages.0.0.bn2.bias", 1, {4}, 1},
        {"stages.0.0.bn2.running_mean", 1, {4}, 0},
        {"stages.1.0.conv1.weight", 4, {6, 4, 3, 3}, 1},
        {"stages.1.0.bn1.weight", 1, {6}, 1},
        {"stages.1.0.conv2.weight", 4, {6, 6, 3, 3}, 1},
        {"stages.1.0.bn2.bias", 1, {6}, 1},
        {"stages.1.0.shortcut.conv.weight", 4, {6, 4, 1, 1}, 1},
        {"stages.1.0.shortcut.bn.weight", 1, {6}, 1},
        {"stages.1.0.shortcut.bn.bias", 1, {6}, 1},
        {"stages.1.0.shortcut.bn.running_mean", 1, {6}, 0},
        {"stages.1.0.shortcut.bn.running_var", 1, {6}, 0},
        {"fc.weight", 2, {10, 6}, 1},
        {"fc.bias", 1, {10}, 1},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        int i = rcn_net_find_tensor(net, want[k].name);
        CHECK(i >= 0, "tensor %s missing", want[k].name);
        if (i < 0)
            continue;
        const rcn_tensor_info *t = rcn_net_tensor(net, i);
        int same = t->ndim == want[k].ndim && t->is_param == want[k].is_param;
        for (int d = 0; same && d < t->ndim; d++)
            same = t->shape[d] == want[k].shape[d];
        CHECK(same, "tensor %s: ndim %d shape [%d,%d,%d,%d] is_param %d", want[k].name, t->ndim,
              t->shape[0], t->shape[1], t->shape[2], t->shape[3], t->is_param);
    }
    CHECK(rcn_net_find_tensor(net, "stages.0.0.shortcut.conv.weight") < 0,
          "identity block 0.0 must have no shortcut conv");
    CHECK(rcn_net_find_tensor(net, "no.such.tensor") == -1, "find_tensor of unknown name");

    int nt = rcn_net_num_tensors(net);
    float *in = rcn_net_input(net);
    uint8_t *lab = rcn_net_labels(net);
    for (int b = 0; b < NB; b++)
        lab[b] = (uint8_t)(3 * b + 1);
    /* the reference uses batch statistics (no buffers), so it can run before
     * the net's forward touches anything; redraw until no ReLU input is
     * within 0.6 of the kink (rarely needed) */
    double ref[NB * 10], refe[NB * 10];
    for (int attempt = 0; attempt < 10; attempt++) {
        randomize_bn(net);
        for (int q = 0; q < NB * RCN_IMG_H * RCN_IMG_W; q++)
            in[q] = urand(-0.5f, 2.5f);
        g_margin = INFINITY;
        ref_forward(net, NB, 1, ref);
        if (g_margin > 0.6)
            break;
    }
    CHECK(g_margin > 0.6, "test setup: a ReLU pre-activation is %.3g from the kink", g_margin);
    fprintf(stderr, "tiny net: smallest |ReLU input| %.3g\n", g_margin);

    nbuf = rcn_net_num_buffers(net);
    size_t np = rcn_net_num_params(net);
    buf0 = xmalloc(nbuf * sizeof(float));
    memcpy(buf0, rcn_net_buffers(net), nbuf * sizeof(float));
    float *p0 = xmalloc(np * sizeof(float));
    memcpy(p0, rcn_net_params(net), np * sizeof(float));

    /* train-mode forward against the reference */
    int64_t correct = 0;
    double sum = rcn_net_forward(net, NB, 1, NULL, &correct);
    const float *lg = rcn_net_logits(net);
    int bad = 0, hits = 0;
    for (int q = 0; q < NB * 10; q++)
        bad += !(fabs(lg[q] - ref[q]) <= 1e-4 + 1e-4 * fabs(ref[q]));
    CHECK(bad == 0, "train-mode logits differ from the MODEL.md reference in %d of %d "
                    "(first: %.7g vs %.7g)", bad, NB * 10, lg[0], ref[0]);
    for (int b = 0; b < NB; b++) {
        int am = 0;
        for (int o = 1; o < 10; o++)
            if (ref[b * 10 + o] > ref[b * 10 + am])
                am = o;
        hits += am == lab[b];
    }
    CHECK_CLOSE(sum, ref_xent_sum(NB, ref, lab), 1e-4, "train-mode sum loss vs reference");
    CHECK(correct == hits, "correct %lld, reference %d", (long long)correct, hits);

    /* running stats: changed by the train forward (0.9 r + 0.1 batch) */
    float *bufs = rcn_net_buffers(net);
    int changed = 0;
    for (size_t q = 0; q < nbuf; q++)
        changed += bufs[q] != buf0[q];
    CHECK(changed > (int)nbuf / 2, "train forward changed only %d of %zu buffer values", changed,
          nbuf);
    {
        /* stem.bn running stats from the stem conv output, computed here */
        dtensor x = dt_new(1, NB, RCN_IMG_H, RCN_IMG_W);
        for (size_t q = 0; q < (size_t)NB * RCN_IMG_H * RCN_IMG_W; q++)
            x.v[q] = in[q];
        dtensor y = ref_conv(&x, tensor_by_name(net, "stem.conv.weight", 36), 4, 3, 1);
        int im = rcn_net_find_tensor(net, "stem.bn.running_mean");
        int iv = rcn_net_find_tensor(net, "stem.bn.running_var");
        size_t m = (size_t)NB * RCN_IMG_H * RCN_IMG_W;
        for (int c = 0; im >= 0 && iv >= 0 && c < 4; c++) {
            double mu = 0, var = 0;
            for (size_t q = 0; q < m; q++)
                mu += y.v[c * m + q];
            mu /= (double)m;
            for (size_t q = 0; q < m; q++)
                var += (y.v[c * m + q] - mu) * (y.v[c * m + q] - mu);
            double rm_old = buf0[rcn_net_tensor(net, im)->offset + c];
            double rv_old = buf0[rcn_net_tensor(net, iv)->offset + c];
            CHECK_CLOSE(rcn_net_tensor_data(net, im)[c], 0.9 * rm_old + 0.1 * mu,
                        1e-5 * (1 + fabs(mu)), "stem.bn.running_mean after one batch");
            CHECK_CLOSE(rcn_net_tensor_data(net, iv)[c], 0.9 * rv_old + 0.1 * var / (double)(m - 1),
                        1e-5 * (1 + var / m), "stem.bn.running_var (unbiased) after one batch");
        }
        free(x.v);
        free(y.v);
    }

    /* eval mode: running statistics, buffers untouched, params untouched */
    float *buf1 = xmalloc(nbuf * sizeof(float));
    memcpy(buf1, bufs, nbuf * sizeof(float));
    ref_forward(net, NB, 0, refe);
    correct = 0;
    double sume = rcn_net_forward(net, NB, 0, NULL, &correct);
    lg = rcn_net_logits(net);
    bad = 0;
    for (int q = 0; q < NB * 10; q++)
        bad += !(fabs(lg[q] - refe[q]) <= 1e-4 + 1e-4 * fabs(refe[q]));
    CHECK(bad == 0, "eval-mode logits differ from the reference in %d of %d (first: %.7g vs %.7g)",
          bad, NB * 10, lg[0], refe[0]);
    CHECK_CLOSE(sume, ref_xent_sum(NB, refe, lab), 1e-4, "eval-mode sum loss vs reference");
    CHECK(memcmp(buf1, bufs, nbuf * sizeof(float)) == 0, "eval forward changed running stats");
    CHECK(memcmp(p0, rcn_net_params(net), np * sizeof(float)) == 0, "forward changed params");
    free(buf1);

    /* same forward twice from the same state: bit-identical loss */
    double l1 = mean_loss(net), l2 = mean_loss(net);
    CHECK(l1 == l2, "train forward not reproducible: %.17g vs %.17g", l1, l2);
    CHECK_CLOSE(l1, sum / NB, 1e-12, "mean_loss equals the first forward");

    /* analytic gradient of the mean loss */
    mean_loss(net);
    rcn_net_backward(net, NB);
    float *g = xmalloc(np * sizeof(float));
    memcpy(g, rcn_net_grads(net), np * sizeof(float));
    CHECK(memcmp(p0, rcn_net_params(net), np * sizeof(float)) == 0, "backward changed params");

    /* per tensor: sampled entries and random directions */
    float *params = rcn_net_params(net);
    double worst = 0;
    for (int i = 0; i < nt; i++) {
        const rcn_tensor_info *t = rcn_net_tensor(net, i);
        if (!t->is_param)
            continue;
        CHECK(rcn_net_tensor_grad(net, i) == rcn_net_grads(net) + t->offset,
              "%s: tensor_grad is not grads + offset", t->name);
        CHECK(rcn_net_tensor_data(net, i) == params + t->offset,
              "%s: tensor_data is not params + offset", t->name);
        int bad = fd_check_tensor(net, i, g + t->offset, 0, &worst);
        CHECK(bad == 0, "%s: %d gradient checks failed", t->name, bad);
    }
    fprintf(stderr, "tiny net: worst FD error / tolerance %.3g\n", worst);
    CHECK(memcmp(p0, params, np * sizeof(float)) == 0, "FD loop restored the params");

    /* self-test: plausible gradient bugs must fail the same check */
    {
        int i = rcn_net_find_tensor(net, "stages.0.0.conv1.weight");
        const rcn_tensor_info *t = rcn_net_tensor(net, i);
        float *m = xmalloc(t->numel * sizeof(float));
        const float *gt = g + t->offset;
        double dummy = 0;
        for (size_t q = 0; q < t->numel; q++) /* 8% too small (a scale bug) */
            m[q] = 0.92f * gt[q];
        CHECK(fd_check_tensor(net, i, m, 1, &dummy) > 0, "self-test: 0.92 * gradient passed");
        for (int o = 0; o < 4; o++) /* cout <-> cin transposed */
            for (int c = 0; c < 4; c++)
                for (int k = 0; k < 9; k++)
                    m[(o * 4 + c) * 9 + k] = gt[(c * 4 + o) * 9 + k];
        CHECK(fd_check_tensor(net, i, m, 1, &dummy) > 0, "self-test: transposed gradient passed");
        for (size_t q = 0; q < t->numel; q++) /* kernel flipped (correlation vs convolution) */
            m[q] = gt[(q / 9) * 9 + 8 - q % 9];
        CHECK(fd_check_tensor(net, i, m, 1, &dummy) > 0, "self-test: flipped kernel passed");
        free(m);
        i = rcn_net_find_tensor(net, "stages.1.0.bn2.bias");
        t = rcn_net_tensor(net, i);
        m = xmalloc(t->numel * sizeof(float));
        memcpy(m, g + t->offset, t->numel * sizeof(float));
        size_t big = 0;
        for (size_t q = 1; q < t->numel; q++)
            if (fabs(m[q]) > fabs(m[big]))
                big = q;
        m[big] = -m[big];
        CHECK(fd_check_tensor(net, i, m, 1, &dummy) > 0, "self-test: one flipped sign passed");
        free(m);
    }

    /* gradients are overwritten, not accumulated */
    mean_loss(net);
    rcn_net_backward(net, NB);
    CHECK(memcmp(g, rcn_net_grads(net), np * sizeof(float)) == 0,
          "second backward of the same forward gives different gradients (accumulating?)");

    free(g);
    free(p0);
    free(buf0);
    rcn_net_destroy(net);
}

/* ---- presets: counts and names ----------------------------------------- */

static void check_tiling(rcn_net *net, const char *preset)
{
    size_t np = rcn_net_num_params(net), nb = rcn_net_num_buffers(net);
    unsigned char *pc = xmalloc(np), *bc = xmalloc(nb ? nb : 1);
    size_t psum = 0;
    int over = 0, outside = 0;
    for (int i = 0; i < rcn_net_num_tensors(net); i++) {
        const rcn_tensor_info *t = rcn_net_tensor(net, i);
        size_t prod = 1;
        for (int d = 0; d < t->ndim; d++)
            prod *= (size_t)t->shape[d];
        CHECK(prod == t->numel, "%s %s: numel %zu != product of shape %zu", preset, t->name,
              t->numel, prod);
        CHECK(rcn_net_find_tensor(net, t->name) == i, "%s: find_tensor(%s) != %d", preset,
              t->name, i);
        size_t lim = t->is_param ? np : nb;
        unsigned char *cov = t->is_param ? pc : bc;
        if (t->offset + t->numel > lim) {
            outside++;
            continue;
        }
        for (size_t q = 0; q < t->numel; q++)
            over += cov[t->offset + q]++ != 0;
        if (t->is_param)
            psum += t->numel;
    }
    size_t pcov = 0;
    for (size_t q = 0; q < np; q++)
        pcov += pc[q] != 0;
    CHECK(outside == 0 && over == 0, "%s: %d tensors outside, %d values overlapping", preset,
          outside, over);
    CHECK(psum == np && pcov == np, "%s: param tensors cover %zu of %zu values", preset, pcov, np);
    free(pc);
    free(bc);
}

static void check_shape(rcn_net *net, const char *preset, const char *name, int ndim, int d0,
                        int d1, int d2, int d3)
{
    int i = rcn_net_find_tensor(net, name);
    CHECK(i >= 0, "%s: tensor %s missing", preset, name);
    if (i < 0)
        return;
    const rcn_tensor_info *t = rcn_net_tensor(net, i);
    int d[4] = {d0, d1, d2, d3}, same = t->ndim == ndim;
    for (int k = 0; same && k < ndim; k++)
        same = t->shape[k] == d[k];
    CHECK(same, "%s: %s has ndim %d shape [%d,%d,%d,%d]", preset, name, t->ndim, t->shape[0],
          t->shape[1], t->shape[2], t->shape[3]);
}

static void test_presets(void)
{
    static const struct {
        const char *name;
        long long params;
    } presets[] = {{"rcn8", 77754}, {"rcn14", 174970}, {"resnet18", 11175370}};
    for (int k = 0; k < 3; k++) {
        rcn_arch a;
        rcn_error err = {{0}};
        int rc = rcn_arch_preset(presets[k].name, &a, &err);
        CHECK(rc == 0, "preset %s: %s", presets[k].name, err.msg);
        if (rc)
            continue;
        CHECK(a.dropout == 0.5f, "%s: preset dropout %g, MODEL.md says 0.5", presets[k].name,
              a.dropout);
        CHECK(rcn_arch_param_count(&a) == presets[k].params, "%s: param count %lld, want %lld",
              presets[k].name, (long long)rcn_arch_param_count(&a), presets[k].params);
        rcn_net *net = rcn_net_create(&a, 1, &err);
        CHECK(net != NULL, "create %s: %s", presets[k].name, err.msg);
        if (!net)
            continue;
        CHECK((long long)rcn_net_num_params(net) == presets[k].params, "%s: num_params %zu",
              presets[k].name, rcn_net_num_params(net));
        check_tiling(net, presets[k].name);
        const char *p = presets[k].name;
        if (k == 0) {
            check_shape(net, p, "stem.conv.weight", 4, 16, 1, 3, 3);
            check_shape(net, p, "stem.bn.running_var", 1, 16, 0, 0, 0);
            check_shape(net, p, "stages.0.0.conv1.weight", 4, 16, 16, 3, 3);
            check_shape(net, p, "stages.1.0.conv1.weight", 4, 32, 16, 3, 3);
            check_shape(net, p, "stages.1.0.shortcut.conv.weight", 4, 32, 16, 1, 1);
            check_shape(net, p, "stages.1.0.shortcut.bn.bias", 1, 32, 0, 0, 0);
            check_shape(net, p, "stages.2.0.shortcut.conv.weight", 4, 64, 32, 1, 1);
            check_shape(net, p, "stages.2.0.shortcut.bn.running_mean", 1, 64, 0, 0, 0);
            check_shape(net, p, "stages.2.0.bn2.weight", 1, 64, 0, 0, 0);
            check_shape(net, p, "fc.weight", 2, 10, 64, 0, 0);
            check_shape(net, p, "fc.bias", 1, 10, 0, 0, 0);
            CHECK(rcn_net_find_tensor(net, "stages.0.0.shortcut.conv.weight") < 0,
                  "rcn8: stages.0.0 must have no projection shortcut");
            CHECK(rcn_net_find_tensor(net, "stages.0.1.conv1.weight") < 0,
                  "rcn8: one block per stage");
        } else if (k == 1) {
            check_shape(net, p, "stages.0.1.conv2.weight", 4, 16, 16, 3, 3);
            check_shape(net, p, "stages.2.1.bn1.running_var", 1, 64, 0, 0, 0);
            check_shape(net, p, "stages.1.0.shortcut.conv.weight", 4, 32, 16, 1, 1);
            CHECK(rcn_net_find_tensor(net, "stages.1.1.shortcut.conv.weight") < 0,
                  "rcn14: second block of a stage has an identity shortcut");
        } else {
            check_shape(net, p, "stem.conv.weight", 4, 64, 1, 7, 7);
            check_shape(net, p, "stages.0.1.conv2.weight", 4, 64, 64, 3, 3);
            check_shape(net, p, "stages.1.0.shortcut.conv.weight", 4, 128, 64, 1, 1);
            check_shape(net, p, "stages.3.1.bn2.bias", 1, 512, 0, 0, 0);
            check_shape(net, p, "fc.weight", 2, 10, 512, 0, 0);
            CHECK(rcn_net_find_tensor(net, "stages.0.0.shortcut.conv.weight") < 0,
                  "resnet18: stages.0.0 is 64->64 stride 1, identity shortcut");
            CHECK(a.stem_pool == 1 && a.stem_stride == 2 && a.stem_k == 7,
                  "resnet18 stem is conv 7/2 + maxpool");
        }
        rcn_net_destroy(net);
    }
    rcn_arch a;
    CHECK(rcn_arch_preset("rcn9", &a, NULL) != 0, "unknown preset must fail");
}

/* ---- SGD ---------------------------------------------------------------- */

static void test_sgd(void)
{
    rcn_arch a;
    if (tiny_arch(&a) != 0)
        return;
    rcn_net *net = rcn_net_create(&a, 2, NULL);
    CHECK(net != NULL, "create");
    if (!net)
        return;
    rcn_net_init(net, 5, 0);
    size_t np = rcn_net_num_params(net);
    float *w = rcn_net_params(net), *g = rcn_net_grads(net), *v = rcn_net_momentum(net);
    int nz = 0;
    for (size_t q = 0; q < np; q++)
        nz += v[q] != 0;
    CHECK(nz == 0, "momentum after init must be 0 (%d nonzero)", nz);
    double *ew = xmalloc(np * sizeof(double)), *ev = xmalloc(np * sizeof(double));
    for (size_t q = 0; q < np; q++) {
        w[q] = urand(-1, 1);
        ew[q] = w[q];
        ev[q] = 0;
    }
    const double lr = 0.1, mom = 0.9, wd = 0.01;
    for (int step = 0; step < 2; step++) {
        for (size_t q = 0; q < np; q++)
            g[q] = urand(-1, 1);
        for (size_t q = 0; q < np; q++) {
            double gg = g[q] + wd * ew[q];
            ev[q] = mom * ev[q] + gg;
            ew[q] -= lr * ev[q];
        }
        rcn_net_sgd_step(net, (float)lr, (float)mom, (float)wd);
        int bad = 0;
        for (size_t q = 0; q < np; q++) {
            int b = !(fabs(w[q] - ew[q]) <= 1e-6 * (1 + fabs(ew[q]))) ||
                    !(fabs(v[q] - ev[q]) <= 1e-6 * (1 + fabs(ev[q])));
            if (b && bad < 3)
                fprintf(stderr, "  step %d [%zu]: w %.8g want %.8g, v %.8g want %.8g\n", step + 1,
                        q, w[q], ew[q], v[q], ev[q]);
            bad += b;
        }
        CHECK(bad == 0, "SGD step %d differs from v = m v + g + wd w; w -= lr v in %d of %zu",
              step + 1, bad, np);
    }
    /* momentum 0, wd 0: plain w -= lr g */
    for (size_t q = 0; q < np; q++) {
        g[q] = urand(-1, 1);
        ew[q] = w[q] - 0.5 * g[q];
    }
    rcn_net_sgd_step(net, 0.5f, 0.0f, 0.0f);
    int bad = 0;
    for (size_t q = 0; q < np; q++)
        bad += !(fabs(w[q] - ew[q]) <= 1e-6 * (1 + fabs(ew[q])));
    CHECK(bad == 0, "plain SGD step wrong in %d entries", bad);
    /* running statistics are not parameters: SGD leaves them alone */
    size_t nb = rcn_net_num_buffers(net);
    float *b0 = xmalloc(nb * sizeof(float) + 1);
    memcpy(b0, rcn_net_buffers(net), nb * sizeof(float));
    rcn_net_sgd_step(net, 0.5f, 0.9f, 0.1f);
    CHECK(memcmp(b0, rcn_net_buffers(net), nb * sizeof(float)) == 0, "SGD changed buffers");
    free(b0);
    free(ew);
    free(ev);
    rcn_net_destroy(net);
}

int main(void)
{
    rcn_rng_seed(&g_rng, 77, RCN_STREAM_TEST, 0, 0);
    test_tiny_net();
    test_presets();
    test_sgd();
    return check_exit("test_net_grad");
}
