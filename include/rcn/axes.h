/* axes.h - the hyperparameter axes of a search: the one table that says, for
 * each of batch_size, lr, momentum and epochs, its name (the JSON key of the
 * job's scalar, of its grid axis, of a cell's "params" and of the report's
 * marginals), whether it is an integer, its valid range, its default, the
 * `rcn train` option that sets it and that option's help. Job parsing, grid
 * expansion (plan.h), help texts, `rcn train`, the report writer and the
 * views all read it from here. */
#ifndef RCN_AXES_H
#define RCN_AXES_H

#include <stddef.h>

/* The axes in the order cells are numbered (row-major: the last swept axis
 * varies fastest). */
typedef enum { RCN_AXIS_BATCH = 0, RCN_AXIS_LR, RCN_AXIS_MOMENTUM, RCN_AXIS_EPOCHS, RCN_NAXES } rcn_axis_id;

/* An admissible range of a numeric value; hi == HUGE_VAL: no upper bound. */
typedef struct {
    int integer;   /* integral values only (then lo and hi are integers) */
    double lo;
    int lo_open;   /* 1: v > lo, 0: v >= lo */
    double hi;
    int hi_open;   /* 1: v < hi, 0: v <= hi */
} rcn_range;

typedef struct {
    const char *name;      /* "batch_size" */
    const char *label;     /* "batch size": for people (table headers, plot axes) */
    const char *plural;    /* "batch sizes" */
    rcn_range range;
    double def;            /* the job's and rcn train's default */
    const char *flag;      /* "--batch-size": the rcn train option */
    const char *flag_arg;  /* "N" */
    const char *help;      /* "mini-batch size": the option's help */
} rcn_axis_def;

/* The table entry of axis a (0 <= a < RCN_NAXES, asserted). */
const rcn_axis_def *rcn_axis_def_of(int a);

/* Shorthands for rcn_axis_def_of(a)->name / ->label / ->range.integer. */
const char *rcn_axis_name(int a);
const char *rcn_axis_label(int a);
int rcn_axis_is_integer(int a);

/* The axis named `name` ("lr"), or -1. */
int rcn_axis_find(const char *name);

/* 1 if v lies in r (NaN never does). */
int rcn_range_has(const rcn_range *r, double v);

/* The range as a condition for error messages: ">= 1", "> 0",
 * ">= 0 and < 1", "between 1 and 1000" (integers). */
void rcn_range_text(const rcn_range *r, char *buf, size_t cap);

/* The range for help texts: "integer 1..1000", "integer >= 1", "number > 0",
 * "number in [0, 1)". */
void rcn_range_help(const rcn_range *r, char *buf, size_t cap);

#endif
