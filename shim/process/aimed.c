/* aimed.c: signals aimed at a coroutine other than the running one
 * (pthread_kill, pthread_sigqueue).
 *
 * A thread-directed signal is delivered in its target thread; here the
 * target takes it when it runs next: the signal is pending on the
 * coroutine (a bit in the runtime's record, the siginfo here), and when
 * the coroutine is switched to, gp_signal_deliver raises it on the OS
 * thread while the target is current, so the handler runs in the target's
 * context, with its mask. A target that waits in a call the signal
 * interrupts (signal(7), as for process signals) is woken to take it at
 * once and fail with EINTR after its handler (intr.c); one whose mask
 * blocks the signal keeps it pending until it unblocks it or takes it
 * with the sigwait family. As for a thread, a standard signal pending
 * twice is taken once; real-time signals queue. The records are a fixed
 * pool, so pthread_kill allocates nothing.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/guard.h"
#include "process/intr.h"
#include "process/sig.h"
#include "real.h"
#include "thread/tid.h"

#define AIMED_MAX 1024
struct aimed_sig {
  int id;          /* the target coroutine's id; 0: a free record */
  int sig;
  int code;        /* SI_TKILL or SI_QUEUE */
  union sigval value;
};
static struct aimed_sig aimed_pool[AIMED_MAX];
static unsigned aimed_used; /* records in use */

void gp_aimed_fork(void) {
  memset(aimed_pool, 0, sizeof aimed_pool); /* a child has none pending */
  aimed_used = 0;
  if (gp__self())
    *gp__coro_sigpend(gp__self()) = 0;
}

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
    *gp__coro_sigpend(c) &= ~gp_sig_bit(sig);
    return 0;
  }
  *a = *r;
  r->id = 0;
  aimed_used--;
  if (aimed_find(gp__coro_id(c), sig) == NULL)
    *gp__coro_sigpend(c) &= ~gp_sig_bit(sig);
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
  gp_intr_aim(c, a->sig); /* its wait alone may end with EINTR */
  int saved = errno;
  int r = 0;
  unsigned char was = gp__outside_enter();
  if (GP_REAL(syscall)(SYS_rt_tgsigqueueinfo, getpid(), gp_tid_os(), a->sig,
                       &si) != 0)
    r = errno;
  gp__inside_restore(was);
  errno = saved;
  return r;
}

void gp_signal_deliver(gp_coro *c) {
  sigset_t mask;
  uint64_t blocked;
  GP_REAL(pthread_sigmask)(SIG_BLOCK, NULL, &mask);
  memcpy(&blocked, &mask, sizeof blocked);
  uint64_t go = *gp__coro_sigpend(c) & ~blocked;
  for (int sig = 1; go != 0 && sig < NSIG; sig++) {
    if (!(go & gp_sig_bit(sig)))
      continue;
    struct aimed_sig a;
    while (aimed_take(c, sig, &a)) {
      raise_for(c, &a);
      if (sig < SIGRTMIN)
        break;
    }
    go &= ~gp_sig_bit(sig);
  }
}

int gp_signal_coro(gp_coro *c, int sig, int code, const union sigval *v) {
  struct aimed_sig now = {gp__coro_id(c), sig, code,
                          v ? *v : (union sigval){0}};
  /* To the running coroutine, or with no handler to run and not blocked
   * by the target (the default action or SIG_IGN acts on the whole
   * process): raised at once. (One the running coroutine blocks then
   * pends on the OS thread, where signalfd and sigwait see it; but its
   * handler may run in whichever coroutine next lets it through: a known
   * limit, README.) */
  if (c == gp__self() ||
      (!gp_sig_blocks(c, sig) && !gp_sig_handled_now(sig)))
    return raise_for(c, &now);
  uint64_t *pend = gp__coro_sigpend(c);
  if (sig >= SIGRTMIN || !(*pend & gp_sig_bit(sig))) {
    if (aimed_used == AIMED_MAX)
      return EAGAIN;
    unsigned i = 0;
    while (aimed_pool[i].id != 0)
      i++;
    aimed_pool[i] = now;
    aimed_used++;
    *pend |= gp_sig_bit(sig);
  }
  gp_intr_wake_aimed(c, sig);
  return 0;
}

int gp_signal_take(uint64_t set, siginfo_t *info) {
  gp_coro *c = gp__self();
  uint64_t take = *gp__coro_sigpend(c) & set;
  for (int sig = 1; take != 0 && sig < NSIG; sig++) {
    struct aimed_sig a;
    if ((take & gp_sig_bit(sig)) && aimed_take(c, sig, &a)) {
      if (info)
        fill_info(info, &a);
      return sig;
    }
  }
  return 0;
}

int gp_aimed_interrupts(const sigset_t *mask) {
  gp_coro *c = mask && gp__tls.sched ? gp__self() : NULL;
  uint64_t blocked;
  sigset_t old;
  if (c == NULL || *gp__coro_sigpend(c) == 0)
    return 0;
  memcpy(&blocked, mask, sizeof blocked);
  if ((*gp__coro_sigpend(c) & ~blocked) == 0)
    return 0;
  int saved = errno;
  gp_set_mask(SIG_SETMASK, mask, &old); /* delivers it (sigmask.c) */
  gp_set_mask(SIG_SETMASK, &old, NULL);
  errno = saved;
  return 1;
}
