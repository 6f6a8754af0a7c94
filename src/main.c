/* main.c - `rcn <command>`: dispatch to src/cli/<command>.c, nothing else. */
#include <stdio.h>
#include <string.h>

#include "rcn/cli.h"

/* Commands are linked in as they are built; a missing one reports itself. */
#pragma weak rcn_cmd_train
#pragma weak rcn_cmd_eval
#pragma weak rcn_cmd_search
#pragma weak rcn_cmd_status
#pragma weak rcn_cmd_report
#pragma weak rcn_cmd_bench
#pragma weak rcn_cmd_synth
#pragma weak rcn_cmd_dump
#pragma weak rcn_cmd_replay

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"train", rcn_cmd_train, "train one network, evaluate on the test set every epoch"},
    {"eval", rcn_cmd_eval, "evaluate a saved model (.safetensors) on an IDX data set"},
    {"search", rcn_cmd_search, "grid x k-fold search of a job file, over MPI ranks"},
    {"status", rcn_cmd_status, "progress of a running or finished search"},
    {"report", rcn_cmd_report, "tables and plots of a search report"},
    {"bench", rcn_cmd_bench, "time training and inference steps"},
    {"synth", rcn_cmd_synth, "write a small synthetic IDX data set (for tests)"},
    {"replay", rcn_cmd_replay, "replay a racing schedule on a journal's fold results"},
    {"dump", rcn_cmd_dump, "one training step's tensors as safetensors (PyTorch check)"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: rcn [--version] [--help] <command> [<args>]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'rcn <command> --help' describes a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return RCN_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return RCN_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("rcn %s (%s)\n", RCN_VERSION, RCN_GIT_REV);
        return RCN_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name))
            continue;
        if (!commands[i].fn) {
            fprintf(stderr, "rcn: command '%s' is not built into this binary\n", argv[1]);
            return RCN_EXIT_ERROR;
        }
        return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "rcn: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return RCN_EXIT_USAGE;
}
