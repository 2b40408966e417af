/*
 * hash.c - seeds and bit mixing for the lookup tables (domain_table.c,
 * cidr.c). A per-table random seed keeps a peer from choosing names or
 * addresses that collide; the mixer is MurmurHash3's 64-bit finaliser.
 *
 * Thread safety: no state.
 */
#include <sys/random.h>
#include <sys/types.h>

#include "hash.h"

/* A seed from the kernel, or a fixed one if getrandom is unavailable. */
uint64_t hash_seed(const void *salt)
{
    uint64_t seed = 0;

    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
        seed = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)salt;
    return seed;
}

/* MurmurHash3's fmix64. */
uint64_t hash_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}
