/* tid.h: thread ids of coroutines (thread/tid.c) and the calls that take
 * one back (process/tgkill.c). */
#ifndef GP_TID_H
#define GP_TID_H

#include <sys/types.h>

#include "rt.h"

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

/* With GPATCH_TLS=private a coroutine's tid is GP_TID_MIN + its number
 * (modulo the range): above the kernel's PID_MAX_LIMIT (2^22, the most
 * /proc/sys/kernel/pid_max accepts on 64-bit), so never a real thread's,
 * here or in another process; below FUTEX_OWNER_DIED (2^30), so it
 * still fits FUTEX_TID_MASK as a lock word's owner. */
#define GP_TID_MIN (1 << 22)
#define GP_TID_END (1 << 30)

/* gettid of the calling thread: the coroutine's own in private mode, the
 * OS thread's otherwise (shared mode, the main coroutine, the hub, a
 * foreign thread). */
pid_t gp_tid_self(void);
/* The OS thread's tid (the real gettid). */
pid_t gp_tid_os(void);
/* The coroutine that tid names in this process when a call that takes a
 * tid must answer for it: a live coroutine's tid, or in private mode the
 * OS thread's own, which names the thread that shows it (the main
 * coroutine; in a child forked by a coroutine, that one). NULL when the
 * kernel should answer (any other id, shared mode, off the scheduler
 * thread, or inside the runtime). */
gp_coro *gp_tid_coro(pid_t tid);
/* Whether tid is a coroutine's own (from the range above). */
int gp_tid_is_coro(pid_t tid);
/* In a forked child: the calling coroutine is the child's main thread
 * and gets the real tid from now on. */
void gp_tid_fork(void);

/* process/tgkill.c: tgkill(tgid, tid, sig), and tkill when tgid is 0,
 * aimed at the coroutine tid names. Returns 1 with the call's result in
 * *ret (0, or -1 with errno), or 0 when the kernel must take it. */
int gp_tid_kill(pid_t tgid, pid_t tid, int sig, long *ret);

#pragma GCC visibility pop

#endif
