/* Small helpers shared by the codec unit tests (linked into every unit-test binary): a
 * deterministic xorshift64* generator and the bit patterns of doubles. Not thread-safe. */
#ifndef UPDRAFT_TESTS_SUPPORT_TEST_BITS_H
#define UPDRAFT_TESTS_SUPPORT_TEST_BITS_H

#include <stdint.h>

uint64_t test_bits_rng(void);            /* next pseudo-random value */
void test_bits_seed(uint64_t seed);      /* restarts the sequence (non-zero seed) */
uint64_t test_bits_of(double v);         /* the IEEE bit pattern of v */
double test_bits_double(uint64_t bits);  /* the double with that bit pattern */

#endif
