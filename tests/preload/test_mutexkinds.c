/* Robust and priority-inheritance mutexes, contended by threads that
 * block while holding them: exact counts and no hang, as natively (glibc
 * keeps robust mutexes; coroutines poll them instead of blocking). */
#include <criterion/criterion.h>

#include "harness.h"

Test(mutexkinds, robust_and_pi_mutexes_under_contention) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 30, "mutex_kinds", NULL, 0, NULL);
  GP_EXPECT_VAL(&n, "robust_ok", ==, 1);
  if (pre) {
    GP_EXPECT_VAL(&p, "robust_ok", ==, 1);
    GP_EXPECT_VAL(&p, "pi_ok", ==, 1);
    GP_EXPECT_VAL(&p, "robust_pi_ok", ==, 1);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}
