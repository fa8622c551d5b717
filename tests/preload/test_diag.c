/* Diagnostics: GPATCH_STATS's report after a known workload, the blocking
 * monitor (GPATCH_MAX_BLOCKING) naming a coroutine that holds the others
 * up, the stack overflow report, GPATCH_LOG and GPATCH_LOG_FILE, and
 * malformed values refused before main.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define RUN_S 30

static char tmp[64]; /* a temporary directory, removed by rm_tmp */

static void need_preload(void) {
  if (!gp_preload_wanted())
    cr_skip_test("GPATCH_TEST_NATIVE_ONLY is set");
}

static void mk_tmp(void) {
  need_preload();
  snprintf(tmp, sizeof tmp, "/tmp/gpatch-diag-XXXXXX");
  cr_assert(mkdtemp(tmp) != NULL, "mkdtemp: %s", strerror(errno));
}

static void rm_tmp(void) {
  char cmd[128];

  if (tmp[0] == '\0')
    return;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  if (system(cmd) != 0)
    cr_log_warn("cannot remove %s", tmp);
  tmp[0] = '\0';
}

/* The number of times needle occurs in text. */
static int count(const char *text, const char *needle) {
  int n = 0;

  for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
    n++;
  return n;
}

/* The value of key=NUM in the run's stderr, failing the test without. */
static long err_val(const struct gp_run *r, const char *key) {
  long v = gp_kv(r->err, key);

  cr_assert(v >= 0, "no %s= in stderr; %s", key, gp_describe(r));
  return v;
}

#define EXPECT_ERR(r, key, op, want)                                       \
  do {                                                                     \
    long v_ = err_val((r), (key));                                         \
    cr_expect(v_ op (want), "%s=%ld, want %s %ld; %s", (key), v_, #op,     \
              (long)(want), gp_describe(r));                               \
  } while (0)

Test(stats, counts_a_known_workload) {
  struct gp_run r;

  need_preload();
  gp_run_ok(&r, 1, GP_ARGV("GPATCH_STATS=1"), RUN_S, "stats_work", NULL);
  GP_EXPECT_VAL(&r, "done", ==, 1);
  /* A fourth line, for the hand-off, when its monitor ran (private TLS:
   * GPATCH_TEST_TLS=private). */
  cr_expect_eq(count(r.err, "gpatch: stats: "),
               strstr(r.err, "stats: handoffs=") ? 4 : 3, "%s",
               gp_describe(&r));
  EXPECT_ERR(&r, "created", ==, 8);
  EXPECT_ERR(&r, "peak_live", ==, 9);
  EXPECT_ERR(&r, "parks_sleep", ==, 5);
  EXPECT_ERR(&r, "parks_io", ==, 1);
  EXPECT_ERR(&r, "parks_sync", ==, 1);
  EXPECT_ERR(&r, "parks_join", >=, 1);
  EXPECT_ERR(&r, "yields", ==, 0);
  /* Each coroutine is switched to and away from at least once. */
  EXPECT_ERR(&r, "switches", >=, 16);
  EXPECT_ERR(&r, "loop_iterations", >=, 1);
  /* Everyone waits 20 ms for the sleepers: the loop blocks for most of
   * that (less when the process lost the CPU meanwhile: 12 ms was seen at
   * load 10), and never when the blocked time goes uncounted. */
  EXPECT_ERR(&r, "loop_blocked_ms", >=, 5);
  EXPECT_ERR(&r, "loop_blocked_ms", <=, err_val(&r, "wall_ms"));
  /* deep touches 64 KiB of its stack, a few pages more with its frames. */
  EXPECT_ERR(&r, "stack_used_max", >=, 64 * 1024);
  EXPECT_ERR(&r, "stack_used_max", <, 64 * 1024 + 32 * 1024);
  EXPECT_ERR(&r, "stack_size", ==, 256 * 1024);
  cr_expect(strstr(r.err, "'deep')") != NULL, "%s", gp_describe(&r));
  gp_run_free(&r);
}

Test(stats, off_by_default_and_without_coroutines) {
  struct gp_run r;

  need_preload();
  gp_run_ok(&r, 1, NULL, RUN_S, "stats_work", NULL);
  cr_expect(strstr(r.err, "stats:") == NULL, "%s", gp_describe(&r));
  gp_run_free(&r);
  gp_run_ok(&r, 1, GP_ARGV("GPATCH_STATS=0"), RUN_S, "stats_work", NULL);
  cr_expect(strstr(r.err, "stats:") == NULL, "%s", gp_describe(&r));
  gp_run_free(&r);
  /* No thread, no runtime: nothing to report. */
  gp_run_ok(&r, 1, GP_ARGV("GPATCH_STATS=1"), RUN_S, "/bin/true", NULL);
  cr_expect(strstr(r.err, "stats:") == NULL, "%s", gp_describe(&r));
  gp_run_free(&r);
}

/* The monitor's "yielded after N ms" for the spinner, or -1. */
static long yielded_ms(const struct gp_run *r) {
  const char *p = strstr(r->err, "'spinner' yielded after ");

  return p ? atol(p + strlen("'spinner' yielded after ")) : -1;
}

/* The blocking monitor's env: GPATCH_MAX_BLOCKING=MS, and no hand-off
 * (GPATCH_TLS=private would otherwise move the others to another OS
 * thread, and nobody would be held up for the monitor to report). */
#define MONITOR_ENV(ms) GP_ARGV("GPATCH_MAX_BLOCKING=" ms, "GPATCH_HANDOFF=off")

Test(monitor, names_a_coroutine_that_spins) {
  struct gp_run n, p;

  gp_run_ok(&n, 0, GP_ARGV("GPATCH_MAX_BLOCKING=100"), RUN_S, "spin_block",
            GP_ARGV("300"));
  GP_EXPECT_VAL(&n, "max_gap_ms", <, 200); /* natively nobody waits */
  need_preload();
  gp_run_ok(&p, 1, MONITOR_ENV("100"), RUN_S, "spin_block",
            GP_ARGV("300"));
  GP_EXPECT_VAL(&p, "spin_ms", >=, 300);
  GP_EXPECT_VAL(&p, "max_gap_ms", >=, 290); /* the ticker was held up */
  /* Once per episode, named, with its backtrace, without stopping it. */
  cr_expect_eq(count(p.err, "has run "), 1, "%s", gp_describe(&p));
  cr_expect(strstr(p.err, "'spinner' has run ") != NULL, "%s",
            gp_describe(&p));
  cr_expect(strstr(p.err, "without yielding") != NULL, "%s",
            gp_describe(&p));
  cr_expect(strstr(p.err, "(spin_without_yielding+") != NULL,
            "no backtrace naming the spinning function; %s",
            gp_describe(&p));
  long ms = yielded_ms(&p);
  cr_expect(ms >= 295 && ms < 1000, "yielded after %ld ms; %s", ms,
            gp_describe(&p));
  cr_expect(strstr(p.err, "'ticker'") == NULL, "%s", gp_describe(&p));
  gp_run_free(&n);
  gp_run_free(&p);
}

Test(monitor, reports_the_start_within_the_limit) {
  struct gp_run r;
  const char *p;

  need_preload();
  gp_run_ok(&r, 1, MONITOR_ENV("100"), RUN_S, "spin_block",
            GP_ARGV("300"));
  p = strstr(r.err, "'spinner' has run ");
  cr_assert(p != NULL, "%s", gp_describe(&r));
  long ms = atol(p + strlen("'spinner' has run "));
  cr_expect(ms >= 100 && ms < 200, "reported after %ld ms; %s", ms,
            gp_describe(&r));
  gp_run_free(&r);
}

Test(monitor, off_by_default_and_quiet_below_the_limit) {
  struct gp_run r;

  need_preload();
  gp_run_ok(&r, 1, NULL, RUN_S, "spin_block", GP_ARGV("300"));
  cr_expect(strstr(r.err, "blocking") == NULL, "%s", gp_describe(&r));
  gp_run_free(&r);
  gp_run_ok(&r, 1, MONITOR_ENV("1000"), RUN_S, "spin_block",
            GP_ARGV("300"));
  cr_expect(strstr(r.err, "blocking") == NULL, "%s", gp_describe(&r));
  gp_run_free(&r);
}

Test(monitor, names_a_real_blocking_call_without_interrupting_it) {
  struct gp_run r;

  need_preload();
  gp_run_ok(&r, 1, GP_ARGV("GPATCH_MAX_BLOCKING=100", "GPATCH_PATCH=-poll",
                             "GPATCH_HANDOFF=off"),
            RUN_S, "spin_block", GP_ARGV("300", "poll"));
  GP_EXPECT_VAL(&r, "spin_ms", >=, 300); /* poll was not cut short */
  cr_expect(strstr(r.err, "'spinner' has run ") != NULL, "%s",
            gp_describe(&r));
  cr_expect(strstr(r.err, "in a real system call") != NULL, "%s",
            gp_describe(&r));
  gp_run_free(&r);
}

/* Checks a run ended with SIGSEGV. */
static void expect_segv(const struct gp_run *r) {
  cr_expect(!r->timed_out && WIFSIGNALED(r->status)
            && WTERMSIG(r->status) == SIGSEGV, "expected SIGSEGV; %s",
            gp_describe(r));
}

Test(overflow, reported_then_dies_of_sigsegv) {
  struct gp_run n, p;

  cr_assert(gp_run(&n, 0, NULL, RUN_S, "deep_recurse", NULL) == 0);
  expect_segv(&n);
  need_preload();
  cr_assert(gp_run(&p, 1, GP_ARGV("GPATCH_STACK_SIZE=64K"), RUN_S,
                   "deep_recurse", NULL) == 0);
  expect_segv(&p);
  GP_EXPECT_VAL(&p, "recursing", ==, 1);
  cr_expect(strstr(p.err, "gpatch: stack overflow in coroutine ") != NULL
            && strstr(p.err, " 'recurser': its stack of 64 KiB is used up")
            != NULL, "%s", gp_describe(&p));
  cr_expect(strstr(p.err, "raise GPATCH_STACK_SIZE (now 64K") != NULL,
            "%s", gp_describe(&p));
  cr_expect(strstr(p.err, "dies of SIGSEGV") != NULL, "%s", gp_describe(&p));
  gp_run_free(&n);
  gp_run_free(&p);
}

Test(overflow, the_programs_handler_still_runs) {
  struct gp_run r;

  need_preload();
  cr_assert(gp_run(&r, 1, NULL, RUN_S, "deep_recurse",
                   GP_ARGV("handler")) == 0);
  gp_expect_exit(&r, 3);
  GP_EXPECT_VAL(&r, "recursing", ==, 1);
  gp_expect_token(&r, "handler=ran");
  cr_expect(strstr(r.err, "'recurser': its stack of 256 KiB") != NULL
            && strstr(r.err, "the program's SIGSEGV handler runs next")
            != NULL, "%s", gp_describe(&r));
  gp_run_free(&r);
}

Test(overflow, other_faults_are_not_called_overflows) {
  struct gp_run r;

  need_preload();
  cr_assert(gp_run(&r, 1, NULL, RUN_S, "deep_recurse", GP_ARGV("null"))
            == 0);
  expect_segv(&r);
  cr_expect(strstr(r.err, "stack overflow") == NULL, "%s", gp_describe(&r));
  gp_run_free(&r);
}

Test(log, levels) {
  struct gp_run r;

  need_preload();
  gp_run_ok(&r, 1, GP_ARGV("GPATCH_LOG=debug"), RUN_S, "config_probe",
            GP_ARGV("2"));
  cr_expect(strstr(r.err, "gpatch: runtime started on thread ") != NULL,
            "%s", gp_describe(&r));
  cr_expect_eq(count(r.err, " spawned (stack 256 KiB)"), 2, "%s",
               gp_describe(&r));
  cr_expect_eq(count(r.err, " ended"), 2, "%s", gp_describe(&r));
  gp_run_free(&r);
  gp_run_ok(&r, 1, GP_ARGV("GPATCH_LOG=INFO"), RUN_S, "config_probe",
            GP_ARGV("2"));
  cr_expect(strstr(r.err, "runtime started") != NULL
            && strstr(r.err, "spawned") == NULL, "%s", gp_describe(&r));
  gp_run_free(&r);
  gp_run_ok(&r, 1, GP_ARGV("GPATCH_LOG=warn"), RUN_S, "config_probe",
            GP_ARGV("2"));
  cr_expect_str_empty(r.err, "%s", gp_describe(&r));
  gp_run_free(&r);
}


Test(log, file_gets_every_line_with_time_pid_and_level, .fini = rm_tmp) {
  char path[128], env[160], *text;
  struct gp_run r;
  struct stat st;

  mk_tmp();
  snprintf(path, sizeof path, "%s/gpatch.log", tmp);
  snprintf(env, sizeof env, "GPATCH_LOG_FILE=%s", path);
  for (int i = 0; i < 2; i++) { /* the second run appends */
    gp_run_ok(&r, 1, GP_ARGV(env, "GPATCH_LOG=info", "GPATCH_STATS=1"),
              RUN_S, "stats_work", NULL);
    cr_expect_str_empty(r.err, "%s", gp_describe(&r));
    gp_run_free(&r);
  }
  text = gp_slurp(path);
  cr_assert(text != NULL, "no %s", path);
  cr_expect_eq(count(text, " info: stats: created=8 "), 2, "%s", text);
  cr_expect_eq(count(text, " info: runtime started"), 2, "%s", text);
  cr_expect(strstr(text, "Z gpatch[") != NULL && text[4] == '-'
            && text[10] == 'T', "no time and pid: %s", text);
  cr_assert(stat(path, &st) == 0);
  cr_expect_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
  free(text);
}

Test(log, file_survives_the_program_closing_its_fd, .fini = rm_tmp) {
  char path[128], env[160], *text;
  struct gp_run r;

  mk_tmp();
  snprintf(path, sizeof path, "%s/gpatch.log", tmp);
  snprintf(env, sizeof env, "GPATCH_LOG_FILE=%s", path);
  gp_run_ok(&r, 1, GP_ARGV(env, "GPATCH_LOG=debug"), RUN_S, "log_close",
            NULL);
  GP_EXPECT_VAL(&r, "pipe_bytes", ==, 0);
  gp_run_free(&r);
  text = gp_slurp(path);
  cr_assert(text != NULL, "no %s", path);
  cr_expect(strstr(text, " debug: coroutine ") != NULL
            && strstr(text, " spawned ") != NULL, "%s", text);
  free(text);
}

/* A program started by the patched one that cannot open the log (here:
 * the file became a symbolic link; in a daemon: a child running as another
 * user) logs to stderr after one warning and runs on, while the process
 * given the setting opened it fine. */
Test(log, a_child_that_cannot_open_the_file_logs_to_stderr, .fini = rm_tmp) {
  char path[128], env[160];
  struct gp_run r;

  mk_tmp();
  snprintf(path, sizeof path, "%s/gpatch.log", tmp);
  snprintf(env, sizeof env, "GPATCH_LOG_FILE=%s", path);
  gp_run_ok(&r, 1, GP_ARGV(env), RUN_S, "log_child", GP_ARGV(path));
  GP_EXPECT_VAL(&r, "child_exit", ==, 0);
  GP_EXPECT_VAL(&r, "child_ran", ==, 1);
  cr_expect_eq(count(r.err, "gpatch: "), 1, "%s", r.err);
  cr_expect(strstr(r.err, "this process logs to stderr") != NULL, "%s",
            r.err);
  gp_run_free(&r);
}

/* Checks a setting is refused before main: status 2, one gpatch: line
 * naming the variable. */
static void check_refused(const char *const *env, const char *what) {
  struct gp_run r;

  cr_assert(gp_run(&r, 1, env, RUN_S, "config_probe", GP_ARGV("2")) == 0);
  gp_expect_exit(&r, 2);
  cr_expect(strstr(r.out, "main=1") == NULL, "main ran; %s",
            gp_describe(&r));
  cr_expect(strncmp(r.err, "gpatch: ", 8) == 0 && strstr(r.err, what),
            "no gpatch: line naming %s; %s", what, gp_describe(&r));
  gp_run_free(&r);
}

Test(config, bad_diagnostic_values_refused, .fini = rm_tmp) {
  char link[128], dir[160], in_link[160];

  mk_tmp();
  check_refused(GP_ARGV("GPATCH_STATS=yes"), "GPATCH_STATS='yes'");
  check_refused(GP_ARGV("GPATCH_STATS="), "GPATCH_STATS=''");
  check_refused(GP_ARGV("GPATCH_MAX_BLOCKING=abc"), "GPATCH_MAX_BLOCKING");
  check_refused(GP_ARGV("GPATCH_MAX_BLOCKING=-5"), "GPATCH_MAX_BLOCKING");
  check_refused(GP_ARGV("GPATCH_MAX_BLOCKING=100ms"), "GPATCH_MAX_BLOCKING");
  check_refused(GP_ARGV("GPATCH_MAX_BLOCKING=3600001"),
                "GPATCH_MAX_BLOCKING");
  check_refused(GP_ARGV("GPATCH_HANDOFF=soon"), "GPATCH_HANDOFF='soon'");
  check_refused(GP_ARGV("GPATCH_HANDOFF=-1"), "GPATCH_HANDOFF='-1'");
  check_refused(GP_ARGV("GPATCH_HANDOFF=10001"), "GPATCH_HANDOFF='10001'");
  check_refused(GP_ARGV("GPATCH_MAX_OS_THREADS=1"),
                "GPATCH_MAX_OS_THREADS='1'");
  check_refused(GP_ARGV("GPATCH_MAX_OS_THREADS=65"),
                "GPATCH_MAX_OS_THREADS='65'");
  check_refused(GP_ARGV("GPATCH_LOG=verbose"), "GPATCH_LOG='verbose'");
  check_refused(GP_ARGV("GPATCH_LOG_FILE="), "GPATCH_LOG_FILE is empty");
  snprintf(dir, sizeof dir, "GPATCH_LOG_FILE=%s", tmp);
  check_refused(GP_ARGV(dir), "GPATCH_LOG_FILE=");
  snprintf(dir, sizeof dir, "GPATCH_LOG_FILE=%s/no/such/dir/log", tmp);
  check_refused(GP_ARGV(dir), "No such file");
  /* Never through a symbolic link someone may have planted. */
  snprintf(link, sizeof link, "%s/link", tmp);
  cr_assert(symlink("/dev/null", link) == 0);
  snprintf(in_link, sizeof in_link, "GPATCH_LOG_FILE=%s", link);
  check_refused(GP_ARGV(in_link), "not a symbolic link");
}

Test(config, good_diagnostic_values_accepted) {
  static const char *const good[] = {
    "GPATCH_STATS=0", "GPATCH_MAX_BLOCKING=0", "GPATCH_MAX_BLOCKING=1",
    "GPATCH_MAX_BLOCKING=3600000", "GPATCH_LOG=error", "GPATCH_LOG=Debug",
    "GPATCH_LOG_FILE=/dev/null",
  };

  need_preload();
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    struct gp_run r;

    gp_run_ok(&r, 1, GP_ARGV(good[i]), RUN_S, "config_probe", GP_ARGV("2"));
    GP_EXPECT_VAL(&r, "done", ==, 1);
    gp_run_free(&r);
  }
}
