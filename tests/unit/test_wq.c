/* Unit tests of the address wait queues. */
#include <criterion/criterion.h>
#include <errno.h>

#include "rt.h"

static int obj;
static int order[4], norder;

struct wqarg {
  int id;
  int64_t deadline;
  int result;
};

static void *wq_waiter(void *arg) {
  struct wqarg *a = arg;
  gp_waiter w;
  gp__wq_add(&w, &obj);
  a->result = gp__wq_park(&w, a->deadline);
  order[norder++] = a->id;
  return NULL;
}

Test(wq, wake_one_is_fifo) {
  gp__rt_start(0);
  struct wqarg a[3];
  gp_coro *c[3];
  for (int i = 0; i < 3; i++) {
    a[i] = (struct wqarg){i, GP_NEVER, 99};
    gp__spawn(wq_waiter, &a[i], 0, 0, &c[i]);
  }
  gp__yield();
  cr_assert_eq(gp__wq_wake(&obj, 2), 2);
  gp__yield();
  cr_assert_eq(norder, 2);
  cr_assert_eq(order[0], 0);
  cr_assert_eq(order[1], 1);
  cr_assert_eq(gp__wq_wake(&obj, 5), 1);
  for (int i = 0; i < 3; i++)
    gp__join(c[i], NULL, GP_NEVER);
  cr_assert_eq(order[2], 2);
  cr_assert_eq(a[2].result, 0);
  cr_assert_null(gp__wq_wake_one(&obj), "the queue must be empty");
}

Test(wq, timed_out_waiter_is_skipped_by_wake) {
  gp__rt_start(0);
  struct wqarg a = {0, gp__now() + 5 * 1000000LL, 99};
  struct wqarg b = {1, GP_NEVER, 99};
  gp_coro *ca, *cb;
  gp__spawn(wq_waiter, &a, 0, 0, &ca);
  gp__spawn(wq_waiter, &b, 0, 0, &cb);
  gp__join(ca, NULL, GP_NEVER);
  cr_assert_eq(a.result, -ETIMEDOUT);
  cr_assert_eq(gp__wq_wake_one(&obj), cb, "the wake must reach b");
  gp__join(cb, NULL, GP_NEVER);
  cr_assert_eq(b.result, 0);
}

Test(wq, different_addresses_do_not_mix) {
  gp__rt_start(0);
  struct wqarg a = {0, GP_NEVER, 99};
  gp_coro *c;
  gp__spawn(wq_waiter, &a, 0, 0, &c);
  gp__yield();
  int other;
  cr_assert_eq(gp__wq_wake(&other, 10), 0);
  cr_assert_eq(a.result, 99);
  gp__wq_wake(&obj, 1);
  gp__join(c, NULL, GP_NEVER);
  cr_assert_eq(a.result, 0);
}
