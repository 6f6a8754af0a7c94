/* progress.c - the search's progress on stderr (done/total, rate, ETA,
 * diverged, best so far): a live "\r" line on a terminal, plain lines
 * otherwise. */
#include <string.h>
#include <unistd.h>

#include "rcn/clock.h"

#include "search_impl.h"

void rcn_progress_start(rcn_progress *p, FILE *f, int total, int done)
{
    memset(p, 0, sizeof *p);
    p->f = f;
    p->tty = f && isatty(fileno(f));
    p->total = total;
    p->done_at_start = done;
    p->t0 = rcn_clock();
}

void rcn_progress_update(rcn_progress *p, int done, int diverged, const json_t *best)
{
    if (!p->f)
        return;
    double el = rcn_clock() - p->t0;
    int now = done - p->done_at_start;
    double rate = el > 0 ? now / el : 0; /* folds per second, this run */
    char eta[32] = "?", line[512], b[256] = "none yet";
    if (rate > 0)
        rcn_format_duration((p->total - done) / rate, eta, sizeof eta);
    if (json_is_object(best))
        snprintf(b, sizeof b, "%s (val loss %.4f)",
                 json_string_value(json_object_get(best, "key")),
                 json_number_value(json_object_get(best, "mean_val_loss")));
    snprintf(line, sizeof line,
             "rcn search: %d/%d folds (%.1f%%), %.2f folds/min, ETA %s, %d diverged, best %s",
             done, p->total, p->total ? 100.0 * done / p->total : 100.0, 60 * rate, eta,
             diverged, b);
    if (p->tty) {
        fprintf(p->f, "\r\033[K%s", line);
        p->line_open = 1;
    } else {
        fprintf(p->f, "%s\n", line);
    }
    fflush(p->f);
}

void rcn_progress_end(rcn_progress *p)
{
    if (p->f && p->line_open) {
        fputc('\n', p->f);
        fflush(p->f);
    }
    p->line_open = 0;
}
