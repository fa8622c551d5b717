/* Signals: a process-directed signal interrupts the main thread's blocked
 * call with EINTR, or not, as signal(7) says, while other threads wait in
 * read, sleep and a condvar; natively and on one OS thread preloaded. */
#include <criterion/criterion.h>

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
