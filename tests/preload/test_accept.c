/* accept on a listening socket shared with pre-forked processes: when
 * another process takes the connection a coroutine was woken for, its
 * accept parks again instead of blocking the whole process, and the
 * listener's flags are as the program set them. And what an accepted
 * socket is (its flags and timeouts), which the shim records without
 * asking the kernel.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>

#include "harness.h"

static void check(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "served", ==, 300);
  GP_EXPECT_VAL(r, "shared", ==, 1);
  GP_EXPECT_VAL(r, "ticked", ==, 1);
  GP_EXPECT_VAL(r, "l_flags", ==, O_RDWR);
}

/* Runs prefork_accept natively and preloaded; mode "" or "noring". */
static void prefork(const char *mode) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 20, "prefork_accept", GP_ARGV("300", mode), 4, NULL))
    check(&p);
  check(&n);
  gp_run_free(&n);
  gp_run_free(&p);
}

/* accept through io_uring with IORING_ACCEPT_DONTWAIT (Linux 6.10+; on
 * older kernels this runs the fallback too). */
Test(accept, shared_listener_never_stalls_the_process) { prefork("ring"); }

/* io_uring denied (seccomp): O_NONBLOCK for the one accept call. */
Test(accept, shared_listener_without_io_uring) { prefork("noring"); }

/* What an accepted socket is, as the program sees it (accept_facts.c):
 * the shim records it from the listener's facts instead of asking the
 * kernel, and must record exactly what the kernel made. */
static void facts(const struct gp_run *r) {
  static const struct {
    const char *key;
    long want;
  } k[] = {
    {"f0_nb", 0},          {"f0_cloexec", 0},       {"f0_read", 5},
    {"f1_nb", 1},          {"f1_cloexec", 0},       {"f1_read", -EAGAIN},
    {"f2_nb", 0},          {"f2_cloexec", 1},       {"f2_read", 5},
    {"f3_nb", 1},          {"f3_cloexec", 1},       {"f3_read", -EAGAIN},
    {"nblisten_nb", 0},    {"nblisten_read", 5},    {"set_after_read", -EAGAIN},
    {"cleared_read", 5},   {"setfl_read", -EAGAIN}, {"dup_copy_read", -EAGAIN},
    {"tcp_copy_timeo_ms", 100}, {"tcp_copy_read", -EAGAIN},
    {"unix_timeo_ms", 0},  {"unix_type", 5},        {"unix_read", 5},
  };
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
    GP_EXPECT_VAL(r, k[i].key, ==, k[i].want);
}

/* accept4's SOCK_NONBLOCK and SOCK_CLOEXEC as fcntl shows them, no
 * O_NONBLOCK from the listener, a TCP socket's timeouts copied from the
 * listener (set through it or a dup), none on an AF_UNIX one, and
 * timeouts and O_NONBLOCK set after the accept obeyed. */
Test(accept, accepted_socket_facts_as_natively) {
  gp_both_check("accept_facts", NULL, 3, NULL, facts);
}

/* The same after a timeout was set (and cleared) on the listener before
 * the runtime started, where no record could note it. */
Test(accept, accepted_socket_facts_after_an_unnoted_timeout) {
  gp_both_check("accept_facts", GP_ARGV("pre"), 3, NULL, facts);
}
