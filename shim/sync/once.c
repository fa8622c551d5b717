/* once.c: cooperative pthread_once.
 *
 * glibc's pthread_once_t is an int: 0 not run, bit 0 in progress (with
 * the fork generation in bits 2 and up), bit 1 done. A second caller
 * waits on a futex while the first runs the routine, which would block
 * the one OS thread; here it parks on the control's address until the
 * runner marks it done and wakes everyone, without allocating.
 *
 * The runner writes 1 (in progress, generation 0, as glibc in a process
 * that was never forked) and 2 (done) itself. A control found in progress
 * but run by no coroutine was started natively, by the main thread before
 * the runtime started (the routine created the first thread): glibc's
 * futex wake will not reach the runtime's queues, so its waiters look
 * again every millisecond instead.
 *
 * A routine that ends its thread (pthread_exit, or a cancellation inside
 * it) leaves the control not run, and the next caller runs the routine,
 * as glibc's cleanup handler does.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>

#include "core/guard.h"
#include "real.h"

#define IN_PROGRESS 1
#define DONE 2
#define RUNNING_MAX 64 /* routines running at once that we know of */
#define POLL_NS 1000000

/* Controls whose routine a coroutine runs now (NULL: free slot). */
static pthread_once_t *running[RUNNING_MAX];

static int run_by_coroutine(pthread_once_t *o) {
  for (int i = 0; i < RUNNING_MAX; i++)
    if (running[i] == o)
      return 1;
  return 0;
}

/* Parks until the runner wakes us (or, for a native runner, for a
 * while): the caller looks at the control again. */
static void wait_done(pthread_once_t *o) {
  gp_waiter w;
  gp__wq_add(&w, o);
  gp__wq_park(&w, run_by_coroutine(o) ? GP_NEVER : gp__now() + POLL_NS);
}

struct run {
  pthread_once_t *o;
  pthread_once_t **slot;
};

/* Ends a run: o becomes state (DONE, or 0 when the routine's thread ended
 * inside it), and its waiters look again. */
static void finish(struct run *r, int state) {
  unsigned char was = gp__inside_enter();
  if (r->slot)
    *r->slot = NULL;
  __atomic_store_n(r->o, state, __ATOMIC_RELEASE);
  gp__wq_wake(r->o, INT_MAX);
  gp__inside_restore(was);
}

static void abandoned(void *arg) { finish(arg, 0); }

/* Runs the routine as program code, then marks o done and wakes its
 * waiters. */
static void run(pthread_once_t *o, void (*init)(void)) {
  struct run r = {o, NULL};
  for (int i = 0; i < RUNNING_MAX && r.slot == NULL; i++)
    if (running[i] == NULL)
      r.slot = &running[i];
  if (r.slot)
    *r.slot = o; /* with no slot, waiters fall back to looking again */
  __atomic_store_n(o, IN_PROGRESS, __ATOMIC_RELAXED);
  gp_leave();
  pthread_cleanup_push(abandoned, &r);
  init();
  pthread_cleanup_pop(0);
  finish(&r, DONE);
  gp_enter();
}

GP_EXPORT int pthread_once(pthread_once_t *o, void (*init)(void)) {
  if (__atomic_load_n(o, __ATOMIC_ACQUIRE) & DONE)
    return 0;
  if (!gp_coop(GP_FAM_SYNC) || gp__current == NULL)
    return GP_REAL(pthread_once)(o, init);
  gp_enter();
  int v;
  while (((v = __atomic_load_n(o, __ATOMIC_ACQUIRE)) & DONE) == 0) {
    if (v & IN_PROGRESS)
      wait_done(o);
    else
      run(o, init);
  }
  gp_leave();
  return 0;
}
