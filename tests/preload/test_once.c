/* Sync family, pthread_once (shim/sync/once.c): the routine runs once and
 * the other callers wait, also when it creates the callers or its thread
 * exits inside it; the same natively and as coroutines on one OS thread. */
#include <criterion/criterion.h>
#include <errno.h>

#include "harness.h"

static void once16(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "runs", ==, 1);
  GP_EXPECT_VAL(r, "saw_done", ==, 16);
  GP_EXPECT_VAL(r, "early_runs", ==, 1);
}

Test(once, runs_once_and_callers_wait) {
  gp_both_check("sync_once", GP_ARGV("16"), 17, NULL, once16);
}

static void once8(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "runs", ==, 1);
  GP_EXPECT_VAL(r, "saw_done", ==, 8);
}

/* main's call runs natively (the runtime starts inside the routine). */
Test(once, routine_creating_the_callers) {
  gp_both_check("sync_once", GP_ARGV("8", "nested"), 0, NULL, once8);
}

static void once_exit(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "runs", ==, 2);
  GP_EXPECT_VAL(r, "saw_done", ==, 7);
}

/* The first run's thread ends inside the routine: another caller runs it. */
Test(once, routine_whose_thread_exits_runs_again) {
  gp_both_check("sync_once", GP_ARGV("8", "exit"), 9, NULL, once_exit);
}
