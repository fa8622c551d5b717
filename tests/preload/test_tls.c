/* TLS needs nothing of its own: OpenSSL's blocking SSL_accept,
 * SSL_connect, SSL_read and SSL_write reach the socket through read and
 * write, which park. A thread-per-connection echo server and 20 clients
 * in one process move every byte intact on one OS thread.
 */
#include <criterion/criterion.h>

#include "harness.h"

static void check(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "ok", ==, 20);
  GP_EXPECT_VAL(r, "bytes", ==, 20L * 87380);
  GP_EXPECT_VAL(r, "ticked", ==, 1);
}

Test(tls, threaded_echo_server_and_clients) {
  struct gp_run n, p;

  /* main, ticker, acceptor, 20 clients and their 20 handlers */
  if (gp_both(&n, &p, 30, "tls_echo", GP_ARGV("20"), 43, NULL))
    check(&p);
  check(&n);
  gp_run_free(&n);
  gp_run_free(&p);
}
