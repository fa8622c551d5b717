/* The shim caches each fd's blocking mode and socket timeouts, and parks
 * a reader that saw a socket empty without asking the kernel again; these
 * check that changes and late data are still seen as natively. */
#include <criterion/criterion.h>

#include "harness.h"

Test(fdcache, flag_changes_and_late_data_are_seen) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "flag_cache", NULL, 0, NULL);
  const char *keys[] = {"got_late", "dup_nonblock", "timeo", "fionbio"};
  for (int i = 0; i < 4; i++) {
    GP_EXPECT_VAL(&n, keys[i], ==, 1);
    if (pre)
      GP_EXPECT_VAL(&p, keys[i], ==, 1);
  }
  if (pre)
    gp_run_free(&p);
  gp_run_free(&n);
}
