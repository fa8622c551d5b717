/* intr.h: marking a wait that a signal may interrupt (see intr.c), and
 * what the signal files offer the other families. */
#ifndef GP_INTR_H
#define GP_INTR_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>

#include "rt.h"

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

/* One interruptible wait; lives on the waiting coroutine's stack. */
struct gp_intr {
  gp_list link;          /* in intr.c's list of waits */
  gp_coro *coro;         /* the waiting coroutine */
  uint32_t seq;          /* signals seen when the wait began */
  unsigned char always;  /* EINTR even when the handler has SA_RESTART */
  uint64_t waitset;      /* sigwait family: the signals it takes (bits) */
};

/* Call around a park (scheduler thread, inside the runtime). While the
 * record is in, a signal's handler may unpark the coroutine with -EINTR. */
void gp_intr_begin(struct gp_intr *r, int always);
void gp_intr_end(struct gp_intr *r);
/* Takes back the signals that arrived since r began, whose handler ran
 * while the running coroutine was current, and for which no coroutine
 * was interrupted yet (pause and sigsuspend: the signal was delivered to
 * them). Returns how many. */
int gp_sig_claim(const struct gp_intr *r);
/* In a forked child: no wait, no signal noted. */
void gp_signal_fork(void);
/* Installs the wrapper for the dump signal sig (GPATCH_DUMP_SIGNAL).
 * Returns 0, or -1 with errno. */
int gp_signal_dump_init(int sig);
/* The hooks table's (core/hooks.c). In the hub after a wake-up: the
 * signals that arrived interrupt their waits, and SIGCHLD wakes the wait
 * family; a requested dump is written. */
void gp_signal_dispatch(void);
/* The hooks table's: coroutine c, just switched to, takes the signals
 * aimed at it that its mask lets through (inside the runtime). */
void gp_signal_deliver(gp_coro *c);
/* wait.c: SIGCHLD arrived (in the hub): wakes the wait family. */
void gp_wait_child_changed(void);

/* pthread_sigmask that also records the new mask as the running
 * coroutine's (every switch installs the next coroutine's mask). */
int gp_set_mask(int how, const sigset_t *set, sigset_t *old);
/* For a wait that installs mask for its duration (ppoll, pselect,
 * epoll_pwait, sigsuspend): when mask lets through a signal aimed at the
 * running coroutine (pthread_kill from another one) and still pending,
 * natively the wait ends at once with EINTR after the handler; this runs
 * the handler (installs mask, which delivers it, and puts the old mask
 * back) and returns 1.  0 when there is none (nothing done). */
int gp_aimed_interrupts(const sigset_t *mask);
/* The result of a wait that gp_aimed_interrupts ended: r when the zero-
 * timeout check it made found something ready (or failed), else -1 with
 * EINTR. */
static inline int gp_intr_result(int r) {
  if (r != 0)
    return r;
  errno = EINTR;
  return -1;
}

#pragma GCC visibility pop

/* pthread_kill (code SI_TKILL) or pthread_sigqueue (SI_QUEUE, value v) of
 * sig, 1..NSIG-1, to coroutine c, which is not the running one. Returns 0
 * or EAGAIN (too many signals pending). */
int gp_signal_coro(gp_coro *c, int sig, int code, const union sigval *v);
/* The sigwait family: takes a signal of set (bits) aimed at the running
 * coroutine and pending there; returns its number, or 0. */
int gp_signal_take(uint64_t set, siginfo_t *info);

#endif
