/* sigmask.c: signal masks. The mask lives per coroutine: pthread_sigmask
 * and sigprocmask change the OS thread's mask and record it as the running
 * coroutine's (every switch installs the next coroutine's mask); a change
 * that unblocks signals aimed at the coroutine delivers them at once
 * (aimed.c), and sigpending shows those not taken yet. */
#include <signal.h>
#include <string.h>

#include "core/guard.h"
#include "process/intr.h"
#include "process/sig.h"
#include "real.h"

/* The mask lives per coroutine: after a change on the scheduler thread,
 * the runtime records it for the running coroutine. */
static void note_mask(void) {
  if (!gp__sched_here())
    return;
  unsigned char was = gp__inside_enter();
  gp__sigmask_note();
  gp__inside_restore(was);
}

/* After the running coroutine changed its mask: the signals aimed at it
 * that the mask now lets through are delivered at once, as the kernel
 * does for a thread's pending signals. */
static void mask_changed(void) {
  note_mask();
  gp_coro *c = gp__sched_here() ? gp__self() : NULL;
  if (c && *gp__coro_sigpend(c)) {
    unsigned char was = gp__inside_enter();
    gp_signal_deliver(c);
    gp__inside_restore(was);
  }
}

int gp_set_mask(int how, const sigset_t *set, sigset_t *old) {
  int r = GP_REAL(pthread_sigmask)(how, set, old);
  if (r == 0 && set)
    mask_changed();
  return r;
}

GP_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old) {
  return gp_set_mask(how, set, old);
}

GP_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old) {
  int r = GP_REAL(sigprocmask)(how, set, old);
  if (r == 0 && set)
    mask_changed();
  return r;
}

/* Adds the signals aimed at the running coroutine (pthread_kill) that it
 * has not taken yet. */
GP_EXPORT int sigpending(sigset_t *set) {
  int r = GP_REAL(sigpending)(set);
  gp_coro *c = gp__sched_here() ? gp__self() : NULL;
  if (r == 0 && c) {
    uint64_t b;
    memcpy(&b, set, sizeof b);
    b |= *gp__coro_sigpend(c);
    memcpy(set, &b, sizeof b);
  }
  return r;
}
