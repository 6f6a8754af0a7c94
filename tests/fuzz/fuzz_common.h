/* fuzz_common.h - shared by the libFuzzer targets in tests/fuzz/: libFuzzer's
 * entry points (FUZZ_TARGET), a private scratch directory (the current
 * directory of the fuzz process), writing the fuzzer's bytes to a file
 * there, a memory cap so that "needs more memory than the machine has" is
 * an error path, not a libFuzzer OOM, and the property checks.
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

#include "rcn/view.h"

/* Inputs longer than this are skipped: the readers' limits lie far above,
 * and a long input only slows the search. */
#define FUZZ_MAX_INPUT (1u << 20)

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

/* A failed read's message names the file it read. */
#define FUZZ_ASSERT_NAMES(err, path) \
    FUZZ_ASSERT(strstr((err).msg, (path)), "error names no file: %s", (err).msg)

/* Prints view as `rcn report` does, as a text table and as Markdown (the
 * top rows, 0: all), to /dev/null. Returns 0 when both printed, else -1
 * with err set. */
static inline int fuzz_view_print(const rcn_view_report *view, int top, rcn_error *err)
{
    FILE *null = fopen("/dev/null", "w");
    if (!null) {
        perror("/dev/null");
        abort();
    }
    rcn_view_table_opts o = {0, 0};
    int rc = rcn_view_print(null, view, &o, err);
    o.markdown = 1, o.top = top;
    if (rcn_view_print(null, view, &o, err) != 0)
        rc = -1;
    fclose(null);
    return rc;
}

/* Defines libFuzzer's entry points for a target: LLVMFuzzerInitialize makes
 * the scratch directory (fuzz_setup(name)), then calls init, a
 * void (*)(void) or NULL; LLVMFuzzerTestOneInput skips inputs over
 * FUZZ_MAX_INPUT bytes and hands the others to one(data, size). */
#define FUZZ_TARGET(name, init, one)                                              \
    int LLVMFuzzerInitialize(int *argc, char ***argv);                            \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                 \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                             \
    {                                                                             \
        (void)argc, (void)argv;                                                   \
        fuzz_setup(name);                                                         \
        void (*init_fn)(void) = (init);                                           \
        if (init_fn)                                                              \
            init_fn();                                                            \
        return 0;                                                                 \
    }                                                                             \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                  \
    {                                                                             \
        if (size > FUZZ_MAX_INPUT)                                                \
            return 0;                                                             \
        one(data, size);                                                          \
        return 0;                                                                 \
    }

#endif
