/* Sync family, unnamed semaphores (shim/sync/sem.c): producers and
 * consumers, glibc's error codes, timed waits, FIFO wake-ups,
 * process-shared semaphores, sem_post from signal handlers and EINTR;
 * the same natively and as coroutines on one OS thread. */
#include <criterion/criterion.h>
#include <errno.h>

#include "harness.h"

static void sem_pc(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "produced", ==, gp_val(r, "consumed"));
  cr_expect_eq(gp_val(r, "sum_in"), gp_val(r, "sum_out"),
               "checksums differ; %s", gp_describe(r));
  GP_EXPECT_VAL(r, "free_after", ==, 8);
  GP_EXPECT_VAL(r, "full_after", ==, 0);
}

Test(sem, producers_consumers) {
  gp_both_check("sync_sem", GP_ARGV("pc", "4", "4", "20000"), 9, NULL, sem_pc);
  gp_both_check("sync_sem", GP_ARGV("pc", "1", "16", "5000"), 18, NULL, sem_pc);
  gp_both_check("sync_sem", GP_ARGV("pc", "16", "1", "1000"), 18, NULL, sem_pc);
}

static void sem_errors(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "trywait_empty_errno", ==, EAGAIN);
  GP_EXPECT_VAL(r, "timedwait_bad_errno", ==, EINVAL);
  GP_EXPECT_VAL(r, "clockwait_badclock_errno", ==, EINVAL);
  GP_EXPECT_VAL(r, "timedwait_past_errno", ==, ETIMEDOUT);
  GP_EXPECT_VAL(r, "timedwait_bad_free_errno", ==, EINVAL);
  GP_EXPECT_VAL(r, "timedwait_past_free", ==, 0);
  GP_EXPECT_VAL(r, "errno_kept", ==, 1);
  GP_EXPECT_VAL(r, "value", ==, 1);
  GP_EXPECT_VAL(r, "post_max_errno", ==, EOVERFLOW);
  GP_EXPECT_VAL(r, "value_max", ==, 1);
}

Test(sem, error_codes) {
  gp_both_check("sync_sem", GP_ARGV("errors"), 0, NULL, sem_errors);
}

static void sem_timed(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "timedwait_errno", ==, ETIMEDOUT);
  GP_EXPECT_VAL(r, "timedwait_ms", >=, 90);
  GP_EXPECT_VAL(r, "timedwait_ms", <, 1000);
  GP_EXPECT_VAL(r, "clockwait_errno", ==, ETIMEDOUT);
  GP_EXPECT_VAL(r, "clockwait_ms", >=, 90);
  GP_EXPECT_VAL(r, "clockwait_ms", <, 1000);
  GP_EXPECT_VAL(r, "posted", ==, 0);
  GP_EXPECT_VAL(r, "posted_ms", <, 2000);
}

Test(sem, timedwait_times_out) {
  gp_both_check("sync_sem", GP_ARGV("timed"), 0,
                "timedwait_ms clockwait_ms posted_ms", sem_timed);
}

/* The native order is the kernel's futex queue, not promised: only the
 * preloaded run is checked. */
Test(sem, posts_wake_waiters_in_order) {
  struct gp_run n, p;
  if (gp_both(&n, &p, 30, "sync_sem", GP_ARGV("fifo"), 0, "order")) {
    gp_expect_token(&p, "order=123");
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

static void sem_shared(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "shared_wait", ==, 0);
  GP_EXPECT_VAL(r, "child_ok", ==, 1);
}

Test(sem, process_shared_with_a_child) {
  gp_both_check("sync_sem", GP_ARGV("shared"), 0, NULL, sem_shared);
}

static void foreign_post(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "foreign_wait", ==, 0);
  GP_EXPECT_VAL(r, "foreign_value", ==, 0);
  GP_EXPECT_VAL(r, "keeper_timedout", ==, 0);
}

/* A post from another OS thread (not a coroutine) must wake the hub,
 * which may sit in epoll_wait with nothing else to wake it. */
Test(sem, post_from_a_real_thread_wakes_waiter) {
  gp_both_check("sync_sem", GP_ARGV("foreign"), 0, NULL, foreign_post);
}

/* The same with nothing else in the process that could wake the waiter:
 * the shim must not take that for a deadlock (the foreign thread will
 * post). Fails while the deadlock check ignores foreign threads. */
Test(sem, post_from_a_real_thread_wakes_the_only_waiter) {
  gp_both_check("sync_sem", GP_ARGV("foreign", "alone"), 0, NULL,
                foreign_post);
}

static void sig_post(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "got", ==, 1);
  GP_EXPECT_VAL(r, "handled", ==, 1);
  GP_EXPECT_VAL(r, "value_after", ==, 0);
}

Test(sem, post_from_timer_handler_wakes_waiter) {
  gp_both_check("sync_semsig", GP_ARGV("timer"), 0, "eintr_seen", sig_post);
}

Test(sem, post_from_handler_during_busy_thread) {
  gp_both_check("sync_semsig", GP_ARGV("busy"), 0, "eintr_seen", sig_post);
}

Test(sem, post_from_handler_of_kill) {
  gp_both_check("sync_semsig", GP_ARGV("kill"), 0, "eintr_seen", sig_post);
}

static void sig_eintr(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "first_errno", ==, EINTR);
  GP_EXPECT_VAL(r, "first_ms", <, 190);
  GP_EXPECT_VAL(r, "second", ==, 0);
}

Test(sem, wait_interrupted_without_sa_restart) {
  gp_both_check("sync_semsig", GP_ARGV("eintr"), 0, "first_ms", sig_eintr);
}

static void sig_restart(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "first", ==, 0);
  GP_EXPECT_VAL(r, "first_ms", >=, 190);
  GP_EXPECT_VAL(r, "handled", ==, 1);
}

Test(sem, wait_restarts_with_sa_restart) {
  gp_both_check("sync_semsig", GP_ARGV("restart"), 0, "first_ms", sig_restart);
}

Test(sem, timedwait_interrupted_even_with_sa_restart) {
  gp_both_check("sync_semsig", GP_ARGV("timed_restart"),
                0, "first_ms", sig_eintr);
}
