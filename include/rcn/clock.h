/* clock.h - time as the search and its tools use it: a monotonic clock
 * for durations, wall-clock timestamps for reports, durations spelled for
 * people, and the process's peak memory. No dependencies beyond libc. */
#ifndef RCN_CLOCK_H
#define RCN_CLOCK_H

#include <stddef.h>

double rcn_clock(void);        /* monotonic seconds */
double rcn_cpu_clock(void);    /* this process's CPU seconds (all its threads) */
double rcn_peak_rss_mib(void); /* this process's peak resident memory; 0 if unknown */

/* Now as ISO-8601 UTC, "2024-05-01T12:00:00Z" (cap >= 21). */
void rcn_iso_time(char *buf, size_t cap);
/* Formats seconds as "1h02m03s" / "4m05s" / "7s" ("?" when unknown). */
void rcn_format_duration(double s, char *buf, size_t cap);

#endif
