/* C11 <threads.h>: glibc implements it without the PLT, so gpatch defines
 * it itself; the program must behave as natively, on one OS thread. */
#include <criterion/criterion.h>

#include "harness.h"

Test(c11, threads_mutex_condvar_tss_once) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "c11_threads", NULL, 9, NULL);
  GP_EXPECT_VAL(&n, "counter", ==, 8000);
  GP_EXPECT_VAL(&n, "result_sum", ==, 280);
  if (pre) {
    GP_EXPECT_VAL(&p, "counter", ==, 8000);
    GP_EXPECT_VAL(&p, "once_runs", ==, 1);
    GP_EXPECT_VAL(&p, "tss_ok", ==, 1);
    GP_EXPECT_VAL(&p, "result_sum", ==, 280);
    GP_EXPECT_VAL(&p, "overlapped", ==, 1);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}
