/*
 * hash.h - the pieces shared by the lookup tables' hash functions.
 */
#ifndef FORCETLS_HASH_H
#define FORCETLS_HASH_H

#include <stdint.h>

/* A per-table seed from the kernel (fixed, salted fallback without getrandom). */
uint64_t hash_seed(const void *salt);

/* Mix a 64-bit state so that its low bits are usable as a table index. */
uint64_t hash_mix(uint64_t h);

#endif
