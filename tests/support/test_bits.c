/* Test helpers (see test_bits.h). */
#include "tests/support/test_bits.h"

#include <string.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

uint64_t test_bits_rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

void test_bits_seed(uint64_t seed)
{
    rng_state = seed;
}

uint64_t test_bits_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

double test_bits_double(uint64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}
