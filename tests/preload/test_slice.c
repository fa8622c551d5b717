/* The time slice: a thread whose event loop always has events ready (an
 * epoll_wait or poll that never has to wait) gives way at its hooks once
 * its slice is spent, so threads that sleep, read a pipe, resolve a name
 * on a pool thread or poll with a timeout keep running beside it, late by
 * about a slice instead of the whole loop. GPATCH_SLICE=off gives the old
 * behaviour back: the loop starves them. */
#include <criterion/criterion.h>

#include "harness.h"

/* Timings and counts, checked with bounds instead of compared. */
#define KEYS "sleep_late_ms sleep_rounds pipe_late_ms pipe_rounds " \
             "dns_late_ms dns_rounds poll_late_ms poll_rounds "     \
             "min_busy_rounds worst_ms calls_per_s"

/* A generous bound: the default slice is 5 ms; a loaded machine adds. */
#define LATE_MS 200

static void check_mode(const char *mode) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 30, "slice_busy", GP_ARGV(mode), 0, KEYS);
  GP_EXPECT_VAL(&n, "progress", ==, 1);
  if (pre) {
    GP_EXPECT_VAL(&p, "progress", ==, 1);
    GP_EXPECT_VAL(&p, "min_busy_rounds", >=, 5);
    GP_EXPECT_VAL(&p, "worst_ms", <, LATE_MS);
    GP_EXPECT_VAL(&p, "calls_per_s", >, 0);
  }
  gp_run_free(&n);
  gp_run_free(&p);
}

Test(slice, epoll_loop_always_ready_lets_others_run) {
  check_mode("epoll");
}

Test(slice, poll_loop_always_ready_lets_others_run) {
  check_mode("poll");
}

/* A timer's handler writes to a pipe every ms while the loop allocates:
 * the slice never ends inside the handler (a switch there could hand
 * malloc's lock to another thread), and the loop still gives way. */
Test(slice, loop_beside_a_signal_handler_that_writes) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 30, "slice_busy",
                    GP_ARGV("epoll", "500", "signals"), 0, KEYS);
  GP_EXPECT_VAL(&n, "signals", ==, 1);
  if (pre) {
    GP_EXPECT_VAL(&p, "signals", ==, 1);
    GP_EXPECT_VAL(&p, "progress", ==, 1);
    GP_EXPECT_VAL(&p, "worst_ms", <, LATE_MS);
  }
  gp_run_free(&n);
  gp_run_free(&p);
}

/* With the slice off the loop keeps the OS thread until it ends: no
 * other thread finishes a wait meanwhile (documented in README.md). The
 * hand-off is off too: it would give the others another OS thread once
 * the loop has run 20 ms without a switch (it did in one run). */
Test(slice, off_setting_starves_the_others) {
  if (!gp_preload_wanted())
    return;
  struct gp_run r;
  gp_run_ok(&r, 1, GP_ARGV("GPATCH_SLICE=off", "GPATCH_HANDOFF=off"), 30,
            "slice_busy", GP_ARGV("epoll", "500"));
  GP_EXPECT_VAL(&r, "min_busy_rounds", ==, 0);
  GP_EXPECT_VAL(&r, "worst_ms", >=, 400);
  gp_run_free(&r);
}
