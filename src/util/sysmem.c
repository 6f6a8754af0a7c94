/* sysmem.c - the memory this process may use (see include/rcn/sysmem.h):
 * physical memory, resource limits, the cgroup v2 limit, $RCN_MEM_LIMIT. */
#include "rcn/sysmem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Parses "123", "64K", "2G" (powers of 1024); 0 when unparsable. */
static uint64_t parse_bytes(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return 0;
    int shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: break;
    }
    if (*end && strcmp(end, "\n"))
        return 0;
    if (v > (UINT64_MAX >> shift))
        return UINT64_MAX;
    return (uint64_t)v << shift;
}

/* memory.max of this process's cgroup (v2 unified hierarchy), or 0. */
static uint64_t cgroup_limit(void)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f)
        return 0;
    char line[4096], path[4200] = "";
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "0::", 3)) {
            line[strcspn(line, "\n")] = 0;
            snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", line + 3);
            break;
        }
    }
    fclose(f);
    if (!path[0] || !(f = fopen(path, "r")))
        return 0;
    uint64_t v = 0;
    if (fgets(line, sizeof line, f) && strncmp(line, "max", 3))
        v = parse_bytes(line);
    fclose(f);
    return v;
}

static void take(uint64_t v, const char *name, uint64_t *best, char *what, size_t cap)
{
    if (v > 0 && v < *best) {
        *best = v;
        if (what && cap)
            snprintf(what, cap, "%s", name);
    }
}

uint64_t rcn_mem_available(char *what, size_t cap)
{
    uint64_t best = UINT64_MAX;
    if (what && cap)
        snprintf(what, cap, "no limit known");
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page > 0)
        take((uint64_t)pages * (uint64_t)page, "physical memory", &best, what, cap);
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        take((uint64_t)rl.rlim_cur, "RLIMIT_AS, ulimit -v", &best, what, cap);
    if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        take((uint64_t)rl.rlim_cur, "RLIMIT_DATA, ulimit -d", &best, what, cap);
    take(cgroup_limit(), "the cgroup's memory.max", &best, what, cap);
    const char *env = getenv("RCN_MEM_LIMIT");
    if (env && *env)
        take(parse_bytes(env), "RCN_MEM_LIMIT", &best, what, cap);
    return best;
}

const char *rcn_mem_str(uint64_t bytes, char *buf, size_t cap)
{
    static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) {
        snprintf(buf, cap, "%llu bytes", (unsigned long long)bytes);
        return buf;
    }
    double v = (double)bytes / 1024.0;
    int u = 0;
    while (v >= 1024.0 && u < 5)
        v /= 1024.0, u++;
    snprintf(buf, cap, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, unit[u]);
    return buf;
}
