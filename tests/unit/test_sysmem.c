/* test_sysmem.c - memory bounds: rcn_mem_available (physical memory,
 * RCN_MEM_LIMIT with suffixes), rcn_net_estimate_bytes against what
 * rcn_net_create really allocates, and refusals with the estimate
 * (rcn_net_create over the limit, arch with too many blocks, batch over
 * RCN_MAX_BATCH). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "rcn/net.h"
#include "rcn/sysmem.h"

static void test_available(void)
{
    char what[160];
    unsetenv("RCN_MEM_LIMIT");
    uint64_t phys = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGE_SIZE);
    uint64_t a = rcn_mem_available(what, sizeof what);
    CHECK(a > 0 && a <= phys, "available %llu, physical %llu", (unsigned long long)a,
          (unsigned long long)phys);
    setenv("RCN_MEM_LIMIT", "64K", 1);
    CHECK(rcn_mem_available(what, sizeof what) == 65536, "64K");
    CHECK(!strcmp(what, "RCN_MEM_LIMIT"), "named limit '%s'", what);
    setenv("RCN_MEM_LIMIT", "3G", 1);
    CHECK(rcn_mem_available(NULL, 0) == (3ull << 30) || (3ull << 30) > phys, "3G");
    setenv("RCN_MEM_LIMIT", "12345", 1);
    CHECK(rcn_mem_available(NULL, 0) == 12345, "plain bytes");
    setenv("RCN_MEM_LIMIT", "lots", 1); /* unparsable: ignored */
    CHECK(rcn_mem_available(NULL, 0) == a, "unparsable limit ignored");
    unsetenv("RCN_MEM_LIMIT");
    char b[32];
    CHECK(!strcmp(rcn_mem_str(512, b, sizeof b), "512 bytes"), "%s", b);
    CHECK(!strcmp(rcn_mem_str(10u << 20, b, sizeof b), "10.0 MiB"), "%s", b);
    CHECK(!strcmp(rcn_mem_str(3ull << 40, b, sizeof b), "3.00 TiB"), "%s", b);
}

static void test_estimate(void)
{
    const char *presets[] = {"rcn8", "rcn14", "resnet18"};
    const int batches[] = {1, 7, 64};
    rcn_error err;
    for (int p = 0; p < 3; p++) {
        rcn_arch a;
        CHECK(rcn_arch_preset(presets[p], &a, &err) == 0, "%s", err.msg);
        for (int b = 0; b < 3; b++) {
            size_t est = 0;
            CHECK(rcn_net_estimate_bytes(&a, batches[b], &est, &err) == 0, "%s", err.msg);
            rcn_net *net = rcn_net_create(&a, batches[b], &err);
            CHECK(net != NULL, "%s b%d: %s", presets[p], batches[b], err.msg);
            if (net)
                CHECK(est == rcn_net_bytes(net), "%s b%d: estimate %zu, allocated %zu",
                      presets[p], batches[b], est, rcn_net_bytes(net));
            rcn_net_destroy(net);
        }
    }
    rcn_arch a;
    rcn_arch_preset("rcn8", &a, &err);
    size_t est;
    CHECK(rcn_net_estimate_bytes(&a, RCN_MAX_BATCH + 1, &est, &err) != 0 &&
              strstr(err.msg, "batch size must be in 1..10000000"),
          "batch over the maximum: %s", err.msg);
    CHECK(rcn_net_estimate_bytes(&a, RCN_MAX_BATCH, &est, &err) == 0 && est > (1ull << 40),
          "rcn8 at the largest batch is estimated (%zu bytes), not allocated", est);
    /* rcn_net_create refuses over the limit, with the estimate */
    setenv("RCN_MEM_LIMIT", "1M", 1);
    rcn_net *net = rcn_net_create(&a, 64, &err);
    CHECK(net == NULL && strstr(err.msg, "the network needs") &&
              strstr(err.msg, "for batch 64, more than the 1.00 MiB of memory available "
                              "(RCN_MEM_LIMIT)"),
          "refusal: %s", err.msg);
    rcn_net_destroy(net);
    unsetenv("RCN_MEM_LIMIT");
    net = rcn_net_create(&a, RCN_MAX_BATCH, &err);
    CHECK(net == NULL && strstr(err.msg, "more than the"), "huge batch refused: %s", err.msg);
    rcn_net_destroy(net);
    /* too many blocks: an arch error, not a failure deep in rcn_net_create */
    a.n_stages = 3;
    for (int i = 0; i < 3; i++)
        a.stage_c[i] = 8, a.stage_blocks[i] = 64;
    CHECK(rcn_arch_validate(&a, &err) != 0 &&
              strstr(err.msg, "stages: 192 residual blocks in all (up to stages[2]), more than "
                              "the 128"),
          "blocks: %s", err.msg);
    a.stage_blocks[2] = 0;
    CHECK(rcn_arch_validate(&a, &err) != 0 && strstr(err.msg, "stages[2].blocks must be"),
          "blocks 0: %s", err.msg);
    a.n_stages = 2;
    CHECK(rcn_arch_validate(&a, &err) == 0, "128 blocks are allowed: %s", err.msg);
}

int main(void)
{
    test_available();
    test_estimate();
    return check_exit("test_sysmem");
}
