/* backoff.h: polling an object glibc keeps (process-shared or robust
 * mutexes, process-shared rwlocks and semaphores) while other coroutines
 * run: the real try form, then a nap (gp__nap: 1 ms doubling to 32 ms),
 * then the try again. glibc's blocking forms would block the OS thread,
 * and no futex wake from another process can reach a parked coroutine. */
#ifndef GP_BACKOFF_H
#define GP_BACKOFF_H

#include <errno.h>

#include "rt.h"

/* Calls try(arg) until it answers something else than EBUSY, napping
 * between tries until deadline (inside the runtime). Returns try's last
 * answer, ETIMEDOUT once the deadline passed, or, when intr, EINTR once a
 * signal ended a nap (the caller marked the wait with gp_intr_begin). Any
 * other end of a nap (a poke) just leads to the next try. */
static inline int gp_backoff(int (*try)(void *), void *arg, int64_t deadline,
                             int intr) {
  int64_t nap = GP_NAP_MIN;
  int r;
  while ((r = try(arg)) == EBUSY) {
    int w = gp__nap(&nap, deadline);
    if (w == -ETIMEDOUT)
      return ETIMEDOUT;
    if (intr && w == -EINTR)
      return EINTR;
  }
  return r;
}

#endif
