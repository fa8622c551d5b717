/* timeutil.h: turning libc timeouts into runtime deadlines (monotonic ns). */
#ifndef GP_TIMEUTIL_H
#define GP_TIMEUTIL_H

#include <time.h>

#include "gp.h"

static inline int gp_ts_valid(const struct timespec *ts) {
  return ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000;
}

static inline int64_t gp_ts_ns(const struct timespec *ts) {
  if (ts->tv_sec > INT64_MAX / 1000000000 - 1)
    return INT64_MAX / 2;
  return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* The deadline of a relative timeout ts from now. */
static inline int64_t gp_deadline_rel(const struct timespec *ts) {
  int64_t d = gp_ts_ns(ts);
  return d >= INT64_MAX / 2 ? GP_NEVER : gp__now() + d;
}

/* The deadline of a timeout of ms milliseconds from now; GP_NEVER for a
 * negative one (poll's -1, the C API's). */
static inline int64_t gp_deadline_ms(long ms) {
  return ms < 0 ? GP_NEVER : gp__now() + (int64_t)ms * 1000000;
}

/* The deadline of an absolute time on clock clk: the distance to it is
 * measured now, so a later change of the wall clock is not followed. */
static inline int64_t gp_deadline_abs(clockid_t clk,
                                      const struct timespec *ts) {
  struct timespec now;
  clock_gettime(clk, &now);
  int64_t left = gp_ts_ns(ts) - gp_ts_ns(&now);
  if (gp_ts_ns(ts) >= INT64_MAX / 2)
    return GP_NEVER;
  return gp__now() + (left > 0 ? left : 0);
}

/* The deadline of a timed join (pthread_timedjoin_np, _clockjoin_np),
 * never GP_TRY_ONLY. NULL waits forever, and so does a time with tv_nsec
 * out of range: glibc's futex wait refuses it with EINVAL and its join
 * loop retries until the thread ends (glibc 2.36 returns only then, with
 * 0; a thread that already ended is joined at once). */
static inline int64_t gp_join_deadline(clockid_t clk,
                                       const struct timespec *abs) {
  if (abs == NULL || !gp_ts_valid(abs))
    return GP_NEVER;
  int64_t deadline = gp_deadline_abs(clk, abs);
  return gp__deadline_nonzero(deadline);
}

/* Stores the time left until deadline in *ts (zero when passed). */
static inline void gp_ts_left(int64_t deadline, struct timespec *ts) {
  int64_t left = deadline - gp__now();
  if (left < 0)
    left = 0;
  ts->tv_sec = left / 1000000000;
  ts->tv_nsec = left % 1000000000;
}

#endif
