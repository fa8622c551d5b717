/* Unit tests of the scheduler: park/unpark, deadlines, yield fairness. */
#include <criterion/criterion.h>
#include <errno.h>

#include "rt.h"

static gp_coro *parked;
static int got;

static void *park_once(void *arg) {
  (void)arg;
  parked = gp__self();
  got = gp__park(GP_NEVER);
  return NULL;
}

Test(sched, unpark_delivers_its_code) {
  gp__rt_start(0);
  gp_coro *c;
  gp__spawn(park_once, NULL, 0, 0, &c);
  gp__yield(); /* let it park */
  cr_assert_eq(parked, c);
  cr_assert_eq(gp__unpark(c, 42), 1);
  cr_assert_eq(gp__unpark(c, 43), 0, "a ready coroutine is not parked");
  gp__join(c, NULL, GP_NEVER);
  cr_assert_eq(got, 42);
}

Test(sched, deadline_ends_a_park_on_time) {
  gp__rt_start(0);
  gp_coro *c;
  gp__spawn(park_once, NULL, 0, 1, &c); /* keeps the hub busy: not alone */
  int64_t t0 = gp__now();
  int r = gp__park(t0 + 50 * 1000000LL);
  int64_t dt = gp__now() - t0;
  cr_assert_eq(r, -ETIMEDOUT);
  cr_assert_geq(dt, 50 * 1000000LL, "woke %lld ns early", 50000000LL - dt);
  cr_assert_lt(dt, 2000 * 1000000LL);
  cr_assert_eq(gp__park(t0), -ETIMEDOUT, "a past deadline does not park");
  gp__unpark(parked, 0);
}

static int64_t woke_at[3];

static void *sleeper(void *arg) {
  int i = (int)(intptr_t)arg;
  gp__park(gp__now() + (3 - i) * 20 * 1000000LL);
  woke_at[i] = gp__now();
  return NULL;
}

Test(sched, timers_fire_in_deadline_order) {
  gp__rt_start(0);
  gp_coro *c[3];
  for (int i = 0; i < 3; i++)
    gp__spawn(sleeper, (void *)(intptr_t)i, 0, 0, &c[i]);
  for (int i = 0; i < 3; i++)
    gp__join(c[i], NULL, GP_NEVER);
  cr_assert_lt(woke_at[2], woke_at[1]);
  cr_assert_lt(woke_at[1], woke_at[0]);
}

static int turns;
static int ran_other;

static void *spinner(void *arg) {
  (void)arg;
  for (int i = 0; i < 1000; i++) {
    turns++;
    gp__yield();
  }
  return NULL;
}

static void *timed(void *arg) {
  (void)arg;
  gp__park(gp__now() + 1000000LL);
  ran_other = turns;
  return NULL;
}

Test(sched, yielding_coroutines_do_not_starve_timers) {
  gp__rt_start(0);
  gp_coro *a, *b;
  gp__spawn(spinner, NULL, 0, 0, &a);
  gp__spawn(timed, NULL, 0, 0, &b);
  gp__join(b, NULL, GP_NEVER);
  cr_assert_gt(ran_other, 0);
  /* 1000 yields take far less than a millisecond only if the loop is
   * skipped; with the loop polled on every pass the timer fires while
   * the spinner still runs or right after. */
  gp__join(a, NULL, GP_NEVER);
  cr_assert_eq(turns, 1000);
}

/* The time slice: coroutines that only pass slice checks (as a hook that
 * never parks does) still let a timer fire. The first check comes before
 * the hub ever ran, and two coroutines reach theirs in one pass. */
static volatile int napped;

static void *napper(void *arg) {
  (void)arg;
  gp__park(gp__now() + 2000000);
  napped = 1;
  return NULL;
}

static void *checker(void *arg) {
  int64_t end = gp__now() + *(int64_t *)arg;
  while (!napped && gp__now() < end)
    gp__slice_point();
  return NULL;
}

Test(sched, slice_checks_let_a_timer_fire) {
  gp__slice_set(1000000);
  gp__rt_start(0);
  int64_t limit = 2000000000;
  gp_coro *a, *b;
  gp__spawn(checker, &limit, 0, 0, &a);
  gp__spawn(napper, NULL, 0, 0, &b);
  checker(&limit);
  cr_assert_eq(napped, 1, "the timer never fired");
  gp__join(a, NULL, GP_NEVER);
  gp__join(b, NULL, GP_NEVER);
}
