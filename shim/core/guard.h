/* guard.h: may this call take the cooperative path?
 *
 * A hook goes cooperative only when the calling OS thread runs the
 * scheduler, no runtime code is running (the hub, libuv and the runtime
 * reach hooked names too, and must get the real call), and the call's
 * family is patched. The check reads a thread-local byte pair and a
 * global word, so it is safe inside a signal handler.
 *
 * Every cooperative path is bracketed by gp_enter()/gp_leave().
 */
#ifndef GP_GUARD_H
#define GP_GUARD_H

#include <errno.h>
#include <stdint.h>

#include "core/config.h"
#include "rt.h"

/* gp_coop off the scheduler thread: 0, unless the caller is a coroutine
 * detached on an OS thread of its own (runtime/handoff.c), which gives
 * itself back and asks again. Out of line, so that gp_coop stays small
 * enough for the hooks that inline it. */
__attribute__((cold)) int gp_coop_slow(unsigned family);

static inline int gp_coop(unsigned family) {
  /* Two byte loads, not one 16-bit load: gp_enter and gp_leave store a
   * byte, and a wider load right after a narrower store to the same word
   * cannot be forwarded from the store buffer: it would stall every hook
   * that follows another. */
  if (GP_LIKELY(gp__tls.sched == 1))
    return gp__tls.inside == 0 && (gp_conf.families & family);
  return gp_coop_slow(family);
}

/* Set when a cancellation point's wait ended for a pthread_cancel: the
 * hook's gp_leave then acts on it (cancel.c) instead of returning. */
extern unsigned char gp__cancel_now;
__attribute__((noreturn)) void gp_cancel_act(void);
/* pthread_exit of a coroutine: unwinds its stack, then ends it. */
__attribute__((noreturn)) void gp_exit_unwind(void *retval);
void gp_cancel_note(void);

/* The hand-off monitor marks a coroutine (detached = 1) before it reads
 * its `inside`; so `inside` is set before `detached` is read: one of the
 * two sees the other (runtime/handoff.c). */
__attribute__((cold)) void gp_enter_raced(void);
static inline void gp_enter(void) {
  gp__tls.inside = 1;
  __asm__ __volatile__("" ::: "memory");
  if (GP_UNLIKELY(gp__tls.detached))
    gp_enter_raced();
}

/* A cancellation point, right after gp_enter: a pthread_cancel pending
 * for the running coroutine acts here (never returns then), as glibc's
 * does on entry, even when the call would not have to wait. One load
 * while no coroutine has a cancel or kill on. */
void gp_cancel_check(void);
static inline void gp_cancel_point(void) {
  if (GP_UNLIKELY(gp__nstop != 0))
    gp_cancel_check();
}
static inline void gp_leave(void) {
  gp__tls.inside = 0;
  gp__next_call = NULL; /* a call named for a park that did not happen */
  if (GP_UNLIKELY(gp__cancel_now))
    gp_cancel_act();
}

/* The shape of a hook that needs no cancellation point: the real call
 * unless coop holds, else coop_call (an int) inside the runtime. */
#define GP_COOP_HOOK(coop, real_call, coop_call)                            \
  do {                                                                      \
    if (!(coop))                                                            \
      return real_call;                                                     \
    gp_enter();                                                             \
    int r_ = coop_call;                                                     \
    gp_leave();                                                             \
    return r_;                                                              \
  } while (0)

/* After a call made straight because its timeout was zero (it never
 * parks): a loop of such calls is a busy wait, and gives way at the end
 * of its time slice like a hook that found its fd ready (rt.h,
 * gp__slice_point). One load while the slice is off. */
static inline void gp_slice_after(unsigned family) {
  if (GP_UNLIKELY(gp__slice_ns != 0) && gp_coop(family) && gp__live() > 1) {
    gp_enter();
    gp__slice_check();
    gp_leave();
  }
}

/* Around a call that may block in the kernel and has no cooperative form
 * (flock, semop, msgrcv, ...): with the hand-off on (private TLS), the
 * calling thread keeps this OS thread for the call and the scheduler goes
 * on on another one at once (runtime/handoff.c, gp__detach_self); without
 * it, the call blocks every thread as before. gp_detach_begin returns 1
 * when it detached: then gp_detach_end after the call (errno kept). */
int gp_detach_begin(void);
void gp_detach_end(void);
#define GP_DETACHED_CALL(call)                                              \
  ({                                                                        \
    int d_ = gp_detach_begin();                                             \
    __typeof__(call) r_ = (call);                                           \
    if (d_)                                                                 \
      gp_detach_end();                                                      \
    r_;                                                                     \
  })

/* When a wait ended because the running coroutine was killed or its
 * Timeout passed (gp__park_intr), the error the call reports: -ECANCELED
 * or -ETIMEDOUT; 0 when r is anything else. */
static inline int gp_stopped(int r) {
  if (GP_UNLIKELY(r == -ECANCELED)) {
    gp_cancel_note(); /* a pthread_cancel acts at the hook's gp_leave */
    return r;
  }
  return r == GP_EXPIRED ? -ETIMEDOUT : 0;
}

/* Turns a runtime result (0 or -errno) into the libc convention. */
static inline int gp_ret(int r) {
  if (r < 0) {
    errno = -r;
    return -1;
  }
  return r;
}

#endif
