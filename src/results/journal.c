/* journal.c - the append-only, fsync'ed journal of finished folds and the
 * lock that keeps it to one search (see include/rcn/journal.h and the
 * format in include/rcn/report.h). */
#include "rcn/journal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rcn/clock.h"

#define HEADER_PREFIX "{\"type\":\"header\""
#define LINE_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))

struct rcn_journal {
    int fd;
    char path[4096];
    json_t *rungs; /* the rung lines read when opened, then appended */
};

static int read_all(const char *path, char **out, size_t *len, rcn_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rcn_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return rcn_errorf(err, "%s: not a regular file", path);
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return rcn_errorf(err, "%s: out of memory for %zu bytes", path, cap);
    }
    for (;;) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(fd);
                return rcn_errorf(err, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return rcn_errorf(err, "%s: read failed: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

static int check_header(const json_t *h, const char *path, rcn_error *err)
{
    const char *type = json_string_value(json_object_get(h, "type"));
    const char *format = json_string_value(json_object_get(h, "format"));
    if (!json_is_object(h) || !type || strcmp(type, "header") || !format ||
        strcmp(format, "rcn-journal"))
        return rcn_errorf(err, "%s: line 1: not an rcn journal (expected a header "
                          "{\"type\": \"header\", \"format\": \"rcn-journal\", ...})", path);
    if (!json_is_string(json_object_get(h, "job_hash")))
        return rcn_errorf(err, "%s: line 1: header: job_hash: expected a string", path);
    if (!json_is_object(json_object_get(h, "job")))
        return rcn_errorf(err, "%s: line 1: header: job: expected an object", path);
    return 0;
}

/* Parses the journal text. *good_len: bytes up to the end of the last
 * line kept (what survives a truncation). Returns 0 with *header NULL when
 * the file holds no complete header (empty, or a torn first line). */
static int scan(const char *path, const char *buf, size_t len, json_t **header, json_t **folds,
                json_t *rungs, size_t *good_len, rcn_error *err)
{
    *header = NULL;
    *folds = json_array();
    *good_len = 0;
    size_t pos = 0;
    int line = 0;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        if (!nl) /* torn last line: no newline */
            break;
        size_t end = (size_t)(nl - buf);
        line++;
        json_error_t jerr;
        json_t *obj = json_loadb(buf + pos, end - pos, 0, &jerr);
        int last = end + 1 >= len;
        if (!obj) {
            if (last) /* an unparsable last line is a torn write */
                break;
            json_decref(*folds);
            json_decref(*header);
            if (line == 1)
                return rcn_errorf(err, "%s: not an rcn journal (line 1: invalid JSON at column "
                                  "%d: %s)", path, jerr.column, jerr.text);
            return rcn_errorf(err, "%s: line %d: invalid JSON (column %d: %s): the journal is "
                              "damaged in the middle", path, line, jerr.column, jerr.text);
        }
        if (line == 1) {
            if (check_header(obj, path, err)) {
                json_decref(obj);
                json_decref(*folds);
                return -1;
            }
            *header = obj;
        } else {
            const char *type = json_string_value(json_object_get(obj, "type"));
            if (type && !strcmp(type, "fold")) {
                if (!json_is_integer(json_object_get(obj, "cell")) ||
                    !json_is_integer(json_object_get(obj, "fold"))) {
                    json_decref(obj);
                    json_decref(*folds);
                    json_decref(*header);
                    return rcn_errorf(err, "%s: line %d: fold line without integer "
                                      "\"cell\" and \"fold\"", path, line);
                }
                json_object_del(obj, "type");
                json_array_append(*folds, obj);
            } else if (type && !strcmp(type, "rung") && rungs) {
                json_object_del(obj, "type");
                json_array_append(rungs, obj);
            }
            json_decref(obj);
        }
        pos = end + 1;
        *good_len = pos;
    }
    return 0;
}

int rcn_journal_read(const char *path, json_t **header, json_t **folds, rcn_error *err)
{
    char *buf;
    size_t len, good;
    json_t *h, *f;
    if (read_all(path, &buf, &len, err))
        return -1;
    int rc = scan(path, buf, len, &h, &f, NULL, &good, err);
    free(buf);
    if (rc)
        return -1;
    if (!h) {
        json_decref(f);
        return rcn_errorf(err, "%s: not an rcn journal (%s)", path,
                          len ? "no complete header line" : "empty file");
    }
    if (header)
        *header = h;
    else
        json_decref(h);
    if (folds)
        *folds = f;
    else
        json_decref(f);
    return 0;
}

int rcn_journal_sniff(const char *path)
{
    char buf[sizeof HEADER_PREFIX];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return n == sizeof buf - 1 && !memcmp(buf, HEADER_PREFIX, n);
}

static void fsync_dir_of(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    int fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* One write() of the whole line, then fsync; on a short write the file is
 * cut back to where it was so no torn line is left behind. */
static int write_line(int fd, const char *path, const json_t *obj, rcn_error *err)
{
    char *s = json_dumps(obj, LINE_FLAGS);
    if (!s)
        return rcn_errorf(err, "%s: cannot encode a journal line (non-finite number?)", path);
    size_t len = strlen(s);
    s[len] = '\n'; /* json_dumps' terminator becomes the newline */
    off_t before = lseek(fd, 0, SEEK_END);
    ssize_t w;
    do
        w = write(fd, s, len + 1);
    while (w < 0 && errno == EINTR);
    int e = errno;
    free(s);
    if (w != (ssize_t)(len + 1)) {
        if (before >= 0 && ftruncate(fd, before) != 0) { /* best effort */ }
        return rcn_errorf(err, "%s: cannot append a journal line: %s", path,
                          w < 0 ? strerror(e) : "short write");
    }
    if (fsync(fd) != 0)
        return rcn_errorf(err, "%s: cannot flush a journal line to disk: %s", path,
                          strerror(errno));
    return 0;
}

static rcn_journal *create(const char *path, const char *job_hash, const json_t *job,
                           int truncate, rcn_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : O_EXCL),
                  0644);
    if (fd < 0) {
        rcn_errorf(err, "%s: cannot create the journal: %s", path, strerror(errno));
        return NULL;
    }
    char created[32];
    rcn_iso_time(created, sizeof created);
    json_t *h = json_pack("{s:s, s:s, s:s, s:O, s:s}", "type", "header", "format", "rcn-journal",
                          "job_hash", job_hash, "job", job, "created", created);
    int rc = h ? write_line(fd, path, h, err) : rcn_errorf(err, "%s: out of memory", path);
    json_decref(h);
    if (rc) {
        close(fd);
        unlink(path);
        return NULL;
    }
    fsync_dir_of(path);
    rcn_journal *j = calloc(1, sizeof *j);
    if (!j) {
        close(fd);
        rcn_errorf(err, "%s: out of memory", path);
        return NULL;
    }
    j->fd = fd;
    j->rungs = json_array();
    snprintf(j->path, sizeof j->path, "%s", path);
    return j;
}

rcn_journal *rcn_journal_open(const char *path, const char *job_hash, const json_t *job,
                              int must_exist, json_t **folds, rcn_error *err)
{
    if (folds)
        *folds = NULL;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT) {
            rcn_errorf(err, "%s: %s", path, strerror(errno));
            return NULL;
        }
        if (must_exist) {
            rcn_errorf(err, "%s: no journal to resume from (--resume needs one)", path);
            return NULL;
        }
        rcn_journal *j = create(path, job_hash, job, 0, err);
        if (j && folds)
            *folds = json_array();
        return j;
    }

    char *buf;
    size_t len, good;
    json_t *header, *done, *rungs = json_array();
    if (read_all(path, &buf, &len, err)) {
        json_decref(rungs);
        return NULL;
    }
    int torn_header = len == 0 || (!memchr(buf, '\n', len) &&
                                   !strncmp(buf, HEADER_PREFIX, len < strlen(HEADER_PREFIX)
                                                                    ? len : strlen(HEADER_PREFIX)));
    int rc = scan(path, buf, len, &header, &done, rungs, &good, err);
    free(buf);
    if (rc) {
        json_decref(rungs);
        return NULL;
    }
    if (!header) {
        json_decref(done);
        json_decref(rungs);
        if (!torn_header) {
            rcn_errorf(err, "%s: exists but is not an rcn journal; nothing was changed "
                       "(remove it or choose another --out)", path);
            return NULL;
        }
        /* crashed while writing the header: nothing was journaled yet */
        rcn_journal *j = create(path, job_hash, job, 1, err);
        if (j && folds)
            *folds = json_array();
        return j;
    }
    const char *theirs = json_string_value(json_object_get(header, "job_hash"));
    if (strcmp(theirs, job_hash)) {
        rcn_errorf(err, "%s: journal of another job (journal job_hash %s, this job %s); nothing "
                   "was changed: remove the journal or choose another --out", path, theirs,
                   job_hash);
        json_decref(header);
        json_decref(done);
        json_decref(rungs);
        return NULL;
    }
    json_decref(header);

    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        rcn_errorf(err, "%s: cannot open the journal for appending: %s", path, strerror(errno));
        json_decref(done);
        json_decref(rungs);
        return NULL;
    }
    if (good < len && (ftruncate(fd, (off_t)good) != 0 || fsync(fd) != 0)) {
        rcn_errorf(err, "%s: cannot cut off the torn last line: %s", path, strerror(errno));
        close(fd);
        json_decref(done);
        json_decref(rungs);
        return NULL;
    }
    rcn_journal *j = calloc(1, sizeof *j);
    if (!j) {
        close(fd);
        json_decref(done);
        json_decref(rungs);
        rcn_errorf(err, "%s: out of memory", path);
        return NULL;
    }
    j->fd = fd;
    j->rungs = rungs;
    snprintf(j->path, sizeof j->path, "%s", path);
    if (folds)
        *folds = done;
    else
        json_decref(done);
    return j;
}

static int append_typed(rcn_journal *j, const char *type, const json_t *obj, rcn_error *err)
{
    json_t *line = json_object();
    if (!line || json_object_set_new(line, "type", json_string(type)) ||
        json_object_update(line, (json_t *)obj)) {
        json_decref(line);
        return rcn_errorf(err, "%s: out of memory", j->path);
    }
    int rc = write_line(j->fd, j->path, line, err);
    json_decref(line);
    return rc;
}

int rcn_journal_append(rcn_journal *j, const json_t *fold, rcn_error *err)
{
    return append_typed(j, "fold", fold, err);
}

int rcn_journal_append_rung(rcn_journal *j, const json_t *rung, rcn_error *err)
{
    if (append_typed(j, "rung", rung, err))
        return -1;
    json_array_append(j->rungs, (json_t *)rung);
    return 0;
}

const json_t *rcn_journal_rungs(const rcn_journal *j)
{
    return j->rungs;
}

void rcn_journal_close(rcn_journal *j)
{
    if (!j)
        return;
    close(j->fd);
    json_decref(j->rungs);
    free(j);
}

/* ---- the lock ---------------------------------------------------------- */

#define LOCK_SUFFIX ".lock"
#define LOCK_TRIES 100      /* lock files replaced under us before giving up */
#define HOLDER_WAITS 20     /* 50 ms waits for a new holder to write its line */

struct rcn_journal_lock {
    int fd;
    char path[4096 + sizeof LOCK_SUFFIX];
};

/* A whole-file write lock without waiting: F_OFD_SETLK where the kernel has
 * it (the lock belongs to this open file, so no other descriptor of the
 * process can drop it), else the classic per-process F_SETLK. 0 or -1 with
 * errno (EAGAIN or EACCES: held elsewhere). */
static int lock_whole(int fd)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
#ifdef F_OFD_SETLK
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
        return 0;
    if (errno != EINVAL)
        return -1;
#endif
    return fcntl(fd, F_SETLK, &fl);
}

/* The holder line of the lock file at `path` into buf (one line, printable
 * bytes only); "" if none was written within HOLDER_WAITS waits. */
static void read_holder(const char *path, char *buf, size_t cap)
{
    assert(cap > 1);
    buf[0] = 0;
    for (int i = 0; i < HOLDER_WAITS && !buf[0]; i++) {
        if (i) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, cap - 1);
        close(fd);
        buf[n > 0 ? n : 0] = 0;
        buf[strcspn(buf, "\n")] = 0;
        for (char *p = buf; *p; p++)
            if ((unsigned char)*p < 32 || (unsigned char)*p > 126)
                *p = '?';
    }
}

static int write_holder(rcn_journal_lock *l, rcn_error *err)
{
    char host[256] = "?", since[32], line[512];
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "?");
    rcn_iso_time(since, sizeof since);
    int n = snprintf(line, sizeof line, "pid %ld on host %s since %s\n", (long)getpid(), host,
                     since);
    assert(n > 0 && (size_t)n < sizeof line);
    if (ftruncate(l->fd, 0) != 0 || pwrite(l->fd, line, (size_t)n, 0) != n || fsync(l->fd) != 0)
        return rcn_errorf(err, "%s: cannot write the lock's holder: %s", l->path,
                          strerror(errno));
    return 0;
}

/* Locks the file now at l->path. 1: taken (l->fd set); 0: the file was
 * replaced between open and lock (a holder removed it on release), try
 * again; -1: error (held by another process, or no lock possible). */
static int lock_once(rcn_journal_lock *l, const char *journal, rcn_error *err)
{
    int fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return rcn_errorf(err, "%s: cannot open its lock file %s: %s", journal, l->path,
                          strerror(errno));
    if (lock_whole(fd) != 0) {
        int e = errno;
        close(fd);
        if (e != EAGAIN && e != EACCES)
            return rcn_errorf(err, "%s: cannot lock %s: %s (the file system must support POSIX "
                              "record locks)", journal, l->path, strerror(e));
        char holder[256];
        read_holder(l->path, holder, sizeof holder);
        return rcn_errorf(err, "%s is in use by %s (one search per journal)", journal,
                          holder[0] ? holder : "another search that has not yet named itself");
    }
    struct stat held, now;
    if (fstat(fd, &held) != 0 || stat(l->path, &now) != 0 || held.st_dev != now.st_dev ||
        held.st_ino != now.st_ino) {
        close(fd);
        return 0;
    }
    l->fd = fd;
    return 1;
}

rcn_journal_lock *rcn_journal_lock_take(const char *journal, rcn_error *err)
{
    rcn_journal_lock *l = calloc(1, sizeof *l);
    if (!l) {
        rcn_errorf(err, "%s: out of memory", journal);
        return NULL;
    }
    l->fd = -1;
    if ((size_t)snprintf(l->path, sizeof l->path, "%s" LOCK_SUFFIX, journal) >= sizeof l->path) {
        free(l);
        rcn_errorf(err, "%s: path too long for its lock file", journal);
        return NULL;
    }
    int rc = 0;
    for (int i = 0; i < LOCK_TRIES && rc == 0; i++)
        rc = lock_once(l, journal, err);
    if (rc == 0)
        rcn_errorf(err, "%s: its lock file %s was replaced %d times while being locked", journal,
                   l->path, LOCK_TRIES);
    if (rc == 1 && write_holder(l, err) == 0)
        return l;
    rcn_journal_lock_release(l);
    return NULL;
}

void rcn_journal_lock_release(rcn_journal_lock *l)
{
    if (!l)
        return;
    if (l->fd >= 0) {
        /* removed while held: whoever opened this file meanwhile finds it
         * unlinked after locking it and opens the new one (lock_once) */
        unlink(l->path);
        close(l->fd);
    }
    free(l);
}
