/* prof.c - the counters of prof.h (kernel-internal timing for rcn bench).
 * Time stamps are TSC ticks (a few cycles to read, unlike a CPU-time
 * clock, which is a system call under some hypervisors); rcn_prof_read
 * converts them to seconds with a rate calibrated once against the
 * monotonic clock. */
#include "prof.h"

#include <time.h>
#include <x86intrin.h>

int rcn_prof_on = 0;
double rcn_prof_sec[RCN_PROF_NKINDS]; /* in ticks until read */

double rcn_prof_now(void)
{
    return (double)__rdtsc();
}

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Seconds per tick, over a 20 ms window. */
double rcn_prof_tick_seconds(void)
{
    static double rate = 0.0;
    if (rate == 0.0) {
        double t0 = mono(), c0 = (double)__rdtsc(), t1;
        do
            t1 = mono();
        while (t1 - t0 < 0.02);
        double c1 = (double)__rdtsc();
        rate = c1 > c0 ? (t1 - t0) / (c1 - c0) : 1e-9;
    }
    return rate;
}

void rcn_prof_read(double *out)
{
    double r = rcn_prof_tick_seconds();
    for (int i = 0; i < RCN_PROF_NKINDS; i++)
        out[i] = rcn_prof_sec[i] * r;
}
