/* The echo demo as a test: the thread-per-connection echo_server answers
 * 1,000 concurrent clients of echo_client, natively on about a thousand OS
 * threads and under the preload on one.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>

#include "harness.h"

/* Runs echo_server (preloaded or not) and echo_client against it with
 * conns concurrent connections of 5 round trips each, then stops the
 * server with SIGTERM.  Checks that every connection was echoed correctly
 * and that the server saw each one end.  Returns the server's peak thread
 * count as the client sampled it. */
static long echo_run(int preload, int conns) {
  struct gp_proc server;
  struct gp_run client, stopped;
  char port_s[16], pid_s[16], conns_s[16];
  int port = gp_free_port(), started, listens, drained;
  long peak;

  cr_assert_gt(port, 0, "no free port");
  snprintf(port_s, sizeof port_s, "%d", port);
  snprintf(conns_s, sizeof conns_s, "%d", conns);
  cr_assert_eq(gp_start(&server, preload, NULL, "echo_server",
                        GP_ARGV(port_s)), 0,
               "cannot start echo_server%s",
               preload ? " (or libgpatch.so is missing)" : "");
  snprintf(pid_s, sizeof pid_s, "%d", (int)server.pid);
  listens = gp_wait_listen(port, &server, 20) == 0;
  started = listens
            && gp_run(&client, 0, NULL, 90, "echo_client",
                      GP_ARGV("-p", port_s, "-c", conns_s, "-n", "5", "-t",
                              "60", "-P", pid_s)) == 0;
  drained = started && gp_wait_drained(port, 20) == 0;
  gp_stop(&server, SIGTERM, 20, &stopped);

  cr_assert(listens, "echo_server never listened on %d; %s", port,
            gp_describe(&stopped));
  cr_assert(started, "cannot start echo_client");
  gp_expect_exit(&client, 0);
  GP_EXPECT_VAL(&client, "conns", ==, conns);
  GP_EXPECT_VAL(&client, "served", ==, conns);
  GP_EXPECT_VAL(&client, "errors", ==, 0);
  GP_EXPECT_VAL(&client, "requests", ==, 5L * conns);
  cr_expect(drained, "echo_server kept connections open after the client "
            "closed them; %s", gp_describe(&stopped));
  cr_expect(!stopped.timed_out, "echo_server did not exit on SIGTERM");
  gp_expect_exit(&stopped, 0);
  GP_EXPECT_VAL(&stopped, "served", ==, conns);
  GP_EXPECT_VAL(&stopped, "bytes", >, 0);
  peak = gp_val(&client, "peak_threads");
  gp_run_free(&stopped);
  gp_run_free(&client);
  return peak;
}

Test(echo, thousand_clients_native) {
  long threads = echo_run(0, 1000);

  cr_expect_gt(threads, 1, "the native server ran on %ld thread(s)",
               threads);
}

Test(echo, thousand_clients_preload_one_thread) {
  long threads;

  if (!gp_preload_wanted())
    cr_skip_test("GPATCH_TEST_NATIVE_ONLY is set");
  threads = echo_run(1, 1000);
  /* One OS thread, and at most one hand-off spare beside it: the accept
   * loop taking 1,000 connections without a switch can run 20 ms on a
   * loaded machine (a CI run made one spare; natively 1,001). */
  cr_expect(threads >= 1 && threads <= 2,
            "the preloaded server ran on %ld threads", threads);
}
