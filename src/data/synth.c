/* synth.c - a synthetic MNIST-shaped data set for tests: 10 procedurally drawn
 * stroke shapes (ring, bars, diagonals, plus, X, square, triangle, "="),
 * randomly scaled, rotated, shifted by up to +-3 px, with random stroke width,
 * intensity and noise. A small CNN learns it to >95% in an epoch or two, but
 * no single pixel gives the class away. Item i depends only on
 * (seed, stream, i), so a larger set extends a smaller one. */
#include "rcn/data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rcn/rng.h"

#define SYNTH_SIDE 28
/* rng stream kind of synthetic items ("synth"); a = stream, b = item. */
#define SYNTH_KIND 0x73796e7468ULL

typedef struct {
    float x0, y0, x1, y1;
} seg;

/* Shape k as line segments in a unit frame ([-1,1]^2, y down); the ring
 * (k = 0) is a circle of radius 1 instead. Returns the segment count. */
static int shape_segments(int k, seg *s)
{
    switch (k) {
    case 1: /* vertical bar */
        s[0] = (seg){0, -1, 0, 1};
        return 1;
    case 2: /* horizontal bar */
        s[0] = (seg){-1, 0, 1, 0};
        return 1;
    case 3: /* backslash */
        s[0] = (seg){-0.9f, -0.9f, 0.9f, 0.9f};
        return 1;
    case 4: /* slash */
        s[0] = (seg){-0.9f, 0.9f, 0.9f, -0.9f};
        return 1;
    case 5: /* plus */
        s[0] = (seg){0, -1, 0, 1};
        s[1] = (seg){-1, 0, 1, 0};
        return 2;
    case 6: /* X */
        s[0] = (seg){-0.9f, -0.9f, 0.9f, 0.9f};
        s[1] = (seg){-0.9f, 0.9f, 0.9f, -0.9f};
        return 2;
    case 7: /* square outline */
        s[0] = (seg){-0.8f, -0.8f, 0.8f, -0.8f};
        s[1] = (seg){0.8f, -0.8f, 0.8f, 0.8f};
        s[2] = (seg){0.8f, 0.8f, -0.8f, 0.8f};
        s[3] = (seg){-0.8f, 0.8f, -0.8f, -0.8f};
        return 4;
    case 8: /* triangle outline, apex up */
        s[0] = (seg){0, -1, 0.95f, 0.75f};
        s[1] = (seg){0.95f, 0.75f, -0.95f, 0.75f};
        s[2] = (seg){-0.95f, 0.75f, 0, -1};
        return 3;
    case 9: /* "=" : two horizontal bars */
        s[0] = (seg){-1, -0.45f, 1, -0.45f};
        s[1] = (seg){-1, 0.45f, 1, 0.45f};
        return 2;
    default:
        return 0;
    }
}

static float dist_seg(float px, float py, const seg *s)
{
    float vx = s->x1 - s->x0, vy = s->y1 - s->y0;
    float wx = px - s->x0, wy = py - s->y0;
    float l2 = vx * vx + vy * vy;
    float t = l2 > 0 ? (wx * vx + wy * vy) / l2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    float dx = wx - t * vx, dy = wy - t * vy;
    return sqrtf(dx * dx + dy * dy);
}

/* Draws item i of (seed, stream): its label and 28x28 pixels. */
static void draw_item(uint64_t seed, uint64_t stream, int64_t i, uint8_t *px, uint8_t *label)
{
    rcn_rng r;
    rcn_rng_seed(&r, seed, SYNTH_KIND, stream, (uint64_t)i);
    int k = (int)rcn_rng_below(&r, 10);
    float scale = 6.5f + 2.0f * rcn_rng_uniform(&r);       /* half-size in px */
    float angle = (rcn_rng_uniform(&r) - 0.5f) * 0.35f;    /* about +-10 degrees */
    float cx = 13.5f + (rcn_rng_uniform(&r) * 6.0f - 3.0f); /* shift +-3 px */
    float cy = 13.5f + (rcn_rng_uniform(&r) * 6.0f - 3.0f);
    float half = 0.7f + 0.8f * rcn_rng_uniform(&r);        /* stroke half-width */
    float inten = 150.0f + 105.0f * rcn_rng_uniform(&r);
    float noise_amp = 20.0f + 30.0f * rcn_rng_uniform(&r);
    float c = cosf(angle), sn = sinf(angle);

    seg segs[4];
    int ns = shape_segments(k, segs);
    for (int j = 0; j < ns; j++) { /* unit frame -> pixel frame */
        float x0 = segs[j].x0, y0 = segs[j].y0, x1 = segs[j].x1, y1 = segs[j].y1;
        segs[j].x0 = cx + scale * (c * x0 - sn * y0);
        segs[j].y0 = cy + scale * (sn * x0 + c * y0);
        segs[j].x1 = cx + scale * (c * x1 - sn * y1);
        segs[j].y1 = cy + scale * (sn * x1 + c * y1);
    }
    for (int y = 0; y < SYNTH_SIDE; y++) {
        for (int x = 0; x < SYNTH_SIDE; x++) {
            float d;
            if (k == 0) {
                float dx = (float)x - cx, dy = (float)y - cy;
                d = fabsf(sqrtf(dx * dx + dy * dy) - scale);
            } else {
                d = 1e9f;
                for (int j = 0; j < ns; j++) {
                    float dj = dist_seg((float)x, (float)y, &segs[j]);
                    if (dj < d)
                        d = dj;
                }
            }
            float cover = half + 0.5f - d; /* anti-aliased edge */
            cover = cover < 0 ? 0 : cover > 1 ? 1 : cover;
            float v = inten * cover + noise_amp * (rcn_rng_uniform(&r) - 0.3f);
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            px[y * SYNTH_SIDE + x] = (uint8_t)lrintf(v);
        }
    }
    *label = (uint8_t)k;
}

int rcn_synth_dataset(int64_t n, uint64_t seed, uint64_t stream, rcn_dataset *ds,
                      rcn_error *err)
{
    memset(ds, 0, sizeof *ds);
    if (n < 1 || n > RCN_IDX_MAX_ITEMS)
        return rcn_errorf(err, "synthetic data set: %lld items requested (must be 1..%lld)",
                          (long long)n, (long long)RCN_IDX_MAX_ITEMS);
    size_t per = SYNTH_SIDE * SYNTH_SIDE;
    uint8_t *img = malloc((size_t)n * per);
    uint8_t *lab = malloc((size_t)n);
    if (!img || !lab) {
        free(img);
        free(lab);
        return rcn_errorf(err, "synthetic data set: out of memory for %lld images",
                          (long long)n);
    }
    for (int64_t i = 0; i < n; i++)
        draw_item(seed, stream, i, img + (size_t)i * per, lab + i);
    ds->n = n;
    ds->rows = ds->cols = SYNTH_SIDE;
    ds->images = img;
    ds->labels = lab;
    return 0;
}

/* mkdir -p */
static int make_dirs(const char *dir, rcn_error *err)
{
    char buf[4096];
    int l = snprintf(buf, sizeof buf, "%s", dir);
    if (l <= 0 || (size_t)l >= sizeof buf)
        return rcn_errorf(err, "%s: bad or too long directory name", dir);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                int e = errno;
                if (saved == '\0')
                    return rcn_errorf(err, "%s: cannot create directory: %s", dir, strerror(e));
                return rcn_errorf(err, "%s: cannot create parent directory %s: %s", dir, buf,
                                  strerror(e));
            }
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return rcn_errorf(err, "%s: exists and is not a directory", dir);
    return 0;
}

static int write_split(const char *dir, const char *split, int64_t n, uint64_t seed,
                       uint64_t stream, int gz, rcn_error *err)
{
    rcn_dataset ds;
    if (rcn_synth_dataset(n, seed, stream, &ds, err))
        return -1;
    char path[4200];
    const char *ext = gz ? ".gz" : "";
    int32_t dims[3] = {(int32_t)n, SYNTH_SIDE, SYNTH_SIDE};
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", dir, split, ext);
    int rc = rcn_idx_write(path, ds.images, 3, dims, err);
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", dir, split, ext);
        rc = rcn_idx_write(path, ds.labels, 1, dims, err);
    }
    rcn_dataset_free(&ds);
    return rc;
}

int rcn_synth_write_dir(const char *dir, int64_t n_train, int64_t n_test, uint64_t seed,
                        int gz, rcn_error *err)
{
    if (strlen(dir) > 4000)
        return rcn_errorf(err, "%s: directory name too long", dir);
    if (make_dirs(dir, err))
        return -1;
    if (write_split(dir, "train", n_train, seed, RCN_SYNTH_STREAM_TRAIN, gz, err))
        return -1;
    return write_split(dir, "t10k", n_test, seed, RCN_SYNTH_STREAM_TEST, gz, err);
}
