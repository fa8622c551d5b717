/* Stacks the program gives (pthread_attr_setstack) are used as given, and
 * pthread_getattr_np reports them, as natively. */
#include <criterion/criterion.h>

#include "harness.h"

Test(ownstack, given_stacks_are_used_and_reported) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "own_stack", NULL, 0, NULL);
  GP_EXPECT_VAL(&n, "own_ok", ==, 4);
  if (pre) {
    GP_EXPECT_VAL(&p, "own_ok", ==, 4);
    GP_EXPECT_VAL(&p, "sized_ok", ==, 4);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}
