/* futex.c: syscall(SYS_futex, ...) waits and wakes of coroutines.
 *
 * libstdc++ waits with syscall(SYS_futex) directly, which would block the
 * whole OS thread: std::atomic<T>::wait/notify, std::latch, std::barrier
 * and std::counting_semaphore with FUTEX_PRIVATE_FLAG, std::future and
 * std::promise (FUTEX_WAIT, FUTEX_WAIT_BITSET with FUTEX_CLOCK_REALTIME)
 * without it. A coroutine's FUTEX_WAIT (and FUTEX_WAIT_BITSET with every
 * bit) parks on the address in the runtime's wait queues instead;
 * FUTEX_WAKE wakes those coroutines, then real waiters (threads outside
 * the scheduler, other processes) through the real call.
 *
 * A shared futex (no FUTEX_PRIVATE_FLAG) may also be woken by another
 * process, whose wake never reaches the wait queue: its waiter looks at
 * the word again after a nap that doubles from GP_NAP_MIN to GP_NAP_MAX,
 * and returns 0 (woken) once the word no longer holds the value it waited
 * on. SYS_gettid, SYS_tgkill and SYS_tkill answer as gettid and tgkill do
 * (thread/tid.c, process/tgkill.c). Every other system call goes to the
 * real syscall().
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>

#include "core/guard.h"
#include "process/intr.h"
#include "real.h"
#include "core/timeutil.h"
#include "thread/tid.h"

/* Parks while *addr == val, until a wake, the deadline or a signal.
 * shared: the word may change in another process too, whose wake does not
 * come here: look at it again after every nap. */
static long futex_wait(const uint32_t *addr, uint32_t val, int64_t deadline,
                       int shared) {
  if (__atomic_load_n(addr, __ATOMIC_ACQUIRE) != val)
    return gp_ret(-EAGAIN);
  int64_t nap = GP_NAP_MIN;
  for (;;) {
    int64_t until = deadline;
    if (shared && deadline - gp__now() > nap)
      until = gp__now() + nap;
    gp_waiter w;
    struct gp_intr in;
    gp__wq_add(&w, addr);
    gp_intr_begin(&in, 0); /* the kernel restarts it after SA_RESTART */
    int r = gp__park(until);
    gp_intr_end(&in);
    if (!gp__list_linked(&w.link))
      return 0; /* FUTEX_WAKE */
    gp__list_del(&w.link);
    if (r == -EINTR)
      return gp_ret(-EINTR);
    if (r != -ETIMEDOUT)
      return 0;
    if (until == deadline)
      return gp_ret(-ETIMEDOUT);
    if (__atomic_load_n(addr, __ATOMIC_ACQUIRE) != val)
      return 0; /* changed elsewhere: as woken */
    nap = nap * 2 > GP_NAP_MAX ? GP_NAP_MAX : nap * 2;
  }
}

/* Handles one futex call from a coroutine; returns 1 when it did (result
 * in *ret), 0 when the real call must serve it. */
static int coop_futex(long *ret, uint32_t *addr, int op, uint32_t val,
                      const struct timespec *ts, uint32_t val3) {
  int cmd = op & FUTEX_CMD_MASK;
  int64_t deadline = GP_NEVER;
  if ((cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_WAKE_BITSET) &&
      val3 != FUTEX_BITSET_MATCH_ANY)
    return 0;
  if (cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET) {
    if (ts && !gp_ts_valid(ts)) {
      *ret = gp_ret(-EINVAL);
      return 1;
    }
    if (ts && cmd == FUTEX_WAIT)
      deadline = gp_deadline_rel(ts);
    else if (ts)
      deadline = gp_deadline_abs(op & FUTEX_CLOCK_REALTIME ? CLOCK_REALTIME
                                                             : CLOCK_MONOTONIC,
                                 ts);
    *ret = futex_wait(addr, val, gp__deadline_nonzero(deadline),
                      !(op & FUTEX_PRIVATE_FLAG));
    return 1;
  }
  if (cmd == FUTEX_WAKE || cmd == FUTEX_WAKE_BITSET) {
    int n = (int)(val > 0x7fffffff ? 0x7fffffff : val);
    int woken = gp__wq_wake(addr, n);
    long more = n > woken ? GP_REAL(syscall)(SYS_futex, addr, op,
                                              n - woken, NULL, NULL, val3)
                          : 0;
    *ret = woken + (more > 0 ? more : 0);
    return 1;
  }
  return 0;
}

GP_EXPORT long syscall(long nr, ...) {
  va_list ap;
  va_start(ap, nr);
  long a[6];
  for (int i = 0; i < 6; i++)
    a[i] = va_arg(ap, long);
  va_end(ap);
  if (nr == SYS_gettid)
    return gp_tid_self();
  if (nr == SYS_tgkill || nr == SYS_tkill) {
    long ret;
    int tg = nr == SYS_tgkill;
    if ((!tg || a[0] > 0) &&
        gp_tid_kill(tg ? (pid_t)a[0] : 0, (pid_t)a[tg], (int)a[tg + 1], &ret))
      return ret;
  }
  if (nr == SYS_futex && gp_coop(GP_FAM_SYNC)) {
    long ret;
    gp_enter();
    int done = coop_futex(&ret, (uint32_t *)a[0], (int)a[1], (uint32_t)a[2],
                          (const struct timespec *)a[3], (uint32_t)a[5]);
    gp_leave();
    if (done)
      return ret;
  }
  return GP_REAL(syscall)(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
