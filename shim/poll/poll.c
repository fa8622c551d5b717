/* poll.c: poll, ppoll, select, pselect.
 *
 * All four become one wait: ask the real poll with a zero timeout; if
 * nothing is ready and the caller may wait, park on every fd (one wait
 * record per fd, on this stack or, for long lists, the heap) until one
 * may be ready or the deadline passes, then ask again. The fds are looked
 * up once, before the first park: by then the real poll has shown that
 * every one of them is open (an fd that is not would be POLLNVAL).
 *
 * A call that finds an fd ready without parking, or has a zero timeout
 * (the real call), ends at the time slice's check: a loop that never has
 * to wait gives way there (rt.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "core/fdkind.h"
#include "core/guard.h"
#include "process/intr.h"
#include "real.h"
#include "core/timeutil.h"

#define STACK_WAITS 16

/* Fills w with the wait records of fds (their fd records looked up, the
 * events they wait for); returns how many (negative fds are skipped). */
static int wait_records(gp_fdwait *w, const struct pollfd *fds, nfds_t n) {
  int nw = 0;
  for (nfds_t i = 0; i < n; i++) {
    if (fds[i].fd < 0)
      continue;
    unsigned ev = 0;
    if (fds[i].events & (POLLIN | POLLRDNORM | POLLRDBAND | POLLRDHUP))
      ev |= GP_IN;
    if (fds[i].events & (POLLOUT | POLLWRNORM | POLLWRBAND))
      ev |= GP_OUT;
    if (fds[i].events & POLLPRI)
      ev |= GP_PRI;
    /* Errors and hang-ups are reported even with no events asked. */
    w[nw++] = (gp_fdwait){.rec = gp__fd_get(fds[i].fd), .events = ev | GP_IN};
  }
  return nw;
}

/* Polls fds until one is ready or the deadline; 0 on timeout, -1/errno. */
static int coop_poll(struct pollfd *fds, nfds_t n, int64_t deadline,
                     const sigset_t *mask) {
  int saved = errno;
  sigset_t old;
  if (mask && gp_set_mask(SIG_SETMASK, mask, &old) != 0)
    return -1;
  gp_fdwait stack[STACK_WAITS];
  gp_fdwait *w = n <= STACK_WAITS ? stack : calloc(n, sizeof *w);
  int r;
  if (w == NULL) {
    r = gp_ret(-ENOMEM);
    goto out;
  }
  int nw = -1; /* the wait records are not filled yet */
  int waited = 0;
  for (;;) {
    r = GP_REAL(poll)(fds, n, 0);
    if (r != 0 || deadline <= gp__now())
      break;
    if (nw < 0)
      nw = wait_records(w, fds, n);
    struct gp_intr in;
    gp_intr_begin(&in, 1); /* poll and select are never restarted */
    gp__wait_note("poll");
    waited = 1;
    int err = gp__fd_wait_many(w, nw, deadline);
    gp_intr_end(&in);
    if (err == -EINTR || gp_stopped(err)) {
      r = gp_ret(err == -EINTR ? err : gp_stopped(err));
      break;
    }
    if (err == -EPERM) { /* an fd that cannot wait: poll reports it */
      r = GP_REAL(poll)(fds, n, 0);
      if (r == 0)
        gp__yield();
      continue;
    }
  }
  if (w != stack)
    free(w);
out:
  if (mask)
    gp_set_mask(SIG_SETMASK, &old, NULL);
  if (r > 0 && !waited)
    gp__slice_point(); /* ready at once: a loop that may never wait */
  if (r >= 0)
    errno = saved;
  return r;
}

/* The common prologue: a call that may not or need not wait is real. */
static int may_park(int64_t deadline) {
  return gp_coop(GP_FAM_POLL) && gp__live() > 1 && deadline != 0;
}

static int do_poll(struct pollfd *fds, nfds_t n, int timeout) {
  if (timeout == 0) {
    int r = GP_REAL(poll)(fds, n, 0);
    gp_slice_after(GP_FAM_POLL);
    return r;
  }
  if (!may_park(timeout == 0 ? 0 : 1))
    return GP_REAL(poll)(fds, n, timeout);
  gp_enter();
  gp_cancel_point();
  int r = coop_poll(fds, n, gp_deadline_ms(timeout), NULL);
  gp_leave();
  return r;
}

GP_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout) {
  return do_poll(fds, n, timeout);
}

static int do_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
                    const sigset_t *mask);

GP_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
                    const sigset_t *mask) {
  return do_ppoll(fds, n, ts, mask);
}

/* _FORTIFY_SOURCE entry points: check the array size as glibc does. */
extern void __chk_fail(void) __attribute__((noreturn));

GP_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout,
                         size_t fdslen) {
  if (fdslen / sizeof *fds < n)
    __chk_fail();
  return do_poll(fds, n, timeout);
}

GP_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n,
                          const struct timespec *ts, const sigset_t *mask,
                          size_t fdslen) {
  if (fdslen / sizeof *fds < n)
    __chk_fail();
  return do_ppoll(fds, n, ts, mask);
}

static int do_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
                    const sigset_t *mask) {
  int zero = ts && ts->tv_sec == 0 && ts->tv_nsec == 0;
  if (gp_aimed_interrupts(mask)) /* ready fds count, else EINTR */
    return gp_intr_result(GP_REAL(poll)(fds, n, 0));
  if (zero) {
    int r = GP_REAL(ppoll)(fds, n, ts, mask);
    gp_slice_after(GP_FAM_POLL);
    return r;
  }
  if (!may_park(zero ? 0 : 1) || (ts && !gp_ts_valid(ts)))
    return GP_REAL(ppoll)(fds, n, ts, mask);
  gp_enter();
  gp_cancel_point();
  int r = coop_poll(fds, n, ts ? gp_deadline_rel(ts) : GP_NEVER, mask);
  gp_leave();
  return r;
}

/* select's sets as a pollfd list and back. Returns the count of ready
 * bits, 0 on timeout, -1/errno (EBADF for an fd that is not open). */
static int coop_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
                       int64_t deadline, const sigset_t *mask) {
  if (nfds < 0 || nfds > FD_SETSIZE)
    return gp_ret(-EINVAL);
  struct pollfd *p = calloc((size_t)nfds + 1, sizeof *p);
  if (p == NULL)
    return gp_ret(-ENOMEM);
  nfds_t n = 0;
  for (int fd = 0; fd < nfds; fd++) {
    short ev = 0;
    if (rd && FD_ISSET(fd, rd))
      ev |= POLLIN;
    if (wr && FD_ISSET(fd, wr))
      ev |= POLLOUT;
    if (ex && FD_ISSET(fd, ex))
      ev |= POLLPRI;
    if (ev)
      p[n++] = (struct pollfd){.fd = fd, .events = ev};
  }
  int r = coop_poll(p, n, deadline, mask);
  if (r > 0) {
    for (nfds_t i = 0; i < n; i++)
      if (p[i].revents & POLLNVAL) {
        free(p);
        return gp_ret(-EBADF);
      }
    if (rd) FD_ZERO(rd);
    if (wr) FD_ZERO(wr);
    if (ex) FD_ZERO(ex);
    r = 0;
    for (nfds_t i = 0; i < n; i++) {
      short re = p[i].revents, ev = p[i].events;
      if ((ev & POLLIN) && (re & (POLLIN | POLLHUP | POLLERR)))
        FD_SET(p[i].fd, rd), r++;
      if ((ev & POLLOUT) && (re & (POLLOUT | POLLERR)))
        FD_SET(p[i].fd, wr), r++;
      if ((ev & POLLPRI) && (re & POLLPRI))
        FD_SET(p[i].fd, ex), r++;
    }
  } else if (r == 0) {
    if (rd) FD_ZERO(rd);
    if (wr) FD_ZERO(wr);
    if (ex) FD_ZERO(ex);
  }
  free(p);
  return r;
}

GP_EXPORT int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
                     struct timeval *tv) {
  int zero = tv && tv->tv_sec == 0 && tv->tv_usec == 0;
  if (zero) {
    int r = GP_REAL(select)(nfds, rd, wr, ex, tv);
    gp_slice_after(GP_FAM_POLL);
    return r;
  }
  if (!may_park(zero ? 0 : 1) ||
      (tv && (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)))
    return GP_REAL(select)(nfds, rd, wr, ex, tv);
  gp_enter();
  gp_cancel_point();
  int64_t deadline = GP_NEVER;
  if (tv) {
    struct timespec ts = {tv->tv_sec, tv->tv_usec * 1000};
    deadline = gp_deadline_rel(&ts);
  }
  int r = coop_select(nfds, rd, wr, ex, deadline, NULL);
  if (tv && r >= 0) { /* Linux writes back the time left */
    struct timespec left;
    gp_ts_left(deadline, &left);
    tv->tv_sec = left.tv_sec;
    tv->tv_usec = left.tv_nsec / 1000;
  }
  gp_leave();
  return r;
}

GP_EXPORT int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
                      const struct timespec *ts, const sigset_t *mask) {
  int zero = ts && ts->tv_sec == 0 && ts->tv_nsec == 0;
  if (gp_aimed_interrupts(mask)) {
    struct timespec now = {0, 0};
    return gp_intr_result(GP_REAL(pselect)(nfds, rd, wr, ex, &now, NULL));
  }
  if (zero) {
    int r = GP_REAL(pselect)(nfds, rd, wr, ex, ts, mask);
    gp_slice_after(GP_FAM_POLL);
    return r;
  }
  if (!may_park(zero ? 0 : 1) || (ts && !gp_ts_valid(ts)))
    return GP_REAL(pselect)(nfds, rd, wr, ex, ts, mask);
  gp_enter();
  gp_cancel_point();
  int r = coop_select(nfds, rd, wr, ex, ts ? gp_deadline_rel(ts) : GP_NEVER,
                      mask);
  gp_leave();
  return r;
}
