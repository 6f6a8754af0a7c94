/* axes.c - the one table of hyperparameter axes (see include/rcn/axes.h) and
 * the spellings of their ranges. */
#include "rcn/axes.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rcn/job.h"
#include "rcn/net.h"
#include "rcn/train.h"

static const rcn_axis_def axes[RCN_NAXES] = {
    [RCN_AXIS_BATCH] = {"batch_size", "batch size", "batch sizes", {1, 1, 0, RCN_MAX_BATCH, 0},
                        64, "--batch-size", "N", "mini-batch size"},
    [RCN_AXIS_LR] = {"lr", "learning rate", "learning rates", {0, 0, 1, HUGE_VAL, 0}, 0.01,
                     "--lr", "X", "learning rate"},
    [RCN_AXIS_MOMENTUM] = {"momentum", "momentum", "momentum values", {0, 0, 0, 1, 1}, 0.5,
                           "--momentum", "X", "SGD momentum"},
    [RCN_AXIS_EPOCHS] = {"epochs", "epochs", "epoch counts", {1, 1, 0, RCN_MAX_EPOCHS, 0}, 10,
                         "--epochs", "N", "epochs"},
};

const rcn_axis_def *rcn_axis_def_of(int a)
{
    assert(a >= 0 && a < RCN_NAXES);
    return &axes[a];
}

const char *rcn_axis_name(int a) { return rcn_axis_def_of(a)->name; }
const char *rcn_axis_label(int a) { return rcn_axis_def_of(a)->label; }
int rcn_axis_is_integer(int a) { return rcn_axis_def_of(a)->range.integer; }

int rcn_axis_find(const char *name)
{
    for (int a = 0; a < RCN_NAXES; a++)
        if (!strcmp(name, axes[a].name))
            return a;
    return -1;
}

int rcn_range_has(const rcn_range *r, double v)
{
    int above_lo = r->lo_open ? v > r->lo : v >= r->lo;
    int below_hi = r->hi_open ? v < r->hi : v <= r->hi;
    return above_lo && below_hi && (!r->integer || v == floor(v));
}

void rcn_range_text(const rcn_range *r, char *buf, size_t cap)
{
    char lo[32], hi[32];
    rcn_num_text(r->lo, lo, sizeof lo);
    rcn_num_text(r->hi, hi, sizeof hi);
    if (r->integer && r->hi != HUGE_VAL)
        snprintf(buf, cap, "between %s and %s", lo, hi);
    else if (r->hi == HUGE_VAL)
        snprintf(buf, cap, "%s %s", r->lo_open ? ">" : ">=", lo);
    else
        snprintf(buf, cap, "%s %s and %s %s", r->lo_open ? ">" : ">=", lo,
                 r->hi_open ? "<" : "<=", hi);
}

void rcn_range_help(const rcn_range *r, char *buf, size_t cap)
{
    char lo[32], hi[32];
    rcn_num_text(r->lo, lo, sizeof lo);
    rcn_num_text(r->hi, hi, sizeof hi);
    if (r->integer)
        snprintf(buf, cap, r->hi == HUGE_VAL ? "integer >= %s" : "integer %s..%s", lo, hi);
    else if (r->hi == HUGE_VAL)
        snprintf(buf, cap, "number %s %s", r->lo_open ? ">" : ">=", lo);
    else
        snprintf(buf, cap, "number in %c%s, %s%c", r->lo_open ? '(' : '[', lo, hi,
                 r->hi_open ? ')' : ']');
}
