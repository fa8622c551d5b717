/* The C API (gpatch.h): the gevent tutorial's examples, each call's
 * results and error cases, timeouts firing on time, and kill unwinding a
 * task blocked in read(). The programs link with -lgpatch; each runs
 * linked only and linked and preloaded, and both runs must agree.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"

#define RUN_S 30

/* How late a timeout may fire on a busy machine, in ms: with the other
 * core busy a 100 ms pthread_timedjoin_np timed out after 435 ms, with the
 * library linked and not preloaded; still far below a timeout that only a
 * later event ends. */
#define LATE_MS 1000

/* Runs prog linked only into l and, unless only native runs are wanted,
 * linked and preloaded into p, and checks both printed the same
 * key=value words (timings aside). Returns 1 when p holds a run. */
static int run_both(struct gp_run *l, struct gp_run *p, const char *prog,
                    const char *const *argv, const char *timing_keys) {
  gp_run_ok(l, 0, NULL, RUN_S, prog, argv);
  if (!gp_preload_wanted()) {
    memset(p, 0, sizeof *p);
    return 0;
  }
  gp_run_ok(p, 1, NULL, RUN_S, prog, argv);
  gp_expect_same(l, p, timing_keys);
  return 1;
}

/* Checks that out holds line as a whole line. */
static void expect_line(const struct gp_run *r, const char *line) {
  size_t n = strlen(line);
  const char *p = r->out;

  while (p != NULL && !(strncmp(p, line, n) == 0
                        && (p[n] == '\n' || p[n] == '\0')))
    p = (p = strchr(p, '\n')) != NULL ? p + 1 : NULL;
  cr_expect(p != NULL, "no line '%s'; %s", line, gp_describe(r));
}

static void check_tutorial(const struct gp_run *r) {
  expect_line(r, "Task 1 done");
  gp_expect_token(r, "order=1,2,0"); /* 10, 20, then 30 ms */
  expect_line(r, "Hi there!");
  GP_EXPECT_VAL(r, "greeted", ==, 1);
  cr_expect(strstr(r->out, "Could not complete\nread_errno=Connection "
                           "timed out\n") != NULL, "%s", gp_describe(r));
  cr_expect(strstr(r->out, "Could not complete\njoin_rc=Connection "
                           "timed out\n") != NULL, "%s", gp_describe(r));
  cr_expect_str_empty(r->err, "%s", gp_describe(r));
}

Test(api, tutorial_examples) {
  struct gp_run l, p;

  run_both(&l, &p, "api_tutorial", NULL, NULL);
  check_tutorial(&l);
  if (p.out)
    check_tutorial(&p);
  cr_expect(l.elapsed < 2.0, "%s", gp_describe(&l));
  gp_run_free(&l);
  gp_run_free(&p);
}

static void check_results(const struct gp_run *r) {
  static const char *const tokens[] = {
    "spawn=0", "before_started=0", "before_ready=0", "before_value=(nil)",
    "join_poll=ETIMEDOUT", "join=0", "started=1", "ready=1", "successful=1",
    "value=42", "error=0", "name=worker", "join_again=0",
    "pthread_exit_value=7", "pthread_exit_successful=1",
    "join_self=EDEADLK", "joinall_short=ETIMEDOUT", "ready0=1", "ready1=0",
    "joinall=0", "released_running=ok", "spawn_null_fn=EINVAL",
    "spawn_small_stack=EINVAL", "spawn_long_name=ERANGE",
    "spawn_negative_timeout=EINVAL", "join_null=EINVAL", "kill_null=EINVAL",
    "sleep_negative=EINVAL", "joinall_null=EINVAL", "joinall_empty=0",
    "timeout_negative=EINVAL", "timeout_cancel_unstarted=0",
  };

  for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
    gp_expect_token(r, tokens[i]);
}

Test(api, results_and_errors) {
  struct gp_run l, p;

  run_both(&l, &p, "api_calls", GP_ARGV("results"), NULL);
  check_results(&l);
  if (p.out)
    check_results(&p);
  gp_run_free(&l);
  gp_run_free(&p);
}

#define TIMING_KEYS                                                        \
  "join_timeout_ms sleep_ms read_ms poll_ms nanosleep_ms waitpid_ms "     \
  "inner_ms "                                                              \
  "outer_ms out_of_order_ms so_rcvtimeo_ms task_timeout_ms"

/* Checks key=NUM lies in [want, want + LATE_MS). */
static void on_time(const struct gp_run *r, const char *key, long want) {
  GP_EXPECT_VAL(r, key, >=, want - 1); /* clock rounding to whole ms */
  GP_EXPECT_VAL(r, key, <, want + LATE_MS);
}

static void check_timeouts(const struct gp_run *r) {
  static const char *const tokens[] = {
    "join_timeout=ETIMEDOUT", "sleep_rc=ETIMEDOUT", "cancel=1",
    "read_errno=ETIMEDOUT", "expired=1", "poll_errno=ETIMEDOUT",
    "nanosleep_errno=ETIMEDOUT", "waitpid_errno=ETIMEDOUT",
    "inner_rc=ETIMEDOUT", "inner_cancel=1",
    "outer_rc=ETIMEDOUT", "outer_cancel=1", "out_of_order_rc=0",
    "after_cancel_rc=0", "so_rcvtimeo_errno=EAGAIN",
    "task_error=ETIMEDOUT", "task_successful=0", "task_value=(nil)",
  };

  for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
    gp_expect_token(r, tokens[i]);
  on_time(r, "join_timeout_ms", 100);
  on_time(r, "sleep_ms", 100);
  on_time(r, "read_ms", 100);
  on_time(r, "poll_ms", 100);
  on_time(r, "nanosleep_ms", 100);
  on_time(r, "waitpid_ms", 100);
  on_time(r, "inner_ms", 100);
  on_time(r, "outer_ms", 200);
  on_time(r, "out_of_order_ms", 150);
  on_time(r, "so_rcvtimeo_ms", 50);
  on_time(r, "task_timeout_ms", 100);
}

Test(api, timeouts_fire_on_time) {
  struct gp_run l, p;

  run_both(&l, &p, "api_calls", GP_ARGV("timeouts"), TIMING_KEYS);
  check_timeouts(&l);
  if (p.out)
    check_timeouts(&p);
  gp_run_free(&l);
  gp_run_free(&p);
}

static void check_kill(const struct gp_run *r) {
  static const char *const tokens[] = {
    "kill=0", "join=0", "read_errno=ECANCELED",
    "sleep_after_kill=ECANCELED", "unwound=1", "started=1", "ready=1",
    "successful=0", "error=ECANCELED", "value=(nil)", "kill_ended=0",
    "early_started=0", "early_ready=1", "early_error=ECANCELED",
    "mutex_waiting=1", "mutex_got=1", "mutex_sleep_rc=ECANCELED",
    "mutex_error=ECANCELED",
  };

  for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
    gp_expect_token(r, tokens[i]);
  /* The reader unwinds as soon as it is killed. */
  GP_EXPECT_VAL(r, "join_ms", <, 50);
}

Test(api, kill_unwinds_a_task_blocked_in_read) {
  struct gp_run l, p;

  run_both(&l, &p, "api_calls", GP_ARGV("kill"), "join_ms");
  check_kill(&l);
  if (p.out)
    check_kill(&p);
  gp_run_free(&l);
  gp_run_free(&p);
}

Test(api, refused_without_the_thread_family) {
  struct gp_run r;

  gp_run_ok(&r, 0, GP_ARGV("GPATCH_PATCH=-thread,-sync"), RUN_S,
            "api_calls", GP_ARGV("perm"));
  gp_expect_token(&r, "spawn=EPERM");
  gp_expect_token(&r, "timeout=EPERM");
  gp_expect_token(&r, "sleep=0");
  gp_run_free(&r);
}
