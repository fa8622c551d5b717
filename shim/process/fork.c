/* fork.c: fork and vfork.
 *
 * fork itself is glibc's: it runs the pthread_atfork handlers, and the
 * shim's child handler (registered by the constructor, so before any of
 * the program's, and glibc runs child handlers in registration order)
 * rebuilds the runtime around the calling coroutine before the program's
 * handlers run: they may already create threads or lock mutexes. The
 * handler takes no lock and touches nothing a thread of the parent could
 * have been changing, so it cannot deadlock.
 *
 * vfork is fork here. glibc's vfork shares the parent's memory until the
 * child calls exec or _exit, and the child's first hooked call (a close
 * or dup2 before exec, say) would then change the parent's runtime: wake
 * its coroutines with EBADF, or switch to its hub. A real fork costs a
 * copy of the page tables and gives the same results to every program
 * that uses vfork as POSIX allows (exec or _exit at once).
 */
#include <errno.h>
#include <unistd.h>

#include "core/fdkind.h"
#include "core/guard.h"
#include "process/intr.h"
#include "process/proc.h"
#include "real.h"
#include "sync/kept.h"
#include "thread/tid.h"

/* With the hand-off (runtime/handoff.c), a thread that forks must be on
 * the scheduler, and stay there until the fork is done: a detached one
 * gives itself back first, and `inside` keeps the monitor from detaching
 * it during the fork (the child would start detached from a scheduler
 * that is not there). The prepare handler runs last of all (the shim's
 * was registered first), the parent and child ones first. */
static unsigned char held, held_was;

void gp_fork_prepare(void) {
  gp_fd_shared_maybe(); /* the child shares every fd's file (fdkind.h) */
  if (gp__tls.sched != 1 && !gp__tls.detached)
    return; /* a thread of its own (not ours) */
  held_was = gp__tls.inside;
  gp_enter(); /* gives a detached thread back first */
  held = 1;
}

void gp_fork_parent(void) {
  if (held && gp__tls.sched == 1) {
    held = 0;
    gp__tls.inside = held_was;
  }
}

void gp_fork_child(void) {
  if (held && gp__tls.sched == 1) {
    held = 0;
    gp__tls.inside = held_was;
  }
  if (!gp__sched_here())
    return; /* a foreign thread forked: its child never runs coroutines */
  unsigned char was = gp__inside_enter();
  gp_signal_fork();
  gp_kept_fork();
  gp_accept_nb_fork();
  int err = gp__rt_fork_child();
  gp_tid_fork();
  gp__inside_restore(was);
  if (err) {
    gp__log("fork: the child's event loop could not be made (error %d); "
            "the child goes on with the real calls", -err);
    gp__tls.sched = 0;
  }
}

GP_EXPORT pid_t vfork(void) { return fork(); }
