/* The shim caches each fd's blocking mode and socket timeouts, and parks
 * a reader that saw a socket empty without asking the kernel again; these
 * check that changes and late data are still seen as natively. */
#include <criterion/criterion.h>
#include <errno.h>

#include "harness.h"

Test(fdcache, flag_changes_and_late_data_are_seen) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "flag_cache", NULL, 0, NULL);
  const char *keys[] = {"got_late", "dup_nonblock", "timeo", "fionbio",
                        "toggles"};
  for (int i = 0; i < 5; i++) {
    GP_EXPECT_VAL(&n, keys[i], ==, 1);
    if (pre)
      GP_EXPECT_VAL(&p, keys[i], ==, 1);
  }
  if (pre)
    gp_run_free(&p);
  gp_run_free(&n);
}

/* An accepted connection's first read waits for the epoll set's report
 * instead of trying at once (socket.c): what the peer sent (data, end of
 * file, a reset) before the accept is still read, with an inherited
 * SO_RCVTIMEO or with SOCK_NONBLOCK, and later data wakes the reader.
 * gp_both also checks the preloaded run printed what the native one did. */
Test(fdcache, accepted_socket_first_read_sees_what_came_before) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "accept_first", NULL, 3, NULL);
  const char *fives[] = {"early_read", "timeo_read", "nb_read", "late_read",
                         "msg_read"};
  for (int i = 0; i < 5; i++)
    GP_EXPECT_VAL(&n, fives[i], ==, 5);
  GP_EXPECT_VAL(&n, "early_eof", ==, 0);
  GP_EXPECT_VAL(&n, "timeo_errno", ==, EAGAIN);
  GP_EXPECT_VAL(&n, "nb_errno", ==, EAGAIN);
  if (pre)
    gp_run_free(&p);
  gp_run_free(&n);
}
