/* Poll family: poll, ppoll, select, pselect and epoll_wait time out and
 * wake on readiness like the real calls, while other threads keep running.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>

#include "harness.h"

/* Keys whose values are timings, checked with tolerances instead. */
#define TIMING_KEYS "zero_ms timeout_ms ticks ready_ms ready_first_ms now_ms"

/* Checks one poll_wait run; poll_like is 1 for poll and ppoll, which
 * report a closed descriptor with POLLNVAL instead of failing. */
static void check_wait(const struct gp_run *r, int poll_like) {
  GP_EXPECT_VAL(r, "zero_rc", ==, 0);
  GP_EXPECT_VAL(r, "zero_ms", <, 50);
  GP_EXPECT_VAL(r, "timeout_rc", ==, 0);
  GP_EXPECT_VAL(r, "timeout_ms", >=, 150);
  GP_EXPECT_VAL(r, "timeout_ms", <, 2000);
  GP_EXPECT_VAL(r, "ticked", ==, 1);
  gp_expect_token(r, "ready_rcs=1,1,1");
  gp_expect_token(r, "ready_ins=1,1,1");
  GP_EXPECT_VAL(r, "ready_first_ms", >=, 80);
  GP_EXPECT_VAL(r, "ready_ms", <, 2000);
  GP_EXPECT_VAL(r, "now_rc", ==, 1);
  GP_EXPECT_VAL(r, "now_in", ==, 1);
  GP_EXPECT_VAL(r, "now_ms", <, 50);
  if (poll_like) {
    GP_EXPECT_VAL(r, "badf_rc", ==, 1);
    GP_EXPECT_VAL(r, "badf_revents", ==, POLLNVAL);
  } else {
    GP_EXPECT_VAL(r, "badf_rc", ==, -1);
    GP_EXPECT_VAL(r, "badf_errno", ==, EBADF);
  }
}

/* Runs poll_wait with the call mode natively and preloaded. */
static void check_mode(const char *mode, int poll_like) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 30, "poll_wait", GP_ARGV(mode), 5, TIMING_KEYS))
    check_wait(&p, poll_like);
  check_wait(&n, poll_like);
  gp_run_free(&n);
  gp_run_free(&p);
}

Test(poll, poll_timeouts_and_readiness) {
  check_mode("poll", 1);
}

Test(poll, ppoll_timeouts_and_readiness) {
  check_mode("ppoll", 1);
}

Test(poll, select_timeouts_readiness_and_ebadf) {
  check_mode("select", 0);
}

Test(poll, pselect_timeouts_readiness_and_ebadf) {
  check_mode("pselect", 0);
}

Test(poll, epoll_wait_timeouts_readiness_and_ebadf) {
  check_mode("epoll", 0);
}
