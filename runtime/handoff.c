/* handoff.c: the loop goes to another OS thread when a coroutine keeps its
 * own (GPATCH_HANDOFF, private TLS only).
 *
 * A coroutine that computes, or blocks in a call the shim cannot see,
 * holds the OS thread that runs the scheduler. A monitor thread (asleep
 * in a timed nap, every signal blocked) watches the switch counter: when
 * the same coroutine has run `limit` without a switch while others are
 * alive, it hands the scheduler to a spare OS thread, which resumes the
 * hub's saved context and goes on with every other coroutine. The stuck
 * coroutine keeps the old OS thread, as a thread of its own ("detached").
 * Each OS thread the runtime may run on is a host: its home context is
 * where it waits to take the hub, on its own TLS block.
 *
 *   host A runs hub, C       monitor: C ran `limit`, no switch
 *   host A runs C alone      host B resumes the hub's context: others run
 *   C enters a hook          C saves its context, switches to A's home;
 *                            A's home queues C for the hub, wakes it
 *   host A is a spare        the hub (on B) drains the queue: C is ready
 *
 * Only one OS thread runs scheduler code at a time: the hub's context is
 * resumed only by the host told to, after the monitor committed. A hand-
 * off never happens inside runtime code: the monitor marks the coroutine
 * (sched = 0, detached = 1 in its TLS block), makes every CPU of the
 * process pass a full barrier (membarrier), and only then reads its
 * `inside` flag; a hook sets `inside` before it checks `sched` again
 * (gp_enter). Of the two stores, at least one is seen by the other side:
 * either the monitor sees the coroutine inside and undoes the mark, or the
 * hook sees the mark and waits for the monitor's answer (`pending`).
 *
 * A detached coroutine is, to the shim, a thread it does not own
 * (sched = 0): calls go straight to the kernel. The hooks that would have
 * gone cooperative see `detached` first and give it back (gp__rejoin).
 * Its signal mask stays what it was (the kernel's, on its OS thread);
 * spare hosts block every signal; the host that takes the hub installs
 * the hub's mask. Needs private TLS: the thread pointer moves with each
 * coroutine, so errno, the program's TLS and the shim's flags go with it
 * to whichever OS thread runs it; the hub runs on its host's own block.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "coro.h"
#include "real.h"

#define MAX_HOSTS 64
#define HOME_STACK (64 * 1024)

struct host {
  gp_ctx ctx;         /* its home context, while it runs something else */
  void *tp;           /* the TLS block its home (and the hub there) uses */
  int tid;            /* its OS thread */
  int go;             /* futex word: 1 = take the hub */
  gp_coro *held;      /* the coroutine detached here */
  gp_coro *back;      /* that coroutine, once it gave itself back */
  int idle;           /* a spare, waiting to take the hub (lock) */
};

static int64_t limit;                /* ns; 0: hand-off off */
static unsigned max_hosts = 16;      /* OS threads that may run coroutines */
static struct host hosts[MAX_HOSTS];
static unsigned nhosts;              /* hosts[0] is the first thread */
static struct host *cur;             /* the host running the scheduler */
static gp_coro *rejoined;            /* given back, for the hub (lock) */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int pending;                  /* a hand-off is being decided */
static int ndetached;                /* coroutines detached now */
static uint64_t nhandoffs, nrejoins;
static int warned_full;
uint64_t gp__nswitch;                /* switches so far (sched.c) */
void *gp__hub_tp;                    /* the hub's TLS block */

void gp__handoff_set(int64_t ns, unsigned threads) {
  limit = ns > 0 ? ns : 0;
  if (threads >= 2 && threads <= MAX_HOSTS)
    max_hosts = threads;
}

int gp__handoff_detached(void) {
  return __atomic_load_n(&ndetached, __ATOMIC_ACQUIRE);
}

static int monitor_on;               /* its thread runs */

void gp__handoff_stats(uint64_t *handoffs, uint64_t *rejoins,
                       unsigned *threads, unsigned *monitor) {
  *handoffs = __atomic_load_n(&nhandoffs, __ATOMIC_RELAXED);
  *rejoins = __atomic_load_n(&nrejoins, __ATOMIC_RELAXED);
  *threads = __atomic_load_n(&nhosts, __ATOMIC_RELAXED);
  *monitor = (unsigned)__atomic_load_n(&monitor_on, __ATOMIC_RELAXED);
}

static void futex_wait(int *w, int val) {
  GP_REAL(syscall)(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}
static void futex_wake(int *w) {
  GP_REAL(syscall)(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void block_all(void) {
  uint64_t all = ~(uint64_t)0;
  GP_REAL(syscall)(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, sizeof all);
}

/* On host h's OS thread: it becomes the scheduler thread and resumes the
 * hub where it left off; returns when the coroutine that is later
 * detached here gives itself back. */
static void take_hub(struct host *h) {
  gp__hub_tp = h->tp;
  gp__tls.sched = 1; /* h's own block: the hub's */
  gp__tls.inside = 1;
  gp__sched_take();  /* no coroutine runs; the hub's mask */
  gp__ctx_switch(&h->ctx, &gp__hub_ctx);
}

/* A host's life: gives back the coroutine that came back here, if any,
 * then waits as a spare until told to take the hub. */
static void home_loop(struct host *h) {
  for (;;) {
    block_all();
    gp__tls.sched = 0;
    gp__tls.inside = 1; /* runtime code: hooks pass through */
    GP_REAL(pthread_mutex_lock)(&lock);
    gp_coro *c = h->back;
    if (c) {
      h->back = NULL;
      c->link.next = (gp_list *)rejoined; /* a stack of records */
      rejoined = c;
    }
    h->idle = 1;
    GP_REAL(pthread_mutex_unlock)(&lock);
    if (c)
      gp__hub_wake();
    while (__atomic_load_n(&h->go, __ATOMIC_ACQUIRE) == 0)
      futex_wait(&h->go, 0);
    __atomic_store_n(&h->go, 0, __ATOMIC_RELAXED);
    take_hub(h);
  }
}

static void *spare_main(void *arg) {
  struct host *h = arg;
  h->tp = gp__ctx_get_tp();
  h->tid = (int)GP_REAL(syscall)(SYS_gettid);
  home_loop(h);
  return NULL;
}

/* hosts[0]'s home, entered the first time a coroutine detached on the
 * first thread gives itself back. */
static void first_home(void) { home_loop(&hosts[0]); }

/* Takes an idle host; 0 when there was none. */
static struct host *take_idle(void) {
  struct host *h = NULL;
  GP_REAL(pthread_mutex_lock)(&lock);
  for (unsigned i = 0; i < nhosts && h == NULL; i++)
    if (hosts[i].idle)
      h = &hosts[i];
  if (h)
    h->idle = 0;
  GP_REAL(pthread_mutex_unlock)(&lock);
  return h;
}

/* A spare host: an idle one, else a new thread once it waits; NULL at
 * the bound or when no thread can be made. (Called with `pending` held:
 * one caller at a time.) */
static struct host *get_spare(void) {
  struct host *h = take_idle();
  if (h || nhosts >= max_hosts)
    return h;
  h = &hosts[nhosts];
  memset(h, 0, sizeof *h);
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setstacksize(&a, HOME_STACK);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  int err = GP_REAL(pthread_create)(&t, &a, spare_main, h);
  pthread_attr_destroy(&a);
  if (err)
    return NULL;
  GP_REAL(pthread_setname_np)(t, "gpatch-spare");
  __atomic_store_n(&nhosts, nhosts + 1, __ATOMIC_RELEASE);
  while ((h = take_idle()) == NULL) /* the new one, once it waits */
    GP_REAL(sched_yield)();
  return h;
}

static void give_back(struct host *h) {
  GP_REAL(pthread_mutex_lock)(&lock);
  h->idle = 1;
  GP_REAL(pthread_mutex_unlock)(&lock);
}

static int barrier(void) {
  return (int)GP_REAL(syscall)(SYS_membarrier,
                               MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

/* With `pending` held and c marked detached in its block: c keeps cur's
 * OS thread, h is told to run the scheduler, `pending` is let go. */
static void commit(gp_coro *c, struct host *h) {
  cur->held = c;
  __atomic_store_n(&c->handed, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&ndetached, 1, __ATOMIC_RELEASE);
  __atomic_add_fetch(&nhandoffs, 1, __ATOMIC_RELAXED);
  GP_LOGL(GP_LOG_DEBUG, "hand-off: coroutine #%d keeps thread %d, the "
          "others go on on thread %d", gp__coro_number(c), cur->tid, h->tid);
  cur = h;
  __atomic_store_n(&pending, 0, __ATOMIC_RELEASE);
  __atomic_store_n(&h->go, 1, __ATOMIC_RELEASE);
  futex_wake(&h->go);
}

/* The monitor decided that c, running since switch sw, is stuck. */
static void try_handoff(gp_coro *c, uint64_t sw) {
  struct gp_tls *t = gp__tls_of(c);
  /* Already detached: the host told to take the hub has not yet (a busy
   * machine can keep it from running for a while). */
  if (__atomic_load_n(&c->handed, __ATOMIC_RELAXED) ||
      __atomic_load_n(&t->inside, __ATOMIC_RELAXED))
    return;
  if (__atomic_exchange_n(&pending, 1, __ATOMIC_SEQ_CST))
    return; /* a coroutine is detaching itself (gp__detach_self) */
  struct host *h = get_spare();
  if (h == NULL) {
    __atomic_store_n(&pending, 0, __ATOMIC_RELEASE);
    if (!warned_full++)
      gp__log("hand-off: all %u OS threads are taken "
              "(GPATCH_MAX_OS_THREADS): a stuck thread holds up the others",
              max_hosts);
    return;
  }
  __atomic_store_n(&t->detached, 1, __ATOMIC_RELAXED);
  __atomic_store_n(&t->sched, 0, __ATOMIC_RELAXED);
  barrier(); /* every CPU of the process: a full barrier */
  if (__atomic_load_n(&t->inside, __ATOMIC_RELAXED) ||
      __atomic_load_n(&gp__nswitch, __ATOMIC_RELAXED) != sw ||
      __atomic_load_n(&gp__current, __ATOMIC_RELAXED) != c) {
    __atomic_store_n(&t->sched, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&t->detached, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pending, 0, __ATOMIC_RELEASE);
    give_back(h);
    return;
  }
  commit(c, h);
}

/* Before a call that may block in the kernel and has no cooperative form
 * (flock, semop, ...): the running coroutine detaches itself, as the
 * monitor would detach it after `limit`, but at once. 0, or -1 when it
 * cannot be (hand-off off, no spare OS thread): then the call blocks the
 * scheduler as before. Inside the runtime; on success the caller makes
 * its call and then calls gp__rejoin. */
int gp__detach_self(void) {
  if (limit == 0)
    return -1;
  while (__atomic_exchange_n(&pending, 1, __ATOMIC_ACQUIRE))
    GP_REAL(sched_yield)(); /* the monitor is deciding: it will let go */
  struct host *h = get_spare();
  if (h == NULL) {
    __atomic_store_n(&pending, 0, __ATOMIC_RELEASE);
    return -1;
  }
  gp__tls.detached = 1;
  gp__tls.sched = 0;
  commit(gp__current, h);
  return 0;
}

/* A detached coroutine, in a hook, gives itself back: it saves its
 * context and switches to its host's home, which queues it for the hub;
 * it goes on here once the hub runs it, on whichever OS thread. Returns
 * at once when the monitor undid the hand-off. */
void gp__rejoin(void) {
  while (__atomic_load_n(&pending, __ATOMIC_ACQUIRE))
    GP_REAL(sched_yield)();
  if (gp__tls.sched == 1 || !gp__tls.detached)
    return; /* the hand-off did not happen */
  int tid = (int)GP_REAL(syscall)(SYS_gettid);
  struct host *h = NULL;
  for (unsigned i = 0; i < __atomic_load_n(&nhosts, __ATOMIC_ACQUIRE); i++)
    if (hosts[i].tid == tid && hosts[i].held)
      h = &hosts[i];
  GP_ASSERT(h != NULL);
  gp_coro *c = h->held;
  unsigned char was = gp__inside_mark();
  h->held = NULL;
  h->back = c;
  GP_ASSERT(h->ctx.sp != NULL); /* the first thread's: gp__handoff_monitor */
  gp__ctx_set_tp(h->tp);
  gp__ctx_switch(&c->ctx, &h->ctx);
  /* Run by the hub again (gp__handoff_drain made it ready). */
  gp__sched_resumed();
  gp__tls.detached = 0;
  gp__tls.sched = 1;
  gp__inside_restore(was);
  if (GP_UNLIKELY(c->sig_pend))
    gp__sig_resumed(c);
}

int gp__handoff_tid(gp_coro *c) {
  if (!c->handed)
    return 0;
  for (unsigned i = 0; i < __atomic_load_n(&nhosts, __ATOMIC_ACQUIRE); i++)
    if (__atomic_load_n(&hosts[i].held, __ATOMIC_RELAXED) == c)
      return hosts[i].tid;
  return 0;
}

/* In the hub: the coroutines given back join the ready queue. */
void gp__handoff_drain(void) {
  if (__atomic_load_n(&rejoined, __ATOMIC_RELAXED) == NULL)
    return;
  GP_REAL(pthread_mutex_lock)(&lock);
  gp_coro *c = rejoined;
  rejoined = NULL;
  GP_REAL(pthread_mutex_unlock)(&lock);
  while (c) {
    gp_coro *next = (gp_coro *)c->link.next;
    c->handed = 0;
    __atomic_sub_fetch(&ndetached, 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&nrejoins, 1, __ATOMIC_RELAXED);
    gp__ready(c);
    c = next;
  }
}

static void nap(int64_t ns) {
  struct timespec ts = {ns / 1000000000, ns % 1000000000};
  while (GP_REAL(clock_nanosleep)(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
    ;
}

/* The CPU time the OS thread tid has used, ns (its per-thread CPU clock,
 * as pthread_getcpuclockid makes it), or -1. */
static int64_t thread_cpu(int tid) {
  struct timespec ts;
  clockid_t id = (clockid_t)(~(unsigned)tid << 3 | 6); /* SCHED, thread */
  if (clock_gettime(id, &ts) != 0)
    return -1;
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Whether the OS thread tid sleeps in a system call (state S or D). */
static int thread_sleeps(int tid) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  int fd = GP_REAL(openat)(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = GP_REAL(read)(fd, buf, sizeof buf - 1);
  GP_REAL(close)(fd);
  buf[n > 0 ? n : 0] = '\0';
  const char *p = strrchr(buf, ')'); /* after the name, which may hold ')' */
  return p && (p[2] == 'S' || p[2] == 'D');
}

/* Looks four times per limit at the switch counter; backs off to 50 ms
 * while the hub sleeps in the loop (nothing runs, nothing can be stuck).
 * A coroutine is stuck when it ran `limit` without a switch and its OS
 * thread either used half of that on the CPU (a computation) or sleeps
 * in the kernel (a call the shim cannot see). One the kernel merely did
 * not run (a busy machine) is not: another OS thread would wait too. */
static void *monitor_main(void *arg) {
  (void)arg;
  gp__tls.inside = 1; /* hooks pass through on this thread */
  prctl(PR_SET_NAME, "gpatch-handoff");
  __atomic_store_n(&monitor_on, 1, __ATOMIC_RELEASE);
  int64_t period = limit / 4 > 1000000 ? limit / 4 : 1000000, wait = period;
  uint64_t last = UINT64_MAX;
  int64_t since = 0, cpu0 = 0;
  for (;;) {
    nap(wait);
    uint64_t sw = __atomic_load_n(&gp__nswitch, __ATOMIC_ACQUIRE);
    gp_coro *c = __atomic_load_n(&gp__current, __ATOMIC_RELAXED);
    int64_t now = gp__now();
    if (c == NULL) {
      wait = wait * 2 > 50000000 ? 50000000 : wait * 2;
      last = UINT64_MAX;
      continue;
    }
    wait = period;
    int tid = __atomic_load_n(&cur->tid, __ATOMIC_RELAXED);
    if (sw != last) {
      last = sw;
      since = now;
      cpu0 = thread_cpu(tid);
      continue;
    }
    if (now - since < limit ||
        __atomic_load_n(&gp__nlive, __ATOMIC_RELAXED) < 2)
      continue;
    if (thread_cpu(tid) - cpu0 < limit / 2 && !thread_sleeps(tid))
      continue; /* runnable, waiting for a CPU: not stuck */
    try_handoff(c, sw);
    since = now;
  }
  return NULL;
}

unsigned char gp__handoff_lazy; /* the monitor is still to start */

/* At the runtime's start, on the first thread: hand-off is possible. The
 * monitor starts with the first spawn (gp__handoff_monitor): a program
 * that never makes a thread has no coroutine to hand off. */
void gp__handoff_start(void) {
  if (limit == 0 || !gp__tls_private || gp__ctx_is_ucontext()) {
    limit = 0;
    return;
  }
  if (GP_REAL(syscall)(SYS_membarrier,
                       MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0) {
    gp__log("hand-off: the kernel has no private expedited membarrier: "
            "hand-off is off");
    limit = 0;
    return;
  }
  hosts[0].tid = (int)GP_REAL(syscall)(SYS_gettid);
  hosts[0].tp = gp__hub_tp;
  nhosts = 1;
  cur = &hosts[0];
  gp__handoff_lazy = 1;
}

/* Starts the monitor's thread, every signal blocked. The first thread's
 * home (where a coroutine detached there gives itself back; it runs on
 * the block the hub had there, the main coroutine keeps its own) is made
 * first: later, when a stuck program may have used up its memory or its
 * mappings, there would be no way out of a failure. */
void gp__handoff_monitor(void) {
  gp__handoff_lazy = 0;
  struct host *h0 = &hosts[0];
  void *stack;
  if (h0->ctx.sp == NULL &&
      (gp__stack_alloc(HOME_STACK, &stack) != 0 ||
       gp__ctx_make(&h0->ctx, (char *)stack + gp__page_size(), HOME_STACK,
                    first_home) != 0)) {
    gp__log("hand-off: no memory for the first thread's home: hand-off "
            "is off");
    limit = 0;
    return;
  }
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setstacksize(&a, HOME_STACK);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  uint64_t old, all = ~(uint64_t)0;
  GP_REAL(syscall)(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof all);
  pthread_t t;
  int err = GP_REAL(pthread_create)(&t, &a, monitor_main, NULL);
  GP_REAL(syscall)(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof old);
  pthread_attr_destroy(&a);
  if (err) {
    gp__log("hand-off: cannot start the monitor thread: %s", strerror(err));
    limit = 0;
    return;
  }
  /* Once it has its name: whoever counts threads by name (a test, an
   * operator's ps) never sees it under the program's. */
  while (!__atomic_load_n(&monitor_on, __ATOMIC_ACQUIRE))
    GP_REAL(sched_yield)();
  GP_LOGL(GP_LOG_INFO, "hand-off after %lld ms, up to %u OS threads",
          (long long)(limit / 1000000), max_hosts);
}

/* In a forked child (fork.c): only the calling OS thread is left, and it
 * runs the scheduler (a detached coroutine gives itself back before it
 * forks). It becomes the only host; the monitor starts again with the
 * next spawn. */
void gp__handoff_fork(void) {
  if (limit == 0)
    return;
  struct host h = *cur;
  memset(hosts, 0, sizeof hosts);
  hosts[0].ctx = h.ctx; /* its home, if it had one, is on its own stack */
  hosts[0].tp = gp__hub_tp;
  hosts[0].tid = (int)GP_REAL(syscall)(SYS_gettid);
  nhosts = 1;
  cur = &hosts[0];
  rejoined = NULL;
  pending = 0;
  ndetached = 0;
  monitor_on = 0;
  pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
  lock = fresh;
  GP_REAL(syscall)(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
                   0, 0);
  gp__handoff_lazy = 1;
}
