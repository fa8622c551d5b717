/* Faults, each with the native run as the reference (gp_both: the same
 * program natively and under the shim must print the same key=value
 * tokens): peers that reset mid-request and mid-reply, half-close, send
 * one byte a second, stall, and vanish without FIN; a listener at the fd
 * limit; stacks that cannot be mapped (a low RLIMIT_AS, the map count used
 * up); 100,000 SIGUSR1 a second while serving; fork and exec while
 * serving.  The programs are tests/progs/fault_*.c; each says what it
 * does and prints.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"

/* Runs prog natively and preloaded, checks both printed the same tokens
 * but those in ignore, that the first run printed every token of want (a
 * NULL-terminated list of "key=value"), and the preloaded run too. */
static void faults(const char *prog, const char *const *argv,
                   const char *ignore, const char *const *want) {
  struct gp_run n, p;
  int both = gp_both(&n, &p, 90, prog, argv, 0, ignore);
  for (const char *const *w = want; *w != NULL; w++) {
    gp_expect_token(&n, *w);
    if (both)
      gp_expect_token(&p, *w);
  }
  if (both)
    gp_run_free(&p);
  gp_run_free(&n);
}

Test(faults, peer_resets_mid_request_and_mid_reply) {
  faults("fault_peer", GP_ARGV("reset"), NULL,
         GP_ARGV("half_request_reset=ECONNRESET",
                 "mid_reply_reset=reset_or_pipe", "served_after=1"));
}

Test(faults, peer_half_closes) {
  faults("fault_peer", GP_ARGV("halfclose"), NULL,
         GP_ARGV("halfclose_bytes=100000", "halfclose_ok=1",
                 "halfclose_server=eof", "served_after=1"));
}

Test(faults, slowloris_one_byte_a_second_and_a_stalled_peer) {
  faults("fault_peer", GP_ARGV("slowloris"), NULL,
         GP_ARGV("normal_peers_served=50", "done_while_slow_pending=50",
                 "slow_peer_ok=1", "stall_server=EAGAIN",
                 "stall_peer_read=0", "served_after=1"));
}

Test(faults, peer_vanishes_without_fin) {
  struct gp_run r;
  gp_run_ok(&r, 0, NULL, 60, "fault_peer", GP_ARGV("vanish"));
  int skip = gp_kv(r.out, "skip") == 1;
  gp_run_free(&r);
  if (skip)
    cr_skip_test("TCP_REPAIR needs CAP_NET_ADMIN to close a socket "
                 "without FIN");
  faults("fault_peer", GP_ARGV("vanish"), NULL,
         GP_ARGV("vanish_server=EAGAIN",
                 "vanish_keepalive_server=ECONNRESET", "served_after=1"));
}

Test(faults, accept_at_the_fd_limit_says_emfile_and_serves_after) {
  faults("fault_emfile", GP_ARGV("server"), NULL,
         GP_ARGV("accept_pending_at_limit=EMFILE", "accept_after_free=served",
                 "client1_ok=1", "accept_idle_at_limit=EMFILE",
                 "accept_pending_again=EMFILE",
                 "accept_after_free_again=served", "client2_ok=1"));
}

/* Every fd used before the first thread: natively the thread is made;
 * under the shim, whose loop needs fds, pthread_create says EAGAIN (never
 * EMFILE, which it cannot return) and the program goes on. */
Test(faults, first_thread_at_the_fd_limit) {
  struct gp_run n, p;
  if (gp_both(&n, &p, 60, "fault_emfile", GP_ARGV("early"), 0,
              "early_create early_ran")) {
    cr_expect(strstr(p.out, "early_create=EAGAIN early_ran=0") != NULL
              || strstr(p.out, "early_create=0 early_ran=1") != NULL,
              "%s", gp_describe(&p));
    gp_expect_token(&p, "client_ok=1");
    gp_run_free(&p);
  }
  gp_expect_token(&n, "early_create=0");
  gp_expect_token(&n, "client_ok=1");
  gp_run_free(&n);
}

/* How many threads fit differs (smaller stacks under the shim); both
 * must make some with 1 MiB stacks after the default-size ones ended. */
Test(faults, low_rlimit_as_pthread_create_says_eagain) {
  struct gp_run n, p;
  const char *want[] = { "default_err=EAGAIN", "default_all_ran=1",
                         "stack1m_err=EAGAIN", "stack1m_all_ran=1", "after=0",
                         NULL };
  int both = gp_both(&n, &p, 90, "fault_stack", GP_ARGV("rlimit"), 0,
                     "default_made stack1m_made");
  for (const char *const *w = want; *w != NULL; w++) {
    gp_expect_token(&n, *w);
    if (both)
      gp_expect_token(&p, *w);
  }
  GP_EXPECT_VAL(&n, "stack1m_made", >, 0);
  if (both) {
    GP_EXPECT_VAL(&p, "stack1m_made", >, 0);
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

Test(faults, map_count_used_up_pthread_create_says_eagain) {
  faults("fault_stack", GP_ARGV("maps"), NULL,
         GP_ARGV("at_map_limit=EAGAIN", "after=0"));
}

Test(faults, signal_storm_with_sa_restart_no_eintr_no_lost_bytes) {
  faults("fault_sigstorm", GP_ARGV("restart"), "signals",
         GP_ARGV("clients_ok=16", "echoed_bytes=134217728", "eintr=0",
                 "handoffs_in_order=100000", "sync_errors=0"));
}

Test(faults, signal_storm_without_sa_restart_no_lost_bytes) {
  faults("fault_sigstorm", GP_ARGV("intr"), "signals eintr_seen",
         GP_ARGV("clients_ok=16", "echoed_bytes=134217728",
                 "handoffs_in_order=100000", "sync_errors=0"));
}

Test(faults, fork_exec_and_system_while_serving) {
  faults("fault_forkload", NULL, NULL,
         GP_ARGV("exec_ok=20", "fork_ok=20", "system_ok=20",
                 "child_messages=20", "clients_ok=8", "served_during=1"));
}
