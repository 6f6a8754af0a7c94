/* test_folds.c - k-fold assignment/splits and deterministic subsets: folds
 * are disjoint, cover everything, differ in size by at most one, follow the
 * documented permutation rule, and depend on the seed alone; subsets are
 * distinct, sorted, in range and deterministic. Also: synthetic data is a
 * pure function of (seed, stream). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rcn/data.h"
#include "rcn/rng.h"

static void check_assign(int64_t n, int k, uint64_t seed)
{
    int32_t *f = malloc((size_t)n * sizeof *f);
    int64_t *size = calloc((size_t)k, sizeof *size);
    rcn_folds_assign(n, k, seed, f);
    int in_range = 1;
    for (int64_t i = 0; i < n; i++) {
        if (f[i] < 0 || f[i] >= k)
            in_range = 0;
        else
            size[f[i]]++;
    }
    CHECK(in_range, "n=%lld k=%d: fold index out of 0..k-1", (long long)n, k);
    int64_t lo = n, hi = 0, total = 0;
    for (int j = 0; j < k; j++) {
        lo = size[j] < lo ? size[j] : lo;
        hi = size[j] > hi ? size[j] : hi;
        total += size[j];
    }
    CHECK(total == n, "n=%lld k=%d: folds cover %lld items", (long long)n, k, (long long)total);
    CHECK(hi - lo <= 1, "n=%lld k=%d: fold sizes %lld..%lld differ by more than one",
          (long long)n, k, (long long)lo, (long long)hi);

    /* The documented rule: perm = shuffle of 0..n-1 by (seed, FOLDS, 0, 0);
     * item perm[j] is in fold j % k. */
    int32_t *perm = malloc((size_t)n * sizeof *perm);
    for (int64_t i = 0; i < n; i++)
        perm[i] = (int32_t)i;
    rcn_rng r;
    rcn_rng_seed(&r, seed, RCN_STREAM_FOLDS, 0, 0);
    rcn_rng_shuffle_i32(&r, perm, n);
    int rule = 1;
    for (int64_t j = 0; j < n; j++)
        if (f[perm[j]] != (int32_t)(j % k))
            rule = 0;
    CHECK(rule, "n=%lld k=%d: fold_of[perm[j]] != j %% k", (long long)n, k);

    /* Splits: for each fold, val = that fold, train = the rest, both
     * ascending and disjoint; over all folds every item is validated once. */
    int32_t *tr = malloc((size_t)n * sizeof *tr), *va = malloc((size_t)n * sizeof *va);
    int *seen = calloc((size_t)n, sizeof *seen);
    for (int fold = 0; fold < k; fold++) {
        int64_t nt = -1, nv = -1;
        rcn_folds_split(f, NULL, n, fold, tr, &nt, va, &nv);
        CHECK(nt + nv == n && nv == size[fold], "fold %d: %lld + %lld items", fold,
              (long long)nt, (long long)nv);
        int asc = 1, ok = 1;
        for (int64_t i = 1; i < nt; i++)
            asc &= tr[i - 1] < tr[i];
        for (int64_t i = 1; i < nv; i++)
            asc &= va[i - 1] < va[i];
        for (int64_t i = 0; i < nt; i++)
            ok &= f[tr[i]] != fold;
        for (int64_t i = 0; i < nv; i++) {
            ok &= f[va[i]] == fold;
            seen[va[i]]++;
        }
        CHECK(asc, "fold %d: index lists not ascending", fold);
        CHECK(ok, "fold %d: an item is on the wrong side", fold);
    }
    int once = 1;
    for (int64_t i = 0; i < n; i++)
        once &= seen[i] == 1;
    CHECK(once, "n=%lld k=%d: some item validated other than exactly once", (long long)n, k);
    free(f);
    free(size);
    free(perm);
    free(tr);
    free(va);
    free(seen);
}

static void test_folds_seed(void)
{
    enum { N = 1000 };
    static int32_t a[N], b[N], c[N];
    rcn_folds_assign(N, 5, 42, a);
    rcn_folds_assign(N, 5, 42, b);
    rcn_folds_assign(N, 5, 43, c);
    CHECK(!memcmp(a, b, sizeof a), "same seed gives different folds");
    int diff = 0;
    for (int i = 0; i < N; i++)
        diff += a[i] != c[i];
    CHECK(diff > N / 2, "seeds 42 and 43 differ in only %d of %d assignments", diff, N);
    /* Not the trivial i % k. */
    int trivial = 0;
    for (int i = 0; i < N; i++)
        trivial += a[i] == i % 5;
    CHECK(trivial < N / 2, "folds look like i %% k (%d matches)", trivial);
}

static void test_split_base(void)
{
    /* Folds over a subset: outputs are dataset indices, ascending. */
    enum { N = 500, L = 120, K = 4 };
    int32_t base[L], f[L], tr[L], va[L];
    rcn_subset(N, L, 7, base);
    rcn_folds_assign(L, K, 7, f);
    int64_t tot = 0;
    for (int fold = 0; fold < K; fold++) {
        int64_t nt, nv;
        rcn_folds_split(f, base, L, fold, tr, &nt, va, &nv);
        tot += nv;
        int ok = 1;
        for (int64_t i = 1; i < nv; i++)
            ok &= va[i - 1] < va[i];
        for (int64_t i = 1; i < nt; i++)
            ok &= tr[i - 1] < tr[i];
        for (int64_t i = 0; i < nv; i++) {
            int found = 0;
            for (int j = 0; j < L; j++)
                if (base[j] == va[i])
                    found = f[j] == fold;
            ok &= found;
        }
        CHECK(ok, "fold %d over a subset: wrong or unordered dataset indices", fold);
        CHECK(nt + nv == L, "fold %d: %lld + %lld != %d", fold, (long long)nt, (long long)nv, L);
    }
    CHECK(tot == L, "validation sets cover %lld of %d", (long long)tot, L);
}

static void check_subset(int64_t n, int64_t limit, uint64_t seed)
{
    int32_t *a = malloc((size_t)(limit ? limit : 1) * sizeof *a);
    int32_t *b = malloc((size_t)(limit ? limit : 1) * sizeof *b);
    rcn_subset(n, limit, seed, a);
    rcn_subset(n, limit, seed, b);
    CHECK(!limit || !memcmp(a, b, (size_t)limit * sizeof *a),
          "subset(%lld, %lld) not deterministic", (long long)n, (long long)limit);
    int ok = 1;
    for (int64_t i = 0; i < limit; i++) {
        ok &= a[i] >= 0 && a[i] < n;
        if (i)
            ok &= a[i - 1] < a[i]; /* sorted and distinct */
    }
    CHECK(ok, "subset(%lld, %lld): not distinct, sorted and in range", (long long)n,
          (long long)limit);
    free(a);
    free(b);
}

static void test_subset(void)
{
    check_subset(60000, 1000, 1);
    check_subset(60000, 59999, 2);
    check_subset(10, 10, 3);
    check_subset(10, 1, 3);
    check_subset(5, 0, 3);

    enum { N = 60000, L = 1000 };
    static int32_t a[L], b[L];
    rcn_subset(N, L, 1, a);
    rcn_subset(N, L, 2, b);
    CHECK(memcmp(a, b, sizeof a) != 0, "different seeds give the same subset");
    /* Spread over the whole range, not a prefix (loose bounds; deterministic). */
    double mean = 0;
    for (int i = 0; i < L; i++)
        mean += a[i];
    mean /= L;
    CHECK(mean > 0.4 * N && mean < 0.6 * N, "subset mean index %.0f of %d", mean, N);
    CHECK(a[L - 1] > N / 2 && a[0] < N / 2, "subset spans %d..%d", a[0], a[L - 1]);

    static int32_t all[100];
    rcn_subset(100, 100, 9, all);
    int ident = 1;
    for (int i = 0; i < 100; i++)
        ident &= all[i] == i;
    CHECK(ident, "limit == n must give 0..n-1");
}

static void test_synth(void)
{
    rcn_dataset a, b, c, d;
    rcn_error err = {{0}};
    CHECK(rcn_synth_dataset(300, 5, RCN_SYNTH_STREAM_TRAIN, &a, &err) == 0, "%s", err.msg);
    CHECK(rcn_synth_dataset(300, 5, RCN_SYNTH_STREAM_TRAIN, &b, &err) == 0, "%s", err.msg);
    CHECK(rcn_synth_dataset(300, 5, RCN_SYNTH_STREAM_TEST, &c, &err) == 0, "%s", err.msg);
    CHECK(rcn_synth_dataset(100, 5, RCN_SYNTH_STREAM_TRAIN, &d, &err) == 0, "%s", err.msg);
    CHECK(a.n == 300 && a.rows == 28 && a.cols == 28, "synth shape");
    CHECK(!memcmp(a.images, b.images, 300 * 784) && !memcmp(a.labels, b.labels, 300),
          "synth not deterministic");
    CHECK(memcmp(a.images, c.images, 300 * 784) != 0, "train and test streams give equal data");
    CHECK(!memcmp(a.images, d.images, 100 * 784) && !memcmp(a.labels, d.labels, 100),
          "a smaller set is not a prefix of a larger one");
    int count[10] = {0}, ok = 1;
    for (int i = 0; i < 300; i++) {
        ok &= a.labels[i] <= 9;
        if (a.labels[i] <= 9)
            count[a.labels[i]]++;
    }
    CHECK(ok, "synth label out of range");
    for (int k = 0; k < 10; k++)
        CHECK(count[k] >= 10, "class %d has only %d of 300 items", k, count[k]);
    /* Not blank, not saturated. */
    double mean = 0;
    for (int i = 0; i < 300 * 784; i++)
        mean += a.images[i];
    mean /= 300 * 784;
    CHECK(mean > 10 && mean < 120, "synth mean pixel %.1f", mean);
    rcn_dataset e;
    CHECK(rcn_synth_dataset(0, 5, 1, &e, &err) == -1 && strstr(err.msg, "1.."),
          "n = 0 must fail: %s", err.msg);
    rcn_dataset_free(&a);
    rcn_dataset_free(&b);
    rcn_dataset_free(&c);
    rcn_dataset_free(&d);
}

int main(void)
{
    check_assign(103, 5, 1);
    check_assign(60000, 10, 2);
    check_assign(7, 7, 3);
    check_assign(3, 5, 4); /* more folds than items: sizes 1,1,1,0,0 */
    check_assign(1, 3, 5);
    check_assign(50, 1, 6);
    test_folds_seed();
    test_split_base();
    test_subset();
    test_synth();
    return check_exit("test_folds");
}
