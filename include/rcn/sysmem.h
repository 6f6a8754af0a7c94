/* sysmem.h - how much memory this process may use, for refusing up front
 * (with an estimate) work that cannot fit, instead of failing an allocation
 * halfway or being killed by the kernel's OOM killer after an overcommitted
 * allocation "succeeded". */
#ifndef RCN_SYSMEM_H
#define RCN_SYSMEM_H

#include <stddef.h>
#include <stdint.h>

/* The smallest of: physical memory, RLIMIT_AS, RLIMIT_DATA, the cgroup v2
 * memory.max of this process (Slurm and containers limit jobs this way),
 * and $RCN_MEM_LIMIT (bytes; optional suffix K, M, G, T) when set. `what`
 * (may be NULL) receives which limit that is, e.g. "physical memory" or
 * "RLIMIT_AS"; cap is its size. Never 0: UINT64_MAX when nothing is known. */
uint64_t rcn_mem_available(char *what, size_t cap);

/* "5733.1 GiB", "12.5 MiB", "800 KiB", "512 bytes" into buf; returns buf. */
const char *rcn_mem_str(uint64_t bytes, char *buf, size_t cap);

#endif
