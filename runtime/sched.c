/* sched.c: the ready queue, switching, park and unpark.
 *
 * A coroutine that parks, yields or ends hands the CPU straight to the
 * next ready coroutine, without a detour through the hub, as long as the
 * hub's budget for this pass lasts; then it goes back to the hub, which
 * polls the loop and starts the next pass (hub.c). Every switch goes
 * through switch_to(), which keeps errno and the signal mask per
 * coroutine and frees the stack of a coroutine that just ended.
 *
 * A coroutine may also carry a kill request and a Timeout (a deadline of
 * its own): gp__park_intr, the park of waits a program expects to fail,
 * honours them; the flag `stop` says in one byte whether either is on.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "coro.h"
#include "real.h"

gp_coro *gp__current;            /* running coroutine; NULL in the hub */
int gp__current_id;
size_t gp__nstop;                /* coroutines whose `stop` is set */
gp_ctx gp__hub_ctx;              /* the hub's context */
uint64_t gp__hub_mask;           /* the hub's signal mask */
static gp_list ready = {&ready, &ready};
static size_t nready;
/* The coroutine another one just woke (a post, a signal, a mutex handed
 * over) runs next, ahead of the queue, as Go's runnext: the waker has
 * just produced what it waits for. At most RUNNEXT_STREAK such turns in
 * a row, so two coroutines waking each other cannot starve the queue. */
static gp_coro *runnext;
static int streak;
#define RUNNEXT_STREAK 8
/* The coroutine that gave way at its time slice (slice.c): ready, but
 * queued only after the hub's next poll of the loop, so that whoever
 * the poll wakes runs before it does again. */
static gp_coro *lapped;
static size_t budget;            /* direct switches left in this pass */
static uint64_t cur_mask;        /* the signal mask installed now */
static gp_coro *ended;           /* its stack is freed after the switch */
static int *errno_at;            /* &errno of the scheduler thread */
static unsigned char slow;       /* ucontext, diagnostics or private TLS */

size_t gp__ready_count(void) {
  return nready + (runnext != NULL) + (lapped != NULL);
}
void gp__set_budget(size_t n) { budget = n; }

static void set_mask(uint64_t m) {
  GP_ASSERT(GP_REAL(syscall)(SYS_rt_sigprocmask, SIG_SETMASK, &m, NULL, sizeof m) ==
            0);
  cur_mask = m;
}

uint64_t gp__sigmask_read(void) {
  uint64_t m = 0;
  GP_ASSERT(GP_REAL(syscall)(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &m, sizeof m) == 0);
  return m;
}

/* (With ucontext, swapcontext installs each context's mask itself: the
 * record only answers gp__coro_sigmask. A context made with makecontext
 * starts with its creator's mask, as a coroutine record does.) */
void gp__sigmask_note(void) {
  cur_mask = gp__sigmask_read();
  if (gp__current) {
    gp__mask_change(gp__current->sigmask, cur_mask);
    gp__current->sigmask = cur_mask;
  } else
    gp__hub_mask = cur_mask;
}

uint64_t gp__coro_sigmask(gp_coro *c) { return c->sigmask; }

void gp__sched_init_mask(uint64_t m) {
  gp__hub_mask = cur_mask = m;
  errno_at = &errno; /* a call each time otherwise: errno is a macro */
}

/* A host that takes the hub (handoff.c): no coroutine runs there now, and
 * the hub's signal mask is installed on this OS thread. */
void gp__sched_take(void) {
  __atomic_store_n(&gp__nswitch, gp__nswitch + 1, __ATOMIC_RELAXED);
  __atomic_store_n(&gp__current, NULL, __ATOMIC_RELAXED);
  gp__current_id = 0;
  set_mask(gp__mask_hub());
}

/* Whatever runs first after a switch calls this: frees the stack of the
 * coroutine that ended and switched away. */
void gp__sched_resumed(void) {
  gp_coro *c = ended;
  if (c == NULL)
    return;
  ended = NULL;
  gp__coro_release_stack(c);
  if (c->detached)
    gp__coro_free(c);
}

uint64_t *gp__coro_sigpend(gp_coro *c) { return &c->sig_pend; }

/* Hands c's pending aimed signals to the shim (the hooks' sigpend). The
 * handlers that run may park again (on c's stack, above its park): c's
 * wake code is kept for the park that is returning. */
void gp__sig_resumed(gp_coro *c) {
  int wake = c->wake;
  if (gp__hooks->sigpend)
    gp__hooks->sigpend(c);
  c->wake = wake;
}

void gp__sched_start(void) {
  slow = gp__ctx_is_ucontext() || gp__diag || gp__tls_private;
  /* With private TLS errno is in each coroutine's block: the common path
   * keeps a scratch copy, and tls_switch the real one (the hub borrows
   * blocks). */
  static int scratch;
  if (gp__tls_private)
    errno_at = &scratch;
}

/* switch_to's rarer half (private TLS's too): diagnostics, and whether the
 * mask is still to be installed (swapcontext does it with the ucontext
 * switch). */
__attribute__((noinline, cold)) static int switch_slow(gp_coro *from,
                                                       gp_coro *to) {
  if (gp__diag)
    gp__diag_switch(from, to);
  return !gp__ctx_is_ucontext();
}

/* Installs the signal mask of the context about to run, if it differs. */
static inline void install_mask(gp_coro *to) {
  uint64_t m = to ? to->sigmask : gp__mask_hub();
  if (m != cur_mask)
    set_mask(m);
}

/* The hub has just resumed through swapcontext, which put back the mask
 * it had when it last ran: the live coroutines' masks may have changed
 * since (hubmask.c). */
__attribute__((noinline, cold)) static void hub_mask_resumed(void) {
  uint64_t m = gp__mask_hub();
  if (m != gp__sigmask_read())
    set_mask(m);
}

/* Private TLS: the thread pointer moves with the context. The hub has no
 * block of its own to move to: it runs on the block it finds, the one of
 * the coroutine that left for it, which is not running (a detached
 * coroutine runs on its own OS thread and never leaves for the hub). On a
 * machine without FSGSBASE each write of the thread pointer is a system
 * call (arch_prctl; 4 us on a VM): this way a coroutine that parks and is
 * woken again, the common case, costs none, and a hand-off between two
 * coroutines through the hub costs one. The hub clobbers only errno
 * there, which the switch keeps for the coroutine (saved_errno). It moves
 * to a block of its own (gp__hub_tp) when the block it is on is about to
 * be freed: the coroutine that left has ended. */
static inline void tls_switch(gp_coro *from, gp_coro *to) {
  if (from != NULL)
    from->saved_errno = errno;
  if (to != NULL)
    gp__ctx_set_tp(to->tls_tp ? to->tls_tp : gp__tls_main_tp);
  else if (from == NULL || from->state == GP_DEAD)
    gp__ctx_set_tp(gp__hub_tp);
}

/* Switches from one context to another (NULL: the hub), keeping errno and
 * the signal mask of each. With the assembly switch and no diagnostics,
 * one predictable branch stands for both, and the switch is called
 * straight; private TLS takes the other branch, which also moves the
 * thread pointer. errno is still kept per coroutine: in shared mode
 * everyone shares one, and in private mode the hub runs on the block of
 * the coroutine that left for it (tls_switch). */
static void switch_to(gp_coro *from, gp_coro *to) {
  gp_ctx *fc = from ? &from->ctx : &gp__hub_ctx;
  gp_ctx *tc = to ? &to->ctx : &gp__hub_ctx;
  if (from)
    from->saved_errno = *errno_at;
  gp__current = to;
  gp__current_id = to ? to->id : 0;
  if (GP_LIKELY(!slow)) {
    install_mask(to);
    gp__ctx_switch_asm(fc, tc);
  } else {
    /* The hand-off monitor's clock: it exists with private TLS only. */
    __atomic_store_n(&gp__nswitch, gp__nswitch + 1, __ATOMIC_RELAXED);
    if (switch_slow(from, to))
      install_mask(to);
    if (gp__tls_private)
      tls_switch(from, to);
    gp__ctx_switch(fc, tc);
  }
  gp__sched_resumed();
  if (from) {
    *errno_at = from->saved_errno;
    if (GP_UNLIKELY(slow) && gp__tls_private)
      errno = from->saved_errno; /* the hub may have run on its block */
    if (GP_UNLIKELY(from->sig_pend))
      gp__sig_resumed(from);
  } else if (GP_UNLIKELY(slow) && gp__ctx_is_ucontext()) {
    hub_mask_resumed();
  }
}

void gp__ready(gp_coro *c) {
  c->state = GP_READY;
  gp__list_push(&ready, &c->link);
  nready++;
}

/* The first ready coroutine, unqueued and running, or NULL. (Out of line:
 * inlined, gcc sees the list head as a possible record and warns.) */
__attribute__((noinline)) gp_coro *gp__pop_ready(void) {
  gp_coro *c = runnext;
  if (c != NULL) {
    runnext = NULL;
    if (streak++ < RUNNEXT_STREAK || nready == 0) {
      c->state = GP_RUNNING;
      return c;
    }
    gp__ready(c); /* its turn comes after the queue's */
  }
  streak = 0;
  gp_list *l = gp__list_pop(&ready);
  if (l == NULL)
    return NULL;
  nready--;
  c = GP_CONTAINER(l, gp_coro, link);
  c->state = GP_RUNNING;
  return c;
}

/* Leaves c, whose state is already set, for the next ready coroutine while
 * the pass's budget lasts, else for the hub. */
static void leave(gp_coro *c) {
  gp_coro *n = NULL;
  if (budget > 0 && (n = gp__pop_ready()) != NULL)
    budget--;
  if (n == c)
    return; /* it yielded and is the next to run */
  switch_to(c, n);
}

/* The hub runs c until it comes back to the hub. */
void gp__run(gp_coro *c) { switch_to(NULL, c); }

/* In the hub, unpark runs from a loop callback: uv_stop makes the poll
 * that follows in the same uv_run pass non-blocking. (uv_run runs the
 * expired timers first and then polls with the next timer's timeout, or
 * forever: a coroutine its timer made ready would wait for an unrelated
 * event.) */
int gp__unpark(gp_coro *c, int code) {
  if (c->state != GP_PARKED)
    return 0;
  c->wake = code;
  if (gp__current == NULL) { /* from the loop: in order, after the queue */
    gp__ready(c);
    uv_stop(gp__loop());
    return 1;
  }
  if (runnext) { /* taken: later wake-ups keep their order in the queue */
    gp__ready(c);
    return 1;
  }
  c->state = GP_READY;
  runnext = c;
  return 1;
}

static void on_deadline(uv_timer_t *t) {
  gp__unpark(GP_CONTAINER(t, gp_coro, timer), -ETIMEDOUT);
}

/* Arms c's timer for deadline; 0, or -ETIMEDOUT when it already passed. */
static int arm(gp_coro *c, int64_t deadline) {
  int64_t left = deadline - gp__now();
  if (left <= 0)
    return -ETIMEDOUT;
  if (!c->timer_init) {
    GP_ASSERT(uv_timer_init(gp__loop(), &c->timer) == 0);
    c->timer_init = 1;
  }
  /* libuv's clock is CLOCK_MONOTONIC in whole milliseconds, rounded down,
   * and a timer fires once that clock reaches its due time: due at the
   * deadline rounded up, never before it. (A timeout of the time left,
   * rounded up, could still fire almost 1 ms early.) */
  uv_update_time(gp__loop());
  uint64_t due = (uint64_t)(deadline + 999999) / 1000000;
  uint64_t now = uv_now(gp__loop());
  uv_timer_start(&c->timer, on_deadline, due > now ? due - now : 0, 0);
  return 0;
}

int gp__park_as(int64_t deadline, int kind) {
  gp_coro *c = gp__current;
  GP_ASSERT(c != NULL && c->state == GP_RUNNING);
  c->park_kind = (unsigned char)kind; /* counted at the switch (diag.c) */
  int timed = deadline != GP_NEVER;
  if (timed && arm(c, deadline) != 0)
    return -ETIMEDOUT;
  c->state = GP_PARKED;
  c->wake = 0;
  c->w_deadline = deadline;
  c->w_call = gp__next_call;
  gp__next_call = NULL;
  leave(c);
  if (timed)
    uv_timer_stop(&c->timer);
  c->w_deadline = GP_NEVER;
  c->w_call = NULL;
  return c->wake;
}

int gp__park(int64_t deadline) {
  return gp__park_as(deadline, GP_PARK_SLEEP);
}

int gp__nap(int64_t *nap, int64_t deadline) {
  if (*nap < GP_NAP_MIN)
    *nap = GP_NAP_MIN;
  int64_t until = gp__now() + *nap;
  int r = gp__park_as(until < deadline ? until : deadline, GP_PARK_SYNC);
  *nap = *nap * 2 > GP_NAP_MAX ? GP_NAP_MAX : *nap * 2;
  if (r == -ETIMEDOUT)
    return until < deadline ? 0 : -ETIMEDOUT;
  return r;
}

void gp__yield(void) {
  gp_coro *c = gp__current;
  GP_ASSERT(c != NULL && c->state == GP_RUNNING);
  gp__ready(c);
  leave(c);
}

void gp__yield_lap(void) {
  gp_coro *c = gp__current;
  GP_ASSERT(c != NULL && c->state == GP_RUNNING && lapped == NULL);
  c->state = GP_READY;
  lapped = c;
  switch_to(c, NULL);
}

void gp__sched_polled(void) {
  if (lapped != NULL) {
    gp__ready(lapped);
    lapped = NULL;
  }
}

/* In a forked child: nothing is ready, nothing ended on the way out, and
 * self (already running) is the current coroutine. */
void gp__sched_fork(gp_coro *self) {
  gp__list_init(&ready);
  nready = 0;
  runnext = NULL;
  lapped = NULL;
  streak = 0;
  budget = 0;
  ended = NULL;
  gp__current = self;
  gp__current_id = self->id;
  gp__nstop = self->stop; /* the others are gone */
}


/* Keeps c->stop, and the count of coroutines with it, in step with its
 * kill request and Timeout. */
static void stop_update(gp_coro *c) {
  unsigned char s = c->killed || c->deadline != GP_NEVER;
  if (s == c->stop)
    return;
  c->stop = s;
  if (s)
    gp__nstop++;
  else
    gp__nstop--;
}

int gp__stop_code(void) {
  gp_coro *c = gp__current;
  if (c == NULL || !c->stop)
    return 0;
  if (c->killed)
    return -ECANCELED;
  return c->deadline <= gp__now() ? GP_EXPIRED : 0;
}

/* gp__park_intr_as for a coroutine with a kill or Timeout on. */
int gp__park_intr_stop(int64_t deadline, int kind) {
  gp_coro *c = gp__current;
  int own = 1; /* the deadline is the caller's, not the Timeout's */
  int r = gp__stop_code();
  if (r) {
    gp__yield();
    return r;
  }
  if (c->deadline < deadline) {
    deadline = c->deadline;
    own = 0;
  }
  c->intr = 1;
  r = gp__park_as(deadline, kind);
  c->intr = 0;
  if (r == -ETIMEDOUT && !own)
    return GP_EXPIRED;
  return r;
}

int gp__park_intr(int64_t deadline) {
  return gp__park_intr_as(deadline, GP_PARK_SLEEP);
}

int gp__park_intr_sync(int64_t deadline) {
  return gp__park_intr_as(deadline, GP_PARK_SYNC);
}

int gp__poke(gp_coro *c) {
  if (c->state != GP_PARKED || c->park_kind != GP_PARK_SYNC)
    return 0;
  return gp__unpark(c, GP_POKED);
}

void gp__kill(gp_coro *c) {
  if (c->state == GP_DEAD)
    return;
  c->killed = 1;
  stop_update(c);
  GP_LOGL(GP_LOG_DEBUG, "coroutine #%d killed", gp__coro_number(c));
  if (c->state == GP_PARKED && c->intr)
    gp__unpark(c, -ECANCELED);
}

int gp__coro_killed(gp_coro *c) { return c->killed; }

void gp__unkill(gp_coro *c) {
  c->killed = 0;
  stop_update(c);
}

int64_t gp__set_deadline(int64_t deadline) {
  gp_coro *c = gp__current;
  int64_t old = c->deadline;
  c->deadline = deadline;
  stop_update(c);
  return old;
}

int64_t gp__get_deadline(void) { return gp__current->deadline; }

void gp__sched_exit(void) {
  gp_coro *c = gp__current;
  c->state = GP_DEAD;
  if (GP_UNLIKELY(c->stop)) {
    c->killed = 0;
    c->deadline = GP_NEVER;
    stop_update(c);
  }
  c->sig_pend = 0; /* a thread's pending signals end with it */
  gp__live_add(-1);
  gp__mask_leave(c->sigmask);
  if (c->joiner)
    gp__unpark(c->joiner, 0);
  if (!c->is_main)
    ended = c; /* freed once off its stack */
  leave(c);
  GP_ASSERT(!"a dead coroutine was resumed");
  abort();
}
