/* mutex.c: cooperative mutexes.
 *
 * The objects are the program's memory, in glibc's layout, often set by a
 * static initialiser. A cooperative mutex uses glibc's own fields:
 *   __lock   0 free, 1 held, 2 held and waiters may be queued
 *   __owner  the holder's id (a real tid for the main thread, so a mutex
 *            locked natively before the first thread was created unlocks
 *            cooperatively)
 *   __count  recursion depth of a recursive mutex (0 for other kinds)
 *   __nusers holders, counted as glibc counts them: one more when a lock
 *            is taken (not for a recursion), one less when it is released
 *            (a hand-off to a waiter included, so it is one less until the
 *            waiter runs), unchanged by a condvar wait's release and
 *            retake; glibc's pthread_mutex_destroy, which stays glibc's,
 *            answers EBUSY from it alone, so destroying a mutex unlocked
 *            with a waiter present, or one locked natively before the
 *            first thread and unlocked cooperatively, gives 0 as natively
 *   __kind   kept as glibc stores it
 * Waiters queue on the object's address in the runtime. Unlock hands the
 * mutex straight to the first waiter (FIFO, no barging).
 *
 * Process-shared mutexes (glibc also marks every robust mutex so) keep
 * the real implementation, which other processes may share: a coroutine
 * that finds one held polls glibc's trylock, parking 1 ms doubling to
 * 32 ms between tries, instead of blocking the OS thread. Their owner is
 * the OS thread's tid for every coroutine, so kept.c notes the holder
 * coroutine of the robust, recursive and error-checking ones: one held by
 * another coroutine is waited for, and a robust one whose coroutine ends
 * holding it gives EOWNERDEAD to the next.
 * Priority-inheritance and priority-protect mutexes private to the
 * process are cooperative like the others: priorities mean nothing on one
 * OS thread. A condvar wait (cond.c) releases and takes its mutex again
 * through gp_mutex_unlock_to_wait and gp_mutex_relock_after_wait.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>

#include "core/guard.h"
#include "real.h"
#include "sync/backoff.h"
#include "sync/kept.h"
#include "sync/mutex.h"
#include "core/timeutil.h"

/* May m take the cooperative path? */
/* (On the scheduler thread outside runtime code a coroutine always runs:
 * only the hub has none, and the hub runs as runtime code.) */
static inline int coop_mutex(pthread_mutex_t *m) {
  return gp_coop(GP_FAM_SYNC) && (m->__data.__kind & KIND_REAL) == 0;
}

static int self_id(void) { return gp__current_id; }

/* The words are shared with glibc's protocol, for a real thread (one a
 * library made outside pthread_create's hook, such as jemalloc's
 * background thread) that locks the same mutex: taking and releasing are
 * atomic, a real waiter marks __lock 2 and sleeps on the futex, and a
 * release that finds 2 wakes it once no coroutine takes the mutex over.
 * Coroutines never sleep on the futex: one that finds the mutex held by a
 * real thread polls it (1 ms doubling to 32 ms).
 * While glibc counts the process single-threaded (__libc_single_threaded:
 * no thread was ever made with the real pthread_create, neither by a
 * library nor by our own pool), no other thread exists to race, and the
 * words are read and written plainly, as glibc's own mutex does then. */
static inline int cas_lock(struct __pthread_mutex_s *d, int from, int to) {
  if (__libc_single_threaded) { /* as glibc: no other thread to race */
    if (d->__lock != from)
      return 0;
    d->__lock = to;
    return 1;
  }
  return __atomic_compare_exchange_n(&d->__lock, &from, to, 0,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

/* Frees d; returns what __lock held. */
static inline int xchg_free(struct __pthread_mutex_s *d) {
  if (__libc_single_threaded) {
    int old = d->__lock;
    d->__lock = 0;
    return old;
  }
  return __atomic_exchange_n(&d->__lock, 0, __ATOMIC_RELEASE);
}

/* In the functions below, user is 1 where glibc counts the holder in
 * __nusers (every lock and unlock), 0 for a condvar wait's release and
 * retake, which glibc makes without counting. */

/* The uncontended case, inline in the hooks: takes a free mutex. */
static inline int take_free(struct __pthread_mutex_s *d, int user) {
  if (!cas_lock(d, 0, 1))
    return 0;
  d->__owner = gp__current_id;
  d->__nusers += (unsigned)user;
  if ((d->__kind & KIND_TYPE) == PTHREAD_MUTEX_RECURSIVE)
    d->__count = 1;
  return 1;
}

/* The uncontended release, inline in the hooks: frees d when the running
 * coroutine holds it once and nobody is queued; 0 when unlock() must do
 * the work. */
static inline int release_free(struct __pthread_mutex_s *d, int user) {
  if (d->__lock != 1 || d->__owner != gp__current_id ||
      (d->__kind & KIND_TYPE) == PTHREAD_MUTEX_RECURSIVE)
    return 0;
  d->__owner = 0;
  d->__nusers -= (unsigned)user;
  if (cas_lock(d, 1, 0))
    return 1;
  d->__nusers += (unsigned)user; /* a waiter came meanwhile */
  d->__owner = gp__current_id;
  return 0;
}

/* Releases d, nobody to hand it to; wakes a real waiter if one slept. */
static void release(struct __pthread_mutex_s *d, int user) {
  d->__owner = 0;
  d->__count = 0;
  d->__nusers -= (unsigned)user;
  if (xchg_free(d) == 2)
    GP_REAL(syscall)(SYS_futex, &d->__lock, FUTEX_WAKE | FUTEX_PRIVATE_FLAG,
                     1, NULL, NULL, 0);
}

/* Whether the holder of d is a coroutine (a coroutine id, or the main
 * thread's tid): else a real thread, which a coroutine cannot wait for. */
static int coop_owner(int owner) {
  gp_coro *m = gp__primary();
  return owner >= GP_CORO_ID_MIN || (m && owner == gp__coro_id(m));
}

static int try_free(void *d) { return take_free(d, 1) ? 0 : EBUSY; }
static int try_free_cond(void *d) { return take_free(d, 0) ? 0 : EBUSY; }

/* Polls d held by a real thread until it is free or deadline. */
static int poll_real(struct __pthread_mutex_s *d, int64_t deadline,
                     int user) {
  return gp_backoff(user ? try_free : try_free_cond, d, deadline, 0);
}

/* Takes m for the running coroutine, parking until deadline when another
 * holds it. Returns 0, EDEADLK, EAGAIN (recursion overflow), EBUSY
 * (GP_TRY_ONLY) or ETIMEDOUT. */
static int lock(pthread_mutex_t *m, int64_t deadline, int user) {
  struct __pthread_mutex_s *d = &m->__data;
  int me = self_id();
  int type = d->__kind & KIND_TYPE;
  if (take_free(d, user))
    return 0;
  if (d->__owner == me) {
    if (type == PTHREAD_MUTEX_RECURSIVE) {
      if (d->__count + 1 == 0)
        return EAGAIN;
      d->__count++;
      return 0;
    }
    if (type == PTHREAD_MUTEX_ERRORCHECK) /* glibc's PI trylock says */
      return deadline == GP_TRY_ONLY && !(d->__kind & KIND_PI) ? EBUSY
                                                                : EDEADLK;
    /* A normal mutex relocked by its owner deadlocks, as natively. */
  }
  if (deadline == GP_TRY_ONLY)
    return EBUSY;
  for (;;) { /* mark it contended, unless it was just freed */
    if (!coop_owner(d->__owner))
      return poll_real(d, deadline, user);
    if (cas_lock(d, 1, 2) || __atomic_load_n(&d->__lock, __ATOMIC_RELAXED) == 2)
      break;
    if (take_free(d, user))
      return 0;
  }
  gp_waiter w;
  gp__wq_add(&w, m);
  gp__wait_note("pthread_mutex_lock");
  int r = gp__wq_park(&w, deadline);
  if (r == -ETIMEDOUT)
    return ETIMEDOUT;
  GP_ASSERT(d->__owner == me); /* handed over by unlock */
  d->__nusers += (unsigned)user;
  return 0;
}

static int unlock(pthread_mutex_t *m, int user) {
  struct __pthread_mutex_s *d = &m->__data;
  int type = d->__kind & KIND_TYPE;
  if (type != PTHREAD_MUTEX_NORMAL &&
      (d->__lock == 0 || d->__owner != self_id()))
    return EPERM;
  if (type == PTHREAD_MUTEX_RECURSIVE && --d->__count > 0)
    return 0;
  if (d->__lock == 0)
    return 0; /* unlocking a free normal mutex: undefined, harmless here */
  gp_coro *next = d->__lock == 2 ? gp__wq_wake_one(m) : NULL;
  if (next) { /* handed over: stays locked (and marked contended) */
    d->__nusers -= (unsigned)user;
    d->__owner = gp__coro_id(next);
    d->__count = type == PTHREAD_MUTEX_RECURSIVE;
    return 0;
  }
  release(d, user);
  return 0;
}

#define GP_MUTEX_HOOK(real_call, coop_call)                                 \
  GP_COOP_HOOK(coop_mutex(m), real_call, coop_call)

/* Is m a mutex glibc keeps (process-shared or robust), used by a
 * coroutine? */
static inline int kept(pthread_mutex_t *m) {
  return gp_coop(GP_FAM_SYNC) && (m->__data.__kind & KIND_REAL);
}

/* What glibc's lock of a kept mutex returned: one whose owner matters
 * (robust, recursive, error-checking) is noted with its coroutine
 * (kept.c). */
static int kept_took(pthread_mutex_t *m, int r) {
  if (gp_kept_noted(m))
    gp_kept_taken(m, r);
  return r;
}

/* glibc's trylock of a kept mutex, with EBUSY while another coroutine
 * holds it (glibc sees its own tid as the owner). */
static int kept_trylock(pthread_mutex_t *m) {
  if (gp_kept_noted(m) && gp_kept_other(m))
    return EBUSY;
  return kept_took(m, GP_REAL(pthread_mutex_trylock)(m));
}

/* Takes a kept mutex while other coroutines run: try, and park between
 * tries until deadline (inside the runtime). Returns what trylock returns
 * (0, EOWNERDEAD, ENOTRECOVERABLE...) or ETIMEDOUT. */
static int try_kept(void *m) { return kept_trylock(m); }

static int poll_kept(pthread_mutex_t *m, int64_t deadline) {
  int r = gp_backoff(try_kept, m, deadline, 0);
  if (r == ENOTRECOVERABLE) { /* glibc's trylock leaves the word taken */
    int tid = gp__sched_tid(); /* then; its lock and timedlock do not */
    __atomic_compare_exchange_n(&m->__data.__lock, &tid, 0, 0,
                                __ATOMIC_RELEASE, __ATOMIC_RELAXED);
  }
  return r;
}

static int shared_lock(pthread_mutex_t *m, int64_t deadline) {
  gp_enter();
  int r = poll_kept(m, deadline);
  gp_leave();
  return r;
}

/* May a kept mutex be polled rather than block the OS thread? */
static inline int poll_shared(pthread_mutex_t *m) {
  return kept(m) && gp__live() > 1;
}

static int kept_unlock(pthread_mutex_t *m) {
  if (gp_kept_noted(m) && gp_kept_other(m))
    return EPERM; /* held by another coroutine */
  int r = GP_REAL(pthread_mutex_unlock)(m);
  if (r == 0 && gp_kept_noted(m))
    gp_kept_released(m);
  return r;
}

/* The slow paths are out of line, so the fast ones need no stack frame. */
__attribute__((noinline)) static int lock_slow(pthread_mutex_t *m) {
  if (poll_shared(m))
    return shared_lock(m, GP_NEVER);
  if (kept(m)) /* the only coroutine: glibc may block */
    return kept_took(m, GP_REAL(pthread_mutex_lock)(m));
  GP_MUTEX_HOOK(GP_REAL(pthread_mutex_lock)(m), lock(m, GP_NEVER, 1));
}

__attribute__((noinline)) static int unlock_slow(pthread_mutex_t *m) {
  if (kept(m))
    return kept_unlock(m);
  GP_MUTEX_HOOK(GP_REAL(pthread_mutex_unlock)(m), unlock(m, 1));
}

GP_EXPORT int pthread_mutex_lock(pthread_mutex_t *m) {
  if (!gp_coop(GP_FAM_SYNC)) /* no scheduler yet, or runtime code */
    return GP_REAL(pthread_mutex_lock)(m);
  if (GP_LIKELY((m->__data.__kind & KIND_REAL) == 0 && take_free(&m->__data, 1)))
    return 0;
  return lock_slow(m);
}

GP_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m) {
  if (kept(m))
    return kept_trylock(m);
  GP_MUTEX_HOOK(GP_REAL(pthread_mutex_trylock)(m), lock(m, GP_TRY_ONLY, 1));
}

/* In glibc's order: a free mutex is taken, and the owner's relock
 * answered, before the time is looked at. */
static int timedlock(pthread_mutex_t *m, clockid_t clk,
                     const struct timespec *abs) {
  struct __pthread_mutex_s *d = &m->__data;
  if (take_free(d, 1))
    return 0;
  if (d->__owner == self_id() &&
      (d->__kind & KIND_TYPE) != PTHREAD_MUTEX_NORMAL)
    return lock(m, GP_PASSED, 1); /* a recursion, or EDEADLK */
  if (!gp_ts_valid(abs))
    return EINVAL;
  int64_t deadline = gp_deadline_abs(clk, abs);
  return lock(m, gp__deadline_nonzero(deadline), 1);
}

/* glibc checks the clock first, whatever the mutex. */
GP_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk,
                                      const struct timespec *abs) {
  if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC)
    return EINVAL;
  if (poll_shared(m) && gp_ts_valid(abs)) {
    int64_t deadline = gp_deadline_abs(clk, abs);
    return shared_lock(m, gp__deadline_nonzero(deadline));
  }
  if (kept(m))
    return kept_took(m, GP_REAL(pthread_mutex_clocklock)(m, clk, abs));
  GP_MUTEX_HOOK(GP_REAL(pthread_mutex_clocklock)(m, clk, abs),
                timedlock(m, clk, abs));
}

/* glibc's timedlock is its clocklock on CLOCK_REALTIME. */
GP_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m,
                                      const struct timespec *abs) {
  return pthread_mutex_clocklock(m, CLOCK_REALTIME, abs);
}

GP_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m) {
  if (!gp_coop(GP_FAM_SYNC))
    return GP_REAL(pthread_mutex_unlock)(m);
  if ((m->__data.__kind & KIND_REAL) == 0 && release_free(&m->__data, 1))
    return 0;
  return unlock_slow(m);
}

int gp_mutex_unlock_to_wait(pthread_mutex_t *m) {
  if (m->__data.__kind & KIND_REAL)
    return kept_unlock(m);
  return release_free(&m->__data, 0) ? 0 : unlock(m, 0);
}

int gp_mutex_relock_after_wait(pthread_mutex_t *m) {
  if (m->__data.__kind & KIND_REAL)
    return poll_kept(m, GP_NEVER);
  return take_free(&m->__data, 0) ? 0 : lock(m, GP_NEVER, 0);
}
