/* fileio.c - opening a file to read; atomic file writes: temp file, fsync,
 * rename, fsync dir. */
#include "rcn/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rcn_open_read(const char *path, const char *kind, struct stat *st, rcn_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rcn_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, st) != 0) {
        int e = errno;
        close(fd);
        return rcn_errorf(err, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st->st_mode)) {
        close(fd);
        return rcn_errorf(err, "%s: is a directory%s%s", path, kind ? ", not a " : "",
                          kind ? kind : "");
    }
    return fd;
}

static int fsync_dir_of(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int rcn_write_atomic(const char *path, const void *data, size_t len, rcn_error *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return rcn_errorf(err, "%s: cannot create temporary file %s: %s", path, tmp,
                          strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            return rcn_errorf(err, "%s: write failed after %zu of %zu bytes: %s (previous file left intact)",
                              path, len - left, len, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return rcn_errorf(err, "%s: cannot flush to disk: %s (previous file left intact)", path,
                          strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return rcn_errorf(err, "%s: cannot rename temporary file into place: %s", path,
                          strerror(e));
    }
    fsync_dir_of(path);
    return 0;
}

int rcn_write_json_atomic(const char *path, const json_t *j, rcn_error *err)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (!s)
        return rcn_errorf(err, "%s: cannot encode JSON (out of memory or invalid value)", path);
    size_t len = strlen(s);
    char *buf = malloc(len + 2);
    if (!buf) {
        free(s);
        return rcn_errorf(err, "%s: out of memory", path);
    }
    memcpy(buf, s, len);
    buf[len] = '\n';
    free(s);
    int rc = rcn_write_atomic(path, buf, len + 1, err);
    free(buf);
    return rc;
}

int rcn_mkdir_p(const char *dir, rcn_error *err)
{
    char p[4096];
    struct stat st;
    if (strlen(dir) >= sizeof p)
        return rcn_errorf(err, "%s: path too long", dir);
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char ch = *s;
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return rcn_errorf(err, "%s: cannot create: %s", p, strerror(errno));
            *s = ch;
            if (!ch)
                break;
        }
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return rcn_errorf(err, "%s: not a directory", dir);
    return 0;
}
