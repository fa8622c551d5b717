/* tid.c: gettid per coroutine, and the scheduling calls that take a tid.
 *
 * With GPATCH_TLS=private each coroutine is a whole thread to glibc, and
 * gets a thread id of its own, stable for its life: GP_TID_MIN plus its
 * number (tid.h says why that range). The main coroutine keeps the real
 * tid, so that gettid() == getpid() still tells the main thread; in a
 * child forked by a coroutine, that coroutine takes the real tid, as the
 * forking thread becomes the child's main thread. glibc's own tid field
 * (the TCB's) stays the real one: robust and priority-inheritance mutex
 * words and raise() need a tid the kernel knows (runtime/tls.c).
 *
 * With GPATCH_TLS=shared (not the default) every coroutine shares the
 * OS thread's TLS, and so its tid: a tid cached in a __thread variable (as
 * loggers do) would otherwise be one coroutine's seen by all.
 *
 * The calls that take a tid back: signals (process/tgkill.c) reach the
 * coroutine as pthread_kill does; the affinity, policy and priority of a
 * coroutine's tid are accepted without effect and read as the OS
 * thread's, as pthread_setaffinity_np and friends do for a coroutine's
 * pthread_t (thread_ctl.c). Anything else (/proc/self/task/<tid>, kill,
 * F_SETOWN_EX, ptrace, perf_event_open) reaches the kernel, which knows
 * no such thread: ESRCH or ENOENT.
 */
#include <errno.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/guard.h"
#include "real.h"
#include "thread/tid.h"

/* In a forked child, the real tid of its one OS thread (0 in the
 * process the runtime started in). */
static pid_t child_tid;

pid_t gp_tid_os(void) { return (pid_t)GP_REAL(syscall)(SYS_gettid); }

/* The thread that shows the real tid is the one that stands for the
 * process's main thread (gp__primary: the main coroutine, or in a child
 * the coroutine that forked). */
static int has_real_tid(gp_coro *c) { return c == gp__primary(); }

/* That tid: the OS thread's where the runtime started (the main
 * coroutine's id), or the child's; fixed, wherever the OS thread under
 * the coroutine is. */
static pid_t real_tid(void) {
  if (child_tid)
    return child_tid;
  gp_coro *p = gp__primary();
  return p && gp__coro_is_main(p) ? gp__coro_id(p) : gp_tid_os();
}

static pid_t tid_of(gp_coro *c) {
  unsigned n = (unsigned)gp__coro_number(c) - 1;
  return GP_TID_MIN + (pid_t)(n % (GP_TID_END - GP_TID_MIN));
}

/* A coroutine detached on an OS thread of its own (the hand-off) gives
 * itself back first, as at any hook (gp__sched_here). */
pid_t gp_tid_self(void) {
  gp_coro *c = gp__sched_here() ? gp__self() : NULL;
  if (c == NULL || !gp__tls_is_private())
    return gp_tid_os();
  return has_real_tid(c) ? real_tid() : tid_of(c);
}

int gp_tid_is_coro(pid_t tid) { return tid >= GP_TID_MIN && tid < GP_TID_END; }

static int tid_match(gp_coro *c, void *arg) {
  pid_t tid = *(pid_t *)arg;
  return has_real_tid(c) ? 0 : tid_of(c) == tid;
}

gp_coro *gp_tid_coro(pid_t tid) {
  if (!gp__sched_here() || gp__tls.inside || !gp__rt_started() ||
      tid <= 0 || !gp__tls_is_private())
    return NULL; /* shared: no coroutine has a tid of its own */
  if (gp_tid_is_coro(tid))
    return gp__coro_find(tid_match, &tid);
  if (tid == real_tid()) {
    gp_coro *p = gp__primary();
    return p && !gp__coro_ended(p) ? p : NULL;
  }
  return NULL;
}

void gp_tid_fork(void) { child_tid = gp_tid_os(); }

GP_EXPORT pid_t gettid(void) { return gp_tid_self(); }

/* A coroutine's own tid (not the OS thread's): a call on it answers as
 * the pthread_*_np calls do for a coroutine. */
static int coro_tid(pid_t tid) {
  return gp_tid_is_coro(tid) && gp_tid_coro(tid) != NULL;
}

GP_EXPORT int sched_setaffinity(pid_t pid, size_t n, const cpu_set_t *set) {
  return coro_tid(pid) ? 0 : GP_REAL(sched_setaffinity)(pid, n, set);
}

GP_EXPORT int sched_getaffinity(pid_t pid, size_t n, cpu_set_t *set) {
  return GP_REAL(sched_getaffinity)(coro_tid(pid) ? 0 : pid, n, set);
}

GP_EXPORT int sched_setscheduler(pid_t pid, int policy,
                                 const struct sched_param *p) {
  return coro_tid(pid) ? 0 : GP_REAL(sched_setscheduler)(pid, policy, p);
}

GP_EXPORT int sched_getscheduler(pid_t pid) {
  return GP_REAL(sched_getscheduler)(coro_tid(pid) ? 0 : pid);
}

GP_EXPORT int sched_setparam(pid_t pid, const struct sched_param *p) {
  return coro_tid(pid) ? 0 : GP_REAL(sched_setparam)(pid, p);
}

GP_EXPORT int sched_getparam(pid_t pid, struct sched_param *p) {
  return GP_REAL(sched_getparam)(coro_tid(pid) ? 0 : pid, p);
}

/* PRIO_PROCESS with a tid is that thread's nice value on Linux. */
GP_EXPORT int setpriority(__priority_which_t which, id_t who, int prio) {
  if (which == PRIO_PROCESS && coro_tid((pid_t)who))
    return 0;
  return GP_REAL(setpriority)(which, who, prio);
}

GP_EXPORT int getpriority(__priority_which_t which, id_t who) {
  if (which == PRIO_PROCESS && coro_tid((pid_t)who))
    who = 0;
  return GP_REAL(getpriority)(which, who);
}
