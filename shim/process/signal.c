/* signal.c: signal handlers, and EINTR for coroutines parked in calls a
 * signal interrupts.
 *
 * sigaction and signal record the program's action and install a wrapper
 * with the same mask and flags. The wrapper runs the program's handler,
 * then notes the signal and wakes the hub (uv_async_send is
 * async-signal-safe); it touches nothing else. In the hub, each noted
 * signal interrupts at most one coroutine, as the kernel picks one
 * thread: the main coroutine when it does not block the signal (and then
 * only if it waits in an interruptible call: a running or joining main
 * thread takes the signal and nobody's call fails), else the one that has
 * waited longest. Only waits that began before the signal count.
 * What is interrupted follows signal(7): with SA_RESTART, reads, writes,
 * accept and connect go on; poll, select, sleeps and socket calls with a
 * timeout (SO_RCVTIMEO/SO_SNDTIMEO) return EINTR whatever the flags.
 * A coroutine whose mask blocks the signal is never picked. SIGCHLD also
 * wakes the coroutines parked in the wait family (wait.c).
 *
 * GPATCH_DUMP_SIGNAL names a signal whose arrival prints every coroutine
 * (dump.c) from the hub. The wrapper stays installed for it whatever the
 * program sets: the program's own handler still runs, and the program's
 * SIG_DFL or SIG_IGN for it mean "dump only".
 *
 * The diagnostics keep a handler of their own on a few signals (SIGSEGV
 * for stack overflows, SIGURG for the blocking monitor): for those,
 * sigaction only records the program's action, and the runtime's handler
 * forwards to it what is not its own (gp_sig_keep, gp_sig_forward).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/diag.h"
#include "core/guard.h"
#include "process/intr.h"
#include "real.h"

static struct sigaction prog[NSIG];   /* the program's actions */
static unsigned char known[NSIG];     /* prog[sig] was set through us */
static unsigned char kept[NSIG];      /* the runtime's handler stays */
static uint32_t sig_seq;              /* signals seen so far */
static uint32_t pending[NSIG];        /* sig_seq when sig last arrived */
static int handled_in[NSIG];          /* coroutine id current at arrival */
static gp_list waits = {&waits, &waits}; /* gp_intr records, oldest first */
static int dump_sig;                  /* GPATCH_DUMP_SIGNAL, or 0 */
static int dump_wanted;               /* the dump signal arrived */

static int is_handler(const struct sigaction *a) {
  return (a->sa_flags & SA_SIGINFO) ||
         (a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN);
}

/* Before the runtime runs, the dump has nothing to list: say so here
 * (write is async-signal-safe). */
static void dump_early(void) {
  static const char msg[] = "gpatch: dump: no coroutines yet (the program "
                            "has created no thread)\n";
  GP_REAL(write)(2, msg, sizeof msg - 1);
}

static void wrapper(int sig, siginfo_t *info, void *uc) {
  int saved = errno;
  struct sigaction *a = &prog[sig];
  int handled = is_handler(a);
  if (handled && (a->sa_flags & SA_SIGINFO))
    a->sa_sigaction(sig, info, uc);
  else if (handled)
    a->sa_handler(sig);
  if (handled && (a->sa_flags & SA_RESETHAND))
    a->sa_handler = SIG_DFL; /* the kernel reset the wrapper likewise */
  if (sig == dump_sig) {
    __atomic_store_n(&dump_wanted, 1, __ATOMIC_RELEASE);
    if (!gp__rt_started())
      dump_early();
  }
  if (handled) {
    __atomic_store_n(&handled_in[sig], gp__tls.sched ? gp__current_id : -1,
                     __ATOMIC_RELAXED);
    uint32_t seq = __atomic_add_fetch(&sig_seq, 1, __ATOMIC_ACQ_REL);
    __atomic_store_n(&pending[sig], seq, __ATOMIC_RELEASE);
  }
  gp__hub_wake();
  errno = saved;
}

/* The action installed in the kernel for act: the wrapper for a handler
 * (and always for the dump signal), else act itself. */
static const struct sigaction *kernel_action(int sig,
                                             const struct sigaction *act,
                                             struct sigaction *mine) {
  if (act == NULL || (!is_handler(act) && sig != dump_sig))
    return act;
  *mine = *act;
  mine->sa_sigaction = wrapper;
  mine->sa_flags |= SA_SIGINFO;
  if (!is_handler(act)) /* the dump alone: disturb no call */
    mine->sa_flags = (mine->sa_flags & ~SA_RESETHAND) | SA_RESTART;
  return mine;
}

/* sigaction for a signal the runtime keeps its handler on: records the
 * program's action, which gp_sig_forward then runs. */
static int keep_record(int sig, const struct sigaction *act,
                       struct sigaction *old) {
  if (old) {
    if (known[sig]) {
      *old = prog[sig];
    } else {
      memset(old, 0, sizeof *old);
      old->sa_handler = SIG_DFL;
    }
  }
  if (act) {
    prog[sig] = *act;
    known[sig] = 1;
  }
  return 0;
}

GP_EXPORT int sigaction(int sig, const struct sigaction *act,
                        struct sigaction *old) {
  if (sig <= 0 || sig >= NSIG)
    return GP_REAL(sigaction)(sig, act, old);
  if (kept[sig])
    return keep_record(sig, act, old);
  struct sigaction mine, was;
  int r = GP_REAL(sigaction)(sig, kernel_action(sig, act, &mine), &was);
  if (r != 0)
    return r;
  if (old)
    *old = known[sig] ? prog[sig] : was;
  if (act) {
    prog[sig] = *act;
    known[sig] = 1;
  }
  return 0;
}

/* glibc's signal() calls its internal sigaction, not ours: the same BSD
 * semantics (SA_RESTART, the signal blocked in its handler) through the
 * hook. */
GP_EXPORT sighandler_t signal(int sig, sighandler_t handler) {
  struct sigaction act, old;
  memset(&act, 0, sizeof act);
  act.sa_handler = handler;
  act.sa_flags = SA_RESTART;
  sigemptyset(&act.sa_mask);
  if (sig > 0 && sig < NSIG)
    sigaddset(&act.sa_mask, sig);
  if (sigaction(sig, &act, &old) != 0)
    return SIG_ERR;
  return old.sa_handler; /* shares its storage with sa_sigaction */
}

/* The mask lives per coroutine: after a change on the scheduler thread,
 * the runtime records it for the running coroutine. */
static void note_mask(void) {
  if (!gp__tls.sched)
    return;
  unsigned char was = gp__inside_enter();
  gp__sigmask_note();
  gp__inside_restore(was);
}

/* Signals aimed at a coroutine other than the running one (pthread_kill,
 * pthread_sigqueue). A thread-directed signal is delivered in its target
 * thread; here the target takes it when it runs next: the signal is
 * pending on the coroutine (a bit in the runtime's record, the siginfo
 * here), and when the coroutine is switched to, the sigpend hook raises it on
 * the OS thread while the target is current, so the handler runs in the
 * target's context, with its mask. A target that waits in a call the
 * signal interrupts (signal(7), as for process signals) is woken to take
 * it at once and fail with EINTR after its handler; one whose mask
 * blocks the signal keeps it pending until it unblocks it or takes it
 * with the sigwait family. As for a thread, a standard signal pending
 * twice is taken once; real-time signals queue. The records are a fixed
 * pool, so pthread_kill allocates nothing. */
#define AIMED_MAX 1024
struct aimed_sig {
  int id;          /* the target coroutine's id; 0: a free record */
  int sig;
  int code;        /* SI_TKILL or SI_QUEUE */
  union sigval value;
};
static struct aimed_sig aimed_pool[AIMED_MAX];
static unsigned aimed_used; /* records in use */

/* After the running coroutine changed its mask: the signals aimed at it
 * that the mask now lets through are delivered at once, as the kernel
 * does for a thread's pending signals. */
static void mask_changed(void) {
  note_mask();
  gp_coro *c = gp__tls.sched ? gp__self() : NULL;
  if (c && *gp__coro_sigpend(c)) {
    unsigned char was = gp__inside_enter();
    gp_signal_deliver(c);
    gp__inside_restore(was);
  }
}

int gp_set_mask(int how, const sigset_t *set, sigset_t *old) {
  int r = GP_REAL(pthread_sigmask)(how, set, old);
  if (r == 0 && set)
    mask_changed();
  return r;
}

GP_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old) {
  return gp_set_mask(how, set, old);
}

GP_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old) {
  int r = GP_REAL(sigprocmask)(how, set, old);
  if (r == 0 && set)
    mask_changed();
  return r;
}

/* Adds the signals aimed at the running coroutine (pthread_kill) that it
 * has not taken yet. */
GP_EXPORT int sigpending(sigset_t *set) {
  int r = GP_REAL(sigpending)(set);
  gp_coro *c = gp__tls.sched ? gp__self() : NULL;
  if (r == 0 && c) {
    uint64_t b;
    memcpy(&b, set, sizeof b);
    b |= *gp__coro_sigpend(c);
    memcpy(set, &b, sizeof b);
  }
  return r;
}

void gp_intr_begin(struct gp_intr *r, int always) {
  r->coro = gp__self();
  r->seq = __atomic_load_n(&sig_seq, __ATOMIC_ACQUIRE);
  r->always = (unsigned char)always;
  r->waitset = 0;
  gp__list_push(&waits, &r->link);
}

void gp_intr_end(struct gp_intr *r) { gp__list_del(&r->link); }

int gp_intr_caught(const struct gp_intr *r) {
  return __atomic_load_n(&sig_seq, __ATOMIC_ACQUIRE) != r->seq;
}

int gp_sig_claim(const struct gp_intr *r) {
  int n = 0;
  for (int sig = 1; sig < NSIG; sig++) {
    uint32_t seq = __atomic_load_n(&pending[sig], __ATOMIC_ACQUIRE);
    if (seq == 0 || (int32_t)(seq - r->seq) <= 0 ||
        __atomic_load_n(&handled_in[sig], __ATOMIC_RELAXED) !=
            gp__current_id)
      continue;
    if (__atomic_compare_exchange_n(&pending[sig], &seq, 0, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      n++;
  }
  return n;
}

void gp_signal_fork(void) {
  gp__list_init(&waits);
  memset(aimed_pool, 0, sizeof aimed_pool); /* a child has none pending */
  aimed_used = 0;
  if (gp__self())
    *gp__coro_sigpend(gp__self()) = 0;
  for (int sig = 1; sig < NSIG; sig++)
    pending[sig] = 0;
  dump_wanted = 0;
}

static int blocks(gp_coro *c, int sig) {
  return (gp__coro_sigmask(c) >> (sig - 1)) & 1;
}

/* 1 when r may be interrupted for a signal that arrived as number seq. */
static int eligible(const struct gp_intr *r, int sig, uint32_t seq,
                    int restart) {
  return (int32_t)(seq - r->seq) > 0 && (r->always || !restart) &&
         !blocks(r->coro, sig);
}

/* Interrupts one coroutine for signal sig, which arrived as number seq,
 * as the kernel picks a thread: the main thread when it does not block
 * the signal (only its own wait is then interrupted, if it is in one),
 * else the coroutine that has waited longest among those that do not. */
/* The coroutine a pthread_kill or pthread_sigqueue aimed sig at, until
 * the hub has dispatched it (scheduler thread only). */
static gp_coro *aimed[NSIG];


/* A signal aimed at one coroutine interrupts that one's wait or none, as
 * a thread-directed signal does. */
static void interrupt_aimed(gp_coro *c, int sig, uint32_t seq, int restart) {
  for (gp_list *l = waits.next; l != &waits; l = l->next) {
    struct gp_intr *r = GP_CONTAINER(l, struct gp_intr, link);
    if (r->coro == c && eligible(r, sig, seq, restart)) {
      gp__unpark(c, -EINTR);
      return;
    }
  }
}

static void interrupt_one(int sig, uint32_t seq, int restart) {
  gp_coro *c = aimed[sig];
  if (c != NULL) {
    aimed[sig] = NULL;
    interrupt_aimed(c, sig, seq, restart);
    return;
  }
  gp_coro *m = gp__primary();
  int main_takes = m && !gp__coro_ended(m) && !blocks(m, sig);
  struct gp_intr *pick = NULL;
  for (gp_list *l = waits.next; l != &waits; l = l->next) {
    struct gp_intr *r = GP_CONTAINER(l, struct gp_intr, link);
    if ((main_takes && r->coro != m) || !eligible(r, sig, seq, restart))
      continue;
    pick = r;
    break;
  }
  if (pick)
    gp__unpark(pick->coro, -EINTR);
}

static uint64_t sigbit(int sig) { return 1ull << (sig - 1); }

static struct aimed_sig *aimed_find(int id, int sig) {
  for (unsigned i = 0, seen = 0; i < AIMED_MAX && seen < aimed_used; i++) {
    if (aimed_pool[i].id == 0)
      continue;
    seen++;
    if (aimed_pool[i].id == id && aimed_pool[i].sig == sig)
      return &aimed_pool[i];
  }
  return NULL;
}

/* Takes the oldest record of sig for coroutine c into *a, clearing c's
 * bit when it was the last. Returns 0 when there was none. */
static int aimed_take(gp_coro *c, int sig, struct aimed_sig *a) {
  struct aimed_sig *r = aimed_find(gp__coro_id(c), sig);
  if (r == NULL) {
    *gp__coro_sigpend(c) &= ~sigbit(sig);
    return 0;
  }
  *a = *r;
  r->id = 0;
  aimed_used--;
  if (aimed_find(gp__coro_id(c), sig) == NULL)
    *gp__coro_sigpend(c) &= ~sigbit(sig);
  return 1;
}

static void fill_info(siginfo_t *si, const struct aimed_sig *a) {
  memset(si, 0, sizeof *si);
  si->si_signo = a->sig;
  si->si_code = a->code;
  si->si_pid = getpid();
  si->si_uid = getuid();
  si->si_value = a->value;
}

/* Raises a on the OS thread for coroutine c, the running one: the kernel
 * delivers it before the call returns, unless the mask blocks it. The
 * handler is program code: the hooks it calls are the program's (it may
 * even park, on c's stack above the runtime's frames). */
static int raise_for(gp_coro *c, const struct aimed_sig *a) {
  siginfo_t si;
  fill_info(&si, a);
  aimed[a->sig] = c; /* its wait alone may end with EINTR */
  int saved = errno;
  int r = 0;
  unsigned char was = gp__outside_enter();
  if (GP_REAL(syscall)(SYS_rt_tgsigqueueinfo, getpid(), gettid(), a->sig,
                       &si) != 0)
    r = errno;
  gp__inside_restore(was);
  errno = saved;
  return r;
}

/* Raises the aimed signals c's mask lets through; c is running. */
void gp_signal_deliver(gp_coro *c) {
  sigset_t mask;
  uint64_t blocked;
  GP_REAL(pthread_sigmask)(SIG_BLOCK, NULL, &mask);
  memcpy(&blocked, &mask, sizeof blocked);
  uint64_t go = *gp__coro_sigpend(c) & ~blocked;
  for (int sig = 1; go != 0 && sig < NSIG; sig++) {
    if (!(go & sigbit(sig)))
      continue;
    struct aimed_sig a;
    while (aimed_take(c, sig, &a)) {
      raise_for(c, &a);
      if (sig < SIGRTMIN)
        break;
    }
    go &= ~sigbit(sig);
  }
}

/* Whether the program's action for sig runs a handler. */
static int handled_now(int sig) {
  if (known[sig])
    return is_handler(&prog[sig]);
  struct sigaction now;
  return GP_REAL(sigaction)(sig, NULL, &now) == 0 && is_handler(&now);
}

int gp_signal_coro(gp_coro *c, int sig, int code, const union sigval *v) {
  struct aimed_sig now = {gp__coro_id(c), sig, code,
                          v ? *v : (union sigval){0}};
  /* To the running coroutine, or with no handler to run and not blocked
   * by the target (the default action or SIG_IGN acts on the whole
   * process): raised at once. */
  if (c == gp__self() || (!blocks(c, sig) && !handled_now(sig)))
    return raise_for(c, &now);
  uint64_t *pend = gp__coro_sigpend(c);
  if (sig >= SIGRTMIN || !(*pend & sigbit(sig))) {
    if (aimed_used == AIMED_MAX)
      return EAGAIN;
    unsigned i = 0;
    while (aimed_pool[i].id != 0)
      i++;
    aimed_pool[i] = now;
    aimed_used++;
    *pend |= sigbit(sig);
  }
  int restart = (prog[sig].sa_flags & SA_RESTART) != 0;
  for (gp_list *l = waits.next; l != &waits; l = l->next) {
    struct gp_intr *r = GP_CONTAINER(l, struct gp_intr, link);
    if (r->coro != c)
      continue;
    if (r->waitset & sigbit(sig))
      gp__unpark(c, 0); /* a sigwait for it: takes it */
    else if (!blocks(c, sig) && (r->always || !restart))
      gp__unpark(c, -EINTR);
    else
      break;
    return 0;
  }
  /* A wait the signal does not end (a lock, a semaphore with SA_RESTART)
   * is resumed for a moment, so the handler runs now, as in a thread
   * blocked there; then the wait goes on. */
  if (!blocks(c, sig))
    gp__poke(c);
  return 0;
}

int gp_signal_take(uint64_t set, siginfo_t *info) {
  gp_coro *c = gp__self();
  uint64_t take = *gp__coro_sigpend(c) & set;
  for (int sig = 1; take != 0 && sig < NSIG; sig++) {
    struct aimed_sig a;
    if ((take & sigbit(sig)) && aimed_take(c, sig, &a)) {
      if (info)
        fill_info(info, &a);
      return sig;
    }
  }
  return 0;
}

/* Runs in the hub after a wrapper woke it. */
void gp_signal_dispatch(void) {
  for (int sig = 1; sig < NSIG; sig++) {
    uint32_t seq = __atomic_exchange_n(&pending[sig], 0, __ATOMIC_ACQ_REL);
    if (seq)
      interrupt_one(sig, seq, (prog[sig].sa_flags & SA_RESTART) != 0);
    if (seq && sig == SIGCHLD)
      gp_wait_child_changed();
  }
  if (__atomic_exchange_n(&dump_wanted, 0, __ATOMIC_ACQ_REL))
    gp__dump(gp__log_fd()); /* stderr, or GPATCH_LOG_FILE */
}

int gp_signal_dump_init(int sig) {
  struct sigaction now;
  if (GP_REAL(sigaction)(sig, NULL, &now) != 0)
    return -1;
  dump_sig = sig;
  prog[sig] = now;
  known[sig] = 1;
  struct sigaction mine;
  return GP_REAL(sigaction)(sig, kernel_action(sig, &now, &mine), NULL);
}

int gp_sig_keep(int sig, void (*h)(int, siginfo_t *, void *), int flags) {
  struct sigaction mine, was;
  memset(&mine, 0, sizeof mine);
  mine.sa_sigaction = h;
  mine.sa_flags = SA_SIGINFO | flags;
  sigemptyset(&mine.sa_mask);
  if (GP_REAL(sigaction)(sig, &mine, &was) != 0)
    return -errno;
  /* A handler installed without us (by another preloaded library) is
   * the program's too. */
  if (!known[sig] && is_handler(&was) && was.sa_sigaction != wrapper) {
    prog[sig] = was;
    known[sig] = 1;
  }
  kept[sig] = 1;
  return 0;
}

int gp_sig_handled(int sig) { return known[sig] && is_handler(&prog[sig]); }

/* Whether the program has a handler that a signal could run: it might
 * post a semaphore or interrupt a wait, so every coroutine waiting is no
 * proof of a deadlock. */
int gp_sig_any_handler(void) {
  for (int sig = 1; sig < NSIG; sig++)
    if (gp_sig_handled(sig) && sig != SIGSEGV && sig != SIGBUS &&
        sig != SIGFPE && sig != SIGILL)
      return 1;
  return 0;
}

int gp_sig_forward(int sig, siginfo_t *info, void *uc) {
  int handled = gp_sig_handled(sig);
  if (handled || sig == dump_sig)
    wrapper(sig, info, uc);
  return handled;
}
