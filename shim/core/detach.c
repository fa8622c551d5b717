/* detach.c: the hooks' side of the hand-off (runtime/handoff.c).
 *
 * A coroutine the hand-off monitor detached runs on an OS thread of its
 * own, with its TLS flags saying "not a scheduler thread" (sched = 0,
 * detached = 1): its calls reach the kernel straight. The first hook that
 * would have gone cooperative gives it back to the scheduler and then
 * goes on as usual (gp_coop_slow); so do the hooks that decide by
 * sched alone (gp__sched_here, rt.h). */
#include "core/guard.h"

int gp_coop_slow(unsigned family) {
  if (!gp__tls.detached)
    return 0; /* a thread the runtime does not run coroutines on */
  gp__rejoin();
  return gp__tls.sched == 1 && gp__tls.inside == 0 &&
         (gp_conf.families & family);
}

/* gp_enter found `detached` set after it set `inside`: the monitor was
 * deciding a hand-off at that moment. gp__rejoin waits for its answer:
 * undone (it saw `inside`: nothing to do), or done (back first). */
void gp_enter_raced(void) { gp__rejoin(); }

int gp_detach_begin(void) {
  if (!gp_coop(GP_FAM_THREAD) || gp__live() < 2)
    return 0;
  gp_enter();
  if (gp__detach_self() != 0) {
    gp_leave();
    return 0;
  }
  return 1;
}

void gp_detach_end(void) {
  int saved = errno;
  gp__rejoin();
  gp_leave();
  errno = saved;
}
