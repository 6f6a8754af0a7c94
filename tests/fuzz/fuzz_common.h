/* fuzz_common.h - shared by the libFuzzer targets in tests/fuzz/: a private
 * scratch directory (the current directory of the fuzz process), writing the
 * fuzzer's bytes to a file there, and a memory cap so that "needs more
 * memory than the machine has" is an error path, not a libFuzzer OOM.
 *
 * rcn's readers take paths, so every target writes its input to a file and
 * reads it back through the real entry points (open, fstat, read / gzread). */
#ifndef RCN_FUZZ_COMMON_H
#define RCN_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates a fresh scratch directory under $TMPDIR (or /tmp) and makes it
 * the current directory; the fuzzer's own paths (corpus, artifacts) are
 * absolute in tests/fuzz/run.sh. Sets RCN_MEM_LIMIT so that models and
 * batches whose estimate exceeds 1 GiB are refused by rcn, well inside
 * libFuzzer's 2 GiB -rss_limit_mb / -malloc_limit_mb. */
static void fuzz_setup(const char *name)
{
    const char *base = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/rcn-fuzz-%s.XXXXXX", base && *base ? base : "/tmp", name);
    if (!mkdtemp(dir) || chdir(dir) != 0) {
        perror("fuzz_setup: scratch directory");
        abort();
    }
    setenv("RCN_MEM_LIMIT", "1073741824", 1);
}

/* Writes data[0..size) to path (truncating); aborts on failure (the
 * harness's own failure, not a finding). */
static void fuzz_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* A finding of a property check (not a crash of rcn): abort with a message,
 * so libFuzzer saves the input. */
#define FUZZ_ASSERT(cond, ...)                                                    \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "fuzz property failed: %s: ", #cond);                 \
            fprintf(stderr, __VA_ARGS__);                                         \
            fputc('\n', stderr);                                                  \
            abort();                                                              \
        }                                                                         \
    } while (0)

#endif
