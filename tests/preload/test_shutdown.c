/* Shutdown and inspection: a daemon blocked in accept stops on SIGTERM
 * (or keeps serving with SA_RESTART), every exit path looks the same to
 * the parent as natively, waiting for signals (sigwait in a dedicated
 * thread, pause, sigsuspend, an interval timer), and the coroutine dump
 * of GPATCH_DUMP_SIGNAL. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Starts proc_daemon serve on a free port; fills port. */
static void serve_start(struct gp_proc *d, int preload, const char *mode,
                        int *port) {
  char port_s[16];
  *port = gp_free_port();
  cr_assert_gt(*port, 0, "no free port");
  snprintf(port_s, sizeof port_s, "%d", *port);
  cr_assert_eq(gp_start(d, preload, NULL, "proc_daemon",
                        GP_ARGV("serve", port_s, mode)), 0);
  cr_assert_eq(gp_wait_listen(*port, d, 10), 0, "never listened");
  usleep(200 * 1000); /* the workers reach their waits */
}

/* One "ping" to 127.0.0.1:port; 1 when "pong" came back. */
static int ping(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct timeval tv = {2, 0};
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((unsigned short)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  char buf[8];
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
           write(fd, "ping\n", 5) == 5 && read(fd, buf, sizeof buf) == 5 &&
           memcmp(buf, "pong\n", 5) == 0;
  close(fd);
  return ok;
}

static void sigterm_stops(int preload) {
  struct gp_proc d;
  struct gp_run r;
  int port;
  serve_start(&d, preload, "intr", &port);
  double t0 = now_s();
  gp_stop(&d, SIGTERM, 3.0, &r);
  double took = now_s() - t0;
  cr_expect(!r.timed_out, "no exit after SIGTERM; %s", gp_describe(&r));
  gp_expect_exit(&r, 0);
  GP_EXPECT_VAL(&r, "clean", ==, 1);
  GP_EXPECT_VAL(&r, "accept_eintr", ==, 1);
  cr_expect_lt(took, 1.0, "took %.2f s to stop; %s", took, gp_describe(&r));
  gp_run_free(&r);
}

Test(shutdown, sigterm_stops_daemon_in_accept_within_1s_native) {
  sigterm_stops(0);
}

Test(shutdown, sigterm_stops_daemon_in_accept_within_1s_preload) {
  if (!gp_preload_wanted())
    cr_skip_test("GPATCH_TEST_NATIVE_ONLY is set");
  sigterm_stops(1);
}

static void sigterm_restart_serves(int preload) {
  struct gp_proc d;
  struct gp_run r;
  int port;
  serve_start(&d, preload, "restart", &port);
  kill(d.pid, SIGTERM);
  usleep(100 * 1000);
  int ok = ping(port);
  gp_stop(&d, 0, 3.0, &r);
  cr_expect(ok, "no answer after SIGTERM with SA_RESTART; %s",
            gp_describe(&r));
  cr_expect(!r.timed_out, "no exit after serving; %s", gp_describe(&r));
  gp_expect_exit(&r, 0);
  GP_EXPECT_VAL(&r, "served", ==, 1);
  GP_EXPECT_VAL(&r, "accept_eintr", ==, 0);
  gp_run_free(&r);
}

Test(shutdown, sigterm_with_sa_restart_keeps_serving_native) {
  sigterm_restart_serves(0);
}

Test(shutdown, sigterm_with_sa_restart_keeps_serving_preload) {
  if (!gp_preload_wanted())
    cr_skip_test("GPATCH_TEST_NATIVE_ONLY is set");
  sigterm_restart_serves(1);
}

/* Runs proc_exit MODE both ways: the same status and output. */
static void exit_check(const char *mode, int want_status) {
  struct gp_run n, p;
  cr_assert_eq(gp_run(&n, 0, NULL, 20, "proc_exit", GP_ARGV(mode)), 0);
  cr_expect_eq(n.status, want_status, "native status %#x; %s", n.status,
               gp_describe(&n));
  if (gp_preload_wanted()) {
    cr_assert_eq(gp_run(&p, 1, NULL, 20, "proc_exit", GP_ARGV(mode)), 0);
    cr_expect(!p.timed_out, "timed out; %s", gp_describe(&p));
    cr_expect_eq(p.status, n.status, "status %#x, natively %#x; %s",
                 p.status, n.status, gp_describe(&p));
    cr_expect_str_eq(p.out, n.out, "output differs");
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

Test(shutdown, exit_from_a_thread) { exit_check("exit_thread", 3 << 8); }
Test(shutdown, _exit_from_a_thread) { exit_check("_exit_thread", 4 << 8); }
Test(shutdown, abort_from_a_thread) { exit_check("abort_thread", SIGABRT); }
Test(shutdown, return_from_main_while_threads_wait) {
  exit_check("return_main", 5 << 8);
}
Test(shutdown, pthread_exit_from_main_then_last_thread) {
  exit_check("exit_main", 0);
}
Test(shutdown, default_sigterm_from_a_thread) {
  exit_check("kill_thread", SIGTERM);
}

static void sig_check(const char *mode, const char *ignore) {
  struct gp_run n, p;
  int pre = gp_both(&n, &p, 20, "proc_sig", GP_ARGV(mode), 0, ignore);
  if (pre)
    gp_run_free(&p);
  gp_run_free(&n);
}

Test(shutdown, sigwait_in_a_dedicated_thread) {
  sig_check("sigwait", "timedwait_ms");
}

Test(shutdown, pause_returns_after_the_handler) {
  sig_check("pause", "pause_ms");
}

Test(shutdown, sigsuspend_loop_until_flag) {
  sig_check("sigsuspend", "sigsuspend_ms");
}

Test(shutdown, interval_timer_interrupts_read_unless_sa_restart) {
  sig_check("alarm", NULL);
}

static void expect_line(const struct gp_run *r, const char *text) {
  cr_expect(strstr(r->err, text) != NULL, "no \"%s\" in the dump:\n%s",
            text, r->err);
}

Test(shutdown, dump_signal_lists_coroutines_and_runs_program_handler) {
  struct gp_run n, p;
  cr_assert_eq(gp_run(&n, 0, NULL, 20, "proc_dump", GP_ARGV("handler")), 0);
  gp_expect_exit(&n, 0);
  GP_EXPECT_VAL(&n, "handled", ==, 1);
  if (gp_preload_wanted()) {
    cr_assert_eq(gp_run(&p, 1, GP_ARGV("GPATCH_DUMP_SIGNAL=SIGUSR2"), 20,
                        "proc_dump", GP_ARGV("handler")), 0);
    gp_expect_exit(&p, 0);
    GP_EXPECT_VAL(&p, "handled", ==, 1);
    expect_line(&p, "gpatch: dump: 7 coroutines");
    expect_line(&p, "#0 main ");
    expect_line(&p, "parked  fd ");
    expect_line(&p, "parked  pthread_cond_wait: object 0x");
    expect_line(&p, "parked  pthread_mutex_lock: object 0x");
    expect_line(&p, "parked  join #1");
    expect_line(&p, "\"worker-x\" 0x");
    expect_line(&p, "parked  waitpid: fd ");
    expect_line(&p, "ms left");
    expect_line(&p, "no deadline");
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

Test(shutdown, dump_signal_without_program_handler_does_not_kill) {
  struct gp_run p;
  if (!gp_preload_wanted())
    cr_skip_test("GPATCH_TEST_NATIVE_ONLY is set");
  cr_assert_eq(gp_run(&p, 1, GP_ARGV("GPATCH_DUMP_SIGNAL=usr2"), 20,
                      "proc_dump", GP_ARGV("nohandler")), 0);
  gp_expect_exit(&p, 0);
  GP_EXPECT_VAL(&p, "handled", ==, 0);
  expect_line(&p, "gpatch: dump: 7 coroutines");
  gp_run_free(&p);
}

Test(shutdown, dump_signal_bad_value_stops_before_main) {
  struct gp_run p;
  cr_assert_eq(gp_run(&p, 1, GP_ARGV("GPATCH_DUMP_SIGNAL=SIGKILL"), 20,
                      "proc_dump", GP_ARGV("handler")), 0);
  gp_expect_exit(&p, 2);
  expect_line(&p, "gpatch: GPATCH_DUMP_SIGNAL='SIGKILL'");
  gp_run_free(&p);
}
