/* Allocation failure injection for unit tests (linked into every unit-test binary): without
 * ASan (which owns malloc) malloc, calloc, realloc and free are replaced by forwarders to
 * glibc's, so a test can make the n-th allocation fail and check that nothing stays live.
 * Under ASan the functions exist but injection is off (ALLOC_FAIL_AVAILABLE is 0). Not
 * thread-safe while armed: arm it only in single-threaded tests. */
#ifndef UPDRAFT_TESTS_SUPPORT_ALLOC_FAIL_H
#define UPDRAFT_TESTS_SUPPORT_ALLOC_FAIL_H

#include <stdbool.h>

#if defined(__SANITIZE_ADDRESS__)
#define ALLOC_FAIL_AVAILABLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang's spelling */
#define ALLOC_FAIL_AVAILABLE 0
#endif
#endif
#ifndef ALLOC_FAIL_AVAILABLE
#define ALLOC_FAIL_AVAILABLE 1
#endif

/* From now on, allocation number fail_after (0 = the next one) fails; later ones succeed.
 * Also starts counting live allocations from zero. */
void alloc_fail_arm(long fail_after);
/* Stops failing and counting. */
void alloc_fail_disarm(void);
/* Allocations minus frees since alloc_fail_arm. */
long alloc_fail_live(void);
/* False when injection cannot work here (ASan, or valgrind replacing malloc): skip then. */
bool alloc_fail_works(void);

#endif
