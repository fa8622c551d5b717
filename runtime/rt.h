/* rt.h: the runtime's internal API, the only runtime header the shim uses.
 *
 * Coroutines, the scheduler, waits on fds and wait queues. Every function
 * returns 0 or a negative errno unless said otherwise, and none of them
 * writes errno. All of them must be called on the scheduler thread, from a
 * coroutine (never from the hub), with the shim's "inside" flag set.
 */
#ifndef GP_RT_H
#define GP_RT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "gp.h"

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

typedef struct gp_coro gp_coro;

/* Per-OS-thread state read by every hook: may this call go cooperative?
 * Only plain bytes, so the check is safe inside a signal handler. */
struct gp_tls {
  unsigned char sched;  /* this OS thread runs the scheduler */
  unsigned char inside; /* runtime code is running: hooks pass through */
  /* Private TLS: the coroutine whose block this is keeps an OS thread of
   * its own for now (handoff.c; sched is 0 then): its next hook that
   * would go cooperative gives it back first (gp__rejoin). */
  unsigned char detached;
};
extern __thread struct gp_tls gp__tls
    __attribute__((tls_model("initial-exec")));

/* The one pair through which code marks where runtime code runs (hooks
 * pass through there) and where program code runs again inside it (a
 * signal handler, a key destructor, a cleanup handler). Each returns the
 * state it replaced, which the matching gp__inside_restore puts back, so
 * the pairs nest. A hook's own gp_enter/gp_leave (shim/core/guard.h) is
 * the unnested form, for a flag known to be clear. */
void gp__rejoin(void);
/* The plain mark, for a signal handler and the hand-off's own code. */
static inline unsigned char gp__inside_mark(void) {
  unsigned char was = gp__tls.inside;
  gp__tls.inside = 1;
  return was;
}
/* With private TLS the hand-off monitor may detach the running coroutine
 * until it is inside (runtime/handoff.c): `inside` is set before
 * `detached` is read, and one that was detached gives itself back. */
static inline unsigned char gp__inside_enter(void) {
  unsigned char was = gp__inside_mark();
  __asm__ __volatile__("" ::: "memory");
  if (GP_UNLIKELY(gp__tls.detached))
    gp__rejoin();
  return was;
}
static inline unsigned char gp__outside_enter(void) {
  unsigned char was = gp__tls.inside;
  gp__tls.inside = 0;
  return was;
}
static inline void gp__inside_restore(unsigned char was) {
  gp__tls.inside = was;
}

/* gp__tls.sched for a hook that decides by it: a coroutine detached on an
 * OS thread of its own (handoff.c) gives itself back first. Not in a
 * signal handler. */
static inline unsigned char gp__sched_here(void) {
  if (GP_UNLIKELY(gp__tls.detached))
    gp__rejoin();
  return gp__tls.sched;
}

/* ---- the shim's hooks (hub.c holds the table; coro.c, sched.c and
 * work.c read it) ----
 *
 * Everything the runtime calls back into the shim, and the sizes it
 * reserves for it, in one table that the shim builds in one place
 * (shim/core/hooks.c) and hands over once, before the start. Lists of
 * functions run in their array order and end at the first NULL.
 */

/* The most functions of each list in struct gp_rt_hooks. */
#define GP_HOOKS_MAX 4
/* The most bytes the shim may keep with each coroutine (slot_size). */
#define GP_CORO_SLOT_MAX 256
/* Independent pools ("lanes") of gp__work_run: work in one never waits
 * for another's. */
#define GP_WORK_LANES 4

struct gp_rt_hooks {
  /* Once, on the scheduler thread, right after gp__rt_start has started
   * the runtime (inside the runtime). */
  void (*start)(void);
  /* After every wake-up of the hub (gp__hub_wake), in the hub. */
  void (*wake[GP_HOOKS_MAX])(void);
  /* c has just been switched to with signals aimed at it pending
   * (gp__coro_sigpend): in c's context, inside the runtime. */
  void (*sigpend)(gp_coro *c);
  /* When a coroutine ends (gp__exit), in it, inside the runtime. */
  void (*exit[GP_HOOKS_MAX])(gp_coro *c);
  /* When every coroutine waits and nothing in the loop can wake one:
   * whether something else still could, a signal handler or a thread the
   * runtime does not own (then it is no deadlock). */
  int (*may_wake)(void);
  /* Bytes reserved with each coroutine record, up to GP_CORO_SLOT_MAX,
   * aligned to 8, zero at spawn (see gp__coro_slot). */
  size_t slot_size;
  /* The most threads of each pool lane (gp__work_run); 0: the default. */
  unsigned work_limit[GP_WORK_LANES];
};

/* Hands the table to the runtime, before gp__rt_start; the table must
 * outlive the runtime (a static const one). Without it the runtime calls
 * nothing back and reserves no slot. */
void gp__rt_set_hooks(const struct gp_rt_hooks *hooks);

/* ---- hand-off of the scheduler to another OS thread (handoff.c) ----
 *
 * GPATCH_HANDOFF: a coroutine that runs ns without a switch while others
 * live keeps its OS thread; the scheduler goes on on another one, at most
 * `threads` OS threads in all (0: the default). Private TLS only; set
 * before the start. */
void gp__handoff_set(int64_t ns, unsigned threads);
/* Called by a hook that finds gp__tls.detached: the running coroutine
 * goes back to the scheduler, and returns running on its thread. */
void gp__rejoin(void);
/* Inside the runtime, before a call that may block in the kernel: the
 * running coroutine keeps this OS thread, the scheduler goes on on
 * another; 0 (then gp__rejoin after the call), or -1 (not possible). */
int gp__detach_self(void);
/* Coroutines detached now. Hand-offs and returns so far, the OS threads
 * that have run coroutines (the first one included), and whether the
 * monitor's thread runs (0 or 1). */
int gp__handoff_detached(void);
void gp__handoff_stats(uint64_t *handoffs, uint64_t *rejoins,
                       unsigned *threads, unsigned *monitor);

/* ---- scheduler (sched.c, hub.c; the switch and the main coroutine's
 * flag: coro.c) ---- */

/* Starts the runtime on the calling OS thread, which becomes the
 * scheduler thread; the running code becomes the main coroutine, whose
 * handle (what pthread_self returns there) is main_handle. Calls the
 * hooks' start function once started. Idempotent. */
int gp__rt_start(uintptr_t main_handle);
int gp__rt_started(void);
/* Read on every hook: plain globals, so the checks inline. */
extern gp_coro *gp__current; /* running coroutine; NULL in the hub */
extern int gp__current_id;   /* gp__coro_id(gp__current) */
extern size_t gp__nlive;     /* coroutines not yet ended */
extern size_t gp__nstop      /* coroutines with a kill or Timeout on */
  __attribute__((visibility("hidden")));

/* The running coroutine, or NULL before the runtime starts. */
static inline gp_coro *gp__self(void) { return gp__current; }
/* Coroutines that have not ended (the main one included), which the hooks
 * compare with 1 to decide whether a blocking call may park. A lone
 * coroutine with a kill or a Timeout on counts twice: its calls must park
 * too, or nothing would end them. */
static inline size_t gp__live(void) {
  return GP_LIKELY(gp__nlive > 1) ? gp__nlive : gp__nlive + (gp__nstop > 0);
}
/* Parks the running coroutine until gp__unpark() or the deadline (GP_NEVER
 * for none). Returns the code given to gp__unpark, or -ETIMEDOUT. */
int gp__park(int64_t deadline);
/* Makes c ready with the given wake code if it is parked; returns 1 when
 * it was parked, 0 when it was already woken (by its deadline, say). */
int gp__unpark(gp_coro *c, int code);
/* For objects that cannot be waited on (shared with other processes):
 * parks for *nap ns, or until deadline if sooner, then doubles *nap (from
 * GP_NAP_MIN up to GP_NAP_MAX). Returns 0 to try again, -ETIMEDOUT once
 * the deadline passed, or the wake code that ended the park early. */
#define GP_NAP_MIN 1000000LL  /* 1 ms */
#define GP_NAP_MAX 32000000LL /* 32 ms */
int gp__nap(int64_t *nap, int64_t deadline);
/* Puts the running coroutine at the back of the ready queue. */
void gp__yield(void);
/* The time slice (slice.c): how long the loop may go unpolled while
 * coroutines run without parking, in ns; 0 turns the slice off. Set
 * once, before the start, by gp__slice_set. */
extern int64_t gp__slice_ns __attribute__((visibility("hidden")));
void gp__slice_set(int64_t ns);
void gp__slice_check(void);
/* Not 0 while a signal handler runs (the shim's wrapper counts itself in
 * and out): a switch there could leave a libc lock the interrupted code
 * holds to the next coroutine, so the slice waits. The hub clears it at
 * each poll, for a handler that left with siglongjmp. */
extern int gp__slice_held __attribute__((visibility("hidden")));
/* For a hook that made its system call and did not park (a read that
 * found data, an epoll_wait with events ready), inside runtime code:
 * when the loop has not been polled for a slice, the running coroutine
 * goes to the back of the ready queue and the hub polls the loop before
 * the next pass. One load while the slice is off; a coarse clock read
 * (gp__now_coarse) while it is on. */
static inline void gp__slice_point(void) {
  if (GP_UNLIKELY(gp__slice_ns != 0))
    gp__slice_check();
}
/* The kernel thread id of the scheduler thread (0 before the start). */
int gp__sched_tid(void);
/* Wakes the hub, from any thread or signal handler (async-signal-safe);
 * the hub then calls the hooks' wake functions. */
void gp__hub_wake(void);
/* Records the signal mask the running coroutine (or the hub) has just
 * installed, so that switches keep it. */
void gp__sigmask_note(void);
/* Selects the context switch: 1 for ucontext, 0 for the assembly one
 * where the machine has it. Before the runtime starts. Returns the
 * choice in effect. */
int gp__switch_select(int ucontext);
/* Thread-local storage (tls.c): 1 asks for a private block per coroutine
 * (the default), 0 for the OS thread's block shared by all
 * (GPATCH_TLS=shared). Call before the start; the start checks that glibc allows
 * it, and warns once and shares otherwise. gp__tls_is_private says what
 * is in effect. gp__tls_run_dtors runs the C++ thread_local destructors
 * of the running coroutine (glibc's __call_tls_dtors) in private mode,
 * and does nothing otherwise: program code, called outside the runtime. */
void gp__tls_select(int private_tls);
int gp__tls_is_private(void);
/* Whether private TLS was asked for, known before the start decides. */
int gp__tls_asked(void);
void gp__tls_run_dtors(void);
/* Around a real setuid-family call on the scheduler thread in private
 * mode: makes glibc's __nptl_setxid pass over this OS thread's own TCB
 * when a coroutine calls (it would wait for that thread forever). Give
 * gp__tls_xid_end what gp__tls_xid_begin returned. */
void *gp__tls_xid_begin(void);
void gp__tls_xid_end(void *marked);
/* 1 for the coroutine that runs on the process's original thread. */
int gp__coro_is_main(gp_coro *c);
/* The coroutine that stands for the process's main thread (the kernel's
 * first choice for a process-directed signal): the main coroutine, or in
 * a child forked from another coroutine, that one. NULL before start. */
gp_coro *gp__primary(void);
/* Signals aimed at coroutine c alone (pthread_kill) that it has not taken
 * yet, a bit each (bit sig - 1). A coroutine that runs again with one
 * pending calls the hooks' sigpend function first, in its own context,
 * inside the runtime (the shim delivers them there). */
uint64_t *gp__coro_sigpend(gp_coro *c);
/* The signal mask c runs with, as a bit set (bit sig - 1). */
uint64_t gp__coro_sigmask(gp_coro *c);

/* ---- fork (fork.c) ---- */

/* In a forked child, on the thread that ran the scheduler: the calling
 * coroutine goes on alone with a loop and an epoll set of its own. */
int gp__rt_fork_child(void);

/* ---- inspection (dump.c, hub.c) ---- */

/* Names the call the running coroutine is about to park in ("waitpid"),
 * for the dump: the next park takes it, and gp_leave forgets a name that
 * no park took. call is a static string. */
extern const char *gp__next_call;
static inline void gp__wait_note(const char *call) { gp__next_call = call; }
/* Writes every coroutine (id, name, state, what it waits on, deadline)
 * to fd through the real write. Call from the hub or a coroutine, never
 * from a signal handler. */
void gp__dump(int fd);
/* What the hub does when every coroutine waits and nothing can wake one:
 * report and abort, or with wait set report and keep waiting. The hooks'
 * may_wake says whether something outside the coroutines could still
 * wake one: then it is no deadlock, only a note at the info level.
 * Before the start. */
void gp__set_deadlock_wait(int wait);

/* ---- kill and Timeout (sched.c) ----
 *
 * A coroutine may be asked to stop (gp__kill) and may carry a deadline of
 * its own (a Timeout). Waits the program expects to fail (fds, sleeps,
 * joins) use gp__park_intr, which honours both; mutex and condvar waits
 * use gp__park and ignore them (POSIX gives those calls no such error).
 */

/* What gp__park_intr returns when the running coroutine's Timeout has
 * passed; the shim reports it as ETIMEDOUT (its own deadline, like
 * SO_RCVTIMEO, may mean something else, such as EAGAIN). */
#define GP_EXPIRED (-ETIME)
/* Parks like gp__park, but returns -ECANCELED at once or as soon as the
 * running coroutine is killed, and GP_EXPIRED once its Timeout passes.
 * A park that fails at once yields first, so a killed coroutine that
 * ignores the error cannot starve the others. */
int gp__park_intr(int64_t deadline);
/* gp__park_intr for a synchronisation wait that parks again until its
 * condition holds, so that any wake-up is harmless (see gp__poke). */
int gp__park_intr_sync(int64_t deadline);
/* The wake code of gp__poke. */
#define GP_POKED (-EALREADY)
/* Wakes c when it is parked in a synchronisation wait (a wait queue, a
 * semaphore, a poll of a lock glibc keeps), which parks again: c runs
 * for a moment (to take a signal aimed at it). Returns 1 when it did. */
int gp__poke(gp_coro *c);
/* Asks c to stop: its current gp__park_intr, and every later one until
 * it ends, return -ECANCELED. A coroutine killed before it first ran
 * still runs (the shim decides what it does then). */
void gp__kill(gp_coro *c);
/* Takes a kill back (the coroutine disabled cancellation). */
void gp__unkill(gp_coro *c);
int gp__coro_killed(gp_coro *c);
/* Sets the running coroutine's Timeout, an absolute gp__now() time or
 * GP_NEVER for none, and returns the one it replaces. */
int64_t gp__set_deadline(int64_t deadline);
int64_t gp__get_deadline(void);
/* For the running coroutine: -ECANCELED when killed, GP_EXPIRED when its
 * Timeout has passed, else 0. */
int gp__stop_code(void);

/* ---- coroutines (coro.c) ---- */

/* Default stack size for gp__spawn with stack_size 0. */
void gp__set_default_stack(size_t bytes);
size_t gp__default_stack(void);
/* Creates a ready coroutine running fn(arg) on a new stack of stack_size
 * bytes (0: the default). The runtime must be started. */
int gp__spawn(void *(*fn)(void *), void *arg, size_t stack_size,
              int detached, gp_coro **out);
/* The same on the program's own stack [lo, lo + size): no guard page, and
 * the runtime never frees it. -EINVAL for a missing or tiny stack. */
int gp__spawn_on(void *(*fn)(void *), void *arg, void *lo, size_t size,
                 int detached, gp_coro **out);
/* Waits until c ends (until deadline), stores its result in *retval and
 * frees it. -EDEADLK for self, -EINVAL when detached or already joined,
 * -ETIMEDOUT, -EBUSY when deadline is 0 and c still runs. */
int gp__join(gp_coro *c, void **retval, int64_t deadline);
int gp__detach(gp_coro *c);
/* Ends the running coroutine with retval; never returns. Runs the hooks'
 * exit functions first, in their order, in the ending coroutine. */
__attribute__((noreturn)) void gp__exit(void *retval);
/* The shim's slot of c: the hooks' slot_size bytes kept with its record,
 * aligned to 8, zero at spawn (for the main coroutine, at the start), and
 * never read by the runtime, which reuses or frees it with the record
 * once c has ended and been joined: what the shim hangs there it frees by
 * then (an exit function). */
void *gp__coro_slot(gp_coro *c);
/* What c returned or gave to gp__exit (once it has ended). */
void *gp__coro_retval(gp_coro *c);
/* The coroutine whose handle is h, or NULL when h names none. */
gp_coro *gp__coro_from_handle(uintptr_t h);
/* The first coroutine that has not ended for which match(c, arg) is
 * nonzero, or NULL: a walk of every record (scheduler thread only). */
gp_coro *gp__coro_find(int (*match)(gp_coro *c, void *arg), void *arg);
uintptr_t gp__coro_handle(gp_coro *c);
/* An id that never equals a real thread id: mutex owner words hold it.
 * Coroutines other than the main one have ids from GP_CORO_ID_MIN up (the
 * main one has its thread's tid). */
#define GP_CORO_ID_MIN (1 << 30)
int gp__coro_id(gp_coro *c);
/* The number every report shows a coroutine by (#N): 0 for the main one,
 * then 1, 2, ... in the order they were created. */
int gp__coro_number(gp_coro *c);
/* The usable stack of c: lowest address and size (0 for the main one,
 * which runs on the process's own stack). */
void gp__coro_stack(gp_coro *c, void **lo, size_t *size);
/* 1 once c has ended (it may wait for its joiner). */
int gp__coro_ended(gp_coro *c);
/* 1 when c was created detached or detached since. */
int gp__coro_detached(gp_coro *c);
/* The name given by pthread_setname_np (16 bytes with the NUL). */
char *gp__coro_name(gp_coro *c);

/* ---- fds: one record per fd, waiting on fds (fdtab.c; the runtime's own
 * fds: hub.c) ---- */

enum {
  GP_IN = 1,  /* readable, or a peer hung up */
  GP_OUT = 2, /* writable */
  GP_PRI = 4, /* urgent data */
};

/* The record of one fd number, made on its first use. A hook looks its
 * fd up once (gp__fd_get) and hands the record to every function below.
 * A record never moves and is never freed, so the pointer stays good
 * across a park and a close (a close only resets the record: see
 * gp__fd_forget), and waiter lists may point into it.
 *
 * The record begins with the shim's slot of GP_FD_SLOT bytes, which the
 * runtime zeroes on gp__fd_forget and otherwise never reads or writes;
 * the shim keeps there what it caches about the fd (its kind, the
 * program's O_NONBLOCK, the socket timeouts) and checks with a
 * _Static_assert that its struct fits. A fixed capacity rather than a
 * size the shim hands over at init: the records then have a size known
 * at compile time (a constant stride in the table), the slot costs no
 * indirection to reach, and a record made before the shim's init (a unit
 * test, a hook that runs early) has the same layout as every later one.
 * The rest of the record (waiters, epoll registration, generation,
 * readiness hints) is the runtime's alone. */
typedef struct gp_fd gp_fd;
#define GP_FD_SLOT 40

/* The part of a record the shim may read: the slot and the fd number.
 * Every record starts with it (fdtab.c checks). */
struct gp_fd_head {
  _Alignas(8) unsigned char slot[GP_FD_SLOT]; /* the shim's */
  int fd;                                     /* the number it records */
};
static inline void *gp__fd_slot(gp_fd *f) {
  return ((struct gp_fd_head *)(void *)f)->slot;
}
static inline int gp__fd_num(const gp_fd *f) {
  return ((const struct gp_fd_head *)(const void *)f)->fd;
}

/* The record of fd, made on first use; NULL for a negative fd. Scheduler
 * thread only (the table grows there). */
gp_fd *gp__fd_get(int fd);
/* The record of fd if it was ever made, else NULL: for calls that only
 * reset or wake (close, shutdown), which must not grow the table. */
gp_fd *gp__fd_find(int fd);

/* One fd a coroutine waits on; the record lives on the waiter's stack. */
typedef struct gp_fdwait {
  gp_list link;      /* in the fd record's waiter list */
  gp_coro *coro;     /* the waiting coroutine */
  gp_fd *rec;        /* the record of the fd waited on */
  unsigned events;   /* GP_IN/GP_OUT/GP_PRI wanted */
} gp_fdwait;

/* Parks until one of the n fds may be ready for its events, or the
 * deadline. Returns 0 (readiness is a hint: try the call again),
 * -ETIMEDOUT, -EBADF when an fd was closed meanwhile, -EPERM when an fd
 * cannot be polled (a regular file: the caller treats it as ready), or
 * what gp__park_intr returns for a kill or Timeout. */
int gp__fd_wait_many(gp_fdwait *w, int n, int64_t deadline);
/* gp__fd_wait_many for the one fd f; -EBADF when f is NULL (what
 * gp__fd_get gives for a negative fd). */
int gp__fd_wait(gp_fd *f, unsigned events, int64_t deadline);
/* The fd is being closed or replaced: wakes its waiters with -EBADF,
 * forgets its registration and readiness hints, and zeroes the shim's
 * slot. Call before the real close. */
void gp__fd_forget(gp_fd *f);
/* gp__fd_forget for an fd about to be closed whose file no other fd or
 * process shares (the caller knows it): the registration is left to the
 * close, which removes a file's last fd from every epoll set, so the
 * close costs no epoll_ctl. (Were the file shared after all, its events
 * would still come, and be dropped as stale.) */
void gp__fd_forget_alone(gp_fd *f);
/* Forgets the fds first..last (wakes their waiters with -EBADF): a
 * close_range is about to close them. */
void gp__fd_forget_range(int first, int last);
/* Something the epoll set may not report happened to the fd (a
 * shutdown): wakes its waiters for events with 0 (they try their call
 * again) and drops its readiness hints. */
void gp__fd_wake(gp_fd *f, unsigned events);

/* Readiness hints, from the edges of the runtime's epoll set. 0 when the
 * program's last try on the fd for dir (GP_IN/GP_OUT) found it empty (or
 * full) and no edge arrived since: another try would only say EAGAIN, so
 * the caller may park at once. 1 otherwise. */
int gp__fd_maybe_ready(const gp_fd *f, unsigned dir);
/* The caller saw the fd empty (or full) for dir: EAGAIN, or a short
 * read. Kept only for an fd already in the epoll set (one that waited
 * before), since only such an fd gets the edge that clears it. */
void gp__fd_seen_empty(gp_fd *f, unsigned dir);

/* The most fds the runtime owns itself (its epoll sets, libuv's wake-up
 * and signal fds). */
#define GP_FD_PRIVATE_MAX 16
/* 1 when fd is one of the runtime's own. Safe from any thread. */
int gp__fd_private(int fd);
/* Stores up to max of the runtime's own fds in fds; returns how many. */
int gp__fd_privates(int *fds, int max);

/* ---- running functions on pool threads (work.c) ---- */

/* Runs fn(arg) on a thread of the lane's pool while the calling coroutine
 * parks; returns once fn has returned (its results travel through arg).
 * Returns 0, or -EAGAIN when no pool thread could be started (fn did not
 * run). fn runs on a foreign thread, with every signal blocked: the hooks
 * give it the real calls. The wait cannot be interrupted. */
int gp__work_run(unsigned lane, void (*fn)(void *), void *arg);
/* The most threads lane may start (default 16); more jobs queue. The
 * shim's defaults are in the hooks table (work_limit), which calls this;
 * the shim calls it again for a GPATCH_*_THREADS setting, before the
 * start; the runtime's unit tests call it directly. */
void gp__work_set_limit(unsigned lane, unsigned max);
/* How long, in ns, a pool thread of any lane waits for a job before it
 * exits (default 10 s; the unit tests shorten it). Any thread. */
void gp__work_set_idle(int64_t ns);
/* The threads lane has now, started or being started (a retired one no
 * longer counts). Any thread. */
unsigned gp__work_threads(unsigned lane);

/* ---- wait queues on addresses (wq.c) ---- */

/* A coroutine waiting on an address; lives on the waiter's stack. */
typedef struct gp_waiter {
  gp_list link;     /* in the address's hash bucket */
  const void *addr; /* what it waits on */
  gp_coro *coro;
} gp_waiter;

/* Queues the running coroutine on addr without parking yet. */
void gp__wq_add(gp_waiter *w, const void *addr);
/* Parks after gp__wq_add until woken or the deadline; always leaves w
 * unqueued. Returns 0 or -ETIMEDOUT. */
int gp__wq_park(gp_waiter *w, int64_t deadline);
/* Wakes the first coroutine still parked on addr; returns it, or NULL. */
gp_coro *gp__wq_wake_one(const void *addr);
/* Wakes up to n coroutines parked on addr; returns how many. */
int gp__wq_wake(const void *addr, int n);
/* gp__wq_park that a kill or Timeout also ends (see gp__park_intr):
 * 0, -ETIMEDOUT, -ECANCELED or GP_EXPIRED. */
int gp__wq_park_intr(gp_waiter *w, int64_t deadline);

/* ---- diagnostics (diag.c) ----
 *
 * Counters for GPATCH_STATS and the record of what runs for the blocking
 * monitor. The runtime reaches them through one branch on gp__diag, so
 * they cost nothing while off.
 */
enum {
  GP_DIAG_STATS = 1,   /* count (GPATCH_STATS) */
  GP_DIAG_MONITOR = 2, /* note every switch's time (GPATCH_MAX_BLOCKING) */
  GP_DIAG_DEBUG = 4,   /* log each coroutine's spawn and end */
};
extern unsigned char gp__diag /* GP_DIAG_* bits in force */
  __attribute__((visibility("hidden")));
/* Turns diagnostics on, before the runtime starts. */
void gp__diag_enable(unsigned bits);

/* Kinds of wait, as the runtime sees them (the families of GPATCH_PATCH
 * map onto them: socket and poll wait on fds, sync on addresses). */
enum gp_park_kind {
  GP_PARK_FD,    /* an fd's readiness: socket, pipe, poll, epoll */
  GP_PARK_SYNC,  /* an address: mutex, condition variable */
  GP_PARK_JOIN,  /* another coroutine's end */
  GP_PARK_SLEEP, /* a timer only: the sleeps */
  GP_PARK_YIELD, /* not a wait: a yield that let another coroutine run */
  GP_PARK_KINDS,
};

struct gp_stats {
  int64_t wall_ns;                   /* since the runtime started */
  uint64_t created;                  /* coroutines spawned */
  uint64_t peak_live;                /* most alive at once, main included */
  uint64_t switches;                 /* context switches */
  uint64_t parks[GP_PARK_KINDS];     /* waits, by kind */
  uint64_t loop_iterations;          /* passes of the hub over the loop */
  int64_t blocked_ns;                /* the hub blocked in the loop */
  size_t stack_used;                 /* deepest use of a coroutine stack */
  size_t stack_size;                 /* the size of that stack */
  int stack_number;                  /* the coroutine it belonged to */
  char stack_name[16];               /* and its name */
};
/* The counters so far; the stacks of live coroutines are measured now. */
void gp__stats_get(struct gp_stats *s);

/* What runs now, for a monitor on another thread: the switch count, the
 * time of the last switch, and the coroutine that switch ran (NULL: the
 * hub), with its number, name and whether it is the main one. Returns 0,
 * or -EAGAIN when a switch happened while reading. */
struct gp_running {
  uint64_t seq;
  int64_t since;
  gp_coro *coro;
  int number;
  int is_main;
  char name[16];
  uint64_t long_seq;  /* the last run of at least the limit ended: its seq */
  int64_t long_ns;    /* and how long it lasted */
};
int gp__running(struct gp_running *r);
/* The run length from which a run's end is recorded in long_seq. */
void gp__diag_set_limit(int64_t ns);
/* The clock of gp_running's times: CLOCK_MONOTONIC_COARSE, in ns. */
int64_t gp__diag_clock(void);
/* Whether a fault at addr, with the machine context uc a SIGSEGV handler
 * got, shows that the running coroutine overran its stack (addr in its
 * guard page, or the stack pointer below its stack); fills its number,
 * name and stack size then. Signal-safe. */
int gp__overflowed(uintptr_t addr, const void *uc, int *number,
                   char name[16], size_t *size);

#pragma GCC visibility pop

#endif
