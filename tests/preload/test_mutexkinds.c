/* Robust and priority-inheritance mutexes, contended by threads that
 * block while holding them: exact counts and no hang, as natively (glibc
 * keeps robust mutexes; coroutines poll them instead of blocking). */
#include <criterion/criterion.h>

#include "harness.h"

Test(mutexkinds, robust_and_pi_mutexes_under_contention) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 30, "mutex_kinds", NULL, 0, NULL);
  GP_EXPECT_VAL(&n, "robust_ok", ==, 1);
  if (pre) {
    GP_EXPECT_VAL(&p, "robust_ok", ==, 1);
    GP_EXPECT_VAL(&p, "pi_ok", ==, 1);
    GP_EXPECT_VAL(&p, "robust_pi_ok", ==, 1);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

/* A real OS thread (made through libc's own pthread_create, as a library
 * resolving it with dlsym may) and coroutines share a mutex: glibc's
 * protocol keeps them apart, and nobody hangs. */
Test(mutexkinds, a_real_thread_and_coroutines_share_a_mutex) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 30, "mixed_threads", NULL, 0, NULL);
  GP_EXPECT_VAL(&n, "counter", ==, 80000);
  if (pre) {
    GP_EXPECT_VAL(&p, "counter", ==, 80000);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

/* A robust mutex whose owner thread ends holding it: EOWNERDEAD for the
 * next locker (one already waiting too), consistent or unrecoverable
 * afterwards, as natively; a condvar works with a robust mutex; shared
 * error-checking and recursive mutexes know their owner thread. */
Test(mutexkinds, robust_mutex_of_an_ended_thread_gives_eownerdead) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 30, "robust_dead", NULL, 3, NULL);
  gp_expect_token(&n, "waiter_got=EOWNERDEAD");
  if (pre) {
    gp_expect_token(&p, "waiter_got=EOWNERDEAD");
    gp_expect_token(&p, "later_got=EOWNERDEAD");
    gp_expect_token(&p, "unrecoverable=ENOTRECOVERABLE");
    GP_EXPECT_VAL(&p, "cond_ok", ==, 1);
    GP_EXPECT_VAL(&p, "outer_ok", ==, 1);
    gp_expect_token(&p, "shared_errcheck=EBUSY,EPERM");
    gp_expect_token(&p, "shared_recursive=EBUSY");
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

/* pthread_mutex_destroy answers as glibc, which counts holders in
 * __nusers: 0 for a mutex locked natively before the first thread and
 * unlocked cooperatively (EBUSY before), EBUSY while a condvar waiter
 * holds it in a wait (0 before), EBUSY while another thread holds it.
 * Destroying a mutex right after unlocking it with a waiter present is a
 * race natively (the woken waiter may take it first: 0 or EBUSY); under
 * the shim the waiter has not run yet, so it is 0, as a real thread
 * library expects (it treated EBUSY as fatal). */
Test(mutexkinds, destroy_answers_as_glibc_counts_users) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "mutex_destroy", NULL, 2, "handoff");
  GP_EXPECT_VAL(&n, "early", ==, 0);
  GP_EXPECT_VAL(&n, "cond_waiting", ==, 16);
  GP_EXPECT_VAL(&n, "held", ==, 16);
  if (pre) {
    GP_EXPECT_VAL(&p, "early", ==, 0);
    GP_EXPECT_VAL(&p, "handoff", ==, 0);
    GP_EXPECT_VAL(&p, "cond_waiting", ==, 16);
    GP_EXPECT_VAL(&p, "cond_done", ==, 0);
    GP_EXPECT_VAL(&p, "released", ==, 0);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}
