/* I/O family: blocking reads and writes over pipes and sockets park only
 * the calling thread, and descriptors the program made non-blocking, and
 * connect errors, look the same as without the preload.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include "harness.h"

/* Checks a pipe_pc run moved count * size bytes intact with whole writes,
 * the consumer waited for the producer and the ticker ran meanwhile. */
static void check_pc(const struct gp_run *r, long count, long size) {
  GP_EXPECT_VAL(r, "bytes", ==, count * size);
  cr_expect_eq(gp_val(r, "sum_w"), gp_val(r, "sum_r"),
               "checksums differ; %s", gp_describe(r));
  GP_EXPECT_VAL(r, "short_writes", ==, 0);
  GP_EXPECT_VAL(r, "reader_waited", ==, 1);
  GP_EXPECT_VAL(r, "ticked", ==, 1);
}

/* Runs pipe_pc over kind (pipe or socketpair) natively and preloaded. */
static void producer_consumer(const char *kind, long count, long size) {
  struct gp_run n, p;
  char cs[32], ss[32];

  snprintf(cs, sizeof cs, "%ld", count);
  snprintf(ss, sizeof ss, "%ld", size);
  if (gp_both(&n, &p, 60, "pipe_pc", GP_ARGV(kind, cs, ss), 4,
              "first_read_ms"))
    check_pc(&p, count, size);
  check_pc(&n, count, size);
  gp_run_free(&n);
  gp_run_free(&p);
}

Test(io, pipe_small_messages) {
  producer_consumer("pipe", 2000, 100);
}

Test(io, pipe_writes_larger_than_the_pipe_buffer) {
  producer_consumer("pipe", 8, 1 << 20);
}

Test(io, socketpair_small_messages) {
  producer_consumer("socketpair", 2000, 100);
}

Test(io, socketpair_writes_larger_than_the_socket_buffer) {
  producer_consumer("socketpair", 8, 1 << 20);
}

/* Checks a nonblock run: EAGAIN wherever nothing was ready, the flags the
 * program set, and a blocking read once O_NONBLOCK was cleared. */
static void check_nonblock(const struct gp_run *r, int sockflag) {
  static const char *const eagain[] = {
    "accept_errno", "accept4_errno", "read_errno", "recv_errno",
    "recvmsg_errno", "dontwait_errno", "fill_errno", "pipe_read_errno",
    "pipe_fill_errno"
  };
  size_t i;

  for (i = 0; i < sizeof eagain / sizeof eagain[0]; i++)
    GP_EXPECT_VAL(r, eagain[i], ==, EAGAIN);
  GP_EXPECT_VAL(r, "l_flags", ==, O_RDWR | O_NONBLOCK);
  GP_EXPECT_VAL(r, "l_flags_end", ==, O_RDWR | O_NONBLOCK);
  GP_EXPECT_VAL(r, "c_flags", ==, O_RDWR);
  GP_EXPECT_VAL(r, "c_flags_after_dontwait", ==, O_RDWR);
  GP_EXPECT_VAL(r, "c_flags_end", ==, O_RDWR);
  GP_EXPECT_VAL(r, "s_flags_accepted", ==,
                O_RDWR | (sockflag ? O_NONBLOCK : 0));
  GP_EXPECT_VAL(r, "s_flags", ==, O_RDWR | O_NONBLOCK);
  GP_EXPECT_VAL(r, "s_flags_cleared", ==, O_RDWR);
  GP_EXPECT_VAL(r, "s_flags_end", ==, O_RDWR);
  GP_EXPECT_VAL(r, "pipe_r_flags", ==, O_RDONLY | O_NONBLOCK);
  GP_EXPECT_VAL(r, "pipe_w_flags_end", ==, O_WRONLY | O_NONBLOCK);
  GP_EXPECT_VAL(r, "hello_read", ==, 5);
  GP_EXPECT_VAL(r, "late_read", ==, 4);
  GP_EXPECT_VAL(r, "late_waited", ==, 1);
}

/* Runs nonblock in mode natively and preloaded. */
static void nonblock(const char *mode, int sockflag) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 30, "nonblock", GP_ARGV(mode), 3, NULL))
    check_nonblock(&p, sockflag);
  check_nonblock(&n, sockflag);
  gp_run_free(&n);
  gp_run_free(&p);
}

Test(io, nonblock_set_by_fcntl_gives_eagain) {
  nonblock("fcntl", 0);
}

Test(io, nonblock_set_by_sock_nonblock_gives_eagain) {
  nonblock("sockflag", 1);
}

Test(io, nonblock_set_by_ioctl_fionbio_gives_eagain) {
  nonblock("ioctl", 0);
}

/* Checks a connect_errors run. */
static void check_connect(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "refused_rc", ==, -1);
  GP_EXPECT_VAL(r, "refused_errno", ==, ECONNREFUSED);
  GP_EXPECT_VAL(r, "refused_flags", ==, O_RDWR);
  GP_EXPECT_VAL(r, "nb_refused_errno", ==, EINPROGRESS);
  GP_EXPECT_VAL(r, "nb_refused_soerror", ==, ECONNREFUSED);
  GP_EXPECT_VAL(r, "nb_errno", ==, EINPROGRESS);
  GP_EXPECT_VAL(r, "nb_poll", ==, 1);
  GP_EXPECT_VAL(r, "nb_soerror", ==, 0);
  GP_EXPECT_VAL(r, "nb_flags", ==, O_RDWR | O_NONBLOCK);
  GP_EXPECT_VAL(r, "fcntl_nb_errno", ==, EINPROGRESS);
  GP_EXPECT_VAL(r, "fcntl_nb_soerror", ==, 0);
  GP_EXPECT_VAL(r, "blocking_rc", ==, 0);
  GP_EXPECT_VAL(r, "blocking_flags", ==, O_RDWR);
}

Test(io, connect_refused_and_in_progress) {
  struct gp_run n, p;
  char port[16];

  snprintf(port, sizeof port, "%d", gp_free_port());
  if (gp_both(&n, &p, 30, "connect_errors", GP_ARGV(port), 2, NULL))
    check_connect(&p);
  check_connect(&n);
  gp_run_free(&n);
  gp_run_free(&p);
}

/* Datagrams through every call form: a single buffer goes through
 * send/recv, a message through sendmsg/recvmsg (io.c); truncation,
 * MSG_TRUNC, msg_flags, MSG_PEEK and the sender's address come out as
 * natively (gp_both compares the two runs). */
Test(io, datagram_calls_keep_their_results) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "dgram_calls", NULL, 3, NULL);
  GP_EXPECT_VAL(&n, "short_recv", ==, 4);
  GP_EXPECT_VAL(&n, "trunc_flag", ==, 8);
  GP_EXPECT_VAL(&n, "msg_trunc", ==, 1);
  GP_EXPECT_VAL(&n, "short_addr_len", ==, 16);
  GP_EXPECT_VAL(&n, "late", ==, 8);
  if (pre)
    gp_run_free(&p);
  gp_run_free(&n);
}
