/* Signals: a process-directed signal interrupts the main thread's blocked
 * call with EINTR, or not, as signal(7) says, while other threads wait in
 * read, sleep and a condvar; natively and on one OS thread preloaded. */
#include <criterion/criterion.h>
#include <signal.h>

#include "harness.h"

static void check(const char *mode, const char *key) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "sig_interrupt", GP_ARGV(mode), 5, NULL);
  GP_EXPECT_VAL(&n, key, ==, 1);
  GP_EXPECT_VAL(&n, "handled", ==, 1);
  if (pre) {
    GP_EXPECT_VAL(&p, key, ==, 1);
    GP_EXPECT_VAL(&p, "handled", ==, 1);
    cr_expect_lt(p.elapsed, 2.0, "the signal came after 0.2 s; %s",
                 gp_describe(&p));
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

Test(signal, handler_without_sa_restart_interrupts_accept) {
  check("intr", "accept_eintr");
}

Test(signal, handler_with_sa_restart_lets_accept_go_on) {
  check("restart", "accept_ok");
}

Test(signal, nanosleep_is_interrupted_and_reports_time_left) {
  check("sleep", "rem_ok");
}

Test(signal, poll_is_interrupted_even_with_sa_restart) {
  check("poll", "poll_eintr");
}

Test(signal, pthread_kill_interrupts_only_the_aimed_thread) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "sig_aimed", NULL, 0, NULL);
  GP_EXPECT_VAL(&n, "read_eintr", ==, 1);
  if (pre) {
    GP_EXPECT_VAL(&p, "read_eintr", ==, 1);
    GP_EXPECT_VAL(&p, "sleep_whole", ==, 1);
    GP_EXPECT_VAL(&p, "handled", ==, 1);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

Test(signal, thread_directed_signals_belong_to_their_thread) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "sig_thread", NULL, 2, NULL);
  GP_EXPECT_VAL(&n, "handler_in_target", ==, 1);
  GP_EXPECT_VAL(&n, "unblock_runs_handler", ==, 1);
  if (pre) {
    GP_EXPECT_VAL(&p, "handler_in_target", ==, 1);
    GP_EXPECT_VAL(&p, "read_eintr", ==, 1);
    GP_EXPECT_VAL(&p, "handled_before_eintr", ==, 1);
    GP_EXPECT_VAL(&p, "pending_in_target", ==, 1);
    GP_EXPECT_VAL(&p, "pending_not_in_main", ==, 1);
    GP_EXPECT_VAL(&p, "sigwait_value", ==, 4242);
    GP_EXPECT_VAL(&p, "unblock_runs_handler", ==, 1);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

/* A process-directed signal goes to a thread that does not block it,
 * whatever the masks were when the threads were created: main unblocks
 * SIGTERM after creating a worker that blocks it, and its accept is
 * interrupted (before: the signal stayed pending for good). */
Test(signal, goes_to_a_thread_that_unblocked_it_later) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "sig_masks", GP_ARGV("unblock"), 2, NULL);
  GP_EXPECT_VAL(&n, "accept_eintr", ==, 1);
  if (pre) {
    GP_EXPECT_VAL(&p, "accept_eintr", ==, 1);
    GP_EXPECT_VAL(&p, "handled", ==, 1);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

/* ... and stays pending while every thread blocks it, for sigwait to take
 * (before: the process died of SIGTERM). The same with the ucontext
 * switch, where the hub's mask comes back through swapcontext. */
Test(signal, blocked_by_every_thread_waits_for_sigwait) {
  const char *modes[] = {"GPATCH_SWITCH=asm", "GPATCH_SWITCH=ucontext"};
  struct gp_run n, p;
  gp_run_ok(&n, 0, NULL, 20, "sig_masks", GP_ARGV("sigwait"));
  GP_EXPECT_VAL(&n, "sigwait_got", ==, SIGTERM);
  gp_run_free(&n);
  if (!gp_preload_wanted())
    return;
  for (int i = 0; i < 2; i++) {
    gp_run_ok(&p, 1, GP_ARGV(modes[i]), 20, "sig_masks", GP_ARGV("sigwait"));
    GP_EXPECT_VAL(&p, "sigwait_got", ==, SIGTERM);
    GP_EXPECT_VAL(&p, "threads", ==, 1);
    gp_run_free(&p);
  }
}

/* pthread_kill to a thread waiting on a condition variable or a mutex,
 * then the wake-up it waits for before it has run: the poked waiter was
 * skipped by the wake and parked again for ever (knotd never stopped on
 * SIGTERM: its thread stop is pthread_kill, then a broadcast). */
static void kill_wake(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "handled", ==, 1);
  GP_EXPECT_VAL(r, "joined", ==, 1);
}

Test(signal, kill_then_cond_signal_wakes_the_waiter) {
  gp_both_check("kill_wake", GP_ARGV("cond"), 2, NULL, kill_wake);
}

Test(signal, kill_then_unlock_wakes_the_waiter) {
  gp_both_check("kill_wake", GP_ARGV("mutex"), 2, NULL, kill_wake);
}
