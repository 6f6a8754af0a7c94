/* prof.h - the kernels' side of the timing counters of include/rcn/prof.h:
 * the accumulators and the macros that bracket a timed part. Internal to
 * src/nn. */
#ifndef RCN_NN_PROF_H
#define RCN_NN_PROF_H

#include "rcn/prof.h"

/* Accumulated ticks per part (rcn_prof_read converts them to seconds). */
extern double rcn_prof_sec[RCN_PROF_NKINDS];

#define RCN_PROF_BEGIN(t) double t = rcn_prof_on ? rcn_prof_now() : 0.0
#define RCN_PROF_END(t, kind)                                  \
    do {                                                       \
        if (rcn_prof_on)                                       \
            rcn_prof_sec[kind] += rcn_prof_now() - (t);        \
    } while (0)

#endif
