/* grid.c - the values of grid axes: decimal-exact expansion of {from, to,
 * step} ranges and the shortest decimal spelling of values. (The cells, the
 * product of the axes, are expanded by plan.c.) */
#include "rcn/job.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rcn_num_text(double v, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    if (!isfinite(v)) {
        snprintf(buf, cap, "%s", isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
        return;
    }
    if (v == 0) { /* also -0 */
        snprintf(buf, cap, "0");
        return;
    }
    /* %.15g spells every value typed with up to 15 digits as typed (and
     * as plan.c's readers do); longer ones get the digits they need. */
    char tmp[64];
    for (int p = 15; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*g", p, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    snprintf(buf, cap, "%s", tmp);
}

/* The decimal number x as mant * 10^-dec with dec >= 0, from its %.15g
 * spelling (so 0.005 is 5 * 10^-3 exactly). Returns -1 on overflow. */
static int decimal_of(double x, long long *mant, int *dec)
{
    char s[64];
    snprintf(s, sizeof s, "%.15g", x);
    const char *p = s;
    int neg = 0;
    if (*p == '-')
        neg = 1, p++;
    long long m = 0;
    int frac = 0, seen_point = 0;
    for (; *p && *p != 'e'; p++) {
        if (*p == '.') {
            seen_point = 1;
            continue;
        }
        if (*p < '0' || *p > '9')
            return -1; /* inf/nan */
        m = m * 10 + (*p - '0'); /* at most 15 digits: no overflow */
        frac += seen_point;
    }
    int ex = *p == 'e' ? atoi(p + 1) : 0;
    int d = frac - ex;
    while (d < 0) {
        if (__builtin_mul_overflow(m, 10LL, &m))
            return -1;
        d++;
    }
    *mant = neg ? -m : m;
    *dec = d;
    return 0;
}

/* mant * 10^k, or -1 on overflow. */
static int scale_up(long long mant, int k, long long *out)
{
    for (int i = 0; i < k; i++)
        if (__builtin_mul_overflow(mant, 10LL, &mant))
            return -1;
    *out = mant;
    return 0;
}

/* The double nearest to v * 10^-dec, via its decimal spelling. */
static double scaled_value(long long v, int dec)
{
    char s[96], digits[32];
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    snprintf(digits, sizeof digits, "%llu", u);
    int len = (int)strlen(digits);
    const char *sign = v < 0 ? "-" : "";
    if (dec == 0) {
        snprintf(s, sizeof s, "%s%s", sign, digits);
    } else if (len > dec) {
        snprintf(s, sizeof s, "%s%.*s.%s", sign, len - dec, digits, digits + len - dec);
    } else {
        char zeros[32];
        memset(zeros, '0', (size_t)(dec - len));
        zeros[dec - len] = 0;
        snprintf(s, sizeof s, "%s0.%s%s", sign, zeros, digits);
    }
    return strtod(s, NULL);
}

long rcn_range_expand(double from, double to, double step, double *values, long max_n)
{
    if (!(step > 0) || !(from <= to))
        return -1;
    long long mf, mt, ms, F, T, S;
    int df, dt, ds;
    if (decimal_of(from, &mf, &df) || decimal_of(to, &mt, &dt) || decimal_of(step, &ms, &ds))
        return -2;
    int d = df > dt ? df : dt;
    d = d > ds ? d : ds;
    if (d > 18 || scale_up(mf, d - df, &F) || scale_up(mt, d - dt, &T) ||
        scale_up(ms, d - ds, &S))
        return -2;
    long long span;
    if (S <= 0 || __builtin_sub_overflow(T, F, &span) || span < 0)
        return -2;
    long long n = span / S + 1;
    if (n > 1000000000LL)
        return -2;
    for (long long k = 0; k < n && k < max_n; k++)
        values[k] = scaled_value(F + k * S, d);
    return (long)n;
}
