/* cli/synth.c - `rcn synth`: writes a small synthetic IDX data set (the four
 * MNIST file names) for tests and demos that must not depend on MNIST. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcn/cli.h"
#include "rcn/data.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rcn synth --out DIR [--train N] [--test N] [--seed S] [--gz]\n"
            "\n"
            "Writes a synthetic 10-class data set of 28x28 images (procedural stroke\n"
            "shapes, shifted +-3 px, noisy) in MNIST's IDX format:\n"
            "DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. DIR is created.\n"
            "\n"
            "  -o, --out DIR    output directory (required)\n"
            "  -n, --train N    training items (default 2000)\n"
            "  -t, --test N     test items (default 500)\n"
            "  -s, --seed S     seed, 0..2^64-1 (default 1); same seed, same files\n"
            "  -z, --gz         gzip the files (names end in .gz)\n"
            "  -h, --help       this help\n");
}

/* Parses a whole decimal string into [lo, hi]; 0 on success. */
static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int rcn_cmd_synth(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},  {"train", required_argument, NULL, 'n'},
        {"test", required_argument, NULL, 't'}, {"seed", required_argument, NULL, 's'},
        {"gz", no_argument, NULL, 'z'},         {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *out = NULL;
    uint64_t n_train = 2000, n_test = 500, seed = 1;
    int gz = 0;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":o:n:t:s:zh", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'n':
        case 't':
            if (parse_u64(optarg, 1, (uint64_t)RCN_IDX_MAX_ITEMS, c == 'n' ? &n_train : &n_test)) {
                fprintf(stderr, "rcn synth: --%s: '%s' is not an item count in 1..%lld\n",
                        c == 'n' ? "train" : "test", optarg, (long long)RCN_IDX_MAX_ITEMS);
                return RCN_EXIT_USAGE;
            }
            break;
        case 's':
            if (parse_u64(optarg, 0, UINT64_MAX, &seed)) {
                fprintf(stderr, "rcn synth: --seed: '%s' is not an integer in 0..2^64-1\n",
                        optarg);
                return RCN_EXIT_USAGE;
            }
            break;
        case 'z':
            gz = 1;
            break;
        case 'h':
            usage(stdout);
            return RCN_EXIT_OK;
        case ':':
            fprintf(stderr, "rcn synth: option %s needs a value\n", argv[optind - 1]);
            usage(stderr);
            return RCN_EXIT_USAGE;
        default:
            fprintf(stderr, "rcn synth: unknown option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return RCN_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rcn synth: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return RCN_EXIT_USAGE;
    }
    if (!out || !*out) {
        fprintf(stderr, "rcn synth: --out DIR is required\n");
        usage(stderr);
        return RCN_EXIT_USAGE;
    }
    rcn_error err;
    if (rcn_synth_write_dir(out, (int64_t)n_train, (int64_t)n_test, seed, gz, &err)) {
        fprintf(stderr, "rcn synth: %s\n", err.msg);
        return RCN_EXIT_ERROR;
    }
    printf("rcn synth: wrote %" PRIu64 " training and %" PRIu64
           " test items (seed %" PRIu64 ") to %s/{train,t10k}-{images-idx3,labels-idx1}-ubyte%s\n",
           n_train, n_test, seed, out, gz ? ".gz" : "");
    return RCN_EXIT_OK;
}
