/* Socket timeouts: SO_RCVTIMEO and SO_SNDTIMEO end blocking recv, read,
 * recvmsg, send, accept and connect with Linux's results (EAGAIN, the part
 * moved so far, EINPROGRESS for connect) while other threads keep running;
 * data in time ends the wait early; {0, 0} waits forever.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>

#include "harness.h"

/* Checks NAME's call returned rc with errno err after the timeout, and
 * the ticker ran during it. */
static void timed_out(const struct gp_run *r, const char *name, long rc,
                      int err) {
  char key[64];

  snprintf(key, sizeof key, "%s_rc", name);
  GP_EXPECT_VAL(r, key, ==, rc);
  snprintf(key, sizeof key, "%s_errno", name);
  GP_EXPECT_VAL(r, key, ==, err);
  snprintf(key, sizeof key, "%s_timed", name);
  GP_EXPECT_VAL(r, key, ==, 1);
  snprintf(key, sizeof key, "%s_ticked", name);
  GP_EXPECT_VAL(r, key, ==, 1);
}

static void check(const struct gp_run *r) {
  timed_out(r, "recv", -1, EAGAIN);
  timed_out(r, "read", -1, EAGAIN);
  timed_out(r, "recvmsg", -1, EAGAIN);
  timed_out(r, "waitall", 3, 0);   /* the 3 bytes that came */
  timed_out(r, "send_full", -1, EAGAIN);
  timed_out(r, "send_part", 1, 0); /* 1: some but not all of 4 MiB */
  timed_out(r, "accept", -1, EAGAIN);
  timed_out(r, "connect", -1, EINPROGRESS);
  GP_EXPECT_VAL(r, "in_time_rc", ==, 4);
  GP_EXPECT_VAL(r, "in_time_early", ==, 1);
  GP_EXPECT_VAL(r, "forever_rc", ==, 4);
  GP_EXPECT_VAL(r, "forever_waited", ==, 1);
}

Test(timeouts, socket_timeouts_match_native_while_others_run) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 30, "sock_timeouts", NULL, 3, NULL))
    check(&p);
  check(&n);
  gp_run_free(&n);
  gp_run_free(&p);
}
