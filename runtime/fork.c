/* fork.c: the runtime in a forked child.
 *
 * POSIX keeps only the calling thread in the child; here the calling
 * coroutine goes on alone, whatever stack it runs on (the main coroutine
 * or another one). Everything the child shared with its parent through
 * the kernel is replaced before any of it is used: the epoll set the
 * hub watches (fdtab.c), libuv's backend and wake-up fd (hub.c). Waiters
 * and ready coroutines are forgotten, and the records of the coroutines
 * that did not survive are retired (coro.c), the pool lanes emptied of
 * the threads that did not survive either (work.c), and the hand-off's
 * spare OS threads and monitor forgotten (handoff.c).
 */
#include "coro.h"

/* Runs in the child, in the coroutine that called fork, before any
 * pthread_atfork child handler of the program (the shim registers its
 * handler first). Takes no lock and allocates nothing that another
 * thread of the parent could have held. Returns 0 or a negative errno
 * from libuv; the runtime is unusable after an error. */
int gp__rt_fork_child(void) {
  gp_coro *self = gp__current;
  if (!gp__rt_started() || self == NULL)
    return 0;
  gp__netpoll_fork();
  gp__wq_init();
  gp__sched_fork(self);
  gp__coro_fork(self);
  gp__work_fork();
  gp__handoff_fork();
  return gp__hub_fork(self);
}
