/* Sync family: mutexes and condition variables between threads behave the
 * same natively and as coroutines on one OS thread: a producer/consumer
 * queue, timed waits, and the recursive, error-checking and default mutex
 * kinds.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>

#include "harness.h"

/* Checks a condqueue run of np producers of items values each. */
static void check_queue(const struct gp_run *r, long np, long items) {
  GP_EXPECT_VAL(r, "produced", ==, np * items);
  GP_EXPECT_VAL(r, "consumed", ==, np * items);
  cr_expect_eq(gp_val(r, "sum_in"), gp_val(r, "sum_out"),
               "checksums differ; %s", gp_describe(r));
  GP_EXPECT_VAL(r, "busy_consumers", >=, 1);
}

/* Runs condqueue natively and preloaded. */
static void queue(int np, int nc, long items) {
  struct gp_run n, p;
  char a[16], b[16], c[32];

  snprintf(a, sizeof a, "%d", np);
  snprintf(b, sizeof b, "%d", nc);
  snprintf(c, sizeof c, "%ld", items);
  if (gp_both(&n, &p, 60, "condqueue", GP_ARGV(a, b, c), 1 + np + nc,
              "busy_consumers"))
    check_queue(&p, np, items);
  check_queue(&n, np, items);
  gp_run_free(&n);
  gp_run_free(&p);
}

Test(sync, condvar_queue_four_producers_four_consumers) {
  queue(4, 4, 10000);
}

Test(sync, condvar_queue_one_producer_eight_consumers) {
  queue(1, 8, 5000);
}

Test(sync, condvar_queue_sixteen_producers_sixteen_consumers) {
  queue(16, 16, 2000);
}

/* The stress: a thousand threads hammering one mutex with
 * condition-variable hand-offs. */
Test(sync, condvar_queue_a_thousand_threads) { queue(500, 500, 200); }

/* Checks a timed-wait run: two 200 ms timeouts with ETIMEDOUT, the mutex
 * released during the wait and held after it, a past deadline at once, and
 * a signal before the deadline. */
static void check_timed(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "first_rc", ==, ETIMEDOUT);
  GP_EXPECT_VAL(r, "first_ms", >=, 150);
  GP_EXPECT_VAL(r, "first_ms", <, 2000);
  GP_EXPECT_VAL(r, "first_ticked", ==, 1);
  GP_EXPECT_VAL(r, "first_released", ==, 1);
  GP_EXPECT_VAL(r, "first_held_after", ==, 1);
  GP_EXPECT_VAL(r, "second_rc", ==, ETIMEDOUT);
  GP_EXPECT_VAL(r, "second_ms", >=, 150);
  GP_EXPECT_VAL(r, "second_ms", <, 2000);
  GP_EXPECT_VAL(r, "past_rc", ==, ETIMEDOUT);
  GP_EXPECT_VAL(r, "past_ms", <, 100);
  GP_EXPECT_VAL(r, "signalled_rc", ==, 0);
  GP_EXPECT_VAL(r, "signalled_flag", ==, 1);
  GP_EXPECT_VAL(r, "signalled_ms", <, 2000);
}

#define TIMED_KEYS "first_ms second_ms past_ms signalled_ms"

Test(sync, cond_timedwait_times_out_with_etimedout) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 30, "sync_misc", GP_ARGV("timedwait"), 2, TIMED_KEYS))
    check_timed(&p);
  check_timed(&n);
  gp_run_free(&n);
  gp_run_free(&p);
}

Test(sync, cond_clockwait_times_out_with_etimedout) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 30, "sync_misc", GP_ARGV("clockwait"), 2, TIMED_KEYS))
    check_timed(&p);
  check_timed(&n);
  gp_run_free(&n);
  gp_run_free(&p);
}

/* Checks the recursive-mutex results printed with prefix. */
static void check_recursive(const struct gp_run *r, const char *prefix) {
  char key[64];

  snprintf(key, sizeof key, "%s_locks=0,0,0", prefix);
  gp_expect_token(r, key);
  snprintf(key, sizeof key, "%s_unlocks=0,0,0", prefix);
  gp_expect_token(r, key);
  snprintf(key, sizeof key, "%s_other_trylock", prefix);
  GP_EXPECT_VAL(r, key, ==, EBUSY);
  snprintf(key, sizeof key, "%s_other_lock", prefix);
  GP_EXPECT_VAL(r, key, ==, 0);
  snprintf(key, sizeof key, "%s_order_ok", prefix);
  GP_EXPECT_VAL(r, key, ==, 1);
  snprintf(key, sizeof key, "%s_extra_unlock", prefix);
  GP_EXPECT_VAL(r, key, ==, EPERM);
}

Test(sync, recursive_mutex_relocks_and_owns) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 30, "sync_misc", GP_ARGV("recursive"), 2, NULL)) {
    check_recursive(&p, "static");
    check_recursive(&p, "attr");
  }
  check_recursive(&n, "static");
  check_recursive(&n, "attr");
  gp_run_free(&n);
  gp_run_free(&p);
}

/* Checks the error-checking-mutex results printed with prefix. */
static void check_errorcheck(const struct gp_run *r, const char *prefix) {
  char key[64];

  snprintf(key, sizeof key, "%s_lock", prefix);
  GP_EXPECT_VAL(r, key, ==, 0);
  snprintf(key, sizeof key, "%s_relock", prefix);
  GP_EXPECT_VAL(r, key, ==, EDEADLK);
  snprintf(key, sizeof key, "%s_other_unlock", prefix);
  GP_EXPECT_VAL(r, key, ==, EPERM);
  snprintf(key, sizeof key, "%s_other_trylock", prefix);
  GP_EXPECT_VAL(r, key, ==, EBUSY);
  snprintf(key, sizeof key, "%s_unlock", prefix);
  GP_EXPECT_VAL(r, key, ==, 0);
  snprintf(key, sizeof key, "%s_unlock_again", prefix);
  GP_EXPECT_VAL(r, key, ==, EPERM);
  snprintf(key, sizeof key, "%s_other_later", prefix);
  GP_EXPECT_VAL(r, key, ==, 0);
}

Test(sync, errorcheck_mutex_reports_edeadlk_eperm_ebusy) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 30, "sync_misc", GP_ARGV("errorcheck"), 2, NULL)) {
    check_errorcheck(&p, "static");
    check_errorcheck(&p, "attr");
  }
  check_errorcheck(&n, "static");
  check_errorcheck(&n, "attr");
  gp_run_free(&n);
  gp_run_free(&p);
}

/* Checks a default mutex: busy for another thread while held. */
static void check_normal(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "normal_lock", ==, 0);
  GP_EXPECT_VAL(r, "normal_other_trylock", ==, EBUSY);
  GP_EXPECT_VAL(r, "normal_unlock", ==, 0);
  GP_EXPECT_VAL(r, "normal_other_later", ==, 0);
}

Test(sync, default_mutex_trylock_busy_while_held) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 30, "sync_misc", GP_ARGV("normal"), 2, NULL))
    check_normal(&p);
  check_normal(&n);
  gp_run_free(&n);
  gp_run_free(&p);
}

/* Checks the contended counter: no lost update, one holder at a time. */
static void check_contention(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "counter", ==, 1600);
  GP_EXPECT_VAL(r, "max_inside", ==, 1);
}

Test(sync, mutex_excludes_while_the_holder_blocks) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 30, "sync_misc", GP_ARGV("contention"), 9, NULL))
    check_contention(&p);
  check_contention(&n);
  gp_run_free(&n);
  gp_run_free(&p);
}
