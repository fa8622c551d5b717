/* sched.c: the hub, the ready queue, park and unpark.
 *
 * The main coroutine runs on the process's original stack. The hub is a
 * context of its own: it runs the ready coroutines in FIFO order, then
 * polls the libuv loop, without blocking while some coroutine is ready
 * and blocking until the next fd event or timer when none is. Every
 * switch goes through switch_to(), which also keeps errno per coroutine.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "coro.h"
#include "real.h"

__thread struct gp_tls gp__tls __attribute__((tls_model("initial-exec")));

gp_coro *gp__current;         /* running coroutine; NULL in the hub */
static gp_coro main_coro;      /* the process's original thread */
static gp_ctx hub_ctx;         /* where parked coroutines switch to */
static void *hub_stack;
static gp_list ready = {&ready, &ready};
static size_t live;            /* coroutines not yet ended */
static uv_loop_t loop;
static uv_poll_t netpoll;      /* our epoll set, one fd in libuv's loop */
static int netpoll_on;         /* netpoll is started */
static int started;
static uv_async_t wake_async;  /* gp__hub_wake: signal-safe wake-up */
static void (*wake_fn)(void);  /* runs in the hub after a wake-up */

#define HUB_STACK (1024 * 1024)

uv_loop_t *gp__loop(void) { return &loop; }
gp_coro *gp__self(void) { return gp__current; }
size_t gp__live(void) { return live; }
void gp__live_add(int n) { live += (size_t)n; }
int gp__rt_started(void) { return started; }

/* Saves errno of the coroutine leaving and restores the one of the
 * coroutine resuming; from/to are NULL for the hub. */
static void switch_to(gp_coro *from, gp_coro *to) {
  gp_ctx *fc = from ? &from->ctx : &hub_ctx;
  gp_ctx *tc = to ? &to->ctx : &hub_ctx;
  if (from)
    from->saved_errno = errno;
  gp__current = to;
  gp__ctx_switch(fc, tc);
  if (from)
    errno = from->saved_errno;
}

void gp__ready(gp_coro *c) {
  c->state = GP_READY;
  gp__list_push(&ready, &c->link);
}

int gp__unpark(gp_coro *c, int code) {
  if (c->state != GP_PARKED)
    return 0;
  c->wake = code;
  gp__ready(c);
  return 1;
}

static void on_deadline(uv_timer_t *t) {
  gp__unpark(GP_CONTAINER(t, gp_coro, timer), -ETIMEDOUT);
}

int gp__park(int64_t deadline) {
  gp_coro *c = gp__current;
  GP_ASSERT(c != NULL && c->state == GP_RUNNING);
  int timed = deadline != GP_NEVER;
  if (timed) {
    int64_t left = deadline - gp__now();
    if (left <= 0)
      return -ETIMEDOUT;
    if (!c->timer_init) {
      GP_ASSERT(uv_timer_init(&loop, &c->timer) == 0);
      c->timer_init = 1;
    }
    /* libuv counts whole milliseconds from its cached clock: refresh it
     * and round up, so that a deadline never fires early. */
    uv_update_time(&loop);
    uv_timer_start(&c->timer, on_deadline, (uint64_t)(left + 999999) / 1000000,
                   0);
  }
  c->state = GP_PARKED;
  c->wake = 0;
  switch_to(c, NULL);
  if (timed)
    uv_timer_stop(&c->timer);
  return c->wake;
}

void gp__yield(void) {
  gp_coro *c = gp__current;
  GP_ASSERT(c != NULL && c->state == GP_RUNNING);
  gp__ready(c);
  switch_to(c, NULL);
}

void gp__sched_exit(void) {
  gp_coro *c = gp__current;
  c->state = GP_DEAD;
  live--;
  if (c->joiner)
    gp__unpark(c->joiner, 0);
  switch_to(c, NULL);
  GP_ASSERT(!"a dead coroutine was resumed");
  abort();
}

static void on_netpoll(uv_poll_t *h, int status, int events) {
  (void)h, (void)status, (void)events;
  gp__netpoll_dispatch();
}

/* Watches the epoll set only while some coroutine waits on an fd, so that
 * an empty loop means nothing can wake anyone. */
static void netpoll_update(void) {
  int want = gp__netpoll_waiters() > 0;
  if (want && !netpoll_on)
    GP_ASSERT(uv_poll_start(&netpoll, UV_READABLE, on_netpoll) == 0);
  else if (!want && netpoll_on)
    uv_poll_stop(&netpoll);
  netpoll_on = want;
}

/* Nothing is ready and nothing in the loop can make anything ready: every
 * coroutine waits on another one. A native process would hang; so does
 * this one, but it says so once and sleeps until a signal. */
static void deadlocked(void) {
  gp__log("deadlock: %zu coroutine(s) wait on each other and nothing can "
          "wake them",
          live);
  for (;;) {
    pause();
    uv_run(&loop, UV_RUN_NOWAIT); /* a handler may have woken the hub */
    if (!gp__list_empty(&ready))
      return;
  }
}

static void on_wake(uv_async_t *a) {
  (void)a;
  if (wake_fn)
    wake_fn();
}

void gp__set_wake_fn(void (*fn)(void)) { wake_fn = fn; }

void gp__hub_wake(void) {
  if (__atomic_load_n(&started, __ATOMIC_ACQUIRE))
    uv_async_send(&wake_async);
}

/* The first ready coroutine, unqueued. (Out of line: inlined, gcc sees
 * the list head itself as a possible record and warns.) */
__attribute__((noinline)) static gp_coro *pop_ready(void) {
  gp_list *l = gp__list_pop(&ready);
  GP_ASSERT(l != NULL);
  return GP_CONTAINER(l, gp_coro, link);
}

static void run_ready(void) {
  /* Run only those ready now: a coroutine that yields goes after the
   * loop's next poll, so that I/O and timers are never starved. */
  size_t n = 0;
  for (gp_list *l = ready.next; l != &ready; l = l->next)
    n++;
  while (n-- > 0) {
    gp_coro *c = pop_ready();
    c->state = GP_RUNNING;
    switch_to(NULL, c);
    if (c->state == GP_DEAD) {
      gp__coro_release_stack(c);
      if (c->detached)
        gp__coro_free(c);
    }
  }
}

static void hub_main(void) {
  for (;;) {
    run_ready();
    if (live == 0)
      exit(0); /* the last thread ended after main's pthread_exit */
    netpoll_update();
    if (!gp__list_empty(&ready)) {
      uv_run(&loop, UV_RUN_NOWAIT);
    } else if (uv_loop_alive(&loop)) {
      uv_run(&loop, UV_RUN_ONCE);
    } else {
      deadlocked();
    }
  }
}

int gp__rt_start(uintptr_t main_handle) {
  if (started)
    return 0;
  int err = uv_loop_init(&loop);
  if (err)
    return err;
  err = uv_poll_init(&loop, &netpoll, gp__netpoll_fd());
  if (err)
    goto error_loop;
  err = uv_async_init(&loop, &wake_async, on_wake);
  if (err)
    goto error_poll;
  uv_unref((uv_handle_t *)&wake_async); /* it alone keeps nobody waiting */
  void *base;
  err = gp__stack_alloc(HUB_STACK, &base);
  if (err)
    goto error_poll;
  hub_stack = base;
  gp__ctx_make(&hub_ctx, (char *)base + gp__page_size(), HUB_STACK,
               hub_main);
  main_coro.magic = GP_CORO_MAGIC;
  main_coro.id = (int)syscall(SYS_gettid);
  main_coro.state = GP_RUNNING;
  main_coro.is_main = 1;
  main_coro.handle = main_handle;
  gp__current = &main_coro;
  live = 1;
  gp__tls.sched = 1;
  __atomic_store_n(&started, 1, __ATOMIC_RELEASE);
  return 0;
error_poll:
  if (uv_is_active((uv_handle_t *)&wake_async))
    uv_close((uv_handle_t *)&wake_async, NULL);
  uv_close((uv_handle_t *)&netpoll, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
error_loop:
  uv_loop_close(&loop);
  return err;
}

gp_coro *gp__main_coro(void) { return started ? &main_coro : NULL; }
