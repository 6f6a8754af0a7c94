/* eval.c - `rcn eval`: load a saved model (.safetensors) and print its loss
 * and accuracy, in evaluation mode, on an IDX data set. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "rcn/cli.h"
#include "rcn/data.h"
#include "rcn/job.h"
#include "rcn/jsonutil.h"
#include "rcn/netfile.h"
#include "rcn/train.h"

static const char usage_text[] =
    "usage: rcn eval [options] MODEL.safetensors DATA_DIR\n"
    "       rcn eval [options] MODEL.safetensors IMAGES_IDX LABELS_IDX\n"
    "\n"
    "Evaluates a saved model (eval mode: BatchNorm running statistics, no\n"
    "dropout) and prints the mean per-sample cross-entropy loss and accuracy.\n"
    "DATA_DIR holds <split>-images-idx3-ubyte and <split>-labels-idx1-ubyte\n"
    "(raw or .gz).\n"
    "\n"
    "options:\n"
    "  --split NAME      t10k (default) or train, with DATA_DIR\n"
    "  --batch-size N    evaluation batch (default 256; results do not depend on it\n"
    "                    beyond float rounding)\n"
    "  --json            print the result as JSON\n"
    "  --threads N       OpenBLAS threads (default 1)\n"
    "  --help            this text\n";

int rcn_cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {{"split", required_argument, 0, 's'},
                                         {"batch-size", required_argument, 0, 'b'},
                                         {"json", no_argument, 0, 'j'},
                                         {"threads", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *split = "t10k";
    int batch = 256, as_json = 0, threads = 1;
    long long iv;
    rcn_error err;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': split = optarg; break;
        case 'j': as_json = 1; break;
        case 'b':
        case 't':
            if (rcn_arg_int(c == 'b' ? "--batch-size" : "--threads", optarg, 1,
                            c == 'b' ? 65536 : 1024, &iv, &err)) {
                fprintf(stderr, "rcn eval: %s\n", err.msg);
                return RCN_EXIT_USAGE;
            }
            *(c == 'b' ? &batch : &threads) = (int)iv;
            break;
        case 'h': fputs(usage_text, stdout); return RCN_EXIT_OK;
        default: fprintf(stderr, "Try 'rcn eval --help'.\n"); return RCN_EXIT_USAGE;
        }
    }
    int npos = argc - optind;
    if (npos != 2 && npos != 3) {
        fprintf(stderr, "rcn eval: expected MODEL and DATA_DIR (or IMAGES LABELS)\n"
                        "Try 'rcn eval --help'.\n");
        return RCN_EXIT_USAGE;
    }
    rcn_set_blas_threads(threads);
    const char *model = argv[optind];
    char images[RCN_PATH_MAX], labels[RCN_PATH_MAX];
    if (npos == 2) {
        if (rcn_dataset_resolve(argv[optind + 1], split, images, labels, sizeof images, &err)) {
            fprintf(stderr, "rcn eval: %s\n", err.msg);
            return RCN_EXIT_ERROR;
        }
    } else {
        snprintf(images, sizeof images, "%s", argv[optind + 1]);
        snprintf(labels, sizeof labels, "%s", argv[optind + 2]);
    }
    rcn_dataset ds = {0};
    rcn_net *net = NULL;
    int32_t *idx = NULL;
    int status = RCN_EXIT_ERROR;
    if (rcn_dataset_load(images, labels, &ds, &err))
        goto done;
    if (!(net = rcn_safetensors_load(model, batch, NULL, &err)))
        goto done;
    if (!(idx = malloc(sizeof(int32_t) * (size_t)(ds.n ? ds.n : 1)))) {
        rcn_errorf(&err, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < ds.n; i++)
        idx[i] = (int32_t)i;
    rcn_split set = {ds.images, ds.labels, idx, ds.n};
    double acc, loss = rcn_evaluate(net, &set, &acc);
    if (as_json) {
        json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:o, s:o}", "model", model, "images", images,
                              "labels", labels, "n", (json_int_t)ds.n, "loss", rcn_json_num(loss),
                              "accuracy", rcn_json_num(acc));
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        puts(s);
        free(s);
        json_decref(j);
    } else {
        printf("%s on %s (%lld images): loss %.6f  accuracy %.2f%%\n", model, images,
               (long long)ds.n, loss, 100.0 * acc);
    }
    status = RCN_EXIT_OK;
done:
    if (status != RCN_EXIT_OK)
        fprintf(stderr, "rcn eval: %s\n", err.msg);
    free(idx);
    rcn_net_destroy(net);
    rcn_dataset_free(&ds);
    return status;
}
