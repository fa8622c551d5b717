/* Thread-specific data: per thread under the preload as natively, with
 * destructors run once per thread at its end. */
#include <criterion/criterion.h>

#include "harness.h"

Test(keys, values_are_per_thread_and_destructors_run) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "keys", NULL, 11, NULL);
  GP_EXPECT_VAL(&n, "mismatches", ==, 0);
  GP_EXPECT_VAL(&n, "dtor_calls", ==, 10);
  GP_EXPECT_VAL(&n, "dtor_sum", ==, 55);
  if (pre) {
    GP_EXPECT_VAL(&p, "mismatches", ==, 0);
    GP_EXPECT_VAL(&p, "dtor_calls", ==, 10);
    GP_EXPECT_VAL(&p, "main_ok", ==, 1);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

/* A key destructor that unlocks a robust mutex its thread holds: glibc
 * runs destructors while the thread lives, so the unlock succeeds and the
 * next locker gets 0, not EOWNERDEAD. Under the preload the coroutine's
 * exit functions must run the destructors before they treat its robust
 * mutexes as left by a dead owner. */
Test(keys, destructor_unlocks_a_robust_mutex_before_the_owner_dies) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "key_robust", NULL, 2, NULL);
  GP_EXPECT_VAL(&n, "dtor_ran", ==, 1);
  GP_EXPECT_VAL(&n, "dtor_unlock", ==, 0);
  GP_EXPECT_VAL(&n, "next_lock", ==, 0);
  if (pre) {
    GP_EXPECT_VAL(&p, "dtor_ran", ==, 1);
    GP_EXPECT_VAL(&p, "dtor_unlock", ==, 0);
    GP_EXPECT_VAL(&p, "next_lock", ==, 0);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}
