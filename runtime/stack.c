/* stack.c: coroutine stacks with a guard page below them, and a cache of
 * freed stacks of every size.
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
 * and get an mprotect'ed page.
 *
 * The cache. A freed stack is kept, guard and all, for the next spawn of
 * the same usable size, so that spawn needs no system call whatever stack
 * size the program sets (pthread_attr_setstacksize: MariaDB's
 * thread_stack, Python's threading.stack_size). A size class is one exact
 * size (sizes are page multiples already): a mapping is handed out again
 * only at the size it was made for, so its guard lies exactly below the
 * usable region without a system call, and no address space is lost to
 * rounding. Programs set one stack size or a few, so CLASSES slots are
 * plenty; the slots are scanned in order, the first size freed in slot
 * 0, and a scan stops at the first slot never used. A size that finds
 * neither its class nor a slot whose class has emptied is unmapped as
 * before the cache existed.
 *
 *   cls[0] 256 KiB  free: [a] <-> [c]      newest last: spawn takes [c]
 *   cls[1]  64 KiB  free: [b] <-> [d]
 *   cls[2]   1 MiB  free: (empty: the slot may take another size)
 *   lru:   [a] <-> [b] <-> [c] <-> [d]     oldest first: evicted first
 *
 *   [x] is a node written at the top of the freed stack itself, in the
 *   page every coroutine touched first, so the cache allocates nothing
 *   and its bookkeeping costs no RSS:
 *
 *         +----------------------+ base + guard + size
 *         | node: class link,    |
 *         | lru link, class      |
 *         +----------------------+
 *         | what the coroutine   |   left as it was: resident pages stay
 *         | left there           |   resident (see RSS below)
 *         +----------------------+
 *         | guard page           |   stays installed
 *         +----------------------+ base
 *
 * The bound is on the bytes mapped (guards included), not on the count,
 * so that big stacks cannot keep gigabytes: by default 1024 stacks of the
 * default size, what the cache kept before it took every size, so the
 * default case is unchanged. At the default 256 KiB that is 260 MiB of
 * address space (MAP_NORESERVE: no commit charge), room for 3915 stacks
 * of 64 KiB or 258 of 1 MiB. Each cached stack holds one entry of
 * vm.max_map_count (two without MADV_GUARD_INSTALL), as it did while its
 * coroutine ran. When a free passes the bound, the least recently freed
 * stacks of any class are unmapped until it holds; a stack bigger than
 * the bound alone is never kept.
 *
 * A new mapping that fails (ENOMEM: RLIMIT_AS, vm.max_map_count) empties
 * the cache and is tried once more, so the address space and map entries
 * that ended threads left in it serve the size asked. (Without this, 253
 * ended threads of the default size kept every later 1 MiB stack from
 * being mapped under a low RLIMIT_AS, where natively, glibc's cache being
 * bounded at 40 MiB, 39 could be made: tests/progs/fault_stack.c.)
 *
 * RSS: a cached stack keeps the pages its coroutine touched, as the
 * default-size cache always did. Giving them back (MADV_DONTNEED or
 * MADV_FREE) would cost a system call on every exit and page faults on
 * every reuse, which is most of what the cache saves. The resident memory
 * kept is at most the bound and in practice the depth the program's
 * threads used. (With GPATCH_STATS on, diag.c gives each stack back
 * before it is freed, to measure the next user's depth.)
 *
 * Threads: stacks are freed only on the thread that runs the scheduler
 * (after a switch in gp__sched_resumed, or by a join or detach, which a
 * coroutine makes from the scheduler), so the cache takes no lock.
 */
#include <errno.h>
#include <stdint.h>
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

#define CLASSES 16         /* distinct sizes cached at once */
#define BOUND_STACKS 1024  /* the default bound, in default-size stacks */

typedef struct sclass {
  size_t size;  /* usable bytes of its stacks; 0: never used */
  gp_list free; /* its cached stacks (nodes), the newest last */
} sclass;

/* Written at the top of a cached stack. */
typedef struct node {
  gp_list link; /* in its class's free list */
  gp_list lru;  /* in cache.lru */
  sclass *cls;  /* its class */
} node;

static struct {
  sclass cls[CLASSES];
  gp_list lru;   /* every cached stack, the least recently freed first */
  size_t bytes;  /* mapped bytes (guards included) of the cached stacks */
  size_t bound;  /* the bound on bytes; 0: the default */
  struct gp_stack_stats st;
} cache = {.lru = {&cache.lru, &cache.lru}};

size_t gp__page_size(void) {
  static size_t page;
  if (page == 0)
    page = (size_t)sysconf(_SC_PAGESIZE);
  return page;
}

static size_t bound(void) {
  if (cache.bound)
    return cache.bound;
  return BOUND_STACKS * (gp__default_stack() + gp__page_size());
}

static node *top_node(void *base, size_t size) {
  return (node *)((char *)base + gp__page_size() + size) - 1;
}

static void *node_base(node *n) {
  return (char *)(n + 1) - n->cls->size - gp__page_size();
}

/* The class of size, or NULL. */
static sclass *find(size_t size) {
  for (sclass *k = cache.cls; k < cache.cls + CLASSES && k->size; k++)
    if (k->size == size)
      return k;
  return NULL;
}

/* The class of size, else an unused or emptied slot made its class, else
 * NULL (every slot holds stacks of other sizes). Slots are taken lowest
 * first, so the used ones come before the unused ones (size 0). */
static sclass *claim(size_t size) {
  sclass *spare = NULL;
  for (sclass *k = cache.cls; k < cache.cls + CLASSES; k++) {
    if (k->size == size)
      return k;
    if (spare == NULL && (k->size == 0 || gp__list_empty(&k->free)))
      spare = k;
    if (k->size == 0)
      break;
  }
  if (spare) {
    spare->size = size;
    gp__list_init(&spare->free);
  }
  return spare;
}

/* Unmaps the least recently freed cached stack. */
static void evict_oldest(void) {
  node *n = GP_CONTAINER(gp__list_pop(&cache.lru), node, lru);
  size_t size = n->cls->size;
  void *base = node_base(n);
  gp__list_del(&n->link);
  cache.bytes -= size + gp__page_size();
  cache.st.stacks--;
  cache.st.evictions++;
  munmap(base, size + gp__page_size());
}

/* Maps a new stack of size usable bytes with its guard; 0 or -errno. */
static int map_stack(size_t size, void **base) {
  size_t guard = gp__page_size();
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
   * (Registrations are never removed: a stale entry costs memcheck
   * nothing.) */
  (void)VALGRIND_STACK_REGISTER((char *)p + guard, (char *)p + guard + size);
  cache.st.maps++;
  *base = p;
  return 0;
}

/* Gives a stack of size usable bytes (a page multiple) with its guard
 * page: the newest cached one of that size, else a new mapping. When the
 * mapping fails for want of address space or map entries (RLIMIT_AS,
 * vm.max_map_count), the cache gives back every stack it holds (of other
 * sizes: none of this one is left) and the mapping is tried once more, so
 * that stacks freed by threads that ended count for the next size asked,
 * as they do natively. Stores the mapping's start in *base. Returns 0 or
 * -errno (mmap's). */
int gp__stack_alloc(size_t size, void **base) {
  GP_ASSERT(size > 0 && (size & (gp__page_size() - 1)) == 0);
  sclass *k = find(size);
  if (k == NULL || gp__list_empty(&k->free)) {
    int err = map_stack(size, base);
    if (err == -ENOMEM && !gp__list_empty(&cache.lru)) {
      while (!gp__list_empty(&cache.lru))
        evict_oldest();
      err = map_stack(size, base);
    }
    return err;
  }
  node *n = GP_CONTAINER(k->free.prev, node, link);
  gp__list_del(&n->link);
  gp__list_del(&n->lru);
  cache.bytes -= size + gp__page_size();
  cache.st.stacks--;
  cache.st.hits++;
  *base = node_base(n);
  return 0;
}

/* Takes back a stack from gp__stack_alloc (size as given there): cached
 * in its class, the oldest cached ones unmapped while the bytes kept pass
 * the bound; unmapped at once when it has no class or alone passes the
 * bound. */
void gp__stack_free(void *base, size_t size) {
  size_t span = size + gp__page_size(), max = bound();
  sclass *k = span <= max ? claim(size) : NULL;
  if (k == NULL) {
    munmap(base, span);
    return;
  }
  node *n = top_node(base, size);
  n->cls = k;
  gp__list_push(&k->free, &n->link);
  gp__list_push(&cache.lru, &n->lru);
  cache.bytes += span;
  cache.st.stacks++;
  while (cache.bytes > max)
    evict_oldest(); /* never n: it alone fits */
}

void gp__stack_cache_bound(size_t bytes) {
  cache.bound = bytes;
  while (cache.bytes > bound())
    evict_oldest();
}

void gp__stack_stats(struct gp_stack_stats *s) {
  *s = cache.st;
  s->bytes = cache.bytes;
  s->bound = bound();
}
