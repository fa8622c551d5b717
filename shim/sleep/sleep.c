/* sleep.c: sleep, usleep, nanosleep, clock_nanosleep, sched_yield. */
#include <errno.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "core/guard.h"
#include "process/intr.h"
#include "real.h"
#include "core/timeutil.h"

/* Parks until deadline or a signal. Returns 0, or -EINTR (-ECANCELED,
 * -ETIMEDOUT: a kill or Timeout of the coroutine, see gpatch.h) and the
 * time left in *rem (when rem is not NULL). */
static int park_until(int64_t deadline, struct timespec *rem) {
  gp_enter();
  gp_cancel_point();
  int saved = errno;
  struct gp_intr in;
  gp_intr_begin(&in, 1); /* sleeps are never restarted */
  int r;
  while ((r = gp__park_intr(deadline)) == 0)
    ;
  gp_intr_end(&in);
  if (r == -ETIMEDOUT) {
    r = 0;
  } else {
    if (rem)
      gp_ts_left(deadline, rem);
    if (gp_stopped(r))
      r = gp_stopped(r);
  }
  errno = saved;
  gp_leave();
  return r;
}

static int may_sleep(void) {
  return gp_coop(GP_FAM_SLEEP) && gp__live() > 1;
}

GP_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem) {
  if (!may_sleep() || req == NULL || !gp_ts_valid(req) || req->tv_sec < 0)
    return GP_REAL(nanosleep)(req, rem);
  return gp_ret(park_until(gp_deadline_rel(req), rem));
}

GP_EXPORT int clock_nanosleep(clockid_t clk, int flags,
                              const struct timespec *req,
                              struct timespec *rem) {
  int known = clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC ||
              clk == CLOCK_BOOTTIME || clk == CLOCK_TAI;
  if (!may_sleep() || !known || req == NULL || !gp_ts_valid(req) ||
      req->tv_sec < 0 || (flags & ~TIMER_ABSTIME))
    return GP_REAL(clock_nanosleep)(clk, flags, req, rem);
  /* Returns the error number; the time left only for relative sleeps. */
  int abs = flags & TIMER_ABSTIME;
  return -park_until(abs ? gp_deadline_abs(clk, req) : gp_deadline_rel(req),
                     abs ? NULL : rem);
}

GP_EXPORT int usleep(useconds_t us) {
  if (!may_sleep())
    return GP_REAL(usleep)(us);
  struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
  return gp_ret(park_until(gp_deadline_rel(&ts), NULL));
}

GP_EXPORT unsigned sleep(unsigned s) {
  if (!may_sleep())
    return GP_REAL(sleep)(s);
  struct timespec ts = {s, 0}, rem;
  if (park_until(gp_deadline_rel(&ts), &rem) == 0)
    return 0;
  /* Interrupted: the seconds left, rounded as glibc does (up from .5). */
  return (unsigned)rem.tv_sec + (rem.tv_nsec >= 500000000);
}

GP_EXPORT int sched_yield(void) {
  if (!may_sleep())
    return GP_REAL(sched_yield)();
  gp_enter();
  gp__yield();
  gp_leave();
  return 0;
}
