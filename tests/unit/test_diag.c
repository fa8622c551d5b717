/* Unit tests of the runtime's diagnostics (runtime/diag.c): GPATCH_STATS
 * counts spawns, switches and parks and measures stack use. */
#include <criterion/criterion.h>

#include "rt.h"

static void *nothing(void *arg) { return arg; }

Test(diag, stats_count_spawns_switches_and_parks) {
  gp__diag_enable(GP_DIAG_STATS);
  gp__rt_start(0);
  gp_coro *c[3];
  for (int i = 0; i < 3; i++)
    gp__spawn(nothing, NULL, 0, 0, &c[i]);
  gp__park(gp__now() + 5 * 1000000LL); /* a sleep */
  for (int i = 0; i < 3; i++)
    gp__join(c[i], NULL, GP_NEVER);
  struct gp_stats s;
  gp__stats_get(&s);
  cr_assert_eq(s.created, 3);
  cr_assert_eq(s.peak_live, 4);
  cr_assert_eq(s.parks[GP_PARK_SLEEP], 1);
  cr_assert_geq(s.switches, 6);
  cr_assert_gt(s.stack_used, 0, "the coroutines touched their stacks");
  cr_assert_lt(s.stack_used, 64 * 1024);
}
