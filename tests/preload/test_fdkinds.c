/* Waitable fds of every kind, read or written blockingly: eventfd,
 * timerfd, signalfd, inotify, FIFOs opened with open(), ptys, Unix sockets
 * (stream, datagram, seqpacket, with SCM_RIGHTS), UDP and TCP over ::1.
 * The blocked call parks only its thread, and returns what it would
 * natively.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#include "harness.h"

/* Checks the reader got want after waiting, while the ticker ticked. */
static void check(const struct gp_run *r, const char *want) {
  char tok[160];

  snprintf(tok, sizeof tok, "got=%s", want);
  gp_expect_token(r, tok);
  GP_EXPECT_VAL(r, "waited", ==, 1);
  GP_EXPECT_VAL(r, "ticked", ==, 1);
}

/* Runs fdkinds MODE natively and preloaded; the preloaded run has
 * pool_threads OS threads besides the scheduler's while the reader
 * waits. */
static void kind(const char *mode, const char *want, int pool_threads) {
  struct gp_run n, p;

  gp_run_ok(&n, 0, NULL, 20, "fdkinds", GP_ARGV(mode));
  if (gp_kv(n.out, "skip") == 1) {
    gp_run_free(&n);
    cr_skip_test("fdkinds %s: not available here", mode);
  }
  check(&n, want);
  GP_EXPECT_VAL(&n, "threads", ==, 4);
  if (gp_preload_wanted()) {
    gp_run_ok(&p, 1, NULL, 20, "fdkinds", GP_ARGV(mode));
    check(&p, want);
    GP_EXPECT_VAL(&p, "threads", ==, 1 + pool_threads);
    gp_expect_same(&n, &p, "threads wait_ms");
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

Test(fdkinds, eventfd_read_waits_for_a_write) { kind("eventfd", "5", 0); }

Test(fdkinds, eventfd_write_waits_for_room) {
  kind("eventfd_full", "added:1", 0);
}

Test(fdkinds, timerfd_read_waits_for_expiry) { kind("timerfd", "8:1", 0); }

Test(fdkinds, signalfd_read_waits_for_a_signal) {
  kind("signalfd", "128:10", 0);
}

Test(fdkinds, inotify_read_waits_for_an_event) {
  kind("inotify", "1:created", 0);
}

/* open() of a FIFO waits for the peer's open on a pool thread. */
Test(fdkinds, fifo_open_waits_for_the_writer) {
  kind("fifo", "12:through", 1);
}

Test(fdkinds, pty_master_read_waits_for_the_slave) {
  kind("pty", "5:typed", 0);
}

/* 256 KiB into a pty buffers less: the writer waits for the reader. */
Test(fdkinds, pty_write_larger_than_its_buffer) {
  kind("pty_bulk", "262144:1", 0);
}

Test(fdkinds, unix_stream_passes_an_fd) { kind("unix_stream", "1:xyz:0:0", 0); }

Test(fdkinds, unix_dgram_keeps_boundaries_and_passes_an_fd) {
  kind("unix_dgram", "1:xyz:2:3", 0);
}

Test(fdkinds, unix_seqpacket_keeps_boundaries_and_passes_an_fd) {
  kind("unix_seqpacket", "1:xyz:2:3", 0);
}

Test(fdkinds, udp_recvfrom_waits_and_reports_the_sender) {
  kind("udp", "8:datagram:1", 0);
}

/* Also the peer's data and FIN in one edge, read to EOF. */
Test(fdkinds, tcp_over_ipv6_loopback) { kind("tcp6", "9:over", 0); }
