/* Deadlock detection: every coroutine waiting on another, nothing able to
 * wake one, gives a report naming each and what it waits on, then abort;
 * GPATCH_DEADLOCK=wait reports and keeps waiting; a thread waiting in
 * sigwait for a signal that comes is no deadlock. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

Test(deadlock, report_names_each_coroutine_then_abort) {
  struct gp_run r;
  cr_assert_eq(gp_run(&r, 1, NULL, 20, "deadlock", GP_ARGV("plain")), 0);
  cr_expect(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGABRT, "%s",
            gp_describe(&r));
  cr_expect_neq(strstr(r.err, "gpatch: deadlock: all 3 coroutine(s)"), NULL,
                "%s", r.err);
  cr_expect_neq(strstr(r.err, "#0 main"), NULL, "%s", r.err);
  cr_expect_neq(strstr(r.err, "join #1"), NULL, "%s", r.err);
  cr_expect_neq(strstr(r.err, "#2 "), NULL, "%s", r.err);
  cr_expect_neq(strstr(r.err, "pthread_mutex_lock: object"), NULL, "%s",
                r.err);
  gp_run_free(&r);
}

Test(deadlock, wait_setting_reports_and_keeps_waiting) {
  struct gp_run r;
  cr_assert_eq(gp_run(&r, 1, GP_ARGV("GPATCH_DEADLOCK=wait"), 1.5,
                      "deadlock", GP_ARGV("plain")), 0);
  cr_expect_eq(r.timed_out, 1, "it should still wait; %s", gp_describe(&r));
  cr_expect_neq(strstr(r.err, "gpatch: deadlock:"), NULL, "%s", r.err);
  cr_expect_eq(strstr(r.err, "aborting"), NULL, "%s", r.err);
  gp_run_free(&r);
}

Test(deadlock, a_thread_in_sigwait_is_no_deadlock) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "deadlock", GP_ARGV("sigwait"), 0, NULL);
  GP_EXPECT_VAL(&n, "sigwait", ==, 1);
  if (pre) {
    GP_EXPECT_VAL(&p, "sigwait", ==, 1);
    cr_expect_eq(strstr(p.err, "deadlock"), NULL, "%s", p.err);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

Test(deadlock, bad_setting_exits_2) {
  struct gp_run r;
  cr_assert_eq(gp_run(&r, 1, GP_ARGV("GPATCH_DEADLOCK=maybe"), 20,
                      "deadlock", GP_ARGV("sigwait")), 0);
  gp_expect_exit(&r, 2);
  cr_expect_neq(strstr(r.err, "gpatch: GPATCH_DEADLOCK='maybe'"), NULL, "%s",
                r.err);
  gp_run_free(&r);
}
