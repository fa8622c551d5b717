/* coro.h: the coroutine record, shared by the runtime's files only. */
#ifndef GP_CORO_H
#define GP_CORO_H

#include <uv.h>

#include "ctx.h"
#include "rt.h"

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

#define GP_CORO_MAGIC 0x67706372u /* "gpcr" */

/* Life of a coroutine: READY -> RUNNING -> (PARKED -> READY ->)... DEAD. */
enum gp_state {
  GP_READY,   /* in the ready queue */
  GP_RUNNING, /* the current coroutine */
  GP_PARKED,  /* waiting for gp__unpark or its deadline */
  GP_DEAD,    /* ended; the record waits for its joiner */
};

struct gp_coro {
  uint32_t magic;          /* GP_CORO_MAGIC while the record is live */
  int id;                  /* owner id for mutexes (see gp__coro_id) */
  uintptr_t handle;        /* the pthread_t the program sees */
  gp_ctx ctx;              /* saved registers while not running */
  void *stack;             /* the stack mapping (guard included), or NULL */
  void *own_stack;         /* the program's stack (pthread_attr_setstack) */
  size_t stack_size;       /* usable bytes above the guard */
  void *(*fn)(void *);     /* entry point and its argument */
  void *arg;
  void *retval;            /* what fn returned or gave pthread_exit */
  int saved_errno;         /* errno while switched out */
  int wake;                /* code given by gp__unpark */
  gp_list link;            /* ready queue */
  gp_coro *joiner;         /* coroutine parked in gp__join on this one */
  unsigned detached : 1;   /* nobody will join: freed when it ends */
  unsigned joining : 1;    /* a joiner is registered */
  unsigned is_main : 1;    /* runs on the process's original stack */
  unsigned tls_done : 1;   /* its thread_local destructors have run */
  int timer_init;          /* timer has been initialised */
  uv_timer_t timer;        /* deadline of the current park */
  uint64_t sigmask;        /* signal mask while it runs (assembly switch) */
  char name[16];           /* pthread_setname_np */
  gp_list all;             /* in the list of every record in use */
  /* What it waits on while parked, for the dump (dump.c). */
  const char *w_call;      /* the call, as the shim named it, or NULL */
  int w_fd;                /* the first fd waited on, or -1 */
  int w_nfds;              /* how many fds (0: not an fd wait) */
  unsigned w_events;       /* GP_IN/GP_OUT/GP_PRI of the first fd */
  enum gp_state state;     /* fields ordered to leave no padding */
  const void *w_obj;       /* address waited on (wait queue), or NULL */
  gp_coro *w_join;         /* coroutine waited for in gp__join, or NULL */
  int64_t w_deadline;      /* deadline of the current park, or GP_NEVER */
  int64_t deadline;        /* its Timeout (GP_NEVER: none) */
  unsigned char killed;    /* gp__kill asked it to stop */
  unsigned char stop;      /* killed or a Timeout on: in gp__nstop */
  unsigned char intr;      /* parked in gp__park_intr: a kill wakes it */
  unsigned char park_kind; /* enum gp_park_kind of its last park */
  unsigned char handed;    /* detached: keeps an OS thread (handoff.c) */
  uint64_t sig_pend;       /* signals aimed at it, not yet taken (rt.h) */
  void *tls_tp;            /* its thread pointer (private TLS), or NULL */
  /* The shim's slot (gp__hooks->slot_size bytes) follows the record:
   * every record is allocated with it, the main one included (hub.c). */
};

/* hub.c: the shim's hooks (rt.h), an empty table until it hands its own;
 * never NULL. */
extern const struct gp_rt_hooks *gp__hooks;

/* sched.c and hub.c */
extern gp_ctx gp__hub_ctx;
extern uint64_t gp__hub_mask;
gp_coro *gp__main_coro(void);
void gp__live_add(int n);
uv_loop_t *gp__loop(void);
/* Makes a coroutine ready (spawn, unpark, yield). */
void gp__ready(gp_coro *c);
size_t gp__ready_count(void);
gp_coro *gp__pop_ready(void);
/* The hub's polls of the loop so far (slice.c notes the pass by it). */
extern uint64_t gp__loop_polls;
/* The running coroutine goes back to the hub, ready, to be queued by
 * gp__sched_polled, which the hub calls after each poll of the loop
 * (the time slice, slice.c). */
void gp__yield_lap(void);
void gp__sched_polled(void);
/* Direct switches allowed before going back to the hub. */
void gp__set_budget(size_t n);
/* The hub runs c (and those it hands over to) until one comes back. */
void gp__run(gp_coro *c);
/* Called first by a context that was just switched to. */
void gp__sched_resumed(void);
/* Then, by a coroutine that has signals aimed at it pending (sig_pend). */
void gp__sig_resumed(gp_coro *c);
/* The coroutine's end: called by gp__exit. */
__attribute__((noreturn)) void gp__sched_exit(void);
/* Signal masks: the kernel's now; the first mask of the hub. */
uint64_t gp__sigmask_read(void);
void gp__sched_init_mask(uint64_t m);
/* hubmask.c: the masks of the live coroutines, whose intersection the hub
 * runs with. A coroutine joins with its first mask when it starts, leaves
 * with its last when it ends; gp__mask_change follows every change. */
void gp__mask_join(uint64_t m);
void gp__mask_leave(uint64_t m);
void gp__mask_change(uint64_t from, uint64_t to);
/* In a forked child: the calling coroutine, with mask m, is the only one. */
void gp__mask_reset(uint64_t m);
/* The hub's mask (also stored in gp__hub_mask), worked out again after a
 * change. */
uint64_t gp__mask_hub(void);
/* Fixes the switch path once the choice of switch and diagnostics are
 * known (at the runtime's start, before the first switch). */
void gp__sched_start(void);
/* sched.c: gp__park and gp__park_intr, noting the kind of wait. */
int gp__park_as(int64_t deadline, int kind);
int gp__park_intr_stop(int64_t deadline, int kind);

/* gp__park_intr, inline where no kill or Timeout is on (the usual case:
 * two byte stores around the park). */
static inline int gp__park_intr_as(int64_t deadline, int kind) {
  gp_coro *c = gp__current;
  if (GP_UNLIKELY(c->stop))
    return gp__park_intr_stop(deadline, kind);
  c->intr = 1;
  int r = gp__park_as(deadline, kind);
  c->intr = 0;
  return r;
}
/* diag.c: what the runtime reports when gp__diag is on. */
void gp__diag_switch(gp_coro *from, gp_coro *to);
void gp__diag_spawn(gp_coro *c);
/* c has ended and switched away: its stack is about to be freed. */
void gp__diag_stack_done(gp_coro *c);
void gp__diag_loop(int64_t blocked_ns);
void gp__diag_started(void);
/* coro.c: frees a record and its stack (the stack is released by the hub
 * when the coroutine ends). */
void gp__coro_release_stack(gp_coro *c);
void gp__coro_free(gp_coro *c);
/* stack.c: stacks and the cache of freed ones (see its top comment). */
int gp__stack_alloc(size_t size, void **base);
void gp__stack_free(void *base, size_t size);
size_t gp__page_size(void);
/* What the stack cache holds and has done (for tests and diagnostics). */
struct gp_stack_stats {
  size_t bytes;       /* bytes mapped by the cached stacks, guards too */
  size_t bound;       /* the bound on bytes */
  size_t stacks;      /* cached stacks */
  uint64_t hits;      /* allocations served from the cache */
  uint64_t maps;      /* allocations that mapped a new stack */
  uint64_t evictions; /* cached stacks unmapped to keep within the bound */
};
void gp__stack_stats(struct gp_stack_stats *s);
/* Sets the bound on the bytes the cache keeps (0: the default, 1024
 * stacks of the default size) and unmaps the oldest stacks past it. */
void gp__stack_cache_bound(size_t bytes);
/* fdtab.c: the netpoll fd the hub watches, and its dispatch. */
int gp__netpoll_fd(void);
void gp__netpoll_dispatch(void);
size_t gp__netpoll_waiters(void);

/* tls.c: private TLS (GPATCH_TLS=private). gp__tls_start fixes the mode
 * at the start, before the first switch (1: private); then every spawn
 * gets a block (gp__tls_new: 0 or -ENOMEM), its trampoline calls
 * gp__tls_begin before the program's function, and the block is freed
 * with the stack (gp__tls_free). The switch installs to->tls_tp, or
 * gp__tls_main_tp for the hub and the main coroutine. */
extern int gp__tls_private;
extern void *gp__tls_main_tp;
int gp__tls_start(void);
int gp__tls_new(gp_coro *c);
void gp__tls_begin(void);
void gp__tls_free(gp_coro *c);

/* tls.c: the shim's flags in c's block; a block for a host's home (no
 * coroutine's), or NULL. */
struct gp_tls *gp__tls_of(gp_coro *c);
void *gp__tls_block(void);
/* handoff.c and sched.c: switches so far (the monitor's clock), the block
 * the hub runs on; at the start; in the hub after each poll of the loop;
 * on a host that takes the hub (no coroutine runs, the hub's mask). */
extern uint64_t gp__nswitch;
extern void *gp__hub_tp;
void gp__handoff_start(void);
extern unsigned char gp__handoff_lazy;
void gp__handoff_monitor(void);
void gp__handoff_drain(void);
/* The OS thread c keeps while detached, else 0 (for the dump). */
int gp__handoff_tid(gp_coro *c);
void gp__sched_take(void);

/* Every record in use (not in the spare list), the main one included. */
extern gp_list gp__all;
/* After fork, in the child (fork.c calls these in this order): a new
 * epoll set under the old number with no fd in it, empty wait queues, an
 * empty ready queue, the records of other coroutines retired, empty pool
 * lanes with no thread, and the loop and the hub made anew. */
void gp__netpoll_fork(void);
void gp__wq_init(void); /* also at start (hub.c) */
void gp__sched_fork(gp_coro *self);
void gp__coro_fork(gp_coro *self);
void gp__work_fork(void);
void gp__handoff_fork(void);
int gp__hub_fork(gp_coro *self);

#pragma GCC visibility pop

#endif
