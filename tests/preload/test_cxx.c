/* libstdc++'s threads and waits (std::thread, mutex, condition_variable,
 * shared_mutex, async, and the futex-based atomic wait, semaphore, latch
 * and barrier) behave as natively, on one OS thread. */
#include <criterion/criterion.h>

#include "harness.h"

Test(cxx, std_threads_and_futex_waits) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 30, "cxx_sync", NULL, 9, NULL);
  GP_EXPECT_VAL(&n, "counter", ==, 4000);
  if (pre) {
    GP_EXPECT_VAL(&p, "counter", ==, 4000);
    GP_EXPECT_VAL(&p, "phases", ==, 3);
    GP_EXPECT_VAL(&p, "sem_got", ==, 8);
    GP_EXPECT_VAL(&p, "async", ==, 42);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

/* pthread_exit and pthread_cancel of a C++ thread unwind its stack:
 * destructors, cleanup handlers and a rethrowing catch (...) run, as
 * natively. */
Test(cxx, exit_and_cancel_unwind_the_stack) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 30, "cxx_unwind", NULL, 2, NULL);
  GP_EXPECT_VAL(&n, "cancel_dtor", ==, 1);
  if (pre) {
    GP_EXPECT_VAL(&p, "exit_dtor", ==, 1);
    GP_EXPECT_VAL(&p, "exit_value", ==, 7);
    GP_EXPECT_VAL(&p, "cancel_dtor", ==, 1);
    GP_EXPECT_VAL(&p, "cancel_cleanup", ==, 1);
    GP_EXPECT_VAL(&p, "caught_rethrown", ==, 1);
    GP_EXPECT_VAL(&p, "canceled", ==, 1);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

/* std::future and std::promise wait on a futex without the private flag
 * (as a shared futex may be woken by another process): the waits end as
 * natively, and the other threads keep running meanwhile; a raw shared
 * FUTEX_WAIT is woken by a child process's FUTEX_WAKE. */
Test(cxx, future_waits_and_shared_futexes) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 30, "cxx_future", NULL, 3, NULL);
  GP_EXPECT_VAL(&n, "async_ready", ==, 1);
  GP_EXPECT_VAL(&n, "xproc_woken", ==, 1);
  if (pre) {
    GP_EXPECT_VAL(&p, "async_ready", ==, 1);
    GP_EXPECT_VAL(&p, "async_ticked", ==, 1);
    GP_EXPECT_VAL(&p, "promise_ready", ==, 1);
    GP_EXPECT_VAL(&p, "timeout_ok", ==, 1);
    GP_EXPECT_VAL(&p, "xproc_woken", ==, 1);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}
