/* Thread-specific data: per thread under the preload as natively, with
 * destructors run once per thread at its end. */
#include <criterion/criterion.h>

#include "harness.h"

Test(keys, values_are_per_thread_and_destructors_run) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "keys", NULL, 11, NULL);
  GP_EXPECT_VAL(&n, "mismatches", ==, 0);
  GP_EXPECT_VAL(&n, "dtor_calls", ==, 10);
  GP_EXPECT_VAL(&n, "dtor_sum", ==, 55);
  if (pre) {
    GP_EXPECT_VAL(&p, "mismatches", ==, 0);
    GP_EXPECT_VAL(&p, "dtor_calls", ==, 10);
    GP_EXPECT_VAL(&p, "main_ok", ==, 1);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}
