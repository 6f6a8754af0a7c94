/* fileio.h - opening a file to read, and files that must never be
 * half-written.
 *
 * rcn_write_atomic writes to "<path>.tmp.<pid>" in the same directory,
 * fsyncs it, renames it over `path` and fsyncs the directory: a reader sees
 * the old file or the new one, never a torn one; on any failure the old
 * file is left as it was and the temp file removed. */
#ifndef RCN_FILEIO_H
#define RCN_FILEIO_H

#include <jansson.h>
#include <stddef.h>
#include <sys/stat.h>

#include "rcn/error.h"

/* Opens path read-only (close-on-exec) and fstats it into *st; a directory
 * is refused, "PATH: is a directory" or, with kind, "PATH: is a directory,
 * not a KIND". Returns the descriptor (the caller closes it), or -1 with
 * err naming the file and the reason. */
int rcn_open_read(const char *path, const char *kind, struct stat *st, rcn_error *err);

int rcn_write_atomic(const char *path, const void *data, size_t len, rcn_error *err);
/* JSON-encodes `j` (indented, keys in insertion order, trailing newline)
 * and writes it atomically. */
int rcn_write_json_atomic(const char *path, const json_t *j, rcn_error *err);

/* mkdir -p: creates `dir` and its missing parents (mode 0755); an error
 * names the component that could not be made, or `dir` when it exists and
 * is not a directory. */
int rcn_mkdir_p(const char *dir, rcn_error *err);

#endif
