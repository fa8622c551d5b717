/* wq.c: wait queues keyed by address, the runtime's futex.
 *
 * A coroutine that waits on an address (a mutex, a condvar, ...) puts a
 * record from its own stack into one of a fixed number of hash buckets;
 * wakers walk the bucket in FIFO order. Nothing is allocated, so any
 * object in the program's memory can be waited on without registering it.
 *
 * A record stays queued after its owner was woken by its deadline, until
 * the owner runs again and removes it; wakers skip such records, so a
 * wake-up is never spent on a coroutine that already gave up.
 */
#include <errno.h>

#include "coro.h"

#define BUCKETS 1024

static gp_list buckets[BUCKETS];

static gp_list *bucket(const void *addr) {
  uintptr_t a = (uintptr_t)addr;
  a ^= a >> 17;
  a *= 0x9e3779b97f4a7c15u;
  return &buckets[(a >> 32) % BUCKETS];
}

void gp__wq_add(gp_waiter *w, const void *addr) {
  w->addr = addr;
  w->coro = gp__current;
  gp__current->w_obj = addr;
  gp__list_push(bucket(addr), &w->link);
}

/* At start, and in a forked child, where the queued records lay on the
 * stacks of coroutines that did not survive. */
void gp__wq_init(void) {
  for (int i = 0; i < BUCKETS; i++)
    gp__list_init(&buckets[i]);
}

/* Parks after gp__wq_add until woken, or until its deadline (with intr,
 * a kill or Timeout too); other wake codes are not a wake-up. */
static int wq_park(gp_waiter *w, int64_t deadline, int intr) {
  int r = 0;
  /* A waker unlinks the record before unparking, so a linked record
   * means nobody has woken us yet. */
  while (gp__list_linked(&w->link)) {
    r = intr ? gp__park_intr_as(deadline, GP_PARK_SYNC)
             : gp__park_as(deadline, GP_PARK_SYNC);
    if (r == -ETIMEDOUT || (intr && (r == -ECANCELED || r == GP_EXPIRED)))
      break;
  }
  if (gp__list_linked(&w->link))
    gp__list_del(&w->link);
  else
    r = 0; /* woken, even if the deadline passed meanwhile */
  w->coro->w_obj = NULL;
  return r;
}

int gp__wq_park(gp_waiter *w, int64_t deadline) {
  return wq_park(w, deadline, 0);
}

int gp__wq_park_intr(gp_waiter *w, int64_t deadline) {
  return wq_park(w, deadline, 1);
}

/* A waiter poked to run a signal handler (gp__poke) is ready, its
 * record still queued: woken now, it has the record taken and goes on
 * as woken once it runs (wq_park sees it unlinked). Skipping it lost the
 * wake-up: a pthread_kill then a cond_signal or unlock before the target
 * ran left it parked for ever (knotd's thread stop). */
gp_coro *gp__wq_wake_one(const void *addr) {
  gp_list *b = bucket(addr);
  for (gp_list *l = b->next; l != b;) {
    gp_waiter *w = GP_CONTAINER(l, gp_waiter, link);
    gp_coro *c = w->coro;
    l = l->next;
    if (w->addr != addr)
      continue;
    if (c->state == GP_PARKED) {
      gp__list_del(&w->link);
      gp__unpark(c, 0);
      return c;
    }
    if (c->state == GP_READY && c->wake == GP_POKED) {
      gp__list_del(&w->link);
      return c;
    }
  }
  return NULL;
}

int gp__wq_wake(const void *addr, int n) {
  int woken = 0;
  while (woken < n && gp__wq_wake_one(addr) != NULL)
    woken++;
  return woken;
}
