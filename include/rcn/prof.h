/* prof.h - optional timing of the parts inside the convolution kernels
 * (im2col / Winograd transforms vs. the matrix products), read by
 * `rcn bench`. Off by default; when off each kernel call pays one
 * predictable branch. The counters are process-wide and not synchronised:
 * switch them on only around single-threaded kernel calls. */
#ifndef RCN_PROF_H
#define RCN_PROF_H

enum { RCN_PROF_TRANSFORM, RCN_PROF_GEMM, RCN_PROF_NKINDS };

/* Nonzero: the kernels accumulate the time of their parts. */
extern int rcn_prof_on;

/* A time stamp (TSC ticks; only differences are meaningful). */
double rcn_prof_now(void);
/* Seconds per time-stamp tick (calibrated on first use). */
double rcn_prof_tick_seconds(void);
/* Copies the accumulated seconds per part into out[RCN_PROF_NKINDS]. */
void rcn_prof_read(double *out);

#endif
