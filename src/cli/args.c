/* args.c - strict parsing of numeric option values, and the BLAS thread
 * setting shared by the commands. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "rcn/cli.h"

void openblas_set_num_threads(int num_threads);

int rcn_arg_int(const char *opt, const char *s, long long lo, long long hi, long long *out,
                rcn_error *err)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno)
        return rcn_errorf(err, "%s: '%s' is not an integer", opt, s);
    if (v < lo || v > hi)
        return rcn_errorf(err, "%s: %lld is out of range %lld..%lld", opt, v, lo, hi);
    *out = v;
    return 0;
}

int rcn_arg_double(const char *opt, const char *s, double lo, double hi, double *out,
                   rcn_error *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v))
        return rcn_errorf(err, "%s: '%s' is not a finite number", opt, s);
    if (v < lo || v > hi)
        return rcn_errorf(err, "%s: %g is out of range [%g, %g]", opt, v, lo, hi);
    *out = v;
    return 0;
}

void rcn_set_blas_threads(int n)
{
    openblas_set_num_threads(n < 1 ? 1 : n);
}
