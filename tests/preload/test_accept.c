/* accept on a listening socket shared with pre-forked processes: when
 * another process takes the connection a coroutine was woken for, its
 * accept parks again instead of blocking the whole process, and the
 * listener's flags are as the program set them.
 */
#include <criterion/criterion.h>
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
