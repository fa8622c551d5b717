/* wait.c: wait, waitpid, wait3, wait4, waitid park the caller until a
 * child changes state.
 *
 * Each blocking call becomes the real call with WNOHANG, tried again
 * whenever a child may have changed state. What says so:
 *   - for one child (waitpid(pid), waitid(P_PID), waitid(P_PIDFD)), a
 *     pidfd: the kernel makes it readable when the child exits (Linux
 *     5.3+), so the wait parks on it like on any fd;
 *   - for any child or a process group (-1, 0, -pgid, P_ALL, P_PGID), and
 *     for stops and continues (a pidfd reports exits only), SIGCHLD when
 *     the program has a handler for it (intr.c wakes every waiter),
 *     and a poll with WNOHANG that backs off from 1 ms to 50 ms, which
 *     covers SIGCHLD left at SIG_DFL or blocked, and a kernel without
 *     pidfds.
 * So status values, ECHILD, and what SIG_IGN or SA_NOCLDWAIT do (the
 * kernel reaps the children itself; a wait then fails with ECHILD once
 * none is left) all come from the real call.
 *
 * A signal handler interrupts these waits as signal(7) says: EINTR
 * without SA_RESTART, the wait goes on with it. As in the kernel, a child
 * that has already changed state wins over the signal.
 *
 * Cooperative when threads are coroutines (the thread family), another
 * coroutine exists and WNOHANG is not given.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "core/fdkind.h"
#include "core/guard.h"
#include "process/intr.h"
#include "process/proc.h"
#include "real.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define BACKOFF_MIN (1 * 1000000)  /* ns */
#define BACKOFF_MAX (50 * 1000000) /* ns */

static int child_key; /* wait-queue address: SIGCHLD arrived */

/* One blocking wait in progress; lives on the waiter's stack. */
struct cwait {
  pid_t pid;          /* the one child waited for, or 0 */
  int pidfd;          /* its pidfd, or -1 */
  int own;            /* pidfd was opened here: close it at the end */
  int exits_only;     /* no WUNTRACED/WCONTINUED: the pidfd says it all */
  int64_t backoff;    /* the next poll interval, ns */
  const char *call;   /* for the dump */
};

static void cw_init(struct cwait *cw, pid_t pid, int pidfd, int options,
                    const char *call) {
  cw->pid = pid;
  cw->pidfd = pidfd;
  cw->own = 0;
  cw->exits_only = !(options & (WUNTRACED | WCONTINUED));
  cw->backoff = BACKOFF_MIN;
  cw->call = call;
}

/* Ends a wait whose last attempt returned r (0: no child changed state,
 * after a park that ended with p): closes the wait's own pidfd and returns
 * r, or -1 with errno -p for r == 0; errno is the caller's (saved) again
 * on success. */
static int cw_done(struct cwait *cw, int r, int p, int saved) {
  if (r == 0) {
    r = -1;
    errno = -p;
  }
  int err = errno;
  if (cw->own && cw->pidfd >= 0) {
    gp_fd_closing(cw->pidfd);
    GP_REAL(close)(cw->pidfd);
  }
  cw->pidfd = -1;
  errno = r < 0 ? err : saved;
  return r;
}

/* Opens the pidfd of the one child, once; none when the kernel has no
 * pidfds (or refuses), which leaves the backoff poll. */
static void cw_open(struct cwait *cw) {
  if (cw->pidfd >= 0 || cw->pid <= 0)
    return;
  int saved = errno;
  int fd = (int)GP_REAL(syscall)(SYS_pidfd_open, cw->pid, 0);
  errno = saved;
  if (fd < 0) {
    cw->pid = 0; /* do not ask again */
    return;
  }
  gp_fd_created(fd, GP_KIND_POLL);
  cw->pidfd = fd;
  cw->own = 1;
}

/* Parks until a child may have changed state. Returns 0 to try again,
 * -EINTR when a signal handler interrupted the wait, or -ECANCELED /
 * -ETIMEDOUT when the coroutine was killed or its Timeout passed. */
static int cw_park(struct cwait *cw) {
  cw_open(cw);
  int64_t deadline = GP_NEVER;
  if (cw->pidfd < 0 || !cw->exits_only) {
    deadline = gp__now() + cw->backoff;
    cw->backoff = cw->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX
                                                : cw->backoff * 2;
  }
  gp_waiter w;
  gp__wq_add(&w, &child_key);
  struct gp_intr in;
  gp_intr_begin(&in, 0); /* the wait family restarts with SA_RESTART */
  gp__wait_note(cw->call);
  int r = cw->pidfd >= 0
              ? gp__fd_wait(gp__fd_get(cw->pidfd), GP_IN, deadline)
              : gp__park(deadline);
  gp_intr_end(&in);
  gp__wq_park(&w, GP_PASSED); /* leaves the queue if still in it */
  if (r == -EBADF && !cw->own)
    return -EBADF; /* the program closed its own pidfd */
  if (r == -EBADF)
    cw->pidfd = -1; /* the program closed ours: open another */
  if (gp_stopped(r))
    return gp_stopped(r);
  return r == -EINTR ? -EINTR : 0;
}

void gp_wait_child_changed(void) { gp__wq_wake(&child_key, INT_MAX); }

/* wait4 with a blocking wait made cooperative. */
static pid_t coop_wait4(pid_t pid, int *st, int options, struct rusage *ru,
                        const char *call) {
  int saved = errno, p = 0;
  struct cwait cw;
  cw_init(&cw, pid > 0 ? pid : 0, -1, options, call);
  pid_t r;
  for (;;) {
    r = GP_REAL(wait4)(pid, st, options | WNOHANG, ru);
    if (r != 0)
      break;
    p = cw_park(&cw);
    if (p == -EINTR || p == -ECANCELED || p == -ETIMEDOUT)
      break;
  }
  if (r == 0) /* interrupted: a child that changed state meanwhile wins */
    r = GP_REAL(wait4)(pid, st, options | WNOHANG, ru);
  return cw_done(&cw, r, p, saved);
}

/* One waitid attempt with WNOHANG: 1 when a child was found (copied to
 * info), 0 when none yet, -1 with errno. */
static int try_waitid(idtype_t type, id_t id, siginfo_t *info, int options) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (GP_REAL(waitid)(type, id, &si, options | WNOHANG) != 0)
    return -1;
  if (si.si_pid == 0)
    return 0;
  if (info)
    *info = si;
  return 1;
}

static int coop_waitid(idtype_t type, id_t id, siginfo_t *info,
                       int options) {
  int saved = errno, p = 0;
  struct cwait cw;
  cw_init(&cw, type == P_PID ? (pid_t)id : 0,
          type == P_PIDFD ? (int)id : -1, options, "waitid");
  int r;
  for (;;) {
    r = try_waitid(type, id, info, options);
    if (r != 0 || (p = cw_park(&cw)) != 0)
      break;
  }
  if (r == 0)
    r = try_waitid(type, id, info, options);
  return cw_done(&cw, r, p, saved) < 0 ? -1 : 0;
}

/* 1 when a wait with options blocks (no WNOHANG) and may park: the
 * family is cooperative here and another coroutine may end a child. */
static int coop_blocking_wait(int options) {
  return gp_coop(GP_FAM_THREAD) && gp__live() > 1 && !(options & WNOHANG);
}

GP_EXPORT pid_t wait4(pid_t pid, int *st, int options, struct rusage *ru) {
  if (!coop_blocking_wait(options))
    return GP_REAL(wait4)(pid, st, options, ru);
  gp_enter();
  gp_cancel_point();
  pid_t r = coop_wait4(pid, st, options, ru, "wait4");
  gp_leave();
  return r;
}

GP_EXPORT pid_t wait3(int *st, int options, struct rusage *ru) {
  if (!coop_blocking_wait(options))
    return GP_REAL(wait3)(st, options, ru);
  gp_enter();
  gp_cancel_point();
  pid_t r = coop_wait4(-1, st, options, ru, "wait3");
  gp_leave();
  return r;
}

static pid_t do_waitpid(pid_t pid, int *st, int options) {
  if (!coop_blocking_wait(options))
    return GP_REAL(waitpid)(pid, st, options);
  gp_enter();
  gp_cancel_point();
  pid_t r = coop_wait4(pid, st, options, NULL, "waitpid");
  gp_leave();
  return r;
}

GP_EXPORT pid_t waitpid(pid_t pid, int *st, int options) {
  return do_waitpid(pid, st, options);
}

GP_EXPORT pid_t wait(int *st) {
  if (!coop_blocking_wait(0))
    return GP_REAL(wait)(st);
  gp_enter();
  gp_cancel_point();
  pid_t r = coop_wait4(-1, st, 0, NULL, "wait");
  gp_leave();
  return r;
}

GP_EXPORT int waitid(idtype_t type, id_t id, siginfo_t *info, int options) {
  if (!coop_blocking_wait(options))
    return GP_REAL(waitid)(type, id, info, options);
  gp_enter();
  gp_cancel_point();
  int r = coop_waitid(type, id, info, options);
  gp_leave();
  return r;
}

pid_t gp_waitpid_retry(pid_t pid, int *st) {
  pid_t r;
  do
    r = do_waitpid(pid, st, 0);
  while (r == -1 && errno == EINTR);
  return r;
}
