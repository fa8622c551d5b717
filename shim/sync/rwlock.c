/* rwlock.c: cooperative read-write locks: pthread_rwlock_rdlock, wrlock,
 * tryrdlock, trywrlock, timedrdlock, timedwrlock, clockrdlock,
 * clockwrlock and unlock. pthread_rwlock_init and destroy stay glibc's.
 *
 * The lock is the program's memory in glibc's layout (often zeroed by
 * PTHREAD_RWLOCK_INITIALIZER). A cooperative lock keeps its state in
 * glibc's own fields, in the states glibc itself uses when nobody waits,
 * so that a lock taken natively before the first thread was created (by
 * the main thread, whose id is its real tid) is released cooperatively:
 *   __readers     bit 0 write phase, bit 1 write-locked, readers << 3:
 *                 3 write-held, n << 3 held by n readers, 0 free (glibc
 *                 may leave 1, "write phase, unlocked": also free)
 *   __cur_writer  the writer's id (gp__coro_id), 0 when none
 *   __writers     coroutines queued to write (glibc counts its waiting
 *                 writers there too); 0 when nobody waits
 *   __flags       the kind, as pthread_rwlockattr_setkind_np stored it
 *   __shared      non-zero for a process-shared lock: glibc's code
 * Readers queue on &__readers and writers on &__writers in the runtime's
 * wait queues; an unlock hands the lock over (the woken coroutines find
 * it theirs), so no one wakes for nothing and nobody barges past a
 * waiter that was handed the lock.
 *
 * Preference follows glibc, since programs rely on it:
 *   PTHREAD_RWLOCK_PREFER_READER_NP (the default): a reader joins a
 *     read-held lock even while writers wait (so a thread may take its
 *     read lock recursively, as POSIX allows), which lets a steady stream
 *     of readers starve writers, as natively. A writer's unlock admits
 *     every waiting reader first, else the longest-waiting writer.
 *   PTHREAD_RWLOCK_PREFER_WRITER_NP: the same for readers; a writer's
 *     unlock hands the lock to the next writer first (glibc's writer to
 *     writer hand-over).
 *   PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP: besides, a new reader
 *     queues (tryrdlock: EBUSY) while a writer waits for the readers to
 *     leave; readers are admitted when no writer is left waiting.
 * A process-shared lock keeps glibc's code and protocol (another process
 * runs glibc's code on the same memory). But glibc knows a thread by its
 * OS tid, which every coroutine shares: its blocking forms would say
 * EDEADLK to a coroutine that waits for another, or block the OS thread.
 * So while other coroutines exist, the blocking and timed forms poll
 * glibc's try forms, parking 1 ms between tries, doubling up to 32 ms;
 * a coroutine that relocks a shared lock it holds then waits forever
 * instead of getting EDEADLK.
 *
 * Among writers the order is FIFO. Errors are glibc's: EDEADLK when the
 * writer asks again (read or write), EBUSY from the try forms, EINVAL for
 * a bad timeout or clock (checked first, even when the lock is free),
 * ETIMEDOUT, EAGAIN when the reader count would overflow. Waits are not
 * interrupted by signals.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>

#include "core/guard.h"
#include "real.h"
#include "sync/backoff.h"
#include "core/timeutil.h"

#define WRPHASE 1u       /* glibc: in a write phase */
#define WRLOCKED 2u      /* glibc: a writer holds (or, natively, waits) */
#define READER_SHIFT 3   /* glibc: readers counted from bit 3 */
#define READERS_MAX ((1u << 28) - 1) /* glibc overflows at bit 31 */

typedef struct __pthread_rwlock_arch_t rwdata;

static inline int coop_rw(pthread_rwlock_t *l) {
  return gp_coop(GP_FAM_SYNC) && gp__current != NULL &&
         l->__data.__shared == 0;
}

static int write_held(const rwdata *d) {
  return (d->__readers & WRLOCKED) != 0;
}
static unsigned nreaders(const rwdata *d) {
  return d->__readers >> READER_SHIFT;
}

static void set_writer(rwdata *d, int id) {
  d->__readers = WRPHASE | WRLOCKED;
  d->__cur_writer = id;
}

static void set_readers(rwdata *d, unsigned n) {
  d->__readers = n << READER_SHIFT;
  d->__cur_writer = 0;
}

/* Must a new reader wait? Only while a writer holds the lock, or, with
 * the non-recursive writer preference, while a writer waits for the
 * readers that hold it. */
static int reader_blocked(const rwdata *d) {
  if (write_held(d))
    return 1;
  return d->__flags == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP &&
         d->__writers > 0 && nreaders(d) > 0;
}

/* Hands a lock that no writer holds to every queued reader; returns how
 * many were admitted. */
static int admit_readers(rwdata *d) {
  int n = gp__wq_wake(&d->__readers, INT_MAX);
  if (n > 0)
    set_readers(d, nreaders(d) + (unsigned)n);
  return n;
}

/* Hands the lock to the longest-waiting writer; 0 when none is parked
 * (those whose deadline passed are skipped and leave by themselves). */
static int admit_writer(rwdata *d) {
  gp_coro *c = gp__wq_wake_one(&d->__writers);
  if (c == NULL)
    return 0;
  d->__writers--;
  set_writer(d, gp__coro_id(c));
  return 1;
}

/* Takes a read lock, parking until deadline (GP_TRY_ONLY: try only).
 * Returns 0, EDEADLK, EBUSY, EAGAIN or ETIMEDOUT. */
static int rdlock(rwdata *d, int64_t deadline) {
  if (deadline != GP_TRY_ONLY && d->__cur_writer == gp__current_id &&
      write_held(d))
    return EDEADLK; /* tryrdlock says EBUSY, as glibc */
  if (!reader_blocked(d)) {
    if (nreaders(d) >= READERS_MAX)
      return EAGAIN;
    set_readers(d, nreaders(d) + 1);
    return 0;
  }
  if (deadline == GP_TRY_ONLY)
    return EBUSY;
  gp_waiter w;
  gp__wq_add(&w, &d->__readers);
  if (gp__wq_park(&w, deadline) == -ETIMEDOUT)
    return ETIMEDOUT;
  GP_ASSERT(nreaders(d) > 0 && !write_held(d)); /* admitted by a waker */
  return 0;
}

/* A writer gave up waiting: with it gone, readers held back for writers
 * may come in. */
static void writer_left(rwdata *d) {
  d->__writers--;
  if (!write_held(d) && d->__writers == 0)
    admit_readers(d);
}

/* Takes the write lock, parking until deadline (GP_TRY_ONLY: try only).
 * Returns 0, EDEADLK, EBUSY or ETIMEDOUT. */
static int wrlock(rwdata *d, int64_t deadline) {
  if (d->__cur_writer == gp__current_id && write_held(d))
    return deadline == GP_TRY_ONLY ? EBUSY : EDEADLK;
  if (!write_held(d) && nreaders(d) == 0) {
    set_writer(d, gp__current_id);
    return 0;
  }
  if (deadline == GP_TRY_ONLY)
    return EBUSY;
  gp_waiter w;
  d->__writers++;
  gp__wq_add(&w, &d->__writers);
  if (gp__wq_park(&w, deadline) == -ETIMEDOUT) {
    writer_left(d);
    return ETIMEDOUT;
  }
  GP_ASSERT(write_held(d) && d->__cur_writer == gp__current_id);
  return 0;
}

/* Releases the caller's lock: the write lock when a writer holds it,
 * else one read lock. Unlocking a free lock does nothing (undefined in
 * POSIX; glibc returns 0 too). */
static int unlock(rwdata *d) {
  if (write_held(d)) {
    set_readers(d, 0);
    if (d->__flags == PTHREAD_RWLOCK_PREFER_READER_NP) {
      if (admit_readers(d) == 0)
        admit_writer(d);
    } else if (!admit_writer(d)) {
      admit_readers(d);
    }
    return 0;
  }
  if (nreaders(d) == 0)
    return 0;
  set_readers(d, nreaders(d) - 1);
  if (nreaders(d) == 0 && !admit_writer(d))
    admit_readers(d); /* held back for writers that all gave up */
  return 0;
}

/* The deadline of a timed lock, or a negative errno for a bad clock or
 * time (glibc checks them first). Never GP_TRY_ONLY. */
static int64_t deadline_of(clockid_t clk, const struct timespec *abs) {
  if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC)
    return -EINVAL;
  if (abs == NULL || !gp_ts_valid(abs))
    return -EINVAL;
  return gp__deadline_nonzero(gp_deadline_abs(clk, abs));
}

/* May a process-shared lock be polled instead of blocking? */
static inline int coop_shared(pthread_rwlock_t *l) {
  return l->__data.__shared != 0 && gp_coop(GP_FAM_SYNC) &&
         gp__current != NULL && gp__live() > 1;
}

static int try_read(void *l) { return GP_REAL(pthread_rwlock_tryrdlock)(l); }
static int try_write(void *l) { return GP_REAL(pthread_rwlock_trywrlock)(l); }

/* Takes a process-shared lock with glibc's try forms, parking between
 * tries until deadline (see the header comment). Returns 0, ETIMEDOUT,
 * or the try form's other errors (EAGAIN). */
static int shared_lock(pthread_rwlock_t *l, int write, int64_t deadline) {
  return gp_backoff(write ? try_write : try_read, l, deadline, 0);
}

/* The blocking and timed forms on the cooperative paths; a timed one
 * checks clk and abs first. */
static int lock_coop(pthread_rwlock_t *l, int write, int timed,
                     clockid_t clk, const struct timespec *abs) {
  gp_enter();
  int64_t deadline = timed ? deadline_of(clk, abs) : GP_NEVER;
  int r;
  if (deadline < 0)
    r = (int)-deadline;
  else if (l->__data.__shared != 0)
    r = shared_lock(l, write, deadline);
  else if (write)
    r = wrlock(&l->__data, deadline);
  else
    r = rdlock(&l->__data, deadline);
  gp_leave();
  return r;
}

GP_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l) {
  if (!coop_rw(l) && !coop_shared(l))
    return GP_REAL(pthread_rwlock_rdlock)(l);
  return lock_coop(l, 0, 0, 0, NULL);
}

GP_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l,
                                         const struct timespec *abs) {
  if (!coop_rw(l) && !coop_shared(l))
    return GP_REAL(pthread_rwlock_timedrdlock)(l, abs);
  return lock_coop(l, 0, 1, CLOCK_REALTIME, abs);
}

GP_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clk,
                                         const struct timespec *abs) {
  if (!coop_rw(l) && !coop_shared(l))
    return GP_REAL(pthread_rwlock_clockrdlock)(l, clk, abs);
  return lock_coop(l, 0, 1, clk, abs);
}

GP_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l) {
  if (!coop_rw(l) && !coop_shared(l))
    return GP_REAL(pthread_rwlock_wrlock)(l);
  return lock_coop(l, 1, 0, 0, NULL);
}

GP_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l,
                                         const struct timespec *abs) {
  if (!coop_rw(l) && !coop_shared(l))
    return GP_REAL(pthread_rwlock_timedwrlock)(l, abs);
  return lock_coop(l, 1, 1, CLOCK_REALTIME, abs);
}

GP_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clk,
                                         const struct timespec *abs) {
  if (!coop_rw(l) && !coop_shared(l))
    return GP_REAL(pthread_rwlock_clockwrlock)(l, clk, abs);
  return lock_coop(l, 1, 1, clk, abs);
}

/* The forms that never wait: the cooperative state, or glibc's. */
#define GP_RW_HOOK(real_call, coop_call)                                    \
  GP_COOP_HOOK(coop_rw(l), real_call, coop_call)

GP_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l) {
  GP_RW_HOOK(GP_REAL(pthread_rwlock_tryrdlock)(l),
             rdlock(&l->__data, GP_TRY_ONLY));
}

GP_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l) {
  GP_RW_HOOK(GP_REAL(pthread_rwlock_trywrlock)(l),
             wrlock(&l->__data, GP_TRY_ONLY));
}

GP_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l) {
  GP_RW_HOOK(GP_REAL(pthread_rwlock_unlock)(l), unlock(&l->__data));
}
