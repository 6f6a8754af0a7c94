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
        /* "prefix: old", cut to the record's size (truncation is intended) */
        size_t n = strnlen(prefix, sizeof err->msg - 1);
        memcpy(err->msg, prefix, n);
        size_t room = sizeof err->msg - 1 - n;
        const char sep[] = ": ";
        size_t k = room < 2 ? room : 2;
        memcpy(err->msg + n, sep, k);
        n += k, room -= k;
        size_t m = strnlen(old, sizeof old - 1);
        if (m > room)
            m = room;
        memcpy(err->msg + n, old, m);
        err->msg[n + m] = 0;
    }
    return -1;
}
