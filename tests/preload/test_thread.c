/* Thread family: the pthread life cycle and per-thread errno behave the
 * same natively and under the preload, where every thread is a coroutine
 * on the one OS thread.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>

#include "harness.h"

/* Runs thread_basics in mode natively and preloaded; see gp_both. */
static int both(struct gp_run *n, struct gp_run *p, const char *prog,
                const char *mode, long native_threads, const char *timing) {
  return gp_both(n, p, 30, prog, GP_ARGV(mode), native_threads, timing);
}

static void done(struct gp_run *n, struct gp_run *p) {
  gp_run_free(n);
  gp_run_free(p);
}

Test(thread, join_returns_value_of_return_and_pthread_exit) {
  struct gp_run n, p;
  int pre = both(&n, &p, "thread_basics", "join", 6, NULL);

  gp_expect_token(&n, "join_values=0,10,20,30,40");
  gp_expect_token(&n, "finish_order=43210");
  if (pre) {
    gp_expect_token(&p, "join_values=0,10,20,30,40");
    gp_expect_token(&p, "finish_order=43210");
  }
  done(&n, &p);
}

Test(thread, self_and_equal_are_distinct_per_thread) {
  struct gp_run n, p;
  int pre = both(&n, &p, "thread_basics", "self", 5, NULL);

  GP_EXPECT_VAL(&n, "self_matches", ==, 8);
  GP_EXPECT_VAL(&n, "equal_pairs", ==, 0);
  GP_EXPECT_VAL(&n, "main_equal", ==, 1);
  if (pre) {
    GP_EXPECT_VAL(&p, "self_matches", ==, 8);
    GP_EXPECT_VAL(&p, "equal_pairs", ==, 0);
    GP_EXPECT_VAL(&p, "main_equal", ==, 1);
  }
  done(&n, &p);
}

Test(thread, detached_threads_run) {
  struct gp_run n, p;
  int pre = both(&n, &p, "thread_basics", "detach", 0, NULL);

  GP_EXPECT_VAL(&n, "detach_rc", ==, 0);
  GP_EXPECT_VAL(&n, "detached_ran", ==, 2);
  if (pre) {
    GP_EXPECT_VAL(&p, "detach_rc", ==, 0);
    GP_EXPECT_VAL(&p, "create_detached_rc", ==, 0);
    GP_EXPECT_VAL(&p, "detached_ran", ==, 2);
  }
  done(&n, &p);
}

Test(thread, tryjoin_busy_then_done) {
  struct gp_run n, p;
  int pre = both(&n, &p, "thread_basics", "tryjoin", 2, NULL);

  GP_EXPECT_VAL(&n, "tryjoin_busy", ==, EBUSY);
  GP_EXPECT_VAL(&n, "tryjoin_done", ==, 0);
  if (pre) {
    GP_EXPECT_VAL(&p, "tryjoin_busy", ==, EBUSY);
    GP_EXPECT_VAL(&p, "tryjoin_done", ==, 0);
    GP_EXPECT_VAL(&p, "tryjoin_value", ==, 7);
  }
  done(&n, &p);
}

/* Checks a timed join run: the 50 ms deadline passed after 40 ms to 2 s,
 * then the join succeeded once the 300 ms thread ended. */
static void check_timed(const struct gp_run *r, const char *name) {
  char key[64];

  snprintf(key, sizeof key, "%s_first", name);
  GP_EXPECT_VAL(r, key, ==, ETIMEDOUT);
  snprintf(key, sizeof key, "%s_second", name);
  GP_EXPECT_VAL(r, key, ==, 0);
  snprintf(key, sizeof key, "%s_value", name);
  GP_EXPECT_VAL(r, key, ==, 8);
  GP_EXPECT_VAL(r, "first_ms", >=, 40);
  GP_EXPECT_VAL(r, "first_ms", <, 2000);
  GP_EXPECT_VAL(r, "total_ms", >=, 290);
  GP_EXPECT_VAL(r, "total_ms", <, 3000);
}

Test(thread, timedjoin_times_out_then_joins) {
  struct gp_run n, p;
  int pre = both(&n, &p, "thread_basics", "timedjoin", 2,
                 "first_ms total_ms");

  check_timed(&n, "timedjoin");
  if (pre)
    check_timed(&p, "timedjoin");
  done(&n, &p);
}

Test(thread, clockjoin_monotonic_times_out_then_joins) {
  struct gp_run n, p;
  int pre = both(&n, &p, "thread_basics", "clockjoin", 2,
                 "first_ms total_ms");

  check_timed(&n, "clockjoin");
  if (pre)
    check_timed(&p, "clockjoin");
  done(&n, &p);
}

Test(thread, join_self_is_edeadlk) {
  struct gp_run n, p;
  int pre = both(&n, &p, "thread_basics", "self_join", 0, NULL);

  GP_EXPECT_VAL(&n, "join_self_main", ==, EDEADLK);
  GP_EXPECT_VAL(&n, "join_self_thread", ==, EDEADLK);
  if (pre) {
    GP_EXPECT_VAL(&p, "join_self_main", ==, EDEADLK);
    GP_EXPECT_VAL(&p, "join_self_thread", ==, EDEADLK);
    GP_EXPECT_VAL(&p, "join_rc", ==, 0);
  }
  done(&n, &p);
}

Test(thread, thread_created_from_a_thread) {
  struct gp_run n, p;
  int pre = both(&n, &p, "thread_basics", "nested", 4, NULL);

  GP_EXPECT_VAL(&n, "nested_value", ==, 3);
  if (pre) {
    GP_EXPECT_VAL(&p, "nested_rc", ==, 0);
    GP_EXPECT_VAL(&p, "nested_value", ==, 3);
  }
  done(&n, &p);
}

/* Checks that the process outlived main's pthread_exit: every worker's
 * line and the atexit handler's line are there, it lasted at least the
 * 50 ms worker 0 waits after main is gone, and it exited 0 (checked by the
 * run itself). */
static void check_exit_main(const struct gp_run *r) {
  static const char *const lines[] = { "main_exit=1", "worker0=1",
                                       "worker1=1", "worker2=1",
                                       "atexit=1" };
  size_t i;

  for (i = 0; i < sizeof lines / sizeof lines[0]; i++)
    gp_expect_token(r, lines[i]);
  cr_expect_geq(r->elapsed, 0.045, "%s", gp_describe(r));
}

Test(thread, main_pthread_exit_waits_for_the_last_thread) {
  struct gp_run n, p;
  int pre = both(&n, &p, "thread_basics", "exit_main", 4, NULL);

  check_exit_main(&n);
  if (pre)
    check_exit_main(&p);
  done(&n, &p);
}

/* Checks an errno_keep run with 8 threads. */
static void check_errno(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "mismatches", ==, 0);
  GP_EXPECT_VAL(r, "badf_ok", ==, 8);
  GP_EXPECT_VAL(r, "epipe_ok", ==, 8);
  GP_EXPECT_VAL(r, "refused_ok", ==, 8);
}

Test(thread, errno_survives_switches) {
  struct gp_run n, p;
  int pre = both(&n, &p, "errno_keep", "8", 9, NULL);

  check_errno(&n);
  if (pre)
    check_errno(&p);
  done(&n, &p);
}

/* prctl(PR_SET_NAME) in a thread names that thread, not the process (ps,
 * pidof and pgrep read the OS thread's name: rsyslogd's workers renamed
 * the daemon under the shim before prctl was hooked). */
static void prctl_name(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "worker_ok", ==, 1);
  GP_EXPECT_VAL(r, "long_ok", ==, 1);
  GP_EXPECT_VAL(r, "efault", ==, EFAULT);
  GP_EXPECT_VAL(r, "getname_ok", ==, 1);
  GP_EXPECT_VAL(r, "main_ok", ==, 1);
}

Test(thread, prctl_set_name_names_the_thread_only) {
  gp_both_check("prctl_name", GP_ARGV("run"), 2, NULL, prctl_name);
}
