/* rng.c - xoshiro256** streams keyed by (seed, kind, a, b); see rng.h. */
#include "rcn/rng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void rcn_rng_seed(rcn_rng *r, uint64_t seed, uint64_t kind, uint64_t a, uint64_t b)
{
    /* Chain the coordinates through splitmix so (1,2) and (2,1) differ. */
    uint64_t h = seed;
    uint64_t k = splitmix64(&h) ^ kind;
    k = splitmix64(&k) ^ a;
    k = splitmix64(&k) ^ b;
    uint64_t x = splitmix64(&k);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t rcn_rng_next(rcn_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float rcn_rng_uniform(rcn_rng *r)
{
    return (float)(rcn_rng_next(r) >> 40) * (1.0f / 16777216.0f);
}

uint64_t rcn_rng_below(rcn_rng *r, uint64_t n)
{
    /* Lemire's nearly divisionless method, 64-bit. */
    uint64_t x = rcn_rng_next(r);
    __uint128_t m = (__uint128_t)x * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) {
            x = rcn_rng_next(r);
            m = (__uint128_t)x * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

void rcn_rng_shuffle_i32(rcn_rng *r, int32_t *idx, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)rcn_rng_below(r, (uint64_t)i + 1);
        int32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
