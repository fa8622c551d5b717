/* sigwait.c: pause, sigsuspend, sigwait, sigwaitinfo, sigtimedwait park
 * the caller.
 *
 * On one OS thread a signal blocked by the coroutine that waits for it is
 * often blocked by the hub too (the mask the main thread had when the
 * first thread was created), so it stays pending in the kernel and no
 * handler tells the runtime. A signalfd for the signals the call waits
 * for makes that visible: it is readable while one of them is pending,
 * and the waiter parks on it like on any fd. The signalfd lives only for
 * the call (it takes an fd number meanwhile).
 *
 *   sigwait family: take a pending signal of the set with a zero
 *     timeout; otherwise park on a signalfd of the set, then take again.
 *     A handler that interrupts the wait gives EINTR (sigwait retries,
 *     as glibc's does).
 *   pause, sigsuspend: park until a handler runs for a signal delivered
 *     to this coroutine: picked by intr.c for a signal handled in the
 *     hub, or delivered in this coroutine's own context (after waking on
 *     the signalfd of the signals its mask lets through, its mask is
 *     installed again and the kernel delivers the pending signal). Then
 *     -1 with EINTR, the mask put back.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>

#include "core/fdkind.h"
#include "core/guard.h"
#include "process/intr.h"
#include "real.h"
#include "core/timeutil.h"

#define POLL_NS (10 * 1000000) /* without a signalfd: look this often */

static uint64_t bits(const sigset_t *set) {
  uint64_t b;
  memcpy(&b, set, sizeof b);
  return b;
}

/* A non-blocking signalfd for the signals of set, or -1. */
static int open_signalfd(uint64_t set) {
  set &= ~((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)));
  int saved = errno;
  int fd = (int)GP_REAL(syscall)(SYS_signalfd4, -1, &set, sizeof set,
                                 SFD_CLOEXEC | SFD_NONBLOCK);
  errno = saved;
  if (fd >= 0)
    gp_fd_created(fd, GP_KIND_POLL);
  return fd;
}

static void close_signalfd(int fd) {
  if (fd < 0)
    return;
  int saved = errno;
  gp_fd_closing(fd);
  GP_REAL(close)(fd);
  errno = saved;
}

/* Parks on sfd (or, without one, for a short while) until deadline.
 * Returns 0, -ETIMEDOUT, -EINTR, -EBADF (the program closed sfd), or what
 * gp__park_intr gives a killed coroutine or one whose Timeout passed. */
static int park_on(int sfd, int64_t deadline, const char *call) {
  gp__wait_note(call);
  if (sfd >= 0)
    return gp__fd_wait(gp__fd_get(sfd), GP_IN, deadline);
  int64_t soon = gp__now() + POLL_NS;
  int r = gp__park(soon < deadline ? soon : deadline);
  return r == -ETIMEDOUT && soon < deadline ? 0 : r;
}

/* sigtimedwait made cooperative: a signal number, or -1 with EAGAIN at
 * the deadline or EINTR (unless eintr_again, as for sigwait). */
static int coop_sigtimedwait(const sigset_t *set, siginfo_t *info,
                             int64_t deadline, int eintr_again,
                             const char *call) {
  int saved = errno, sfd = -1, r;
  for (;;) {
    r = gp_signal_take(bits(set), info); /* aimed at this coroutine */
    if (r > 0)
      break;
    struct timespec zero = {0, 0};
    r = GP_REAL(sigtimedwait)(set, info, &zero);
    if (r > 0 || (errno != EAGAIN && errno != EINTR))
      break;
    if (r < 0 && errno == EINTR && !eintr_again)
      break;
    if (deadline != GP_NEVER && gp__now() >= deadline) {
      errno = EAGAIN;
      break;
    }
    if (sfd < 0)
      sfd = open_signalfd(bits(set));
    struct gp_intr in;
    gp_intr_begin(&in, 1); /* never restarted (signal(7)) */
    in.waitset = bits(set); /* a pthread_kill of one of them wakes it */
    int w = park_on(sfd, deadline, call);
    gp_intr_end(&in);
    if (w == -EINTR && !eintr_again) {
      errno = EINTR;
      break;
    }
    if (gp_stopped(w)) { /* killed, or a Timeout passed (gpatch.h) */
      errno = -gp_stopped(w);
      break;
    }
    if (w == -EBADF)
      sfd = -1;
  }
  int err = errno;
  close_signalfd(sfd);
  errno = r > 0 ? saved : err;
  return r;
}

/* pause (mask NULL) and sigsuspend: always -1 with EINTR (ECANCELED or
 * ETIMEDOUT for a killed coroutine or one whose Timeout passed). */
static int coop_suspend(const sigset_t *mask, const char *call) {
  struct gp_intr in;
  gp_intr_begin(&in, 1); /* before the mask lets anything through */
  sigset_t old, cur;
  if (mask)
    gp_set_mask(SIG_SETMASK, mask, &old);
  GP_REAL(pthread_sigmask)(SIG_BLOCK, NULL, &cur);
  int sfd = -1, r = 0;
  while (gp_sig_claim(&in) == 0) {
    if (sfd < 0)
      sfd = open_signalfd(~bits(&cur));
    r = park_on(sfd, GP_NEVER, call);
    if (r == -EINTR || gp_stopped(r))
      break;
    if (r == -EBADF)
      sfd = -1;
  }
  gp_intr_end(&in);
  close_signalfd(sfd);
  if (mask)
    gp_set_mask(SIG_SETMASK, &old, NULL);
  errno = gp_stopped(r) ? -gp_stopped(r) : EINTR;
  return -1;
}

/* 1 when a wait for a signal in set may park: the family is cooperative
 * here and another coroutine may send one. A NULL set (declared nonnull,
 * but EFAULT for the kernel) gets the real call and its error. */
__attribute__((noinline)) static int coop_signal_wait(const void *set) {
  return gp_coop(GP_FAM_THREAD) && gp__live() > 1 && set != NULL;
}

GP_EXPORT int pause(void) {
  if (!coop_signal_wait(""))
    return GP_REAL(pause)();
  gp_enter();
  gp_cancel_point();
  int r = coop_suspend(NULL, "pause");
  gp_leave();
  return r;
}

GP_EXPORT int sigsuspend(const sigset_t *mask) {
  if (gp_aimed_interrupts(mask)) {
    errno = EINTR;
    return -1;
  }
  if (!coop_signal_wait(mask))
    return GP_REAL(sigsuspend)(mask);
  gp_enter();
  gp_cancel_point();
  int r = coop_suspend(mask, "sigsuspend");
  gp_leave();
  return r;
}

GP_EXPORT int sigtimedwait(const sigset_t *set, siginfo_t *info,
                           const struct timespec *ts) {
  if (!coop_signal_wait(set) || (ts && !gp_ts_valid(ts)) ||
      (ts && ts->tv_sec == 0 && ts->tv_nsec == 0))
    return GP_REAL(sigtimedwait)(set, info, ts);
  gp_enter();
  gp_cancel_point();
  int r = coop_sigtimedwait(set, info, ts ? gp_deadline_rel(ts) : GP_NEVER,
                            0, "sigtimedwait");
  gp_leave();
  return r;
}

GP_EXPORT int sigwaitinfo(const sigset_t *set, siginfo_t *info) {
  if (!coop_signal_wait(set))
    return GP_REAL(sigwaitinfo)(set, info);
  gp_enter();
  gp_cancel_point();
  int r = coop_sigtimedwait(set, info, GP_NEVER, 0, "sigwaitinfo");
  gp_leave();
  return r;
}

/* Returns the error number, as POSIX says; never EINTR. */
GP_EXPORT int sigwait(const sigset_t *set, int *sig) {
  if (!coop_signal_wait(set))
    return GP_REAL(sigwait)(set, sig);
  gp_enter();
  gp_cancel_point();
  int saved = errno;
  siginfo_t si;
  int r = coop_sigtimedwait(set, &si, GP_NEVER, 1, "sigwait");
  int err = r < 0 ? errno : 0;
  if (r > 0)
    *sig = si.si_signo;
  errno = saved;
  gp_leave();
  return err;
}
