/* cli.h - the subcommands of `rcn`. Each takes the arguments after the
 * command name (argv[0] is the command name) and returns the process exit
 * status: 0 ok, 1 runtime error, 2 usage error, 75 interrupted (SIGTERM /
 * SIGUSR1: partial results saved, resumable). Only these functions print
 * errors (to stderr, "rcn CMD: message"). */
#ifndef RCN_CLI_H
#define RCN_CLI_H

#define RCN_EXIT_OK 0
#define RCN_EXIT_ERROR 1
#define RCN_EXIT_USAGE 2
#define RCN_EXIT_INTERRUPTED 75
#define RCN_EXIT_ABANDONED 76 /* rcn search: complete, but a hung rank was given up on */

int rcn_cmd_train(int argc, char **argv);
int rcn_cmd_eval(int argc, char **argv);
int rcn_cmd_search(int argc, char **argv);
int rcn_cmd_status(int argc, char **argv);
int rcn_cmd_report(int argc, char **argv);
int rcn_cmd_bench(int argc, char **argv);
int rcn_cmd_synth(int argc, char **argv); /* write a synthetic IDX data set (tests) */
int rcn_cmd_dump(int argc, char **argv);  /* one step's tensors, for the PyTorch check */
int rcn_cmd_replay(int argc, char **argv); /* a racing schedule on a journal's folds */

#endif

#ifndef RCN_CLI_PARSE_H
#define RCN_CLI_PARSE_H
/* Strict option-value parsing for every command: the whole string must be
 * a number within [lo, hi]. On failure writes "--opt: reason" into err. */
#include "rcn/error.h"
int rcn_arg_int(const char *opt, const char *s, long long lo, long long hi, long long *out,
                rcn_error *err);
int rcn_arg_double(const char *opt, const char *s, double lo, double hi, double *out,
                   rcn_error *err);
/* Sets OpenBLAS's thread count (1 per rank unless asked otherwise). */
void rcn_set_blas_threads(int n);
#endif
