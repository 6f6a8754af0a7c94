/* clock.c - monotonic seconds, peak resident memory, and the time
 * formatting of reports and progress lines (see include/rcn/clock.h). */
#include "rcn/clock.h"

#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

static double clock_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double rcn_clock(void) { return clock_of(CLOCK_MONOTONIC); }
double rcn_cpu_clock(void) { return clock_of(CLOCK_PROCESS_CPUTIME_ID); }

double rcn_peak_rss_mib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru))
        return 0.0;
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

void rcn_iso_time(char *buf, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void rcn_format_duration(double s, char *buf, size_t cap)
{
    if (!(s >= 0) || s > 1e9) {
        snprintf(buf, cap, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60, t % 60);
    else if (t >= 60)
        snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, cap, "%lds", t);
}
