/* error.h - the error record every fallible rcn function fills.
 *
 * Contract: a function that can fail takes `rcn_error *err` last, returns 0
 * on success and -1 on failure, and on failure has written a complete,
 * human-readable message into err->msg that names the file, the field (JSON
 * path) or byte offset, and the reason. `err` may be NULL (message dropped).
 * Only main() prints errors and exits. */
#ifndef RCN_ERROR_H
#define RCN_ERROR_H

#include <stddef.h>

#define RCN_ERROR_MAX 1024

typedef struct {
    char msg[RCN_ERROR_MAX];
} rcn_error;

/* Formats into err->msg (if err) and returns -1, so callers can write
 * `return rcn_errorf(err, "%s: ...", path);`. */
int rcn_errorf(rcn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends "prefix: " to an existing message (e.g. a file name); returns -1. */
int rcn_error_prefix(rcn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
