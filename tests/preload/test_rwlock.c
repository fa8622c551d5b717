/* Sync family, read-write locks (shim/sync/rwlock.c): readers share,
 * writers exclude, glibc's error codes and timeouts, writer preference,
 * hand-over by kind, process-shared locks; the same natively and as
 * coroutines on one OS thread. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>

#include "harness.h"

static void rw_share(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "readers_max", ==, 4);
}

Test(rwlock, readers_share) {
  gp_both_check("sync_rwlock", GP_ARGV("share"), 5, NULL, rw_share);
}

static void rw_exclude(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "overlap", ==, 0);
  GP_EXPECT_VAL(r, "writes", ==, 800);
  GP_EXPECT_VAL(r, "reads", ==, 800);
}

Test(rwlock, writers_exclude) {
  gp_both_check("sync_rwlock", GP_ARGV("exclude"), 0, NULL, rw_exclude);
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

Test(rwlock, error_codes) {
  gp_both_check("sync_rwlock", GP_ARGV("errors"), 0, NULL, rw_errors);
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

Test(rwlock, timed_forms_time_out) {
  gp_both_check("sync_rwlock", GP_ARGV("timed"), 0,
                "timedrd_ms timedwr_ms clockrd_ms clockwr_ms late_ms",
                rw_timed);
}

static void rw_prefer(const struct gp_run *r) {
  gp_expect_token(r, "order_default=RRUW"); /* the late reader joins */
  gp_expect_token(r, "order_writer=RUWR"); /* it waits for the writer */
  gp_expect_token(r, "late_tryrd=0");
  gp_expect_token(r, "late_tryrd=16");
}

Test(rwlock, writer_preference_nonrecursive) {
  gp_both_check("sync_rwlock", GP_ARGV("prefer"), 0, NULL, rw_prefer);
}

static void rw_handover(const struct gp_run *r) {
  gp_expect_token(r, "order_reader=WURW"); /* the queued reader first */
  gp_expect_token(r, "order_writer=WUWR"); /* writer to writer */
}

Test(rwlock, unlock_hands_over_by_kind) {
  gp_both_check("sync_rwlock", GP_ARGV("handover"), 0, NULL, rw_handover);
}

static void rw_giveup(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "writer_rc", ==, ETIMEDOUT);
  gp_expect_token(r, "order=RREU");
}

Test(rwlock, writer_timeout_admits_held_back_readers) {
  gp_both_check("sync_rwlock", GP_ARGV("giveup"), 0, NULL, rw_giveup);
}

static void rw_shared(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "child_trywr", ==, EBUSY);
  GP_EXPECT_VAL(r, "rd", ==, 0);
  gp_expect_token(r, "order=WUR");
}

Test(rwlock, process_shared_waits_for_another_thread) {
  gp_both_check("sync_rwlock", GP_ARGV("shared"), 0, NULL, rw_shared);
}
