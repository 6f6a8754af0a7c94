/* gnuplot.c - finding and running gnuplot as a child process: fork, chdir
 * into the plot folder, exec `gnuplot SCRIPT` with stdout/stderr captured in
 * gnuplot.log there, wait, and turn a failure into an rcn_error quoting the
 * log's first lines. */
#include "rcn/view.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The program to run: `name` with a '/' as is, else searched on PATH. */
static int find_program(const char *name, char *out, size_t n)
{
    if (strchr(name, '/')) {
        snprintf(out, n, "%s", name);
        return access(name, X_OK) == 0 ? 0 : -1;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        struct stat st;
        snprintf(out, n, "%.*s%s%s", (int)len, path, len ? "/" : "", name);
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return 0;
        path += len + (colon ? 1 : 0);
    }
    return -1;
}

int rcn_view_run_gnuplot(const char *gnuplot, const char *dir, const char *script,
                         rcn_error *err)
{
    char prog[4096], log[4200];
    const char *name = gnuplot;
    if (!name || !*name)
        name = getenv("RCN_GNUPLOT");
    int from_env = !(gnuplot && *gnuplot) && name && *name;
    if (!name || !*name)
        name = "gnuplot";
    if (find_program(name, prog, sizeof prog))
        return rcn_errorf(err,
                          "gnuplot not found (%s%s%s): install it (Debian: apt-get install "
                          "gnuplot-nox) or set RCN_GNUPLOT to the program; the data (.dat) and "
                          "scripts (.gp) are in %s: run `gnuplot %s` there to draw them",
                          from_env ? "RCN_GNUPLOT=" : "'", name,
                          from_env ? " is not an executable program" : "' is not on PATH", dir,
                          script);
    snprintf(log, sizeof log, "%s/gnuplot.log", dir);
    pid_t pid = fork();
    if (pid < 0)
        return rcn_errorf(err, "cannot start %s: fork: %s", prog, strerror(errno));
    if (pid == 0) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 0);
            close(fd);
        }
        fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (chdir(dir) != 0)
            _exit(126);
        execl(prog, "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return rcn_errorf(err, "waiting for %s: %s", prog, strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    /* Quote the start of the log: gnuplot names the script line at fault. */
    char head[600] = "";
    FILE *f = fopen(log, "r");
    if (f) {
        size_t n = fread(head, 1, sizeof head - 1, f);
        head[n] = 0;
        fclose(f);
        for (char *p = head; *p; p++)
            if (*p == '\n' && p[1])
                *p = ' ';
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !head[0])
        return rcn_errorf(err, "cannot run %s", prog);
    if (WIFSIGNALED(status))
        return rcn_errorf(err, "%s %s/%s was killed by signal %d (log: %s)", prog, dir, script,
                          WTERMSIG(status), log);
    return rcn_errorf(err, "%s %s failed in %s (exit %d): %.400s (log: %s)", prog, script, dir,
                      WEXITSTATUS(status), head[0] ? head : "no output", log);
}
