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

int rcn_cmd_train(int argc, char **argv);
int rcn_cmd_eval(int argc, char **argv);
int rcn_cmd_search(int argc, char **argv);
int rcn_cmd_status(int argc, char **argv);
int rcn_cmd_report(int argc, char **argv);
int rcn_cmd_bench(int argc, char **argv);
int rcn_cmd_synth(int argc, char **argv); /* write a synthetic IDX data set (tests) */
int rcn_cmd_dump(int argc, char **argv);  /* one step's tensors, for the PyTorch check */

#endif
