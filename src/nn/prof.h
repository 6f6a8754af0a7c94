/* prof.h - optional timing of the parts inside the convolution kernels
 * (im2col / Winograd transforms vs. the matrix products) for `rcn bench`.
 * Off by default; when off each kernel call pays one predictable branch.
 * Internal to src/nn and src/cli/bench.c, not a public contract. */
#ifndef RCN_NN_PROF_H
#define RCN_NN_PROF_H

enum { RCN_PROF_TRANSFORM, RCN_PROF_GEMM, RCN_PROF_NKINDS };

extern int rcn_prof_on;
extern double rcn_prof_sec[RCN_PROF_NKINDS];

/* A time stamp (TSC ticks; only differences are meaningful). */
double rcn_prof_now(void);
/* Seconds per time-stamp tick (calibrated on first use). */
double rcn_prof_tick_seconds(void);
/* Copies the accumulated seconds per part into out[RCN_PROF_NKINDS]. */
void rcn_prof_read(double *out);

#define RCN_PROF_BEGIN(t) double t = rcn_prof_on ? rcn_prof_now() : 0.0
#define RCN_PROF_END(t, kind)                                  \
    do {                                                       \
        if (rcn_prof_on)                                       \
            rcn_prof_sec[kind] += rcn_prof_now() - (t);        \
    } while (0)

#endif
