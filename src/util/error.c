/* error.c - formatting of rcn_error records (see include/rcn/error.h). */
#include "rcn/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int rcn_errorf(rcn_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int rcn_error_prefix(rcn_error *err, const char *fmt, ...)
{
    if (err) {
        char prefix[RCN_ERROR_MAX], old[RCN_ERROR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof old);
        snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    }
    return -1;
}
