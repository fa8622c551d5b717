/* Unit tests of kill and Timeout in the runtime: gp__park_intr honours
 * both, gp__park (mutexes, condvars) ignores them, and the count of
 * coroutines with one on keeps a lone coroutine's calls parking. */
#include <criterion/criterion.h>
#include <errno.h>

#include "rt.h"

static int got, got_again;

static void *park_intr_twice(void *arg) {
  (void)arg;
  got = gp__park_intr(GP_NEVER);
  got_again = gp__park_intr(GP_NEVER); /* a kill stays */
  return NULL;
}

Test(stop, kill_ends_an_interruptible_park_and_stays) {
  gp__rt_start(0);
  gp_coro *c;
  gp__spawn(park_intr_twice, NULL, 0, 0, &c);
  gp__yield(); /* let it park */
  gp__kill(c);
  cr_assert(gp__coro_killed(c));
  gp__join(c, NULL, GP_NEVER);
  cr_assert_eq(got, -ECANCELED);
  cr_assert_eq(got_again, -ECANCELED);
  cr_assert_eq(gp__nstop, 0, "an ended coroutine no longer counts");
}

static gp_coro *parker;

static void *park_plain(void *arg) {
  (void)arg;
  parker = gp__self();
  got = gp__park(GP_NEVER);
  return NULL;
}

Test(stop, kill_leaves_a_plain_park_alone) {
  gp__rt_start(0);
  gp_coro *c;
  gp__spawn(park_plain, NULL, 0, 0, &c);
  gp__yield();
  gp__kill(c);
  gp__yield();
  cr_assert_not(gp__coro_ended(c), "a plain park was cut short");
  gp__unpark(parker, 7);
  gp__join(c, NULL, GP_NEVER);
  cr_assert_eq(got, 7);
}

Test(stop, timeout_expires_interruptible_parks_only) {
  gp__rt_start(0);
  int64_t t0 = gp__now();
  cr_assert_eq(gp__set_deadline(t0 + 30 * 1000000LL), GP_NEVER);
  cr_assert_eq(gp__live(), 2, "a lone coroutine with a Timeout counts twice");
  int r = gp__park_intr(t0 + 1000 * 1000000LL);
  int64_t dt = gp__now() - t0;
  cr_assert_eq(r, GP_EXPIRED);
  cr_assert_geq(dt, 30 * 1000000LL);
  cr_assert_lt(dt, 1000 * 1000000LL);
  cr_assert_eq(gp__stop_code(), GP_EXPIRED);
  cr_assert_eq(gp__park_intr(GP_NEVER), GP_EXPIRED, "at once, once past");
  /* The caller's own, earlier deadline is still -ETIMEDOUT. */
  gp__set_deadline(gp__now() + 1000 * 1000000LL);
  cr_assert_eq(gp__park_intr(gp__now() + 20 * 1000000LL), -ETIMEDOUT);
  gp__set_deadline(GP_NEVER);
  cr_assert_eq(gp__live(), 1);
  cr_assert_eq(gp__stop_code(), 0);
}
