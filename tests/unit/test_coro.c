/* Unit tests of coroutines: spawn, join, detach, exit, errno. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "rt.h"

static int order[8];
static int norder;

static void *record(void *arg) {
  order[norder++] = (int)(intptr_t)arg;
  return (void *)((intptr_t)arg * 10);
}

Test(coro, spawn_runs_in_fifo_order_and_join_returns_value) {
  cr_assert_eq(gp__rt_start(0), 0);
  gp_coro *c[3];
  for (int i = 0; i < 3; i++)
    cr_assert_eq(gp__spawn(record, (void *)(intptr_t)(i + 1), 0, 0, &c[i]),
                 0);
  cr_assert_eq(norder, 0, "spawn must not run the coroutine at once");
  void *ret;
  cr_assert_eq(gp__join(c[2], &ret, GP_NEVER), 0);
  cr_assert_eq((intptr_t)ret, 30);
  cr_assert_eq(norder, 3);
  cr_assert_eq(order[0], 1);
  cr_assert_eq(order[1], 2);
  cr_assert_eq(order[2], 3);
  cr_assert_eq(gp__join(c[0], &ret, GP_NEVER), 0);
  cr_assert_eq((intptr_t)ret, 10);
  cr_assert_eq(gp__join(c[1], NULL, GP_NEVER), 0);
  cr_assert_eq(gp__live(), 1);
}

static void *exits_early(void *arg) {
  gp__exit(arg);
}

Test(coro, exit_gives_value_to_joiner) {
  gp__rt_start(0);
  gp_coro *c;
  gp__spawn(exits_early, (void *)77, 0, 0, &c);
  void *ret = NULL;
  cr_assert_eq(gp__join(c, &ret, GP_NEVER), 0);
  cr_assert_eq((intptr_t)ret, 77);
}

static void *parks_forever_ish(void *arg) {
  (void)arg;
  gp__park(gp__now() + 100 * 1000000LL);
  return NULL;
}

Test(coro, join_errors) {
  gp__rt_start(0);
  gp_coro *self = gp__self();
  cr_assert_eq(gp__join(self, NULL, GP_NEVER), -EDEADLK);
  gp_coro *c;
  gp__spawn(parks_forever_ish, NULL, 0, 0, &c);
  cr_assert_eq(gp__join(c, NULL, 0), -EBUSY);
  cr_assert_eq(gp__join(c, NULL, gp__now() + 10 * 1000000LL), -ETIMEDOUT);
  cr_assert_eq(gp__join(c, NULL, GP_NEVER), 0);
  gp__spawn(parks_forever_ish, NULL, 0, 1, &c);
  cr_assert_eq(gp__join(c, NULL, GP_NEVER), -EINVAL, "detached");
}

Test(coro, handles_map_back_to_coroutines) {
  gp__rt_start(12345);
  cr_assert_eq(gp__coro_from_handle(12345), gp__self());
  gp_coro *c;
  gp__spawn(record, NULL, 0, 0, &c);
  cr_assert_eq(gp__coro_from_handle(gp__coro_handle(c)), c);
  cr_assert_gt(gp__coro_id(c), 1 << 22, "ids never look like real tids");
  int x = 0;
  cr_assert_null(gp__coro_from_handle((uintptr_t)&x + 1));
  gp__join(c, NULL, GP_NEVER);
}

static void *errno_keeper(void *arg) {
  int mine = (int)(intptr_t)arg;
  errno = mine;
  for (int i = 0; i < 5; i++) {
    gp__yield();
    if (errno != mine)
      return (void *)0;
  }
  return (void *)1;
}

Test(coro, errno_is_per_coroutine) {
  gp__rt_start(0);
  gp_coro *c[4];
  for (int i = 0; i < 4; i++)
    gp__spawn(errno_keeper, (void *)(intptr_t)(100 + i), 0, 0, &c[i]);
  errno = 7;
  for (int i = 0; i < 4; i++) {
    void *ok;
    gp__join(c[i], &ok, GP_NEVER);
    cr_assert_eq((intptr_t)ok, 1, "coroutine %d saw another's errno", i);
  }
  cr_assert_eq(errno, 7);
}

static void *counter(void *arg) {
  int *n = arg;
  (*n)++;
  return NULL;
}

Test(coro, detached_coroutines_are_freed_and_leave_live_count) {
  gp__rt_start(0);
  int n = 0;
  gp_coro *c;
  for (int i = 0; i < 100; i++)
    gp__spawn(counter, &n, 0, 1, &c);
  cr_assert_eq(gp__live(), 101);
  gp__park(gp__now() + 5 * 1000000LL);
  cr_assert_eq(n, 100);
  cr_assert_eq(gp__live(), 1);
}

/* ---- the hooks table ---- */

static int started_calls;
static char exit_log[64];
static int nexit_log;
static int dirty_slots;

static void on_start(void) { started_calls++; }
static void exit_a(gp_coro *c) {
  (void)c;
  exit_log[nexit_log++] = 'a';
}
static void exit_b(gp_coro *c) {
  exit_log[nexit_log++] = 'b';
  memset(gp__coro_slot(c), 0xab, 40); /* the next spawn must clear it */
}

static const struct gp_rt_hooks test_hooks = {
  .start = on_start,
  .exit = {exit_a, exit_b},
  .slot_size = 40,
};

/* Checks its slot is all zero, then leaves it dirty (exit_b). */
static void *check_slot(void *arg) {
  (void)arg;
  unsigned char *s = gp__coro_slot(gp__self());
  for (int i = 0; i < 40; i++)
    dirty_slots += s[i] != 0;
  return NULL;
}

Test(coro, hooks_run_in_table_order_and_slots_start_zeroed) {
  gp__rt_set_hooks(&test_hooks);
  cr_assert_eq(gp__rt_start(0), 0);
  cr_assert_eq(started_calls, 1);
  unsigned char *m = gp__coro_slot(gp__self());
  for (int i = 0; i < 40; i++)
    cr_assert_eq(m[i], 0, "the main coroutine's slot starts zeroed");
  for (int round = 0; round < 3; round++) { /* rounds 2, 3 reuse records */
    gp_coro *c[2];
    for (int i = 0; i < 2; i++)
      cr_assert_eq(gp__spawn(check_slot, NULL, 0, 0, &c[i]), 0);
    for (int i = 0; i < 2; i++)
      cr_assert_eq(gp__join(c[i], NULL, GP_NEVER), 0);
  }
  cr_assert_eq(dirty_slots, 0);
  cr_assert_str_eq(exit_log, "abababababab");
}
