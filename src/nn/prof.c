/* prof.c - the counters of prof.h (kernel-internal timing for rcn bench). */
#include "prof.h"

#include <time.h>

int rcn_prof_on = 0;
double rcn_prof_sec[RCN_PROF_NKINDS];

double rcn_prof_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void rcn_prof_read(double *out)
{
    for (int i = 0; i < RCN_PROF_NKINDS; i++)
        out[i] = rcn_prof_sec[i];
}
