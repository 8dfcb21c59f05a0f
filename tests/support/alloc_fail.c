/* Allocation failure injection (see alloc_fail.h). */
#include "tests/support/alloc_fail.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

static bool armed;
static long countdown; /* allocations left before the one that fails */
static long live;      /* allocations minus frees while armed */

#if ALLOC_FAIL_AVAILABLE
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);

/* Like glibc's, an injected failure sets errno: callers such as opendir(3) report it. */
static bool fails(void)
{
    if (armed && countdown-- == 0) {
        errno = ENOMEM;
        return true;
    }
    return false;
}

void *malloc(size_t size)
{
    void *ptr = fails() ? NULL : __libc_malloc(size);
    if (ptr != NULL && armed)
        live++;
    return ptr;
}

void *calloc(size_t count, size_t size)
{
    void *ptr = fails() ? NULL : __libc_calloc(count, size);
    if (ptr != NULL && armed)
        live++;
    return ptr;
}

void *realloc(void *ptr, size_t size)
{
    void *moved = fails() ? NULL : __libc_realloc(ptr, size);
    if (moved != NULL && ptr == NULL && armed)
        live++;
    return moved;
}

void free(void *ptr)
{
    if (ptr != NULL && armed)
        live--;
    __libc_free(ptr);
}
#endif

void alloc_fail_arm(long fail_after)
{
    countdown = fail_after;
    live = 0;
    armed = true;
}

void alloc_fail_disarm(void)
{
    armed = false;
}

long alloc_fail_live(void)
{
    return live;
}

bool alloc_fail_works(void)
{
    if (!ALLOC_FAIL_AVAILABLE)
        return false;
    void *(*volatile allocate)(size_t) = malloc;
    alloc_fail_arm(0);
    void *ptr = allocate(1);
    alloc_fail_disarm();
    free(ptr);
    return ptr == NULL;
}
