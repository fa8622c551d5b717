/* diag.c: the runtime's side of the diagnostics.
 *
 * GPATCH_STATS counts coroutines, switches, waits by kind and the hub's
 * passes, and measures how deep each coroutine stack was used. GPATCH_
 * MAX_BLOCKING needs to know, from another thread, what runs now and
 * since when: every switch writes that record, a seqlock (the count is
 * odd while it is being written), timed with the coarse monotonic clock
 * (far cheaper to read than the precise one; its tick of a few ms is
 * plenty for limits counted in tens of ms). The rest of the runtime calls
 * in here only behind one branch on gp__diag, so all of this is free
 * while off.
 *
 * Stack use is measured honestly, from what the kernel says: the lowest
 * resident page of a stack (mincore) is as deep as it was ever touched,
 * since stacks start as untouched anonymous memory. While counting, a
 * stack is given back to the kernel (MADV_DONTNEED) when its coroutine
 * ends, so that the next coroutine to reuse it from the cache starts
 * untouched again. Pages are counted whole: the figure is a page multiple.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "coro.h"

unsigned char gp__diag;

static struct gp_stats st;              /* the counters */
static int64_t started_ns;              /* when the runtime started */

static uint64_t run_seq;                /* switches, twice: odd = writing */
static int64_t run_since;               /* when the last switch happened */
static gp_coro *run_coro;               /* what it switched to */
static int64_t long_limit = INT64_MAX;  /* a run this long is recorded */
static uint64_t long_seq;               /* the last such run: its seq */
static int64_t long_ns;                 /* and its length */

void gp__diag_enable(unsigned bits) { gp__diag |= (unsigned char)bits; }

void gp__diag_set_limit(int64_t ns) { long_limit = ns; }

int64_t gp__diag_clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Notes that to runs from now on (NULL: the hub), and the length of the
 * run that ends when it was long. */
static void note_running(gp_coro *to) {
  uint64_t s = run_seq;
  int64_t now = gp__diag_clock();
  __atomic_store_n(&run_seq, s + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  if (now - run_since >= long_limit && run_coro != NULL) {
    __atomic_store_n(&long_ns, now - run_since, __ATOMIC_RELAXED);
    __atomic_store_n(&long_seq, s, __ATOMIC_RELAXED);
  }
  __atomic_store_n(&run_since, now, __ATOMIC_RELAXED);
  __atomic_store_n(&run_coro, to, __ATOMIC_RELAXED);
  __atomic_store_n(&run_seq, s + 2, __ATOMIC_RELEASE);
}

void gp__diag_started(void) {
  started_ns = gp__now();
  st.peak_live = gp__nlive;
  if (gp__diag & GP_DIAG_MONITOR)
    note_running(gp__current);
}

/* Counts the switch, and why the coroutine left: a park of some kind
 * (gp__park_as noted it) or a yield. A park or yield that switches to
 * nothing is no wait, and is not counted. */
void gp__diag_switch(gp_coro *from, gp_coro *to) {
  st.switches++;
  if (from && from->state == GP_PARKED)
    st.parks[from->park_kind]++;
  else if (from && from->state == GP_READY)
    st.parks[GP_PARK_YIELD]++;
  if (gp__diag & GP_DIAG_MONITOR)
    note_running(to);
}

void gp__diag_loop(int64_t blocked_ns) {
  st.loop_iterations++;
  st.blocked_ns += blocked_ns;
}

void gp__diag_spawn(gp_coro *c) {
  GP_LOGL(GP_LOG_DEBUG, "coroutine #%d spawned (stack %zu KiB)",
          gp__coro_number(c), c->stack_size / 1024);
  st.created++;
  if (gp__nlive > st.peak_live)
    st.peak_live = gp__nlive;
}

/* How deep c's stack was touched: from its lowest resident page to its
 * top, in bytes (0 when the kernel cannot say). */
static size_t stack_used(gp_coro *c) {
  size_t page = gp__page_size();
  char *lo = (char *)c->stack + page;
  size_t npages = c->stack_size / page;
  unsigned char vec[512];
  for (size_t first = 0; first < npages; first += sizeof vec) {
    size_t n = npages - first;
    if (n > sizeof vec)
      n = sizeof vec;
    if (mincore(lo + first * page, n * page, vec) != 0)
      return 0;
    for (size_t i = 0; i < n; i++)
      if (vec[i] & 1)
        return (npages - first - i) * page;
  }
  return 0;
}

/* Keeps the deepest use seen, with the coroutine it came from. */
static void note_stack(gp_coro *c, struct gp_stats *s) {
  size_t used = stack_used(c);
  if (used <= s->stack_used)
    return;
  s->stack_used = used;
  s->stack_size = c->stack_size;
  s->stack_number = gp__coro_number(c);
  memcpy(s->stack_name, c->name, sizeof s->stack_name);
}

void gp__diag_stack_done(gp_coro *c) {
  GP_LOGL(GP_LOG_DEBUG, "coroutine #%d ended", gp__coro_number(c));
  if (!(gp__diag & GP_DIAG_STATS))
    return;
  note_stack(c, &st);
  /* Untouched again for the next coroutine that takes it from the cache
   * (the guard page below is not part of this range). */
  madvise((char *)c->stack + gp__page_size(), c->stack_size, MADV_DONTNEED);
}

void gp__stats_get(struct gp_stats *s) {
  *s = st;
  s->wall_ns = started_ns ? gp__now() - started_ns : 0;
  for (gp_list *l = gp__all.next; l != &gp__all; l = l->next) {
    gp_coro *c = GP_CONTAINER(l, gp_coro, all);
    if (c->stack) /* not the main one, nor one on the program's stack */
      note_stack(c, s);
  }
}

int gp__running(struct gp_running *r) {
  uint64_t s1 = __atomic_load_n(&run_seq, __ATOMIC_ACQUIRE);
  if (s1 & 1)
    return -EAGAIN;
  r->since = __atomic_load_n(&run_since, __ATOMIC_RELAXED);
  r->coro = __atomic_load_n(&run_coro, __ATOMIC_RELAXED);
  r->long_seq = __atomic_load_n(&long_seq, __ATOMIC_RELAXED);
  r->long_ns = __atomic_load_n(&long_ns, __ATOMIC_RELAXED);
  if (r->coro) {
    /* A running coroutine's record stays valid: it cannot end unseen,
     * since ending is a switch, which the second read below notices. */
    const volatile char *n = r->coro->name;
    for (size_t i = 0; i < sizeof r->name; i++)
      r->name[i] = n[i];
    r->name[sizeof r->name - 1] = '\0';
    r->number = gp__coro_number(r->coro);
    r->is_main = r->coro->is_main;
  }
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  if (__atomic_load_n(&run_seq, __ATOMIC_RELAXED) != s1)
    return -EAGAIN;
  r->seq = s1;
  return 0;
}

int gp__overflowed(uintptr_t addr, const void *uc, int *number,
                   char name[16], size_t *size) {
  gp_coro *c = gp__current;
  if (c == NULL || c->stack == NULL)
    return 0;
  uintptr_t base = (uintptr_t)c->stack, lo = base + gp__page_size();
  uintptr_t sp = uc ? gp__ctx_sp_of(uc) : 0;
  int in_guard = addr >= base && addr < lo;
  /* A frame bigger than the guard page jumps over it: the stack pointer
   * then lies below the stack (a wild one, far below, is not ours). */
  int sp_below = sp != 0 && sp < lo && sp + (1u << 20) > base;
  if (!in_guard && !sp_below)
    return 0;
  *number = gp__coro_number(c);
  memcpy(name, c->name, 16);
  name[15] = '\0';
  *size = c->stack_size;
  return 1;
}
