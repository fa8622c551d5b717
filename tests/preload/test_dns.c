/* DNS family: name look-ups run on a pool thread while the caller parks,
 * with exactly the native results and error codes, and a slow name server
 * stalls only the thread that asked.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>

#include "harness.h"

/* Checks the dns_lookup results that do not depend on the machine. */
static void check_lookup(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "gai_localhost", ==, 0);
  GP_EXPECT_VAL(r, "gai_numeric4", ==, 0);
  GP_EXPECT_VAL(r, "gai_numeric6", ==, 0);
  GP_EXPECT_VAL(r, "gai_bad_service", ==, EAI_SERVICE);
  GP_EXPECT_VAL(r, "gai_bad_family", ==, EAI_FAMILY);
  GP_EXPECT_VAL(r, "gai_not_numeric", ==, EAI_NONAME);
  GP_EXPECT_VAL(r, "gni", ==, 0);
  GP_EXPECT_VAL(r, "gni_small", ==, EAI_OVERFLOW);
  GP_EXPECT_VAL(r, "gni_bad_family", ==, EAI_FAMILY);
  GP_EXPECT_VAL(r, "ghbn_r_small", ==, ERANGE);
  gp_expect_token(r, "ghbn=ok");
  gp_expect_token(r, "ghbn_addrs=127.0.0.1");
  gp_expect_token(r, "ghba_name=localhost");
  gp_expect_token(r, "ghba_r_name=localhost");
  gp_expect_token(r, "gai_localhost_canon_canon=localhost");
}

Test(dns, lookups_match_native) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 30, "dns_lookup", NULL, 3, "threads_after")) {
    check_lookup(&p);
    /* The look-ups ran on pool threads, not on the scheduler thread. */
    GP_EXPECT_VAL(&p, "threads_after", >=, 2);
  }
  check_lookup(&n);
  gp_run_free(&n);
  gp_run_free(&p);
}

Test(dns, family_off_gives_the_real_calls_on_one_thread) {
  struct gp_run n, p;

  if (!gp_preload_wanted())
    cr_skip_test("GPATCH_TEST_NATIVE_ONLY is set");
  gp_run_ok(&n, 0, NULL, 30, "dns_lookup", NULL);
  gp_run_ok(&p, 1, GP_ARGV("GPATCH_PATCH=all,-dns"), 30, "dns_lookup", NULL);
  check_lookup(&p);
  GP_EXPECT_VAL(&p, "threads_after", ==, 1);
  gp_expect_same(&n, &p, "threads threads_after");
  gp_run_free(&n);
  gp_run_free(&p);
}

/* Checks a dns_slow run: every slow look-up found its address after the
 * delay, the three ran at once, the ticker ticked, NXDOMAIN reported. */
static void check_slow(const struct gp_run *r) {
  GP_EXPECT_VAL(r, "slow_ok", ==, 1);
  GP_EXPECT_VAL(r, "parallel", ==, 1);
  GP_EXPECT_VAL(r, "ticked", ==, 1);
  GP_EXPECT_VAL(r, "gone_gai", ==, EAI_NONAME);
  GP_EXPECT_VAL(r, "gone_ghbn_null", ==, 1);
  GP_EXPECT_VAL(r, "gone_ghbn_herrno", ==, HOST_NOT_FOUND);
  GP_EXPECT_VAL(r, "gone_ghbn_r_herr", ==, HOST_NOT_FOUND);
  gp_expect_token(r, "slow2=192.0.2.21,192.0.2.22,192.0.2.23");
}

/* exit() while a look-up waits on a pool thread ends the process at once,
 * as natively (the pool's threads are never joined). */
Test(dns, exit_does_not_wait_for_a_lookup) {
  struct gp_run r;
  int preload;

  for (preload = 0; preload <= gp_preload_wanted(); preload++) {
    gp_run_ok(&r, preload, NULL, 30, "dns_slow", GP_ARGV("3000", "exit"));
    if (gp_kv(r.out, "skip") == 1) {
      gp_run_free(&r);
      cr_skip_test("cannot make a private name server");
    }
    GP_EXPECT_VAL(&r, "exiting", ==, 1);
    cr_expect_lt(r.elapsed, 1.5, "exit took %.2f s; %s", r.elapsed,
                 gp_describe(&r));
    gp_run_free(&r);
  }
}

Test(dns, slow_name_server_stalls_only_the_caller) {
  struct gp_run n, p;

  /* Its own namespaces: a private resolv.conf and name server. */
  gp_run_ok(&n, 0, NULL, 30, "dns_slow", GP_ARGV("300"));
  if (gp_kv(n.out, "skip") == 1) {
    const char *why = strstr(n.out, "reason=");

    cr_log_warn("dns_slow skipped: %s", why ? why : n.out);
    gp_run_free(&n);
    cr_skip_test("cannot make a private name server: %s", why ? why : "");
  }
  check_slow(&n);
  GP_EXPECT_VAL(&n, "threads", ==, 6);
  if (gp_preload_wanted()) {
    gp_run_ok(&p, 1, NULL, 30, "dns_slow", GP_ARGV("300"));
    check_slow(&p);
    GP_EXPECT_VAL(&p, "threads", ==, 1);
    gp_expect_same(&n, &p, "threads ticks all_ms");
    gp_run_free(&p);
  }
  gp_run_free(&n);
}

/* Runs dns_slow DELAY_MS burst N with env (preloaded when preload), or
 * skips the test when no private name server can be made. */
static void run_burst(struct gp_run *r, int preload, const char *const *env,
                      const char *delay, const char *n) {
  gp_run_ok(r, preload, env, 60, "dns_slow", GP_ARGV(delay, "burst", n));
  if (gp_kv(r->out, "skip") == 1) {
    gp_run_free(r);
    cr_skip_test("cannot make a private name server");
  }
  GP_EXPECT_VAL(r, "burst_ok", ==, 1);
}

/* 100 threads resolving at once start at most the DNS pool's 16 threads
 * beside the scheduler's (natively: one per caller), and the burst takes
 * the rounds that implies: ceil(100 / 16) = 7 delays of 100 ms. */
Test(dns, a_burst_of_lookups_starts_at_most_the_pool) {
  struct gp_run n, p;

  run_burst(&n, 0, NULL, "100", "100");
  GP_EXPECT_VAL(&n, "peak_threads", >=, 100);
  gp_run_free(&n);
  if (!gp_preload_wanted())
    return;
  run_burst(&p, 1, NULL, "100", "100");
  GP_EXPECT_VAL(&p, "peak_threads", <=, 16 + 1);
  GP_EXPECT_VAL(&p, "peak_threads", >=, 2);
  GP_EXPECT_VAL(&p, "burst_ms", >=, 7 * 100 - 20);
  gp_run_free(&p);
}

/* GPATCH_DNS_THREADS=2: exactly two pool threads run the 20 look-ups, in
 * 10 rounds of 50 ms. */
Test(dns, dns_threads_setting_is_honoured) {
  struct gp_run p;

  if (!gp_preload_wanted())
    cr_skip_test("GPATCH_TEST_NATIVE_ONLY is set");
  run_burst(&p, 1, GP_ARGV("GPATCH_DNS_THREADS=2"), "50", "20");
  GP_EXPECT_VAL(&p, "peak_threads", ==, 2 + 1);
  GP_EXPECT_VAL(&p, "burst_ms", >=, 10 * 50 - 20);
  gp_run_free(&p);
}

/* A child forked while the DNS lane has an idle thread (which did not
 * survive the fork) starts a new one for its look-up, as natively. */
Test(dns, a_child_forked_after_a_lookup_resolves) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 30, "dns_fork", NULL, 0, NULL)) {
    GP_EXPECT_VAL(&p, "child_rc", ==, 0);
    GP_EXPECT_VAL(&p, "child_exit", ==, 0);
  }
  GP_EXPECT_VAL(&n, "child_exit", ==, 0);
  gp_run_free(&n);
  gp_run_free(&p);
}
