/* stack.c: coroutine stacks with a guard page below them.
 *
 *   high  +----------------------+ base + guard + size
 *         |  stack (grows down)  |   MAP_NORESERVE: pages cost RSS only
 *         |                      |   once touched
 *         +----------------------+ base + guard
 *         |  guard page          |   a touch raises SIGSEGV
 *   low   +----------------------+ base
 *
 * The guard is installed with MADV_GUARD_INSTALL where the kernel has it
 * (Linux 6.13+): it does not split the mapping, so each stack costs one
 * entry of vm.max_map_count instead of two. Older kernels answer EINVAL
 * and get an mprotect'ed page. Freed stacks of the default size are kept
 * in a small cache so that spawn needs no system call.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "coro.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h> /* no-op instructions outside valgrind */
#else
#define VALGRIND_STACK_REGISTER(lo, hi) 0
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define CACHE_MAX 1024

static void *cache[CACHE_MAX];
static size_t cache_len;
static size_t cache_size; /* size of the cached stacks */

size_t gp__page_size(void) {
  static size_t page;
  if (page == 0)
    page = (size_t)sysconf(_SC_PAGESIZE);
  return page;
}

/* Maps a stack of size usable bytes (a page multiple) plus its guard;
 * stores the mapping's start in *base. */
int gp__stack_alloc(size_t size, void **base) {
  size_t guard = gp__page_size();
  if (cache_size == 0)
    cache_size = gp__default_stack();
  if (size == cache_size && cache_len > 0) {
    *base = cache[--cache_len];
    return 0;
  }
  void *p = mmap(NULL, size + guard, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                 -1, 0);
  if (p == MAP_FAILED)
    return -errno;
  /* GPATCH_STATS reads stack use from resident pages: a huge page would
   * make one touch look like 2 MiB of use (MAP_STACK implies this only
   * since Linux 6.7). */
  if (GP_UNLIKELY(gp__diag & GP_DIAG_STATS))
    madvise(p, size + guard, MADV_NOHUGEPAGE);
  if (madvise(p, guard, MADV_GUARD_INSTALL) != 0 &&
      mprotect(p, guard, PROT_NONE) != 0) {
    int err = -errno;
    munmap(p, size + guard);
    return err;
  }
  /* Tell memcheck this is a stack, or every switch looks like an error.
   * (Registrations are never removed: a stack is unmapped only when the
   * cache is full, and a stale entry costs memcheck nothing.) */
  (void)VALGRIND_STACK_REGISTER((char *)p + guard, (char *)p + guard + size);
  *base = p;
  return 0;
}

void gp__stack_free(void *base, size_t size) {
  if (cache_size == 0)
    cache_size = gp__default_stack();
  if (size == cache_size && cache_len < CACHE_MAX) {
    cache[cache_len++] = base;
    return;
  }
  munmap(base, size + gp__page_size());
}
