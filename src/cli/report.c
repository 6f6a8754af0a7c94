/* report.c - `rcn report`: the tables of a search report (or of the journal
 * of a search still running) as text or Markdown, and its figures drawn by
 * gnuplot. Parsing, checking, tables and plots live in src/view/. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcn/cli.h"
#include "rcn/view.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rcn report [--markdown] [--top N] [--plots DIR] [--html DIR]\n"
            "                  [--csv [--folds]] REPORT\n"
            "\n"
            "Shows a search report (results/NAME.json) or the journal of a search still\n"
            "running (results/NAME.journal.jsonl; read automatically when the report does\n"
            "not exist yet): a summary, Table 2 (mean train/validation loss per batch size,\n"
            "and per value of every other swept axis), the cells ranked by mean validation\n"
            "loss, the best cell and the refit's test accuracy; for a {\"kind\": \"test\"}\n"
            "run, Table 1 (per epoch: train loss/accuracy, test loss/accuracy). For a\n"
            "racing search (a halving \"schedule\"): how the winner was chosen and at what\n"
            "cost in fold-epochs, Table 2 over the cells that completed the race, the\n"
            "rungs (cells in, kept, eliminated, diverged) and each rung's Table 2.\n"
            "\n"
            "options:\n"
            "  --markdown   print the tables as Markdown instead of aligned text\n"
            "  --top N      show the N best cells in the cell table (default 20; 0: all)\n"
            "  --plots DIR  instead of printing tables, draw the figures into DIR with\n"
            "               gnuplot: cell_NNN (learning curves), sweep_AXIS (one curve per\n"
            "               value when one axis is swept), lr_* (loss against learning rate\n"
            "               per batch size, diverged cells marked), heatmap (mean val loss\n"
            "               over batch size x learning rate; a race's eliminated cells\n"
            "               pale, labelled rN: out at rung N); each as .png and .svg, with\n"
            "               its .dat data and re-runnable .gp script (gnuplot plots.gp)\n"
            "  --html DIR   instead of printing tables, write DIR/index.html: one page with\n"
            "               the tables (all cells unless --top), each cell's fold spread\n"
            "               and the figures (drawn into DIR/figures as by --plots); a search\n"
            "               not complete says so and the page reloads itself every 30 s;\n"
            "               a race shows its rungs\n"
            "  --csv        instead of printing tables, print CSV: one row per cell in\n"
            "               scikit-learn's cv_results_ columns (param_<axis>, params,\n"
            "               split<i>_test_score, mean/std/rank_test_score, mean/std_fit_time,\n"
            "               ...; a score is the negated loss, as scoring=\"neg_log_loss\"),\n"
            "               then rcn's own (mean_val_loss, ...); pandas.read_csv reads it\n"
            "  --folds      with --csv: one row per fold and epoch\n"
            "  --help       this text\n"
            "\n"
            "environment:\n"
            "  RCN_GNUPLOT  the gnuplot program to run (default: gnuplot on PATH;\n"
            "               Debian package gnuplot-nox)\n");
}

/* --html DIR (cells: `top`, 0: all) or else --csv [--folds]: an exit code. */
static int write_html_or_csv(const rcn_view_report *r, const char *html, int csv_folds, int top)
{
    rcn_error err = {{0}};
    rcn_view_html_opts ho = {top, 30, 6, NULL};
    if (html ? rcn_view_html(r, html, &ho, &err)
             : rcn_view_csv(stdout, r, csv_folds, &err) || fflush(stdout)) {
        fprintf(stderr, "rcn report: %s\n", err.msg[0] ? err.msg : "cannot write the output");
        return RCN_EXIT_ERROR;
    }
    if (html)
        fprintf(stderr, "rcn report: %s/index.html written\n", html);
    return RCN_EXIT_OK;
}

int rcn_cmd_report(int argc, char **argv)
{
    rcn_view_table_opts opts = {0, 20};
    const char *plots = NULL, *html = NULL, *path = NULL;
    int csv = 0, csv_folds = 0, top_set = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return RCN_EXIT_OK;
        } else if (!strcmp(a, "--markdown")) {
            opts.markdown = 1;
        } else if (!strcmp(a, "--csv") || !strcmp(a, "--folds")) {
            csv |= a[2] == 'c';
            csv_folds |= a[2] == 'f';
        } else if (!strncmp(a, "--top", 5) || !strncmp(a, "--plots", 7) ||
                   !strncmp(a, "--html", 6)) {
            int top = !strncmp(a, "--top", 5), web = !strncmp(a, "--html", 6);
            size_t n = top ? 5 : web ? 6 : 7;
            if (a[n] == '=')
                val = a + n + 1;
            else if (a[n] == 0 && i + 1 < argc)
                val = argv[++i];
            else if (a[n] == 0) {
                fprintf(stderr, "rcn report: %s needs a value\n", a);
                return RCN_EXIT_USAGE;
            } else {
                fprintf(stderr, "rcn report: unknown option '%s' (rcn report --help)\n", a);
                return RCN_EXIT_USAGE;
            }
            if (top) {
                char *end;
                errno = 0;
                long v = strtol(val, &end, 10);
                if (!*val || *end || errno || v < 0 || v > 100000000) {
                    fprintf(stderr, "rcn report: --top: '%s' is not a whole number >= 0\n", val);
                    return RCN_EXIT_USAGE;
                }
                opts.top = (int)v;
                top_set = 1;
            } else {
                if (!*val) {
                    fprintf(stderr, "rcn report: %s: empty directory name\n", web ? "--html" : "--plots");
                    return RCN_EXIT_USAGE;
                }
                *(web ? &html : &plots) = val;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "rcn report: unknown option '%s' (rcn report --help)\n", a);
            return RCN_EXIT_USAGE;
        } else if (path) {
            fprintf(stderr, "rcn report: one report at a time ('%s' and '%s')\n", path, a);
            return RCN_EXIT_USAGE;
        } else {
            path = a;
        }
    }
    if (csv_folds && !csv) {
        fprintf(stderr, "rcn report: --folds goes with --csv\n");
        return RCN_EXIT_USAGE;
    }
    if (!!plots + !!html + csv > 1) {
        fprintf(stderr, "rcn report: one of --plots, --html and --csv at a time\n");
        return RCN_EXIT_USAGE;
    }
    if (!path) {
        fprintf(stderr, "rcn report: no report given\n");
        usage(stderr);
        return RCN_EXIT_USAGE;
    }
    rcn_error err = {{0}};
    rcn_view_report *r = NULL;
    if (rcn_view_load(path, &r, &err)) {
        fprintf(stderr, "rcn report: %s\n", err.msg);
        return RCN_EXIT_ERROR;
    }
    int rc = RCN_EXIT_OK;
    if (html || csv) {
        rc = write_html_or_csv(r, html, csv_folds, top_set ? opts.top : 0);
    } else if (plots) {
        int n = 0;
        if (rcn_view_plot(r, plots, NULL, &n, &err)) {
            fprintf(stderr, "rcn report: %s\n", err.msg);
            rc = RCN_EXIT_ERROR;
        } else {
            printf("rcn report: %d figure%s of %s drawn into %s (.png and .svg; data .dat; "
                   "scripts .gp: gnuplot plots.gp)\n",
                   n, n == 1 ? "" : "s", r->name, plots);
        }
    } else if (rcn_view_print(stdout, r, &opts, &err) || fflush(stdout)) {
        fprintf(stderr, "rcn report: %s\n", err.msg[0] ? err.msg : "cannot write the output");
        rc = RCN_EXIT_ERROR;
    }
    rcn_view_free(r);
    return rc;
}
