/* barrier.c: cooperative pthread_barrier_wait. pthread_barrier_init and
 * pthread_barrier_destroy stay glibc's: the state below is kept in
 * glibc's own layout.
 *
 * glibc's struct pthread_barrier is
 *   in             threads arrived (glibc: ever, until a reset)
 *   current_round  glibc: where the current round starts
 *   count          the count given to init
 *   shared         0, or 128 (FUTEX_SHARED) for a process-shared one
 *   out            glibc: threads that have left
 * A process-shared barrier keeps glibc's code. A private one counts the
 * arrivals of the current round in `in` (and in `out`, so that glibc's
 * destroy, which waits until out reaches in, never waits) and the rounds
 * in current_round. Waiters queue on the barrier's address; the last
 * arrival of a round gets PTHREAD_BARRIER_SERIAL_THREAD, resets the count
 * and wakes the others (0), all before any of them runs, so an early
 * thread of the next round never mixes with this one. A barrier wait is
 * not interrupted by signals, as in glibc.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>

#include "core/guard.h"
#include "real.h"

/* glibc's struct pthread_barrier (nptl/pthreadP.h). */
struct gbarrier {
  unsigned in;
  unsigned current_round;
  unsigned count;
  int shared;
  unsigned out;
};

_Static_assert(sizeof(struct gbarrier) <= sizeof(pthread_barrier_t),
               "pthread_barrier_t layout");

static int barrier_wait(struct gbarrier *b) {
  if (b->count <= 1)
    return PTHREAD_BARRIER_SERIAL_THREAD;
  /* glibc may have left a multiple of count behind (rounds it ran before
   * the runtime started): only the remainder is this round's. */
  unsigned arrived = b->in % b->count + 1;
  if (arrived < b->count) {
    b->in = b->out = arrived;
    gp_waiter w;
    gp__wq_add(&w, b);
    gp__wq_park(&w, GP_NEVER);
    return 0;
  }
  b->in = b->out = 0;
  b->current_round++;
  gp__wq_wake(b, INT_MAX);
  return PTHREAD_BARRIER_SERIAL_THREAD;
}

GP_EXPORT int pthread_barrier_wait(pthread_barrier_t *bar) {
  struct gbarrier *b = (struct gbarrier *)bar;
  if (!gp_coop(GP_FAM_SYNC) || gp__current == NULL || b->shared != 0)
    return GP_REAL(pthread_barrier_wait)(bar);
  gp_enter();
  int r = barrier_wait(b);
  gp_leave();
  return r;
}
