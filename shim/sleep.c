/* sleep.c: sleep, usleep, nanosleep, clock_nanosleep, sched_yield. */
#include <errno.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "guard.h"
#include "real.h"
#include "timeutil.h"

/* Parks until deadline; nothing else can wake the coroutine. */
static void park_until(int64_t deadline) {
  gp_enter();
  int saved = errno;
  while (gp__park(deadline) != -ETIMEDOUT)
    ;
  errno = saved;
  gp_leave();
}

static int may_sleep(void) {
  return gp_coop(GP_FAM_SLEEP) && gp__live() > 1;
}

GP_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem) {
  if (!may_sleep() || req == NULL || !gp_ts_valid(req) || req->tv_sec < 0)
    return GP_REAL(nanosleep)(req, rem);
  park_until(gp_deadline_rel(req));
  return 0;
}

GP_EXPORT int clock_nanosleep(clockid_t clk, int flags,
                              const struct timespec *req,
                              struct timespec *rem) {
  int known = clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC ||
              clk == CLOCK_BOOTTIME || clk == CLOCK_TAI;
  if (!may_sleep() || !known || req == NULL || !gp_ts_valid(req) ||
      req->tv_sec < 0 || (flags & ~TIMER_ABSTIME))
    return GP_REAL(clock_nanosleep)(clk, flags, req, rem);
  park_until(flags & TIMER_ABSTIME ? gp_deadline_abs(clk, req)
                                   : gp_deadline_rel(req));
  return 0;
}

GP_EXPORT int usleep(useconds_t us) {
  if (!may_sleep())
    return GP_REAL(usleep)(us);
  struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
  park_until(gp_deadline_rel(&ts));
  return 0;
}

GP_EXPORT unsigned sleep(unsigned s) {
  if (!may_sleep())
    return GP_REAL(sleep)(s);
  struct timespec ts = {s, 0};
  park_until(gp_deadline_rel(&ts));
  return 0;
}

GP_EXPORT int sched_yield(void) {
  if (!may_sleep())
    return GP_REAL(sched_yield)();
  gp_enter();
  gp__yield();
  gp_leave();
  return 0;
}
