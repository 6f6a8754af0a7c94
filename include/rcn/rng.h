/* rng.h - the one random generator family of rcn.
 *
 * Every random stream is named by what it is for (init, shuffle, dropout,
 * folds, subset) and derived from (seed, stream kind, a, b) only: never from
 * rank, time or order of arrival. The generator is xoshiro256** seeded
 * through splitmix64 of a hash of the four coordinates, so streams with any
 * differing coordinate are independent for all practical purposes. */
#ifndef RCN_RNG_H
#define RCN_RNG_H

#include <stdint.h>
#include <stddef.h>

typedef enum {
    RCN_STREAM_INIT = 1,    /* weight init: a = fold (or -1 for refit/test), b = 0 */
    RCN_STREAM_SHUFFLE = 2, /* epoch order: a = fold, b = epoch */
    RCN_STREAM_DROPOUT = 3, /* dropout masks: a = fold, b = epoch << 32 | batch */
    RCN_STREAM_FOLDS = 4,   /* fold assignment of the training set: a = b = 0 */
    RCN_STREAM_SUBSET = 5,  /* deterministic training subset: a = b = 0 */
    RCN_STREAM_TEST = 99    /* free for tests */
} rcn_stream_kind;

typedef struct {
    uint64_t s[4];
} rcn_rng;

void rcn_rng_seed(rcn_rng *r, uint64_t seed, uint64_t kind, uint64_t a, uint64_t b);
uint64_t rcn_rng_next(rcn_rng *r);
/* Uniform in [0, 1) with 24 random bits (exact in float). */
float rcn_rng_uniform(rcn_rng *r);
/* Uniform integer in [0, n), unbiased (Lemire). n > 0. */
uint64_t rcn_rng_below(rcn_rng *r, uint64_t n);
/* Fisher-Yates shuffle of idx[0..n). */
void rcn_rng_shuffle_i32(rcn_rng *r, int32_t *idx, int64_t n);

#endif
