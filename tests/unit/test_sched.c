/* Unit tests of the scheduler: park/unpark, deadlines, yield fairness. */
#include <criterion/criterion.h>
#include <errno.h>
#include <unistd.h>

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

static volatile int stop_spin;

static void *spin_until_stopped(void *arg) {
  (void)arg;
  int64_t end = gp__now() + 10 * 1000000000LL; /* a bound, never reached */
  while (!stop_spin && gp__now() < end)
    gp__yield();
  return NULL;
}

/* libuv's timers count whole milliseconds: a deadline that is not a whole
 * millisecond must be rounded up, or the timer fires up to 1 ms early.
 * Idle, the hub's blocking poll oversleeps and hides that; with a
 * coroutine that keeps yielding, the hub polls after every pass and sees
 * the timer as soon as libuv's clock reaches it. */
Test(sched, deadline_is_never_early_while_the_hub_polls_often) {
  gp__rt_start(0);
  gp_coro *c;
  stop_spin = 0;
  gp__spawn(spin_until_stopped, NULL, 0, 0, &c);
  int early = 0;
  int64_t worst = 0;
  for (int i = 0; i < 20; i++) {
    /* Deadlines at sub-millisecond offsets 0, 47, 94, ... us. */
    int64_t deadline = gp__now() + 1000000LL + i * 47000LL;
    cr_assert_eq(gp__park(deadline), -ETIMEDOUT);
    int64_t left = deadline - gp__now();
    if (left > 0) {
      early++;
      worst = left > worst ? left : worst;
    }
  }
  stop_spin = 1;
  gp__join(c, NULL, GP_NEVER);
  cr_assert_eq(early, 0, "%d of 20 parks woke before their deadline (by up "
               "to %lld ns)", early, (long long)worst);
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

/* Fairness: a coroutine that only ever yields must not keep timers and
 * fd events from being seen. The hub polls the loop without blocking once
 * per pass over the ready queue; a hub that polled only when nothing is
 * ready would never see them while the spinner spins. The spinner stops
 * at whichever comes first: the event it waits for, or a bound (SPIN_MAX
 * of the clock, far beyond the 1 ms the event needs). The assertion is
 * that the event came first. */
#define SPIN_MAX (5 * 1000000000LL)

static volatile int fired;   /* set by the coroutine the event woke */
static long turns;           /* yields the spinner made */
static long turns_at_fire;   /* turns when the event was seen */
static int spinner_done;     /* the spinner stopped */
static int late;             /* the event was seen after the spinner stopped */

static void *spin_until_fired(void *arg) {
  (void)arg;
  int64_t end = gp__now() + SPIN_MAX;
  while (!fired && gp__now() < end) {
    turns++;
    gp__yield();
  }
  spinner_done = 1;
  return NULL;
}

static void *timed(void *arg) {
  (void)arg;
  late = gp__park(gp__now() + 1000000LL) != -ETIMEDOUT;
  turns_at_fire = turns;
  late |= spinner_done;
  fired = 1;
  return NULL;
}

static void reset_spin(void) {
  fired = 0;
  turns = turns_at_fire = 0;
  spinner_done = late = 0;
}

Test(sched, yielding_coroutines_do_not_starve_timers) {
  gp__rt_start(0);
  reset_spin();
  gp_coro *a, *b;
  gp__spawn(timed, NULL, 0, 0, &b);
  gp__yield(); /* the timer is armed before the spinner starts */
  gp__spawn(spin_until_fired, NULL, 0, 0, &a);
  gp__join(b, NULL, GP_NEVER);
  gp__join(a, NULL, GP_NEVER);
  cr_assert_eq(late, 0, "the timer fired only after the spinner gave up "
               "(%ld yields): the hub did not poll the loop while a "
               "coroutine was ready", turns);
  cr_assert_gt(turns_at_fire, 0, "the spinner never ran before the timer");
  cr_assert_eq(turns, turns_at_fire,
               "the spinner stopped at the first yield after the timer");
}

struct fdarg {
  int fd;
  int result;
};

static void *fd_waiter(void *arg) {
  struct fdarg *w = arg;
  w->result = gp__fd_wait(gp__fd_get(w->fd), GP_IN, GP_NEVER);
  turns_at_fire = turns;
  late = spinner_done;
  fired = 1;
  return NULL;
}

Test(sched, yielding_coroutines_do_not_starve_fd_events) {
  gp__rt_start(0);
  reset_spin();
  int p[2];
  cr_assert_eq(pipe(p), 0);
  struct fdarg w = {p[0], 99};
  gp_coro *a, *b;
  gp__spawn(fd_waiter, &w, 0, 0, &b);
  gp__yield(); /* the waiter parks on the pipe */
  cr_assert_eq(w.result, 99, "the waiter must still be parked");
  cr_assert_eq(write(p[1], "x", 1), 1);
  gp__spawn(spin_until_fired, NULL, 0, 0, &a);
  gp__join(b, NULL, GP_NEVER);
  gp__join(a, NULL, GP_NEVER);
  cr_assert_eq(w.result, 0);
  cr_assert_eq(late, 0, "the fd event was seen only after the spinner "
               "gave up (%ld yields): the hub did not poll the loop while "
               "a coroutine was ready", turns);
  cr_assert_gt(turns_at_fire, 0, "the spinner never ran before the event");
  close(p[0]);
  close(p[1]);
}
