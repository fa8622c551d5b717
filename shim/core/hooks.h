/* hooks.h: what the shim gives the runtime: the record it keeps with each
 * coroutine, and the functions of the hooks table (core/hooks.c), which
 * gp_init hands over before the runtime starts.
 */
#ifndef GP_HOOKS_H
#define GP_HOOKS_H

#include "rt.h"

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

/* A coroutine's pthread_cancel state (thread/cancel.c). */
struct gp_cancel {
  void *chain;             /* innermost cleanup buffer registered */
  unsigned char pending;   /* pthread_cancel asked */
  unsigned char disabled;  /* PTHREAD_CANCEL_DISABLE */
  unsigned char async;     /* PTHREAD_CANCEL_ASYNCHRONOUS (as deferred) */
  unsigned char unwinding; /* ending: its stack is being unwound */
  void *retval;            /* what it ends with once unwound */
  void *unwind;            /* the unwinder's exception object */
};

struct gp_keyvals;
struct gpatch_task;
struct gpatch_timeout;

/* What the shim keeps per coroutine, in the runtime's slot of its record
 * (gp__coro_slot): all zero at spawn, and for the main coroutine at the
 * start. Each member belongs to one file, which frees what it hangs there
 * by the coroutine's end (keys.c in its exit function, cancel.c before it
 * calls gp__exit); a task outlives its coroutine. */
struct gp_coro_shim {
  struct gp_cancel cancel;         /* thread/cancel.c (not the main one) */
  struct gp_keyvals *keys;         /* thread/keys.c: its values, NULL
                                      until the first is set (the main
                                      coroutine keeps glibc's) */
  struct gpatch_task *task;        /* api/api.c: the task it runs */
  struct gpatch_timeout *timeouts; /* api/api.c: its active Timeouts,
                                      newest first */
};

/* The shim's record of coroutine c. */
static inline struct gp_coro_shim *gp_shim(gp_coro *c) {
  return gp__coro_slot(c);
}

/* The table itself (core/hooks.c), for gp_init to hand over. */
extern const struct gp_rt_hooks gp_hooks;

/* The functions in the table, by the file that holds them (signal.c's
 * two, gp_signal_dispatch and gp_signal_deliver, are declared in
 * process/intr.h, and the deadlock check gp_outside_may_wake in
 * core/diag.h). */

/* core/diag.c: once the runtime has started: the stack overflow report
 * and the blocking monitor. */
void gp_diag_start(void);
/* sync/sem.c: in the hub after a wake-up: hands out the units of
 * semaphores posted where the post could not do it itself. */
void gp_sem_hub_wake(void);
/* thread/tls_dtors.c: in ending coroutine c, with private TLS: runs its
 * C++ thread_local destructors (as program code). */
void gp_tls_exit(gp_coro *c);
/* thread/keys.c: in ending coroutine c: runs its key destructors (as
 * program code) and frees its values. */
void gp_keys_exit(gp_coro *c);
/* sync/kept.c: in ending coroutine c: the robust mutexes it still holds
 * get a dead owner (EOWNERDEAD for the next locker); the others it holds
 * stay held. */
void gp_kept_exit(gp_coro *c);
/* api/api.c: in ending coroutine c: the task it runs (gpatch.h), if any,
 * learns how it ended and its joiners wake. */
void gp_api_task_end(gp_coro *c);

#pragma GCC visibility pop

#endif
