/* intr.c: which coroutine a signal interrupts.
 *
 * The wrapper (signal.c) notes each signal whose handler ran and wakes
 * the hub. In the hub, each noted signal interrupts at most one
 * coroutine, as the kernel picks one thread: the main coroutine when it
 * does not block the signal (and then only if it waits in an
 * interruptible call: a running or joining main thread takes the signal
 * and nobody's call fails), else the one that has waited longest. Only
 * waits that began before the signal count, and only waits marked
 * interruptible (gp_intr_begin). What is interrupted follows signal(7):
 * with SA_RESTART, reads, writes, accept and connect go on; poll, select,
 * sleeps and socket calls with a timeout (SO_RCVTIMEO/SO_SNDTIMEO) return
 * EINTR whatever the flags. A coroutine whose mask blocks the signal is
 * never picked. A signal aimed at one coroutine (aimed.c) interrupts that
 * one's wait or none. SIGCHLD also wakes the coroutines parked in the
 * wait family (wait.c).
 */
#include <errno.h>
#include <signal.h>

#include "core/guard.h"
#include "process/intr.h"
#include "process/sig.h"
#include "real.h"

static uint32_t sig_seq;              /* signals seen so far */
static uint32_t pending[NSIG];        /* sig_seq when sig last arrived */
static int handled_in[NSIG];          /* coroutine id current at arrival */
static gp_list waits = {&waits, &waits}; /* gp_intr records, oldest first */
static int dump_wanted;               /* the dump signal arrived */

void gp_sig_note(int sig) {
  __atomic_store_n(&handled_in[sig], gp__tls.sched ? gp__current_id : -1,
                   __ATOMIC_RELAXED);
  uint32_t seq = __atomic_add_fetch(&sig_seq, 1, __ATOMIC_ACQ_REL);
  __atomic_store_n(&pending[sig], seq, __ATOMIC_RELEASE);
}

void gp_sig_note_dump(void) {
  __atomic_store_n(&dump_wanted, 1, __ATOMIC_RELEASE);
}

void gp_intr_begin(struct gp_intr *r, int always) {
  r->coro = gp__self();
  r->seq = __atomic_load_n(&sig_seq, __ATOMIC_ACQUIRE);
  r->always = (unsigned char)always;
  r->waitset = 0;
  gp__list_push(&waits, &r->link);
}

void gp_intr_end(struct gp_intr *r) { gp__list_del(&r->link); }

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
  gp_aimed_fork();
  for (int sig = 1; sig < NSIG; sig++)
    pending[sig] = 0;
  dump_wanted = 0;
}

/* 1 when r may be interrupted for a signal that arrived as number seq. */
static int eligible(const struct gp_intr *r, int sig, uint32_t seq,
                    int restart) {
  return (int32_t)(seq - r->seq) > 0 && (r->always || !restart) &&
         !gp_sig_blocks(r->coro, sig);
}

/* The coroutine a pthread_kill or pthread_sigqueue aimed sig at, until
 * the hub has dispatched it (scheduler thread only). */
static gp_coro *aimed[NSIG];

void gp_intr_aim(gp_coro *c, int sig) { aimed[sig] = c; }

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

/* Interrupts one coroutine for signal sig, which arrived as number seq,
 * as the kernel picks a thread: the main thread when it does not block
 * the signal (only its own wait is then interrupted, if it is in one),
 * else the coroutine that has waited longest among those that do not. */
static void interrupt_one(int sig, uint32_t seq, int restart) {
  gp_coro *c = aimed[sig];
  if (c != NULL) {
    aimed[sig] = NULL;
    interrupt_aimed(c, sig, seq, restart);
    return;
  }
  gp_coro *m = gp__primary();
  int main_takes = m && !gp__coro_ended(m) && !gp_sig_blocks(m, sig);
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

void gp_intr_wake_aimed(gp_coro *c, int sig) {
  int restart = gp_sig_restarts(sig);
  for (gp_list *l = waits.next; l != &waits; l = l->next) {
    struct gp_intr *r = GP_CONTAINER(l, struct gp_intr, link);
    if (r->coro != c)
      continue;
    if (r->waitset & gp_sig_bit(sig))
      gp__unpark(c, 0); /* a sigwait for it: takes it */
    else if (!gp_sig_blocks(c, sig) && (r->always || !restart))
      gp__unpark(c, -EINTR);
    else
      break;
    return;
  }
  /* A wait the signal does not end (a lock, a semaphore with SA_RESTART)
   * is resumed for a moment, so the handler runs now, as in a thread
   * blocked there; then the wait goes on. */
  if (!gp_sig_blocks(c, sig))
    gp__poke(c);
}

/* Runs in the hub after a wrapper woke it (a wake function of the hooks
 * table, shim/core/hooks.c). */
void gp_signal_dispatch(void) {
  for (int sig = 1; sig < NSIG; sig++) {
    uint32_t seq = __atomic_exchange_n(&pending[sig], 0, __ATOMIC_ACQ_REL);
    if (seq)
      interrupt_one(sig, seq, gp_sig_restarts(sig));
    if (seq && sig == SIGCHLD)
      gp_wait_child_changed();
  }
  if (__atomic_exchange_n(&dump_wanted, 0, __ATOMIC_ACQ_REL))
    gp__dump(gp__log_fd()); /* stderr, or GPATCH_LOG_FILE */
}
