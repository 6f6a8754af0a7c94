/* folds.c - deterministic training subsets and k-fold splits (see data.h).
 * All randomness comes from rcn_rng streams keyed by (seed, SUBSET|FOLDS, 0, 0),
 * so the same seed gives the same split on every rank, every run. */
#include "rcn/data.h"

#include "rcn/rng.h"

void rcn_subset(int64_t n, int64_t limit, uint64_t seed, int32_t *idx)
{
    if (n <= 0 || limit <= 0)
        return;
    if (limit >= n) {
        for (int64_t i = 0; i < n; i++)
            idx[i] = (int32_t)i;
        return;
    }
    /* Selection sampling (Knuth's Algorithm S): item i is taken with
     * probability (still needed) / (still left). Every limit-subset is
     * equally likely, the output comes out sorted, and no extra memory. */
    rcn_rng r;
    rcn_rng_seed(&r, seed, RCN_STREAM_SUBSET, 0, 0);
    int64_t taken = 0;
    for (int64_t i = 0; i < n && taken < limit; i++) {
        if ((int64_t)rcn_rng_below(&r, (uint64_t)(n - i)) < limit - taken)
            idx[taken++] = (int32_t)i;
    }
}

void rcn_folds_assign(int64_t n, int k, uint64_t seed, int32_t *fold_of)
{
    if (n <= 0)
        return;
    if (k < 1)
        k = 1;
    /* perm = shuffled 0..n-1, built in fold_of itself ... */
    for (int64_t i = 0; i < n; i++)
        fold_of[i] = (int32_t)i;
    rcn_rng r;
    rcn_rng_seed(&r, seed, RCN_STREAM_FOLDS, 0, 0);
    rcn_rng_shuffle_i32(&r, fold_of, n);
    /* ... then inverted in place (cycle by cycle, done entries marked by ~),
     * so fold_of[perm[j]] = j; item perm[j] then goes to fold j % k. */
    int32_t *p = fold_of;
    for (int64_t i = 0; i < n; i++) {
        if (p[i] < 0)
            continue;
        int32_t start = (int32_t)i, cur = start, next = p[i];
        while (next != start) {
            int32_t after = p[next];
            p[next] = ~cur;
            cur = next;
            next = after;
        }
        p[start] = ~cur;
    }
    for (int64_t i = 0; i < n; i++)
        p[i] = (~p[i]) % k;
}

void rcn_folds_split(const int32_t *fold_of, const int32_t *base, int64_t n, int fold,
                     int32_t *train_idx, int64_t *n_train, int32_t *val_idx, int64_t *n_val)
{
    int64_t nt = 0, nv = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t id = base ? base[i] : (int32_t)i;
        if (fold_of[i] == fold)
            val_idx[nv++] = id;
        else
            train_idx[nt++] = id;
    }
    *n_train = nt;
    *n_val = nv;
}
