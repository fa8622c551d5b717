/* Sync family, beyond mutexes and condvars: read-write locks, unnamed
 * semaphores (sem_post from signal handlers included), barriers,
 * pthread_once and spinlocks behave the same natively and as coroutines
 * on one OS thread, with glibc's error codes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "harness.h"

/* Runs prog natively and preloaded; checks fn on each run. */
static void both(const char *prog, const char *const *argv, long threads,
                 const char *ignore, void (*check)(const struct gp_run *)) {
  struct gp_run n, p;
  if (gp_both(&n, &p, 30, prog, argv, threads, ignore)) {
    check(&p);
    gp_run_free(&p);
  }
  check(&n);
  gp_run_free(&n);
}

static void rw_share(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "readers_max", ==, 4);
}

Test(sync2, rwlock_readers_share) {
  both("sync_rwlock", GP_ARGV("share"), 5, NULL, rw_share);
}

static void rw_exclude(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "overlap", ==, 0);
  GP_EXPECT_VAL(r, "writes", ==, 800);
  GP_EXPECT_VAL(r, "reads", ==, 800);
}

Test(sync2, rwlock_writers_exclude) {
  both("sync_rwlock", GP_ARGV("exclude"), 0, NULL, rw_exclude);
}

static void rw_errors(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "wr", ==, 0);
  GP_EXPECT_VAL(r, "wr_rd", ==, EDEADLK);
  GP_EXPECT_VAL(r, "wr_wr", ==, EDEADLK);
  GP_EXPECT_VAL(r, "wr_tryrd", ==, EBUSY);
  GP_EXPECT_VAL(r, "wr_trywr", ==, EBUSY);
  GP_EXPECT_VAL(r, "wr_timedrd_bad", ==, EINVAL);
  GP_EXPECT_VAL(r, "wr_timedwr_past", ==, EDEADLK);
  GP_EXPECT_VAL(r, "wr_clockrd_badclock", ==, EINVAL);
  GP_EXPECT_VAL(r, "free_timedwr_bad", ==, EINVAL);
  GP_EXPECT_VAL(r, "free_clockwr_past", ==, 0);
  GP_EXPECT_VAL(r, "rd_tryrd", ==, 0);
  GP_EXPECT_VAL(r, "rd_trywr", ==, EBUSY);
  GP_EXPECT_VAL(r, "rd_timedwr_past", ==, ETIMEDOUT);
  GP_EXPECT_VAL(r, "rd_timedrd_past", ==, 0);
  GP_EXPECT_VAL(r, "end_trywr", ==, 0);
}

Test(sync2, rwlock_error_codes) {
  both("sync_rwlock", GP_ARGV("errors"), 0, NULL, rw_errors);
}

static void rw_timed(const struct gp_run *r) {
  const char *keys[] = {"timedrd", "timedwr", "clockrd", "clockwr"};
  char ms[32];
  for (int i = 0; i < 4; i++) {
    GP_EXPECT_VAL(r, keys[i], ==, ETIMEDOUT);
    snprintf(ms, sizeof ms, "%s_ms", keys[i]);
    GP_EXPECT_VAL(r, ms, >=, 90);
    GP_EXPECT_VAL(r, ms, <, 1000);
  }
  GP_EXPECT_VAL(r, "late_rd", ==, 0);
  GP_EXPECT_VAL(r, "late_ms", >=, 100);
  GP_EXPECT_VAL(r, "late_ms", <, 2000);
}

Test(sync2, rwlock_timed_forms_time_out) {
  both("sync_rwlock", GP_ARGV("timed"), 0,
       "timedrd_ms timedwr_ms clockrd_ms clockwr_ms late_ms", rw_timed);
}

static void rw_prefer(const struct gp_run *r) {
  gp_expect_token(r, "order_default=RRUW"); /* the late reader joins */
  gp_expect_token(r, "order_writer=RUWR"); /* it waits for the writer */
  gp_expect_token(r, "late_tryrd=0");
  gp_expect_token(r, "late_tryrd=16");
}

Test(sync2, rwlock_writer_preference_nonrecursive) {
  both("sync_rwlock", GP_ARGV("prefer"), 0, NULL, rw_prefer);
}

static void rw_handover(const struct gp_run *r) {
  gp_expect_token(r, "order_reader=WURW"); /* the queued reader first */
  gp_expect_token(r, "order_writer=WUWR"); /* writer to writer */
}

Test(sync2, rwlock_unlock_hands_over_by_kind) {
  both("sync_rwlock", GP_ARGV("handover"), 0, NULL, rw_handover);
}

static void rw_giveup(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "writer_rc", ==, ETIMEDOUT);
  gp_expect_token(r, "order=RREU");
}

Test(sync2, rwlock_writer_timeout_admits_held_back_readers) {
  both("sync_rwlock", GP_ARGV("giveup"), 0, NULL, rw_giveup);
}

static void rw_shared(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "child_trywr", ==, EBUSY);
  GP_EXPECT_VAL(r, "rd", ==, 0);
  gp_expect_token(r, "order=WUR");
}

Test(sync2, rwlock_process_shared_waits_for_another_thread) {
  both("sync_rwlock", GP_ARGV("shared"), 0, NULL, rw_shared);
}

static void sem_pc(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "produced", ==, gp_val(r, "consumed"));
  cr_expect_eq(gp_val(r, "sum_in"), gp_val(r, "sum_out"),
               "checksums differ; %s", gp_describe(r));
  GP_EXPECT_VAL(r, "free_after", ==, 8);
  GP_EXPECT_VAL(r, "full_after", ==, 0);
}

Test(sync2, sem_producers_consumers) {
  both("sync_sem", GP_ARGV("pc", "4", "4", "20000"), 9, NULL, sem_pc);
  both("sync_sem", GP_ARGV("pc", "1", "16", "5000"), 18, NULL, sem_pc);
  both("sync_sem", GP_ARGV("pc", "16", "1", "1000"), 18, NULL, sem_pc);
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

Test(sync2, sem_error_codes) {
  both("sync_sem", GP_ARGV("errors"), 0, NULL, sem_errors);
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

Test(sync2, sem_timedwait_times_out) {
  both("sync_sem", GP_ARGV("timed"), 0,
       "timedwait_ms clockwait_ms posted_ms", sem_timed);
}

/* The native order is the kernel's futex queue, not promised: only the
 * preloaded run is checked. */
Test(sync2, sem_posts_wake_waiters_in_order) {
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

Test(sync2, sem_process_shared_with_a_child) {
  both("sync_sem", GP_ARGV("shared"), 0, NULL, sem_shared);
}

static void sig_post(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "got", ==, 1);
  GP_EXPECT_VAL(r, "handled", ==, 1);
  GP_EXPECT_VAL(r, "value_after", ==, 0);
}

Test(sync2, sem_post_from_timer_handler_wakes_waiter) {
  both("sync_semsig", GP_ARGV("timer"), 0, "eintr_seen", sig_post);
}

Test(sync2, sem_post_from_handler_during_busy_thread) {
  both("sync_semsig", GP_ARGV("busy"), 0, "eintr_seen", sig_post);
}

Test(sync2, sem_post_from_handler_of_kill) {
  both("sync_semsig", GP_ARGV("kill"), 0, "eintr_seen", sig_post);
}

static void sig_eintr(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "first_errno", ==, EINTR);
  GP_EXPECT_VAL(r, "first_ms", <, 190);
  GP_EXPECT_VAL(r, "second", ==, 0);
}

Test(sync2, sem_wait_interrupted_without_sa_restart) {
  both("sync_semsig", GP_ARGV("eintr"), 0, "first_ms", sig_eintr);
}

static void sig_restart(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "first", ==, 0);
  GP_EXPECT_VAL(r, "first_ms", >=, 190);
  GP_EXPECT_VAL(r, "handled", ==, 1);
}

Test(sync2, sem_wait_restarts_with_sa_restart) {
  both("sync_semsig", GP_ARGV("restart"), 0, "first_ms", sig_restart);
}

Test(sync2, sem_timedwait_interrupted_even_with_sa_restart) {
  both("sync_semsig", GP_ARGV("timed_restart"), 0, "first_ms", sig_eintr);
}

static void barrier(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "init_zero", ==, EINVAL);
  GP_EXPECT_VAL(r, "late", ==, 0);
  GP_EXPECT_VAL(r, "others", ==, 0);
  GP_EXPECT_VAL(r, "serial_rounds", ==, 50);
  GP_EXPECT_VAL(r, "serial_total", ==, 50);
  GP_EXPECT_VAL(r, "one_serial", ==, 3);
  GP_EXPECT_VAL(r, "destroy", ==, 0);
}

Test(sync2, barrier_rounds_one_serial_each) {
  both("sync_barrier", GP_ARGV("8", "50"), 9, NULL, barrier);
}

static void once16(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "runs", ==, 1);
  GP_EXPECT_VAL(r, "saw_done", ==, 16);
  GP_EXPECT_VAL(r, "early_runs", ==, 1);
}

Test(sync2, once_runs_once_and_callers_wait) {
  both("sync_once", GP_ARGV("16"), 17, NULL, once16);
}

static void once8(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "runs", ==, 1);
  GP_EXPECT_VAL(r, "saw_done", ==, 8);
}

/* main's call runs natively (the runtime starts inside the routine). */
Test(sync2, once_routine_creating_the_callers) {
  both("sync_once", GP_ARGV("8", "nested"), 0, NULL, once8);
}

static void once_exit(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "runs", ==, 2);
  GP_EXPECT_VAL(r, "saw_done", ==, 7);
}

/* The first run's thread ends inside the routine: another caller runs it. */
Test(sync2, once_routine_whose_thread_exits_runs_again) {
  both("sync_once", GP_ARGV("8", "exit"), 9, NULL, once_exit);
}

static void spin(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "count", ==, 8 * 500);
  GP_EXPECT_VAL(r, "overlap", ==, 0);
  GP_EXPECT_VAL(r, "trylock_busy", ==, EBUSY);
}

Test(sync2, spinlock_contention_completes) {
  both("sync_spin", GP_ARGV("8", "500"), 9, NULL, spin);
}
