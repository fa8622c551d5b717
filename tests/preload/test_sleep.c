/* Sleep family: 200 threads sleeping 100 ms at once finish together, with
 * every sleep call, natively and on one OS thread under the preload.
 */
#include <criterion/criterion.h>

#include "harness.h"

/* Keys whose values are timings or thread counts, compared separately. */
#define TIMING_KEYS "threads min_us max_us total_ms"

/* Checks one run of sleepers: all 200 threads slept at least ms_each (less
 * 1 ms of clock rounding), and the run took between ms_each and max_s in
 * all, far below the serial 200 * ms_each. */
static void check_run(const struct gp_run *r, long threads, long ms_each,
                      double max_s) {
  GP_EXPECT_VAL(r, "threads", ==, threads);
  GP_EXPECT_VAL(r, "slept", ==, 200);
  GP_EXPECT_VAL(r, "rc_errors", ==, 0);
  GP_EXPECT_VAL(r, "min_us", >=, ms_each * 1000 - 1000);
  GP_EXPECT_VAL(r, "total_ms", <, (long)(max_s * 1000));
  cr_expect_geq(r->elapsed, ms_each / 1000.0, "%s", gp_describe(r));
  cr_expect(r->elapsed < max_s, "the sleeps did not overlap; %s",
            gp_describe(r));
}

/* Runs sleepers with variant mode natively, then preloaded. */
static void check_sleepers(const char *mode, long ms_each, double max_s) {
  struct gp_run n, p;

  gp_run_ok(&n, 0, NULL, 30, "sleepers", GP_ARGV(mode));
  check_run(&n, 201, ms_each, max_s);
  if (gp_preload_wanted()) {
    gp_run_ok(&p, 1, NULL, 30, "sleepers", GP_ARGV(mode));
    check_run(&p, 1, ms_each, max_s);
    gp_expect_same(&n, &p, TIMING_KEYS);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

Test(sleep, usleep_200_threads_overlap) {
  check_sleepers("usleep", 100, 2.0);
}

Test(sleep, nanosleep_200_threads_overlap) {
  check_sleepers("nanosleep", 100, 2.0);
}

Test(sleep, sleep_200_threads_overlap) {
  check_sleepers("sleep", 1000, 3.0);
}

Test(sleep, clock_nanosleep_relative_200_threads_overlap) {
  check_sleepers("clock_rel", 100, 2.0);
}

Test(sleep, clock_nanosleep_abstime_200_threads_overlap) {
  check_sleepers("clock_abs", 100, 2.0);
}

Test(sleep, clock_nanosleep_realtime_abstime_200_threads_overlap) {
  check_sleepers("clock_abs_rt", 100, 2.0);
}

Test(sleep, mixed_sleep_calls_200_threads_overlap) {
  check_sleepers("mixed", 100, 2.0);
}
