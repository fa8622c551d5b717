/* hub.c: the hub and the libuv loop it owns.
 *
 * The main coroutine runs on the process's original stack. The hub is a
 * context of its own: each pass gives the ready coroutines a budget of
 * direct switches (at least one turn each), then polls the loop, without
 * blocking while some coroutine is ready and blocking until the next fd
 * event, timer or wake-up when none is. So a few coroutines that keep
 * yielding never starve I/O and timers, and a busy process pays for a loop
 * poll only once per pass. Passes are counted (gp__loop_polls): a
 * coroutine that never parks gives way when a pass has lasted a time
 * slice (slice.c), and is queued after those the poll woke.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "coro.h"
#include "real.h"

__thread struct gp_tls gp__tls __attribute__((tls_model("initial-exec")));

/* Direct switches per pass, at least: amortises the loop's poll when two
 * coroutines hand off to each other. */
#define MIN_BUDGET 512
#define HUB_STACK (1024 * 1024)

/* The process's original thread: its record, followed by its slot for
 * the shim, as every record is (gp__coro_slot). */
static struct {
  gp_coro coro;
  unsigned char slot[GP_CORO_SLOT_MAX];
} main_rec;
_Static_assert(offsetof(__typeof__(main_rec), slot) == sizeof(gp_coro),
               "the main coroutine's slot follows its record");
static uv_loop_t loop;
static uv_poll_t netpoll;      /* our epoll set, one fd in libuv's loop */
static int netpoll_on;         /* netpoll is started */
static int started;
static uv_async_t wake_async;  /* gp__hub_wake: signal-safe wake-up */
static void *hub_stack;        /* the hub's stack mapping */
static const struct gp_rt_hooks no_hooks; /* until the shim hands its own */
const struct gp_rt_hooks *gp__hooks = &no_hooks;

uv_loop_t *gp__loop(void) { return &loop; }

/* libuv's private fields. The loop and the async handle are our memory,
 * so uv/unix.h shows their private members (UV_LOOP_PRIVATE_FIELDS,
 * UV_ASYNC_PRIVATE_FIELDS), and no public call gives what the next two
 * functions need; they are the only code that touches those members, and
 * they rely on libuv 1.44's layout and meanings (Debian 12: 1.44.2). The
 * layout is libuv 1.x's ABI, and a member that is renamed or dropped
 * stops the build here. What a later libuv may change unseen is their
 * meaning: an fd it came to keep in another member would go unprotected
 * from a program that closes every fd (a daemon), whose loop would then
 * fail; a pending flag that means more than "a send is on its way" would
 * make the reset after fork wrong (a uv_loop_fork that resets it itself
 * makes ours harmless). */

/* Stores into own the fds libuv's loop keeps for itself beside its epoll
 * backend (uv_backend_fd, public): the async wake-up fd and its write
 * end (-1 where one eventfd serves both, as on Linux), and the two ends
 * of its signal pipe. */
static void loop_own_fds(int own[4]) {
  own[0] = loop.async_io_watcher.fd;
  own[1] = loop.async_wfd;
  own[2] = loop.signal_pipefd[0];
  own[3] = loop.signal_pipefd[1];
}

/* libuv 1.44's uv_loop_fork gives the child a new wake-up fd but leaves
 * an async handle's pending flag as the parent had it: uv_async_send in
 * the child then finds a send pending, writes nothing, and every later
 * wake-up is swallowed. Clears it (one thread in the child: no race). */
static void async_forget_pending(uv_async_t *a) { a->pending = 0; }

/* Takes the shim's table once, before the start (the record size and the
 * pool limits must not change under live coroutines), and sets the pool
 * lanes' limits it names. */
void gp__rt_set_hooks(const struct gp_rt_hooks *hooks) {
  GP_ASSERT(!started && hooks != NULL);
  GP_ASSERT(hooks->slot_size <= GP_CORO_SLOT_MAX);
  gp__hooks = hooks;
  for (unsigned i = 0; i < GP_WORK_LANES; i++)
    if (hooks->work_limit[i] > 0)
      gp__work_set_limit(i, hooks->work_limit[i]);
}

/* The fds the runtime owns: the netpoll set, the loop's backend, wake-up
 * and signal fds, and whatever else libuv opened while the loop was made
 * (its global signal lock pipe): found by comparing the open fds below
 * PROBE before and after. A program that closes every fd (a daemon)
 * must not close these; see gp__fd_private. */
#define PROBE 256
#define MAX_PRIVATE GP_FD_PRIVATE_MAX
static int private_fds[MAX_PRIVATE];
static int nprivate;
static int extra_fds[MAX_PRIVATE]; /* the libuv fds found by the probe */
static int nextra;

static void probe_open(unsigned char *open) {
  for (int fd = 0; fd < PROBE; fd++)
    open[fd] = GP_REAL(fcntl)(fd, F_GETFD) >= 0;
}

static void mark_private(int fd) {
  if (fd < 0 || nprivate == MAX_PRIVATE || gp__fd_private(fd))
    return;
  __atomic_store_n(&private_fds[nprivate], fd, __ATOMIC_RELAXED);
  __atomic_store_n(&nprivate, nprivate + 1, __ATOMIC_RELEASE);
}

/* Marks the fds the loop and netpoll use now, and the extra ones. */
static void mark_all_private(void) {
  __atomic_store_n(&nprivate, 0, __ATOMIC_RELEASE);
  int own[4];
  loop_own_fds(own);
  mark_private(gp__netpoll_fd());
  mark_private(uv_backend_fd(&loop));
  for (int i = 0; i < 4; i++)
    mark_private(own[i]);
  for (int i = 0; i < nextra; i++)
    mark_private(extra_fds[i]);
}

/* After the loop is made: the fds that appeared, less the known ones. */
static void find_extra(const unsigned char *before) {
  unsigned char after[PROBE];
  probe_open(after);
  mark_all_private();
  for (int fd = 0; fd < PROBE && nextra < MAX_PRIVATE; fd++)
    if (after[fd] && !before[fd] && !gp__fd_private(fd))
      extra_fds[nextra++] = fd;
  mark_all_private();
}

int gp__fd_privates(int *fds, int max) {
  int n = __atomic_load_n(&nprivate, __ATOMIC_ACQUIRE);
  int k = 0;
  for (int i = 0; i < n && k < max; i++)
    fds[k++] = __atomic_load_n(&private_fds[i], __ATOMIC_RELAXED);
  return k;
}

int gp__fd_private(int fd) {
  int n = __atomic_load_n(&nprivate, __ATOMIC_ACQUIRE);
  for (int i = 0; i < n; i++)
    if (__atomic_load_n(&private_fds[i], __ATOMIC_RELAXED) == fd)
      return 1;
  return 0;
}
size_t gp__nlive;
uint64_t gp__loop_polls;
void gp__live_add(int n) { gp__nlive += (size_t)n; }
int gp__rt_started(void) { return started; }
static gp_coro *primary; /* the main thread's coroutine (see rt.h) */

gp_coro *gp__primary(void) { return primary; }

/* The main coroutine; NULL in a child forked from another coroutine. */
gp_coro *gp__main_coro(void) {
  gp_coro *m = &main_rec.coro;
  return started && m->magic == GP_CORO_MAGIC ? m : NULL;
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

static int deadlock_wait; /* GPATCH_DEADLOCK=wait */

void gp__set_deadlock_wait(int wait) { deadlock_wait = wait; }

/* Nothing is ready and nothing in the loop (fd, timer, child, signal
 * wait, pool thread) can make anything ready: every coroutine waits on
 * another one. Without a signal handler that could still post or
 * interrupt, that is a deadlock: report every coroutine and what it
 * waits on, then abort, as Go does when "all goroutines are asleep"
 * (GPATCH_DEADLOCK=wait reports and hangs as a native process would).
 * With a handler installed, or an OS thread the runtime does not own, the
 * wait may be genuine (a handler's or that thread's sem_post, an EINTR):
 * it is noted at the info level only. */
static void deadlocked(void) {
  int genuine = gp__hooks->may_wake && gp__hooks->may_wake();
  if (genuine) {
    GP_LOGL(GP_LOG_INFO, "all %zu coroutine(s) wait; only a signal "
            "handler or another thread can wake one now", gp__nlive);
  } else {
    gp__logl(GP_LOG_ERROR, "deadlock: all %zu coroutine(s) are asleep and "
             "nothing (fd, timer, child, signal) can wake one:", gp__nlive);
    gp__dump(gp__log_fd());
    if (!deadlock_wait) {
      gp__logl(GP_LOG_ERROR, "deadlock: aborting (GPATCH_DEADLOCK=wait "
               "keeps the process waiting instead)");
      abort();
    }
  }
  /* Only a signal handler can help now (a sem_post, an EINTR), through
   * gp__hub_wake. The wake-up handle is unreferenced, and libuv does not
   * poll a loop that has no referenced handle: reference it while we
   * wait for it. (pause() would miss a handler that ran just before.) */
  uv_ref((uv_handle_t *)&wake_async);
  while (gp__ready_count() == 0)
    uv_run(&loop, UV_RUN_ONCE);
  uv_unref((uv_handle_t *)&wake_async);
}

/* In the hub after gp__hub_wake: the shim's wake functions, in order. */
static void on_wake(uv_async_t *a) {
  (void)a;
  for (int i = 0; i < GP_HOOKS_MAX && gp__hooks->wake[i]; i++)
    gp__hooks->wake[i]();
}

int gp__sched_tid(void) { return started ? main_rec.coro.id : 0; }

/* Blocks in the loop until an fd event, a timer or a wake-up, timing the
 * wait for GPATCH_STATS. */
static void run_blocking(void) {
  if (GP_LIKELY(!gp__diag)) {
    uv_run(&loop, UV_RUN_ONCE);
    return;
  }
  int64_t t0 = gp__now();
  uv_run(&loop, UV_RUN_ONCE);
  gp__diag_loop(gp__now() - t0);
}

/* uv_async_send writes to the loop's eventfd through the write hook:
 * as runtime code, so that the write passes through, even from a signal
 * handler that interrupted program code (a coroutine switched out inside
 * it would leave the handle half-sent, and the hub would spin on it). */
void gp__hub_wake(void) {
  if (__atomic_load_n(&started, __ATOMIC_ACQUIRE)) {
    unsigned char was = gp__inside_mark(); /* may be a signal handler */
    uv_async_send(&wake_async);
    gp__inside_restore(was);
  }
}

static void hub_main(void) {
  gp__sched_resumed();
  gp__sched_polled(); /* the hub's first turn may come from a slice */
  for (;;) {
    size_t n = gp__ready_count();
    if (n > 0) {
      gp__set_budget((n > MIN_BUDGET ? n : MIN_BUDGET) - 1);
      gp__run(gp__pop_ready());
    }
    if (gp__nlive == 0)
      exit(0); /* the last thread ended after main's pthread_exit */
    netpoll_update();
    gp__loop_polls++; /* once per pass, whichever way it polls */
    gp__slice_held = 0; /* a handler that jumped out left it held */
    if (gp__ready_count() > 0) {
      if (GP_UNLIKELY(gp__diag))
        gp__diag_loop(0);
      uv_run(&loop, UV_RUN_NOWAIT);
    } else if (uv_loop_alive(&loop)) {
      run_blocking();
    } else if (gp__handoff_detached() > 0) {
      /* A coroutine on another OS thread will come back: wait for it. */
      uv_ref((uv_handle_t *)&wake_async);
      run_blocking();
      uv_unref((uv_handle_t *)&wake_async);
    } else {
      deadlocked();
    }
    gp__handoff_drain(); /* coroutines back from another OS thread */
    gp__sched_polled(); /* a coroutine that gave way at its slice */
  }
}

/* In a forked child, after the other modules forgot what they shared
 * with the parent: the loop gets its own epoll backend and wake-up fd
 * (uv_loop_fork; the handles stay, the timers of retired coroutines are
 * stopped), and the hub starts afresh on its stack the next time self
 * parks. The wake-up's pending flag is cleared (async_forget_pending). */
int gp__hub_fork(gp_coro *self) {
  primary = self;
  gp__nlive = 1;
  gp__mask_reset(self->sigmask);
  int err = uv_loop_fork(&loop);
  if (err)
    return err;
  async_forget_pending(&wake_async);
  /* New backend and wake-up fds; libuv's own child handler (run after
   * this one) makes its lock pipe again, in practice on the same
   * numbers, which were just freed. */
  mark_all_private();
  return gp__ctx_make(&gp__hub_ctx, (char *)hub_stack + gp__page_size(),
                      HUB_STACK, hub_main);
}

int gp__rt_start(uintptr_t main_handle) {
  if (started)
    return 0;
  unsigned char before[PROBE];
  probe_open(before);
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
  find_extra(before);
  void *base;
  err = gp__stack_alloc(HUB_STACK, &base);
  if (err)
    goto error_async;
  err = gp__ctx_make(&gp__hub_ctx, (char *)base + gp__page_size(),
                     HUB_STACK, hub_main);
  if (err)
    goto error_stack;
  hub_stack = base;
  main_rec.coro.magic = GP_CORO_MAGIC;
  main_rec.coro.w_fd = -1;
  main_rec.coro.w_deadline = GP_NEVER;
  gp__list_push(&gp__all, &main_rec.coro.all);
  main_rec.coro.id = (int)GP_REAL(syscall)(SYS_gettid);
  main_rec.coro.state = GP_RUNNING;
  main_rec.coro.is_main = 1;
  main_rec.coro.handle = main_handle;
  main_rec.coro.deadline = GP_NEVER;
  gp__wq_init();
  gp__sched_init_mask(gp__sigmask_read());
  gp__tls_start(); /* before the switch path is fixed */
  gp__sched_start();
  main_rec.coro.sigmask = gp__hub_mask;
  gp__mask_reset(main_rec.coro.sigmask);
  gp__current = &main_rec.coro;
  gp__current_id = main_rec.coro.id;
  primary = &main_rec.coro;
  gp__nlive = 1;
  gp__tls.sched = 1;
  __atomic_store_n(&started, 1, __ATOMIC_RELEASE);
  if (GP_UNLIKELY(gp__diag))
    gp__diag_started();
  GP_LOGL(GP_LOG_INFO, "runtime started on thread %d (stacks %zu KiB)",
          main_rec.coro.id, gp__default_stack() / 1024);
  gp__handoff_start();
  if (gp__hooks->start)
    gp__hooks->start();
  return 0;
error_stack:
  gp__stack_free(base, HUB_STACK);
error_async:
  uv_close((uv_handle_t *)&wake_async, NULL);
error_poll:
  uv_close((uv_handle_t *)&netpoll, NULL);
  uv_run(&loop, UV_RUN_NOWAIT);
error_loop:
  uv_loop_close(&loop);
  return err;
}
