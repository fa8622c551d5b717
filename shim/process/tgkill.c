/* tgkill.c: tgkill and tkill (the function, and syscall()'s) aimed at a
 * coroutine's tid (thread/tid.c).
 *
 * A signal for a coroutine's tid is aimed at that coroutine as
 * pthread_kill aims it (aimed.c): taken in its context, with its mask,
 * si_code SI_TKILL. In private mode the OS thread's real tid names the
 * thread that shows it (the main coroutine), whichever coroutine sends.
 * A tid of another process, or one no live coroutine has, goes to the
 * kernel (which answers ESRCH for an ended coroutine's, as for an ended
 * thread's). glibc's internal signals (SIGCANCEL, SIGSETXID) to a
 * coroutine are refused with EINVAL: sent to the OS thread they would
 * act on whichever coroutine runs.
 */
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/guard.h"
#include "process/intr.h"
#include "real.h"
#include "thread/tid.h"

int gp_tid_kill(pid_t tgid, pid_t tid, int sig, long *ret) {
  if (tgid != 0 && tgid != getpid())
    return 0;
  gp_coro *c = gp_tid_coro(tid);
  if (c == NULL)
    return 0;
  int err = 0;
  if (sig < 0 || sig >= NSIG || sig == __SIGRTMIN || sig == __SIGRTMIN + 1)
    err = EINVAL;
  else if (sig != 0)
    err = gp_signal_coro(c, sig, SI_TKILL, NULL);
  if (err)
    errno = err;
  *ret = err ? -1 : 0;
  return 1;
}

GP_EXPORT int tgkill(pid_t tgid, pid_t tid, int sig) {
  long r;
  if (tgid > 0 && gp_tid_kill(tgid, tid, sig, &r))
    return (int)r;
  return (int)GP_REAL(syscall)(SYS_tgkill, tgid, tid, sig);
}
