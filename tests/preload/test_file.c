/* The file family: off unless named (regular-file calls are the real ones
 * on the scheduler thread); with GPATCH_PATCH=all,file they run on a pool
 * thread, with the same results and errors.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>

#include "harness.h"

static void check(const struct gp_run *r) {
  static const char *const ok[] = {
    "open=0/0", "write=100000/0", "pwrite=3/0", "pwritev=8/0", "pread=1000/0",
    "preadv=4/0", "read=100000/0", "read_end=0/0", "fsync=0/0",
    "fdatasync=0/0",
  };
  char tok[32];
  size_t i;

  for (i = 0; i < sizeof ok / sizeof ok[0]; i++)
    gp_expect_token(r, ok[i]);
  snprintf(tok, sizeof tok, "missing=-1/%d", ENOENT);
  gp_expect_token(r, tok);
  snprintf(tok, sizeof tok, "pread_wo=-1/%d", EBADF);
  gp_expect_token(r, tok);
  snprintf(tok, sizeof tok, "pread_neg=-1/%d", EINVAL);
  gp_expect_token(r, tok);
}

Test(file, off_by_default_real_calls_on_one_thread) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 30, "file_ops", NULL, 3, "threads_after")) {
    check(&p);
    GP_EXPECT_VAL(&p, "threads_after", ==, 1);
  }
  check(&n);
  gp_run_free(&n);
  gp_run_free(&p);
}

Test(file, named_runs_file_calls_on_a_pool_thread) {
  struct gp_run n, p;

  if (!gp_preload_wanted())
    cr_skip_test("GPATCH_TEST_NATIVE_ONLY is set");
  gp_run_ok(&n, 0, NULL, 30, "file_ops", NULL);
  gp_run_ok(&p, 1, GP_ARGV("GPATCH_PATCH=all,file"), 30, "file_ops", NULL);
  check(&p);
  GP_EXPECT_VAL(&p, "threads_after", ==, 2); /* one FILE lane thread */
  gp_expect_same(&n, &p, "threads threads_after");
  gp_run_free(&n);
  gp_run_free(&p);
}
