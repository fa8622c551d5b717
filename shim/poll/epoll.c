/* epoll.c: epoll_wait, epoll_pwait, epoll_pwait2 (the poll family).
 *
 * An epoll fd is itself pollable: ask it with a zero timeout, and when
 * nothing is ready park on the epoll fd until it becomes readable or the
 * deadline passes, then ask again. Several coroutines, each with its own
 * epoll set (libevent's one base per thread), all make progress.
 *
 * A call that returns events without parking, or has a zero timeout
 * (the real call, which never parks), ends at the time slice's check: a
 * loop whose epoll_wait is always ready gives way there (rt.h).
 */
#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>

#include "core/guard.h"
#include "process/intr.h"
#include "real.h"
#include "core/timeutil.h"

static int coop_epoll(int ep, struct epoll_event *ev, int max,
                      int64_t deadline, const sigset_t *mask) {
  int saved = errno;
  sigset_t old;
  if (mask && gp_set_mask(SIG_SETMASK, mask, &old) != 0)
    return -1;
  gp_fd *f = NULL; /* looked up once the real call showed ep is open */
  int r, waited = 0;
  for (;;) {
    r = GP_REAL(epoll_wait)(ep, ev, max, 0);
    if (r != 0 || deadline <= gp__now())
      break;
    if (f == NULL)
      f = gp__fd_get(ep);
    struct gp_intr in;
    gp_intr_begin(&in, 1); /* epoll waits are never restarted */
    gp__wait_note("epoll_wait");
    waited = 1;
    int err = gp__fd_wait(f, GP_IN, deadline);
    gp_intr_end(&in);
    if (err == -EINTR || err == -EBADF || gp_stopped(err)) {
      r = gp_ret(gp_stopped(err) ? gp_stopped(err) : err);
      break;
    }
  }
  if (mask)
    gp_set_mask(SIG_SETMASK, &old, NULL);
  if (r > 0 && !waited)
    gp__slice_point(); /* events at once: a loop that may never wait */
  if (r >= 0)
    errno = saved;
  return r;
}

/* 1 when an epoll wait may park: another coroutine may run meanwhile and
 * the caller did not ask for a zero timeout. */
static int may_park(int zero) {
  return gp_coop(GP_FAM_POLL) && gp__live() > 1 && !zero;
}

GP_EXPORT int epoll_wait(int ep, struct epoll_event *ev, int max, int ms) {
  if (ms == 0 && max > 0) {
    int r = GP_REAL(epoll_wait)(ep, ev, max, 0);
    gp_slice_after(GP_FAM_POLL);
    return r;
  }
  if (!may_park(ms == 0) || max <= 0)
    return GP_REAL(epoll_wait)(ep, ev, max, ms);
  gp_enter();
  gp_cancel_point();
  int r = coop_epoll(ep, ev, max, gp_deadline_ms(ms), NULL);
  gp_leave();
  return r;
}

GP_EXPORT int epoll_pwait(int ep, struct epoll_event *ev, int max, int ms,
                          const sigset_t *mask) {
  if (gp_aimed_interrupts(mask))
    return gp_intr_result(GP_REAL(epoll_wait)(ep, ev, max, 0));
  if (ms == 0 && max > 0) {
    int r = GP_REAL(epoll_pwait)(ep, ev, max, 0, mask);
    gp_slice_after(GP_FAM_POLL);
    return r;
  }
  if (!may_park(ms == 0) || max <= 0)
    return GP_REAL(epoll_pwait)(ep, ev, max, ms, mask);
  gp_enter();
  gp_cancel_point();
  int r = coop_epoll(ep, ev, max, gp_deadline_ms(ms), mask);
  gp_leave();
  return r;
}

GP_EXPORT int epoll_pwait2(int ep, struct epoll_event *ev, int max,
                           const struct timespec *ts, const sigset_t *mask) {
  int zero = ts && ts->tv_sec == 0 && ts->tv_nsec == 0;
  if (gp_aimed_interrupts(mask))
    return gp_intr_result(GP_REAL(epoll_wait)(ep, ev, max, 0));
  if (zero && max > 0) {
    int r = GP_REAL(epoll_pwait2)(ep, ev, max, ts, mask);
    gp_slice_after(GP_FAM_POLL);
    return r;
  }
  if (!may_park(zero) || max <= 0 || (ts && !gp_ts_valid(ts)))
    return GP_REAL(epoll_pwait2)(ep, ev, max, ts, mask);
  gp_enter();
  gp_cancel_point();
  int r = coop_epoll(ep, ev, max, ts ? gp_deadline_rel(ts) : GP_NEVER, mask);
  gp_leave();
  return r;
}
