/* stdio streams made with fdopen over a socket and a pipe: fgets,
 * getline, fread to EOF, fprintf/fflush and fclose behave as natively
 * while only the reading thread waits (a ticker goes on). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>

#include "harness.h"

Test(stdio, fdopen_streams_over_sockets_and_pipes) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "stdio_sock", NULL, 0, NULL);
  GP_EXPECT_VAL(&n, "getline_ok", ==, 1);
  if (pre) {
    const char *keys[] = {"fileno_ok", "fgets_ok", "getline_ok",
                          "fread_eof_ok", "ticked", "in_order", "closed"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
      GP_EXPECT_VAL(&p, keys[i], ==, 1);
    GP_EXPECT_VAL(&p, "pipe_lines", ==, 1000);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

/* A threaded stdio line server (fdopen + fgets/fputs/fflush per
 * connection) with 200 concurrent clients sending text lines. */
static void line_run(int preload) {
  struct gp_proc server;
  struct gp_run client, stopped;
  char port_s[16], pid_s[16];
  int port = gp_free_port();
  snprintf(port_s, sizeof port_s, "%d", port);
  cr_assert_eq(gp_start(&server, preload, NULL, "line_server",
                        GP_ARGV(port_s)), 0);
  snprintf(pid_s, sizeof pid_s, "%d", (int)server.pid);
  int listens = gp_wait_listen(port, &server, 20) == 0;
  int ran = listens && gp_run(&client, 0, NULL, 90, "echo_client",
                              GP_ARGV("-p", port_s, "-c", "200", "-n", "10",
                                      "-s", "64", "-l", "-t", "60", "-P",
                                      pid_s)) == 0;
  gp_wait_drained(port, 20);
  gp_stop(&server, SIGTERM, 20, &stopped);
  cr_assert(listens, "line_server never listened; %s", gp_describe(&stopped));
  cr_assert(ran, "cannot run echo_client");
  gp_expect_exit(&client, 0);
  GP_EXPECT_VAL(&client, "served", ==, 200);
  GP_EXPECT_VAL(&client, "errors", ==, 0);
  if (preload)
    GP_EXPECT_VAL(&client, "peak_threads", ==, 1);
  GP_EXPECT_VAL(&stopped, "lines", ==, 2000);
  gp_run_free(&client);
  gp_run_free(&stopped);
}

Test(stdio, line_server_200_clients_native) { line_run(0); }

Test(stdio, line_server_200_clients_preload) {
  if (!gp_preload_wanted())
    cr_skip_test("GPATCH_TEST_NATIVE_ONLY is set");
  line_run(1);
}
