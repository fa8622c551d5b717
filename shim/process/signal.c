/* signal.c: the program's signal actions, and the wrapper installed for
 * its handlers.
 *
 * sigaction and signal record the program's action and install a wrapper
 * with the same mask and flags. The wrapper runs the program's handler,
 * then notes the signal and wakes the hub (uv_async_send is
 * async-signal-safe); it touches nothing else. Which coroutine's call a
 * noted signal interrupts is chosen in the hub (intr.c).
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

#include "core/diag.h"
#include "core/guard.h"
#include "process/intr.h"
#include "process/sig.h"
#include "real.h"

static struct sigaction prog[NSIG];   /* the program's actions */
static unsigned char known[NSIG];     /* prog[sig] was set through us */
static unsigned char kept[NSIG];      /* the runtime's handler stays */
static int dump_sig;                  /* GPATCH_DUMP_SIGNAL, or 0 */

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

/* The time slice never ends inside a handler (rt.h, gp__slice_held). */
static void wrapper(int sig, siginfo_t *info, void *uc) {
  int saved = errno;
  __atomic_add_fetch(&gp__slice_held, 1, __ATOMIC_RELAXED);
  struct sigaction *a = &prog[sig];
  int handled = is_handler(a);
  if (handled && (a->sa_flags & SA_SIGINFO))
    a->sa_sigaction(sig, info, uc);
  else if (handled)
    a->sa_handler(sig);
  if (handled && (a->sa_flags & SA_RESETHAND))
    a->sa_handler = SIG_DFL; /* the kernel reset the wrapper likewise */
  if (sig == dump_sig) {
    gp_sig_note_dump();
    if (!gp__rt_started())
      dump_early();
  }
  if (handled)
    gp_sig_note(sig);
  gp__hub_wake();
  __atomic_sub_fetch(&gp__slice_held, 1, __ATOMIC_RELAXED);
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

int gp_sig_handled_now(int sig) {
  if (known[sig])
    return is_handler(&prog[sig]);
  struct sigaction now;
  return GP_REAL(sigaction)(sig, NULL, &now) == 0 && is_handler(&now);
}

int gp_sig_restarts(int sig) {
  return (prog[sig].sa_flags & SA_RESTART) != 0;
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
