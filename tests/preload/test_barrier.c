/* Sync family, barriers (shim/sync/barrier.c): rounds with one serial
 * thread each, the same natively and as coroutines on one OS thread. */
#include <criterion/criterion.h>
#include <errno.h>

#include "harness.h"

static void barrier(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "init_zero", ==, EINVAL);
  GP_EXPECT_VAL(r, "late", ==, 0);
  GP_EXPECT_VAL(r, "others", ==, 0);
  GP_EXPECT_VAL(r, "serial_rounds", ==, 50);
  GP_EXPECT_VAL(r, "serial_total", ==, 50);
  GP_EXPECT_VAL(r, "one_serial", ==, 3);
  GP_EXPECT_VAL(r, "destroy", ==, 0);
}

Test(barrier, rounds_one_serial_each) {
  gp_both_check("sync_barrier", GP_ARGV("8", "50"), 9, NULL, barrier);
}
