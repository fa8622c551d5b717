/* cond.c: cooperative condition variables.
 *
 * A private condvar is cooperative whatever its mutex (one glibc keeps is
 * released and taken again through glibc, see mutex.c); process-shared
 * condvars keep the real implementation. Coroutines queue on the
 * condvar's address in the runtime; real threads (a library's own) wait
 * in glibc's way, and a signal with no coroutine waiting goes to them.
 */
#include <errno.h>
#include <pthread.h>

#include "core/guard.h"
#include "real.h"
#include "sync/mutex.h"
#include "core/timeutil.h"

#define COND_SHARED 1u        /* __wrefs bit 0: process-shared */
#define COND_MONOTONIC 2u     /* __wrefs bit 1: CLOCK_MONOTONIC */

/* May c take the cooperative path? (Its mutex may be one glibc keeps:
 * it is then released and taken again through glibc.) As for mutexes, a
 * coroutine always runs where gp_coop holds, so gp__current is not tested
 * again: that would be a load and a branch on every hand-off. */
static inline __attribute__((always_inline)) int coop_cond(pthread_cond_t *c) {
  return gp_coop(GP_FAM_SYNC) && (c->__data.__wrefs & COND_SHARED) == 0;
}

/* Waits on c: queue first, then release m, so no signal sent after the
 * release can be missed; relock m before returning. No spurious
 * wake-ups: only signal, broadcast or the deadline end the wait. */
static int cond_wait(pthread_cond_t *c, pthread_mutex_t *m, int64_t deadline) {
  gp_waiter w;
  gp__wq_add(&w, c);
  int r = gp_mutex_unlock_to_wait(m);
  if (r) {
    gp__wq_park(&w, GP_PASSED); /* just leaves the queue */
    return r;
  }
  gp__wait_note("pthread_cond_wait");
  /* A cancellation point: a pthread_cancel ends the wait (a kill of the C
   * API does not: it parks again), and acts once the mutex is held
   * again, as POSIX wants for the cleanup handlers. */
  for (;;) {
    r = gp__wq_park_intr(&w, deadline);
    if (r != -ECANCELED && r != GP_EXPIRED)
      break;
    gp_cancel_note();
    if (gp__cancel_now)
      break;
    gp__wq_add(&w, c); /* a kill or Timeout of the C API: wait on */
    if (gp__wq_park(&w, deadline) == -ETIMEDOUT)
      r = -ETIMEDOUT;
    break;
  }
  int lr = gp_mutex_relock_after_wait(m);
  if (lr)
    return lr; /* EOWNERDEAD too: held, but inconsistent */
  return r == -ETIMEDOUT ? ETIMEDOUT : 0;
}

GP_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m) {
  if (!coop_cond(c))
    return GP_REAL(pthread_cond_wait)(c, m);
  gp_enter();
  int r = cond_wait(c, m, GP_NEVER);
  gp_leave();
  return r;
}

GP_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                     const struct timespec *abs) {
  if (!coop_cond(c))
    return GP_REAL(pthread_cond_timedwait)(c, m, abs);
  if (!gp_ts_valid(abs))
    return EINVAL;
  clockid_t clk = (c->__data.__wrefs & COND_MONOTONIC) ? CLOCK_MONOTONIC
                                                       : CLOCK_REALTIME;
  gp_enter();
  int64_t deadline = gp_deadline_abs(clk, abs);
  int r = cond_wait(c, m, gp__deadline_nonzero(deadline));
  gp_leave();
  return r;
}

GP_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m,
                                     clockid_t clk,
                                     const struct timespec *abs) {
  if (!coop_cond(c))
    return GP_REAL(pthread_cond_clockwait)(c, m, clk, abs);
  if (!gp_ts_valid(abs) ||
      (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC))
    return EINVAL;
  gp_enter();
  int64_t deadline = gp_deadline_abs(clk, abs);
  int r = cond_wait(c, m, gp__deadline_nonzero(deadline));
  gp_leave();
  return r;
}

/* Real threads (see lock) wait in glibc's own way, counted in __wrefs
 * from bit 3: a signal with none of ours waiting goes to them. */
static int real_waiters(pthread_cond_t *c) {
  return (__atomic_load_n(&c->__data.__wrefs, __ATOMIC_RELAXED) >> 3) != 0;
}

GP_EXPORT int pthread_cond_signal(pthread_cond_t *c) {
  if (!coop_cond(c))
    return GP_REAL(pthread_cond_signal)(c);
  gp_enter();
  gp_coro *woken = gp__wq_wake_one(c);
  gp_leave();
  if (woken == NULL && real_waiters(c))
    return GP_REAL(pthread_cond_signal)(c);
  return 0;
}

GP_EXPORT int pthread_cond_broadcast(pthread_cond_t *c) {
  if (!coop_cond(c))
    return GP_REAL(pthread_cond_broadcast)(c);
  gp_enter();
  gp__wq_wake(c, 0x7fffffff);
  gp_leave();
  if (real_waiters(c))
    return GP_REAL(pthread_cond_broadcast)(c);
  return 0;
}
