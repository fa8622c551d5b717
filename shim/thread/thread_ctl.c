/* thread_ctl.c: calls that take another thread's pthread_t.
 *
 * A coroutine's pthread_t is not a glibc struct pthread, so each of these
 * must answer for a coroutine itself; given the main thread or a real
 * thread they are the real calls. Scheduling and affinity are accepted
 * without effect (every coroutine shares the OS thread); queries answer
 * for the OS thread.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "core/guard.h"
#include "process/intr.h"
#include "real.h"
#include "core/timeutil.h"

/* The coroutine t names when pthread_create's hook made it: NULL for the
 * main thread, a real thread, or off the scheduler thread and in runtime
 * code. */
static gp_coro *spawned_coro(pthread_t t) {
  if (!gp__sched_here() || gp__tls.inside)
    return NULL;
  gp_coro *c = gp__coro_from_handle((uintptr_t)t);
  return c && !gp__coro_is_main(c) ? c : NULL;
}

GP_EXPORT int pthread_clockjoin_np(pthread_t t, void **ret, clockid_t clk,
                                   const struct timespec *abs) {
  gp_coro *c = spawned_coro(t);
  if (c == NULL)
    return GP_REAL(pthread_clockjoin_np)(t, ret, clk, abs);
  if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC)
    return EINVAL;
  int64_t deadline = gp_join_deadline(clk, abs);
  gp_enter();
  int r = gp__join(c, ret, deadline);
  gp_leave();
  return -r;
}

/* glibc's own signals, which pthread_kill and pthread_sigqueue refuse:
 * SIGCANCEL (cancellation) and SIGSETXID (setuid and friends). Sent to
 * the OS thread they would run glibc's handlers (or kill the process). */
static int internal_signal(int sig) {
  return sig == __SIGRTMIN || sig == __SIGRTMIN + 1;
}

/* A signal for a coroutine is taken in its context (aimed.c). Errors in
 * glibc 2.36's order: pthread_sigqueue says ESRCH for a thread that
 * ended, then EINVAL for an internal signal; pthread_kill says EINVAL for
 * an internal signal, then 0 for a thread that ended (it takes nothing,
 * whatever the number); then a bad number is EINVAL. */
static int signal_coro(gp_coro *c, int sig, const union sigval *val) {
  if (val && gp__coro_ended(c))
    return ESRCH;
  if (internal_signal(sig))
    return EINVAL;
  if (gp__coro_ended(c))
    return 0;
  if (sig < 0 || sig >= NSIG)
    return EINVAL;
  if (sig == 0)
    return 0;
  return gp_signal_coro(c, sig, val ? SI_QUEUE : SI_TKILL, val);
}

/* The coroutine a signal for t goes to: the main thread's too. */
static gp_coro *target_of(pthread_t t) {
  if (!gp__sched_here() || gp__tls.inside)
    return NULL;
  return gp__coro_from_handle((uintptr_t)t);
}

GP_EXPORT int pthread_kill(pthread_t t, int sig) {
  gp_coro *c = target_of(t);
  return c ? signal_coro(c, sig, NULL) : GP_REAL(pthread_kill)(t, sig);
}

GP_EXPORT int pthread_sigqueue(pthread_t t, int sig, const union sigval v) {
  gp_coro *c = target_of(t);
  return c ? signal_coro(c, sig, &v) : GP_REAL(pthread_sigqueue)(t, sig, v);
}

GP_EXPORT int pthread_getattr_np(pthread_t t, pthread_attr_t *attr) {
  gp_coro *c = spawned_coro(t);
  if (c == NULL)
    return GP_REAL(pthread_getattr_np)(t, attr);
  int r = pthread_attr_init(attr);
  if (r)
    return r;
  void *lo;
  size_t size;
  gp__coro_stack(c, &lo, &size);
  if (lo)
    pthread_attr_setstack(attr, lo, size);
  pthread_attr_setguardsize(attr, (size_t)sysconf(_SC_PAGESIZE));
  pthread_attr_setdetachstate(attr, gp__coro_detached(c)
                                        ? PTHREAD_CREATE_DETACHED
                                        : PTHREAD_CREATE_JOINABLE);
  return 0;
}

GP_EXPORT int pthread_setaffinity_np(pthread_t t, size_t n,
                                     const cpu_set_t *set) {
  return spawned_coro(t) ? 0 : GP_REAL(pthread_setaffinity_np)(t, n, set);
}

GP_EXPORT int pthread_getaffinity_np(pthread_t t, size_t n, cpu_set_t *set) {
  if (spawned_coro(t))
    t = GP_REAL(pthread_self)();
  return GP_REAL(pthread_getaffinity_np)(t, n, set);
}

GP_EXPORT int pthread_setschedparam(pthread_t t, int policy,
                                    const struct sched_param *p) {
  return spawned_coro(t) ? 0 : GP_REAL(pthread_setschedparam)(t, policy, p);
}

GP_EXPORT int pthread_getschedparam(pthread_t t, int *policy,
                                    struct sched_param *p) {
  if (spawned_coro(t))
    t = GP_REAL(pthread_self)();
  return GP_REAL(pthread_getschedparam)(t, policy, p);
}

GP_EXPORT int pthread_setschedprio(pthread_t t, int prio) {
  return spawned_coro(t) ? 0 : GP_REAL(pthread_setschedprio)(t, prio);
}

GP_EXPORT int pthread_getcpuclockid(pthread_t t, clockid_t *clk) {
  /* Coroutines share the OS thread's CPU clock: none of their own. */
  return spawned_coro(t) ? ENOENT : GP_REAL(pthread_getcpuclockid)(t, clk);
}
