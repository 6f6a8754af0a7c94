/* journal.h - the append-only journal of a search (format: report.h):
 * a header line naming the job, then one line per finished fold, each
 * written with a single write() and fsync'ed, so a crash at any moment
 * loses at most the line being written (a torn last line, ignored on read
 * and cut off before the next append). */
#ifndef RCN_JOURNAL_H
#define RCN_JOURNAL_H

#include <jansson.h>

#include "rcn/error.h"

/* Reads a journal: *header (new ref) gets the header object, *folds (new
 * ref) an array of the fold objects in file order, without their "type"
 * key. A torn last line is ignored; any other damage (a bad header, an
 * unparsable line in the middle) is an error naming the line. Lines of an
 * unknown "type" are skipped. Either out pointer may be NULL. */
int rcn_journal_read(const char *path, json_t **header, json_t **folds, rcn_error *err);

/* Reads only as far as needed to say whether `path` looks like a journal
 * (its first bytes are a header line); for tools that accept both
 * journals and reports. */
int rcn_journal_sniff(const char *path);

typedef struct rcn_journal rcn_journal;

/* Opens the journal of the job with hash `job_hash` for appending. Missing:
 * creates it with a header line ({"type": "header", "format":
 * "rcn-journal", "job_hash", "job", "created"}); present: requires its
 * job_hash to match (a journal of another job is an error naming both
 * hashes and the path, and the file is left untouched), cuts off a torn
 * last line, and gives the finished folds in *folds (new ref; may be NULL).
 * must_exist != 0: a missing journal is an error (--resume). */
rcn_journal *rcn_journal_open(const char *path, const char *job_hash, const json_t *job,
                              int must_exist, json_t **folds, rcn_error *err);

/* Appends {"type": "fold", ...fold} as one line: one write(), then fsync. */
int rcn_journal_append(rcn_journal *j, const json_t *fold, rcn_error *err);
/* Appends {"type": "rung", ...rung}, a racing rung's decision, the same way
 * (readers of fold lines skip it). */
int rcn_journal_append_rung(rcn_journal *j, const json_t *rung, rcn_error *err);
/* The rung objects (without "type") in file order: those read when the
 * journal was opened, then those appended (borrowed; valid until close). */
const json_t *rcn_journal_rungs(const rcn_journal *j);
void rcn_journal_close(rcn_journal *j);

/* One search per journal: the lock file "<journal>.lock" beside it carries
 * a POSIX record lock (fcntl: works across hosts on NFS, and dies with its
 * holder, kill -9 included) and one line naming the holder, "pid 1234 on
 * host n1 since 2026-12-06T11:20:00Z". Readers of the journal (rcn status,
 * rcn report) take no lock. */
typedef struct rcn_journal_lock rcn_journal_lock;

/* Takes the lock of the journal at `journal` (which need not exist yet)
 * without waiting and writes this process's holder line. Held by another
 * process: an error "<journal> is in use by <its holder line> (one search
 * per journal)". A lock file left by a holder that died is reused. */
rcn_journal_lock *rcn_journal_lock_take(const char *journal, rcn_error *err);
/* Removes the lock file (while still holding it) and releases the lock. */
void rcn_journal_lock_release(rcn_journal_lock *l);

#endif
