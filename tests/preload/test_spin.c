/* Sync family, spinlocks (shim/sync/spin.c): contention completes with
 * no overlap and trylock reports EBUSY, natively and as coroutines on one
 * OS thread. */
#include <criterion/criterion.h>
#include <errno.h>

#include "harness.h"

static void spin(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "count", ==, 8 * 500);
  GP_EXPECT_VAL(r, "overlap", ==, 0);
  GP_EXPECT_VAL(r, "trylock_busy", ==, EBUSY);
}

Test(spin, contention_completes) {
  gp_both_check("sync_spin", GP_ARGV("8", "500"), 9, NULL, spin);
}
