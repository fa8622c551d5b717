/* Deferred cancellation: threads blocked in read, sleep, sem_wait and
 * pthread_cond_wait, a thread with cancellation disabled for a while and
 * one calling pthread_testcancel are cancelled; cleanup handlers run
 * innermost first (the condvar's with the mutex held again) and joins
 * give PTHREAD_CANCELED, as natively, on one OS thread. */
#include <criterion/criterion.h>

#include "harness.h"

Test(cancel, blocked_threads_are_cancelled_with_their_cleanup) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 30, "cancel", NULL, 0, NULL);
  GP_EXPECT_VAL(&n, "canceled", ==, 5);
  if (pre) {
    GP_EXPECT_VAL(&p, "canceled", ==, 5);
    gp_expect_token(&p, "order=ba");
    GP_EXPECT_VAL(&p, "sleeper_cleaned", ==, 1);
    GP_EXPECT_VAL(&p, "held_in_cleanup", ==, 1);
    GP_EXPECT_VAL(&p, "critical_done", ==, 1);
    GP_EXPECT_VAL(&p, "spun", ==, 1);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

Test(cancel, sem_wait_and_calls_that_would_not_block_are_cancellation_points) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 30, "cancel_points", NULL, 2, NULL);
  GP_EXPECT_VAL(&n, "sem_free_canceled", ==, 1);
  GP_EXPECT_VAL(&n, "write_canceled", ==, 1);
  if (pre) {
    GP_EXPECT_VAL(&p, "sem_blocked_canceled", ==, 1);
    GP_EXPECT_VAL(&p, "sem_free_canceled", ==, 1);
    GP_EXPECT_VAL(&p, "sem_unit_kept", ==, 1);
    GP_EXPECT_VAL(&p, "write_canceled", ==, 1);
    GP_EXPECT_VAL(&p, "pipe_empty", ==, 1);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}
