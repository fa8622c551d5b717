/* Hand-offs through pipes, socketpairs and eventfds: a write wakes the
 * thread parked reading the other end directly, and pipes are read and
 * written without a poll first (RWF_NOWAIT). What that path must keep:
 * every byte once and in order, the end of file and EPIPE, a reader in
 * another process (a forked child) that takes bytes a woken thread then
 * does not find, writes from another process, and the O_NONBLOCK the
 * program set. Each program runs natively and preloaded, and both must
 * print the same.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>

#include "harness.h"

/* Runs pipe_handoff with argv natively and preloaded (native_threads OS
 * threads natively, one preloaded), compares what they print, less the
 * keys in ignore, and checks each run with check. */
static void both(const char *const *argv, long native_threads,
                 const char *ignore, void (*check)(const struct gp_run *r)) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 60, "pipe_handoff", argv, native_threads, ignore)) {
    check(&p);
    gp_run_free(&p);
  }
  check(&n);
  gp_run_free(&n);
}

static void check_writers(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "msgs", ==, 3200);
  GP_EXPECT_VAL(r, "torn", ==, 0);
  GP_EXPECT_VAL(r, "order_ok", ==, 1);
  GP_EXPECT_VAL(r, "complete", ==, 1);
  GP_EXPECT_VAL(r, "eofs", ==, 2);
}

/* Eight writers, two readers: each message whole, once, in its writer's
 * order for each reader. early: the fds made before the first thread
 * (paired when first used), late: after. */
Test(pipewake, pipe_many_writers_made_early) {
  both(GP_ARGV("writers", "pipe", "early"), 11, NULL, check_writers);
}

Test(pipewake, pipe_many_writers_made_late) {
  both(GP_ARGV("writers", "pipe", "late"), 11, NULL, check_writers);
}

Test(pipewake, socketpair_many_writers_made_early) {
  both(GP_ARGV("writers", "socketpair", "early"), 11, NULL, check_writers);
}

Test(pipewake, socketpair_many_writers_made_late) {
  both(GP_ARGV("writers", "socketpair", "late"), 11, NULL, check_writers);
}

static void check_eof(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "rd1", ==, 5);
  GP_EXPECT_VAL(r, "rd2", ==, 0);
}

Test(pipewake, pipe_data_then_end_of_file) {
  both(GP_ARGV("eof", "pipe", "early"), 2, NULL, check_eof);
}

Test(pipewake, socketpair_data_then_end_of_file) {
  both(GP_ARGV("eof", "socketpair", "late"), 2, NULL, check_eof);
}

static void check_epipe(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "write_errno", ==, EPIPE);
  GP_EXPECT_VAL(r, "partial_ok", ==, 1);
  GP_EXPECT_VAL(r, "next_errno", ==, EPIPE);
  GP_EXPECT_VAL(r, "sock_errno", ==, EPIPE);
}

/* Including a writer parked on a full pipe whose reader closes it. */
Test(pipewake, epipe_when_the_reader_is_gone) {
  both(GP_ARGV("epipe"), 2, NULL, check_epipe);
}

static void check_child(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "total", ==, 2000);
  GP_EXPECT_VAL(r, "r_eof", ==, 1);
  GP_EXPECT_VAL(r, "child_eof", ==, 1);
}

/* The reader a write wakes is only a hint: a forked child reads the same
 * pipe and takes some bytes first; the thread finds nothing, waits again,
 * and nothing is lost or read twice. */
Test(pipewake, pipe_shared_with_a_child_reader_made_early) {
  both(GP_ARGV("child", "early"), 2, "r_got child_got", check_child);
}

Test(pipewake, pipe_shared_with_a_child_reader_made_late) {
  both(GP_ARGV("child", "late"), 2, "r_got child_got", check_child);
}

static void check_event_child(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "sum", ==, 200);
  GP_EXPECT_VAL(r, "child_status", ==, 0);
}

/* After a read that emptied the eventfd the reader parks without asking
 * again: a write from another process must still wake it. */
Test(pipewake, eventfd_written_by_a_child) {
  both(GP_ARGV("event_child"), 2, NULL, check_event_child);
}

static void check_nonblock(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "rd_errno", ==, EAGAIN);
  GP_EXPECT_VAL(r, "fill", ==, 65536);
  GP_EXPECT_VAL(r, "fill_errno", ==, EAGAIN);
  GP_EXPECT_VAL(r, "p0_flags", ==, O_RDONLY | O_NONBLOCK);
  GP_EXPECT_VAL(r, "p1_flags", ==, O_WRONLY | O_NONBLOCK);
  GP_EXPECT_VAL(r, "waited", ==, 1);
  GP_EXPECT_VAL(r, "got", ==, 7);
  GP_EXPECT_VAL(r, "q0_flags", ==, O_RDONLY);
  GP_EXPECT_VAL(r, "q1_flags", ==, O_WRONLY | O_NONBLOCK);
  GP_EXPECT_VAL(r, "ev_errno", ==, EAGAIN);
  GP_EXPECT_VAL(r, "ev_read", ==, 3);
  GP_EXPECT_VAL(r, "ev_errno2", ==, EAGAIN);
  GP_EXPECT_VAL(r, "ev_flags", ==, O_RDWR | O_NONBLOCK);
  GP_EXPECT_VAL(r, "ev_waited", ==, 1);
  GP_EXPECT_VAL(r, "ev_got", ==, 2);
}

/* Non-blocking ends say EAGAIN, a blocking read end of a pipe whose
 * write end is non-blocking still waits, and the flags stay as set. */
Test(pipewake, nonblock_ends_as_the_program_set_them) {
  both(GP_ARGV("nonblock"), 3, NULL, check_nonblock);
}

/* A read end closed under its reader, its number taken by a new pipe
 * whose own reader waits: a write to the old pipe must not reach the new
 * reader (a woken reader would only try again, but it must end with its
 * own pipe's byte). Natively the first reader holds on to the old pipe
 * and gets its byte; preloaded the close wakes it with EBADF, and the
 * old pipe, with no reader left, gives EPIPE (as test_closewake). */
Test(pipewake, close_while_parked_and_the_number_reused) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 60, "pipe_handoff", GP_ARGV("close"), 2,
              "r1_rc r1_errno r1_c wa_rc")) {
    GP_EXPECT_VAL(&p, "r1_rc", ==, -1);
    GP_EXPECT_VAL(&p, "r1_errno", ==, EBADF);
    GP_EXPECT_VAL(&p, "wa_rc", ==, -1);
    gp_run_free(&p);
  }
  GP_EXPECT_VAL(&n, "r1_rc", ==, 1);
  GP_EXPECT_VAL(&n, "wa_rc", ==, 1);
  GP_EXPECT_VAL(&n, "reused", ==, 1);
  GP_EXPECT_VAL(&n, "r2_early", ==, 0);
  GP_EXPECT_VAL(&n, "r2_rc", ==, 1);
  gp_expect_token(&n, "r2_c=b");
  gp_run_free(&n);
}
