/* sig.h: what the signal files offer each other: signal.c (the program's
 * actions and the wrapper), sigmask.c (masks), intr.c (which coroutine a
 * signal interrupts) and aimed.c (signals aimed at one coroutine). */
#ifndef GP_SIG_H
#define GP_SIG_H

#include <signal.h>
#include <stdint.h>

#include "rt.h"

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

/* signal.c: 1 when the program's action for sig has SA_RESTART. */
int gp_sig_restarts(int sig);
/* signal.c: whether the program's action for sig runs a handler (asking
 * the kernel when the program did not set it through us). */
int gp_sig_handled_now(int sig);

/* intr.c: the wrapper ran the program's handler for sig; notes it for
 * the hub (async-signal-safe). */
void gp_sig_note(int sig);
/* intr.c: the dump signal arrived; the hub prints the dump. */
void gp_sig_note_dump(void);
/* intr.c: sig, raised now for coroutine c (pthread_kill), interrupts c's
 * wait or none (scheduler thread only). */
void gp_intr_aim(gp_coro *c, int sig);
/* intr.c: sig was made pending on c, which is not running: ends c's wait
 * as the signal would (a sigwait for it takes it, an interruptible wait
 * fails with EINTR), else resumes c for a moment to run the handler. */
void gp_intr_wake_aimed(gp_coro *c, int sig);

/* aimed.c: gp_signal_deliver (intr.h) raises the aimed signals c's mask
 * lets through; c is running. */
/* aimed.c: in a forked child: no aimed signal pending. */
void gp_aimed_fork(void);

#pragma GCC visibility pop

/* Whether c's mask blocks sig. */
static inline int gp_sig_blocks(gp_coro *c, int sig) {
  return (gp__coro_sigmask(c) >> (sig - 1)) & 1;
}

/* sig's bit in a 64-bit set (sigpend, waitset). */
static inline uint64_t gp_sig_bit(int sig) { return 1ull << (sig - 1); }

#endif
