/* sem.c: cooperative unnamed semaphores: sem_wait, sem_trywait,
 * sem_timedwait, sem_clockwait, sem_post. sem_init, sem_destroy and
 * sem_getvalue stay glibc's: the layout below is glibc's own.
 *
 * glibc (64-bit atomics) keeps a semaphore as
 *   data     value in bits 0-31, waiters in bits 32-63
 *   private  0 for a process-private one, 128 (FUTEX_SHARED) for a
 *            process-shared one (pshared, and every sem_open semaphore)
 * A process-shared semaphore keeps glibc's real code and protocol (a
 * poster in another process runs glibc's sem_post on the same word), but
 * while other coroutines exist a waiter must not block the OS thread, and
 * no futex wake from elsewhere can reach a parked coroutine: it polls
 * with glibc's sem_trywait, parking 1 ms between tries, doubling up to
 * 32 ms (shared_down). A private one
 * counts its waiting coroutines in glibc's waiter bits, and they queue on
 * the semaphore's address in the runtime's wait queues. Every change to
 * data is an atomic operation, because sem_post must stay
 * async-signal-safe (POSIX; DESIGN.md invariant 5):
 *   - posted from program code on the scheduler thread (a handler that
 *     interrupted program code included: no runtime code is running), it
 *     increments the value and, when coroutines wait, hands units to the
 *     longest-waiting ones (value and waiter count drop together, so a
 *     woken waiter owns its unit and nobody wakes for nothing);
 *   - posted anywhere else (a handler that interrupted the hub or runtime
 *     code, another OS thread) it must not touch runtime lists: it is
 *     glibc's sem_post (atomic, futex wake for real waiters), then, when
 *     coroutines wait, gp__hub_wake(). The hub then hands the posted units
 *     out (gp_sem_hub_wake, walking the list of waits).
 * A waiter registers (waiter count + 1) and checks the value in one atomic
 * step, so a post between its check and its park is never lost. Until
 * the hub hands out such a unit, a coroutine that calls sem_wait may take
 * it first (the only case where a newcomer passes a waiter).
 * A signal handler interrupts the waits as glibc 2.36 on Linux does:
 * sem_timedwait and sem_clockwait return EINTR whatever the handler's
 * flags (signal(7)); sem_wait returns EINTR only when the handler lacks
 * SA_RESTART (its futex wait has no timeout, so the kernel restarts it;
 * checked natively). A unit posted by that very handler stays in the
 * semaphore for the next call.
 */
#include <errno.h>
#include <limits.h>
#include <semaphore.h>
#include <stdint.h>

#include "core/guard.h"
#include "core/hooks.h"
#include "process/intr.h"
#include "real.h"
#include "sync/backoff.h"
#include "core/timeutil.h"

#define VALUE_MASK 0xffffffffu
#define ONE_WAITER ((uint64_t)1 << 32)
#define SHARED 128 /* glibc's `private` of a process-shared semaphore */

/* glibc's struct new_sem on 64-bit targets. */
struct gsem {
  uint64_t data;  /* value, and waiters << 32 */
  int private;    /* 0, or SHARED */
  int pad;
};

_Static_assert(sizeof(struct gsem) <= sizeof(sem_t), "sem_t layout");

/* One coroutine waiting in sem_wait; lives on its stack. */
struct semwait {
  gp_list link;     /* in waits, oldest first */
  struct gsem *sem;
};

static gp_list waits = {&waits, &waits}; /* for the hub's hand-out */

static inline struct gsem *gs(sem_t *s) { return (struct gsem *)s; }

static inline int coop_sem(struct gsem *g) {
  return gp_coop(GP_FAM_SYNC) && gp__current != NULL && g->private == 0;
}

/* Takes a unit when the value is positive; 1 when taken. */
static inline int try_down(struct gsem *g) {
  uint64_t d = __atomic_load_n(&g->data, __ATOMIC_RELAXED);
  while ((d & VALUE_MASK) > 0)
    if (__atomic_compare_exchange_n(&g->data, &d, d - 1, 1, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED))
      return 1;
  return 0;
}

/* Adds a unit. Returns 1 when coroutines wait, 0 when none does, or
 * -EOVERFLOW at SEM_VALUE_MAX. */
static inline int up(struct gsem *g) {
  uint64_t d = __atomic_load_n(&g->data, __ATOMIC_RELAXED);
  do {
    if ((d & VALUE_MASK) >= SEM_VALUE_MAX)
      return -EOVERFLOW;
  } while (!__atomic_compare_exchange_n(&g->data, &d, d + 1, 1,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED));
  return (d >> 32) != 0;
}

/* Hands units to parked waiters, longest-waiting first, while both exist.
 * On the scheduler thread, with no runtime code interrupted: a coroutine
 * or the hub. A waiter whose deadline or signal already woke it is
 * skipped; it leaves the count by itself. */
static void grant(struct gsem *g) {
  for (;;) {
    uint64_t d = __atomic_load_n(&g->data, __ATOMIC_RELAXED);
    do {
      if ((d & VALUE_MASK) == 0 || (d >> 32) == 0)
        return;
    } while (!__atomic_compare_exchange_n(&g->data, &d, d - 1 - ONE_WAITER,
                                          1, __ATOMIC_ACQ_REL,
                                          __ATOMIC_RELAXED));
    if (gp__wq_wake_one(g) == NULL) {
      __atomic_add_fetch(&g->data, 1 + ONE_WAITER, __ATOMIC_RELEASE);
      return;
    }
  }
}

/* Runs in the hub after gp__hub_wake (a wake function of the hooks
 * table, core/hooks.c): hands out units posted where the post could not
 * do it itself. */
void gp_sem_hub_wake(void) {
  for (gp_list *l = waits.next; l != &waits; l = l->next)
    grant(GP_CONTAINER(l, struct semwait, link)->sem);
}

/* Queues the running coroutine on g and parks until it is handed a unit,
 * the deadline passes or a signal handler runs. Returns 0 (the unit is
 * ours), ETIMEDOUT, EINTR, ECANCELED (a pthread_cancel, which then acts
 * at gp_leave, or a kill of the C API), or EAGAIN when a unit showed up
 * while queueing (try again). */
static int wait_unit(struct gsem *g, int64_t deadline) {
  gp_waiter w;
  struct semwait rec = {.sem = g};
  int r = -EAGAIN;
  gp__wq_add(&w, g);
  gp__list_push(&waits, &rec.link);
  uint64_t d = __atomic_add_fetch(&g->data, ONE_WAITER, __ATOMIC_ACQ_REL);
  if ((d & VALUE_MASK) == 0) {
    struct gp_intr in;
    /* glibc 2.36: sem_wait restarts after an SA_RESTART handler (futex
     * wait without a timeout), sem_timedwait returns EINTR either way. */
    gp_intr_begin(&in, deadline != GP_NEVER);
    r = 0;
    while (gp__list_linked(&w.link) && r != -ETIMEDOUT && r != -EINTR &&
           !gp_stopped(r))
      r = gp__park_intr_sync(deadline);
    gp_intr_end(&in);
    if (gp_stopped(r))
      r = gp_stopped(r);
  }
  gp__list_del(&rec.link);
  if (!gp__list_linked(&w.link))
    return 0; /* a poster unlinked us: handed a unit */
  gp__list_del(&w.link);
  __atomic_sub_fetch(&g->data, ONE_WAITER, __ATOMIC_RELEASE);
  return -r;
}

/* Takes a unit, waiting until deadline (a cancellation point). Returns 0,
 * ETIMEDOUT, EINTR or ECANCELED; leaves errno alone. */
static int down(struct gsem *g, int64_t deadline) {
  gp_enter();
  gp_cancel_point();
  int saved = errno, r = 0;
  while (!try_down(g)) {
    r = wait_unit(g, deadline);
    if (r != EAGAIN)
      break;
    r = 0;
  }
  errno = saved;
  gp_leave();
  return r;
}

/* May a wait on a process-shared semaphore poll instead of blocking? */
static inline int coop_shared(struct gsem *g) {
  return g->private != 0 && gp_coop(GP_FAM_SYNC) && gp__current != NULL &&
         gp__live() > 1;
}

/* glibc's sem_trywait, EBUSY for any failure (it sets errno). */
static int try_shared(void *s) {
  return GP_REAL(sem_trywait)(s) == 0 ? 0 : EBUSY;
}

/* Takes a unit of a process-shared semaphore with glibc's sem_trywait,
 * parking between tries until deadline (see the header comment). Returns
 * 0, ETIMEDOUT or EINTR; leaves errno alone. */
static int shared_down(sem_t *s, int64_t deadline) {
  gp_enter();
  gp_cancel_point();
  int saved = errno;
  struct gp_intr in;
  gp_intr_begin(&in, deadline != GP_NEVER);
  int r = gp_backoff(try_shared, s, deadline, 1);
  gp_intr_end(&in);
  errno = saved;
  gp_leave();
  return r;
}

static int fail(int err) {
  errno = err;
  return -1;
}

GP_EXPORT int sem_wait(sem_t *s) {
  struct gsem *g = gs(s);
  if (coop_shared(g)) {
    int r = shared_down(s, GP_NEVER);
    return r ? fail(r) : 0;
  }
  if (!coop_sem(g))
    return GP_REAL(sem_wait)(s);
  if (GP_LIKELY(gp__nstop == 0) && try_down(g))
    return 0; /* else a pending cancel acts first, as in glibc */
  int r = down(g, GP_NEVER);
  return r ? fail(r) : 0;
}

GP_EXPORT int sem_trywait(sem_t *s) {
  struct gsem *g = gs(s);
  if (!coop_sem(g))
    return GP_REAL(sem_trywait)(s);
  return try_down(g) ? 0 : fail(EAGAIN);
}

/* sem_clockwait and sem_timedwait: glibc checks the clock and the time
 * first, then takes a free unit whatever the time. */
static int timed(sem_t *s, clockid_t clk, const struct timespec *abs) {
  struct gsem *g = gs(s);
  if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC)
    return fail(EINVAL);
  if (abs == NULL || !gp_ts_valid(abs))
    return fail(EINVAL);
  if (g->private == 0 && gp__nstop == 0 && try_down(g))
    return 0;
  int64_t deadline = gp__deadline_nonzero(gp_deadline_abs(clk, abs));
  int r = g->private ? shared_down(s, deadline) : down(g, deadline);
  return r ? fail(r) : 0;
}

GP_EXPORT int sem_timedwait(sem_t *s, const struct timespec *abs) {
  struct gsem *g = gs(s);
  if (!coop_sem(g) && !coop_shared(g))
    return GP_REAL(sem_timedwait)(s, abs);
  return timed(s, CLOCK_REALTIME, abs);
}

GP_EXPORT int sem_clockwait(sem_t *s, clockid_t clk,
                            const struct timespec *abs) {
  struct gsem *g = gs(s);
  if (!coop_sem(g) && !coop_shared(g))
    return GP_REAL(sem_clockwait)(s, clk, abs);
  return timed(s, clk, abs);
}

/* Async-signal-safe in every branch (see the header comment). */
GP_EXPORT int sem_post(sem_t *s) {
  struct gsem *g = gs(s);
  if (g->private != 0)
    return GP_REAL(sem_post)(s);
  if (!coop_sem(g)) {
    int r = GP_REAL(sem_post)(s);
    if (r == 0 && (__atomic_load_n(&g->data, __ATOMIC_ACQUIRE) >> 32) != 0)
      gp__hub_wake();
    return r;
  }
  int r = up(g);
  if (r < 0)
    return fail(-r);
  if (r > 0) {
    gp_enter();
    grant(g);
    gp_leave();
  }
  return 0;
}
