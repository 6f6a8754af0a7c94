/* test_journal.c - the search journal: header + one fsync'ed line per
 * fold; resume reads them back exactly; a torn last line is ignored and cut
 * off before the next append; a journal of another job, or a file that is
 * not a journal, is refused and left byte-for-byte unchanged; the journal's
 * lock admits one process, names it to the others, and is released on
 * release and on the holder's death (kill -9). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "rcn/journal.h"

static char dir[] = "/tmp/rcn-test-journal.XXXXXX";

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    b[*len] = 0;
    fclose(f);
    return b;
}

static void put(const char *path, const char *text, const char *mode)
{
    FILE *f = fopen(path, mode);
    fputs(text, f);
    fclose(f);
}

static json_t *fold(int cell, int fold, double loss)
{
    return json_pack("{s:i, s:s, s:i, s:s, s:f, s:n}", "cell", cell, "key", "k", "fold", fold,
                     "status", "ok", "val_loss", loss, "diverged");
}

/* Tries the lock in a child process: 0 taken, 1 refused with a message
 * naming the journal and containing `holder`, 2 refused otherwise. */
static int take_in_child(const char *journal, const char *holder)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        rcn_error e;
        rcn_journal_lock *l = rcn_journal_lock_take(journal, &e);
        if (l) {
            rcn_journal_lock_release(l);
            _exit(0);
        }
        _exit(strstr(e.msg, journal) && strstr(e.msg, holder) &&
              strstr(e.msg, "one search per journal") ? 1 : 2);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static void test_lock(const char *journal)
{
    char lockfile[300], me[64], text[512];
    rcn_error err = {{0}};
    snprintf(lockfile, sizeof lockfile, "%s.lock", journal);
    snprintf(me, sizeof me, "pid %ld on host ", (long)getpid());

    rcn_journal_lock *l = rcn_journal_lock_take(journal, &err);
    CHECK(l != NULL, "take: %s", err.msg);
    size_t len;
    char *holder = slurp(lockfile, &len);
    CHECK(holder && !strncmp(holder, me, strlen(me)) && strstr(holder, " since 20") &&
              holder[len - 1] == '\n', "holder line: %s", holder ? holder : "(none)");
    free(holder);
    CHECK(take_in_child(journal, me) == 1, "a second process is refused, naming the holder");
    CHECK(rcn_journal_read(journal, NULL, NULL, &err) == 0, "a locked journal reads: %s",
          err.msg);
    rcn_journal_lock_release(l);
    CHECK(access(lockfile, F_OK) != 0, "release removes the lock file");
    CHECK(take_in_child(journal, me) == 0, "taken again after release");

    /* the holder dies with kill -9: the lock goes with it, its file stays */
    int ready[2];
    CHECK(pipe(ready) == 0, "pipe");
    fflush(NULL);
    pid_t holder_pid = fork();
    if (holder_pid == 0) {
        char ok = rcn_journal_lock_take(journal, NULL) ? 'y' : 'n';
        if (write(ready[1], &ok, 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    char ok = 0;
    CHECK(holder_pid > 0 && read(ready[0], &ok, 1) == 1 && ok == 'y', "child took the lock");
    snprintf(text, sizeof text, "pid %ld on host ", (long)holder_pid);
    CHECK(!rcn_journal_lock_take(journal, &err) && strstr(err.msg, text) &&
              strstr(err.msg, journal), "refused while the child holds it: %s", err.msg);
    kill(holder_pid, SIGKILL);
    waitpid(holder_pid, NULL, 0);
    close(ready[0]);
    close(ready[1]);
    CHECK(access(lockfile, F_OK) == 0, "a killed holder leaves its lock file");
    l = rcn_journal_lock_take(journal, &err);
    CHECK(l != NULL, "taken after the holder's death: %s", err.msg);
    holder = slurp(lockfile, &len);
    CHECK(holder && !strncmp(holder, me, strlen(me)), "stale holder overwritten: %s",
          holder ? holder : "(none)");
    free(holder);
    rcn_journal_lock_release(l);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char path[256], other[256];
    snprintf(path, sizeof path, "%s/r.journal.jsonl", dir);
    snprintf(other, sizeof other, "%s/not-a-journal.jsonl", dir);
    json_t *job = json_pack("{s:s, s:i}", "name", "t", "epochs", 1);
    rcn_error err;
    json_t *done = NULL;

    /* --resume without a journal */
    CHECK(!rcn_journal_open(path, "aaaa", job, 1, &done, &err) && strstr(err.msg, path) &&
              strstr(err.msg, "resume"), "must_exist: %s", err.msg);
    CHECK(access(path, F_OK) != 0, "nothing created by a failed --resume");

    /* new journal, three folds; a value that needs 17 digits */
    const double tricky = 0.1 + 0.2;
    rcn_journal *j = rcn_journal_open(path, "aaaa", job, 0, &done, &err);
    CHECK(j && json_array_size(done) == 0, "create: %s", err.msg);
    json_decref(done);
    for (int i = 0; i < 3; i++) {
        json_t *f = fold(i, 0, i == 1 ? tricky : 0.5 + i);
        CHECK(rcn_journal_append(j, f, &err) == 0, "append: %s", err.msg);
        json_decref(f);
    }
    rcn_journal_close(j);
    CHECK(rcn_journal_sniff(path), "sniff a journal");

    size_t len;
    char *text = slurp(path, &len);
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    CHECK(lines == 4 && text[len - 1] == '\n', "4 whole lines, got %d", lines);
    CHECK(!strncmp(text, "{\"type\":\"header\",\"format\":\"rcn-journal\",\"job_hash\":\"aaaa\"", 55),
          "header line first: %.60s", text);
    CHECK(strstr(text, "{\"type\":\"fold\",\"cell\":1,"), "fold lines carry type first");
    free(text);

    json_t *header = NULL, *folds = NULL;
    CHECK(rcn_journal_read(path, &header, &folds, &err) == 0, "read: %s", err.msg);
    CHECK(!strcmp(json_string_value(json_object_get(header, "job_hash")), "aaaa"), "hash");
    CHECK(json_equal(json_object_get(header, "job"), job), "job kept");
    CHECK(json_is_string(json_object_get(header, "created")), "created");
    CHECK(json_array_size(folds) == 3, "3 folds");
    CHECK(!json_object_get(json_array_get(folds, 0), "type"), "type stripped");
    CHECK(json_real_value(json_object_get(json_array_get(folds, 1), "val_loss")) == tricky,
          "doubles round-trip exactly");
    json_decref(header);
    json_decref(folds);

    /* torn last line (killed mid-write): ignored on read, cut on open */
    struct stat st;
    stat(path, &st);
    off_t whole = st.st_size;
    put(path, "{\"type\":\"fold\",\"cell\":3,\"fo", "a");
    CHECK(rcn_journal_read(path, NULL, &folds, &err) == 0 && json_array_size(folds) == 3,
          "torn line ignored: %s", err.msg);
    json_decref(folds);
    j = rcn_journal_open(path, "aaaa", job, 1, &done, &err);
    CHECK(j && json_array_size(done) == 3, "resume after torn line: %s", err.msg);
    json_decref(done);
    stat(path, &st);
    CHECK(st.st_size == whole, "torn tail cut off (%lld vs %lld)", (long long)st.st_size,
          (long long)whole);
    json_t *f = fold(3, 0, 0.25);
    CHECK(rcn_journal_append(j, f, &err) == 0, "append after resume");
    json_decref(f);
    rcn_journal_close(j);
    CHECK(rcn_journal_read(path, NULL, &folds, &err) == 0 && json_array_size(folds) == 4 &&
              json_integer_value(json_object_get(json_array_get(folds, 3), "cell")) == 3,
          "4 folds after the append");
    json_decref(folds);

    /* an unparsable last line (with newline) is torn too */
    put(path, "{\"type\":\"fold\",\"cell\":\n", "a");
    CHECK(rcn_journal_read(path, NULL, &folds, &err) == 0 && json_array_size(folds) == 4,
          "unparsable last line ignored: %s", err.msg);
    json_decref(folds);
    j = rcn_journal_open(path, "aaaa", job, 0, &done, &err);
    CHECK(j != NULL, "open cuts an unparsable last line: %s", err.msg);
    json_decref(done);
    rcn_journal_close(j);

    /* a journal of another job: refused, names both hashes and the path, unchanged */
    char *before = slurp(path, &len);
    size_t len2;
    CHECK(!rcn_journal_open(path, "bbbb", job, 0, &done, &err) && strstr(err.msg, "aaaa") &&
              strstr(err.msg, "bbbb") && strstr(err.msg, path) && strstr(err.msg, "another job"),
          "other job: %s", err.msg);
    char *after = slurp(path, &len2);
    CHECK(len == len2 && !memcmp(before, after, len), "journal of another job untouched");
    free(before);
    free(after);

    /* damage in the middle is an error naming the line */
    put(other, "", "w");
    char *good = slurp(path, &len);
    char *nl = strchr(strchr(good, '\n') + 1, '\n'); /* end of line 2 */
    FILE *o = fopen(other, "w");
    fwrite(good, 1, (size_t)(nl - good) + 1, o);
    fputs("garbage\n", o);
    fputs(nl + 1, o);
    fclose(o);
    free(good);
    CHECK(rcn_journal_read(other, NULL, &folds, &err) != 0 && strstr(err.msg, "line 3"),
          "middle damage: %s", err.msg);

    /* not a journal: refused and unchanged */
    put(other, "hello world\nsecond line\n", "w");
    CHECK(!rcn_journal_sniff(other), "sniff refuses text");
    CHECK(rcn_journal_read(other, NULL, NULL, &err) != 0 && strstr(err.msg, "not an rcn journal"),
          "read refuses text: %s", err.msg);
    CHECK(!rcn_journal_open(other, "aaaa", job, 0, &done, &err) &&
              strstr(err.msg, "not an rcn journal"), "open refuses text: %s", err.msg);
    before = slurp(other, &len);
    CHECK(len == 24 && !strcmp(before, "hello world\nsecond line\n"), "text file untouched");
    free(before);

    /* a torn header (crash while creating): started afresh */
    put(other, "{\"type\":\"header\",\"form", "w");
    j = rcn_journal_open(other, "cccc", job, 0, &done, &err);
    CHECK(j && json_array_size(done) == 0, "torn header restarted: %s", err.msg);
    json_decref(done);
    rcn_journal_close(j);
    CHECK(rcn_journal_read(other, &header, NULL, &err) == 0 &&
              !strcmp(json_string_value(json_object_get(header, "job_hash")), "cccc"),
          "fresh header after a torn one");
    json_decref(header);

    test_lock(path);

    json_decref(job);
    unlink(path);
    unlink(other);
    rmdir(dir);
    return check_exit("test_journal");
}
