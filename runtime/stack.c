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
#include <sys/syscall.h>
#include <sys/uio.h>
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

/* Fresh stacks: a miss of the cache takes the next stack of a run, one
 * mapping of several stacks made at once (their guards installed by one
 * call where the kernel allows), never touched before it is handed out:
 *
 *   run:  | g | stack | g | stack | g | stack | g | stack |
 *                           ^ next                 left = 2
 *
 * A stack of a run is freed like any other (cached, or unmapped alone,
 * which splits the run's mapping). */
#define RUNS 4      /* sizes with a run at once */
#define RUN_MAX 64  /* stacks in the longest run */

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14+ */
#endif

#ifndef PIDFD_SELF_THREAD
#define PIDFD_SELF_THREAD -10000 /* Linux 6.14+: the calling thread */
#endif

struct run {
  size_t size;   /* usable bytes of its stacks; 0: none yet */
  char *next;    /* the next fresh stack's mapping start */
  unsigned left; /* fresh stacks from next on */
  unsigned len;  /* how many stacks the last run of this size had */
  uint64_t used; /* run_clock when a stack was last taken */
};

static struct run runs[RUNS];
static uint64_t run_clock;
static int no_vector; /* process_madvise refused guards: one madvise each */

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

/* Installs the guard pages of the n stacks (span bytes apart) of the run
 * at p: one process_madvise for all where the kernel takes guards through
 * it (Linux 6.13+), else one madvise each, else (before 6.13) mprotect.
 * 0 or -errno. */
static int guard_run(char *p, size_t span, unsigned n) {
  size_t guard = gp__page_size();
  struct iovec iov[RUN_MAX];
  for (unsigned i = 0; i < n; i++)
    iov[i] = (struct iovec){p + i * span, guard};
  if (n > 1 && !no_vector) {
    if (syscall(SYS_process_madvise, PIDFD_SELF_THREAD, iov, (size_t)n,
                MADV_GUARD_INSTALL, 0) == (long)(n * guard))
      return 0;
    no_vector = 1; /* refused or partial: one call each from now on */
  }
  for (unsigned i = 0; i < n; i++)
    if (madvise(iov[i].iov_base, guard, MADV_GUARD_INSTALL) != 0 &&
        mprotect(iov[i].iov_base, guard, PROT_NONE) != 0)
      return -errno;
  return 0;
}

/* Makes the top page of each of the n stacks (span bytes apart) of the
 * run at p resident, with one process_madvise:
 * every coroutine touches that page first, and a page fault costs about
 * what a system call does, so a run of n saves n - 1 of them. Best
 * effort: where the kernel refuses, the pages fault in as before. */
static void populate_tops(char *p, size_t span, unsigned n) {
  size_t page = gp__page_size();
  int saved = errno;
  struct iovec iov[RUN_MAX];
  for (unsigned i = 0; i < n; i++)
    iov[i] = (struct iovec){p + i * span + span - page, page};
  if (n > 1 && !no_vector)
    syscall(SYS_process_madvise, PIDFD_SELF_THREAD, iov, (size_t)n,
            MADV_POPULATE_WRITE, 0);
  errno = saved;
}

/* Maps a run of n stacks of size usable bytes, each with its guard, and
 * stores its start in *p; 0 or -errno. */
static int map_run(size_t size, unsigned n, char **p) {
  size_t span = size + gp__page_size(), len = span * n;
  void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                 -1, 0);
  if (m == MAP_FAILED)
    return -errno;
  /* GPATCH_STATS reads stack use from resident pages: a huge page would
   * make one touch look like 2 MiB of use; a run of several stacks is
   * big enough to hold huge pages, which would cost RSS (MAP_STACK
   * implies this only since Linux 6.7). */
  if (GP_UNLIKELY(gp__diag & GP_DIAG_STATS) || n > 1)
    madvise(m, len, MADV_NOHUGEPAGE);
  int err = guard_run(m, span, n);
  if (err) {
    munmap(m, len);
    return err;
  }
  populate_tops(m, span, n);
  *p = m;
  return 0;
}

/* The run of fresh stacks of size, or a slot to start one in: the slot
 * whose run is used up first, else the least recently used, whose
 * remaining stacks are unmapped. */
static struct run *run_for(size_t size) {
  struct run *pick = NULL;
  for (struct run *r = runs; r < runs + RUNS; r++) {
    if (r->size == size)
      return r;
    if (pick == NULL || (pick->left && (!r->left || r->used < pick->used)))
      pick = r;
  }
  if (pick->left)
    munmap(pick->next, pick->left * (pick->size + gp__page_size()));
  *pick = (struct run){.size = size};
  return pick;
}

/* A new stack of size usable bytes with its guard, from the run of fresh
 * stacks of that size; a used-up run is followed by one twice as long
 * (up to RUN_MAX), so that a program that makes many threads maps their
 * stacks with few system calls and one that makes a few maps no more
 * than it uses. 0 or -errno. */
static int map_stack(size_t size, void **base) {
  struct run *r = run_for(size);
  if (r->left == 0) {
    unsigned n = r->len ? r->len * 2 : 1;
    if (n > RUN_MAX)
      n = RUN_MAX;
    int err = map_run(size, n, &r->next);
    if (err)
      return err;
    r->len = r->left = n;
  }
  char *p = r->next;
  size_t guard = gp__page_size();
  r->next += size + guard;
  r->left--;
  r->used = ++run_clock;
  /* Tell memcheck this is a stack, or every switch looks like an error.
   * (Registrations are never removed: a stale entry costs memcheck
   * nothing.) */
  (void)VALGRIND_STACK_REGISTER(p + guard, p + guard + size);
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
