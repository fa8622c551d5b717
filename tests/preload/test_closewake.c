/* close, dup2 and shutdown of an fd another thread waits on.
 *
 * shutdown wakes the waiter as Linux does (recv: end of file, send:
 * EPIPE, accept: EINVAL): compared with native runs. A close, or a dup2
 * over the fd, wakes the waiter with EBADF (DESIGN.md, invariant 6):
 * Linux would leave the call blocked on the old file (the program's
 * release_native step ends it natively), so those are checked against
 * that rule, and against the new fd that reused the number, which the
 * woken waiter must never touch.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "harness.h"

/* Runs closewake MODE natively into n and preloaded into p (zeroed when
 * preloaded runs are not wanted); returns 1 when p holds a run. */
static int runs(const char *mode, struct gp_run *n, struct gp_run *p) {
  gp_run_ok(n, 0, NULL, 20, "closewake", GP_ARGV(mode));
  GP_EXPECT_VAL(n, "threads", ==, 3);
  GP_EXPECT_VAL(n, "waited", ==, 1);
  if (!gp_preload_wanted()) {
    cr_log_warn("GPATCH_TEST_NATIVE_ONLY: closewake %s preloaded skipped",
                mode);
    return 0;
  }
  gp_run_ok(p, 1, NULL, 20, "closewake", GP_ARGV(mode));
  GP_EXPECT_VAL(p, "threads", ==, 1);
  GP_EXPECT_VAL(p, "waited", ==, 1);
  return 1;
}

/* A close or dup2: EBADF preloaded, the old file's data natively; the
 * number's new file kept its own data. */
static void closed(const char *mode, int reuses) {
  struct gp_run n, p;

  if (runs(mode, &n, &p)) {
    GP_EXPECT_VAL(&p, "rc", ==, -1);
    GP_EXPECT_VAL(&p, "err", ==, EBADF);
    if (reuses) {
      GP_EXPECT_VAL(&p, "reused", ==, 1);
      gp_expect_token(&p, "fresh=fresh");
    }
    gp_run_free(&p);
  }
  GP_EXPECT_VAL(&n, "rc", >=, 0);
  gp_run_free(&n);
}

Test(closewake, close_wakes_a_reader_with_ebadf) { closed("close_read", 1); }
Test(closewake, close_wakes_a_receiver_with_ebadf) {
  closed("close_recv", 1);
}
Test(closewake, close_wakes_an_acceptor_with_ebadf) {
  closed("close_accept", 1);
}
/* No new fd takes the number after the close (which would wake the
 * waiter too): the close alone must wake it, before the actor lets a
 * native waiter go by writing to the old file. */
Test(closewake, close_alone_wakes_a_reader_with_ebadf) {
  struct gp_run n, p;

  if (runs("close_alone", &n, &p)) {
    GP_EXPECT_VAL(&p, "rc", ==, -1);
    GP_EXPECT_VAL(&p, "err", ==, EBADF);
    GP_EXPECT_VAL(&p, "woke_on_close", ==, 1);
    gp_run_free(&p);
  }
  GP_EXPECT_VAL(&n, "rc", >=, 0);
  GP_EXPECT_VAL(&n, "woke_on_close", ==, 0); /* Linux: the call holds on */
  gp_run_free(&n);
}

Test(closewake, dup2_over_the_fd_wakes_its_reader_with_ebadf) {
  closed("dup2_over", 0);
}

/* Same results as natively. */
static void same(const char *mode, long rc, int err) {
  struct gp_run n, p;

  if (runs(mode, &n, &p)) {
    GP_EXPECT_VAL(&p, "rc", ==, rc);
    GP_EXPECT_VAL(&p, "err", ==, err);
    gp_expect_same(&n, &p, "threads");
    gp_run_free(&p);
  }
  GP_EXPECT_VAL(&n, "rc", ==, rc);
  GP_EXPECT_VAL(&n, "err", ==, err);
  gp_run_free(&n);
}

/* poll names fds by number, natively too: after the close it watches the
 * new file that took the number, until its timeout. */
Test(closewake, close_under_poll_watches_the_number) {
  same("close_poll", 0, 0);
}

Test(closewake, shutdown_rd_gives_end_of_file_twice) {
  struct gp_run n, p;

  same("shutdown_rd", 0, 0);
  if (runs("shutdown_rd", &n, &p)) {
    GP_EXPECT_VAL(&p, "rc2", ==, 0);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

Test(closewake, shutdown_wr_gives_epipe_to_a_blocked_send) {
  same("shutdown_wr", -1, EPIPE);
}

Test(closewake, shutdown_of_a_listener_ends_accept) {
  same("shutdown_listen", -1, EINVAL);
}
