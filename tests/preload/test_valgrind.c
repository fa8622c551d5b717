/* Memcheck on programs under the preload: the runtime's stack switching,
 * fd table and wait queues must not read or write what they do not own.
 * Skipped, with the reason printed, when valgrind is not installed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define VALGRIND "/usr/bin/valgrind"

static void memcheck(const char *prog, const char *const *args) {
  if (access(VALGRIND, X_OK) != 0)
    cr_skip_test("valgrind is not installed (make deps installs it)");
  char path[4096];
  snprintf(path, sizeof path, "%s/progs/%s", gp_build(), prog);
  const char *argv[8] = {"--error-exitcode=9", "-q", "--leak-check=no",
                         path};
  for (int i = 0; args && args[i] && i < 3; i++)
    argv[4 + i] = args[i];
  struct gp_run r;
  gp_run_ok(&r, 1, NULL, 120, VALGRIND, argv);
  cr_expect_eq(strstr(r.err, "=="), NULL, "memcheck said: %s", r.err);
  gp_run_free(&r);
}

Test(valgrind, keys_and_destructors) { memcheck("keys", NULL); }

Test(valgrind, pipe_producer_consumer) {
  memcheck("pipe_pc", GP_ARGV("pipe", "200", "100000"));
}

Test(valgrind, condvar_queue) { memcheck("condqueue", NULL); }

Test(valgrind, signal_interrupts_accept) {
  memcheck("sig_interrupt", GP_ARGV("intr"));
}

Test(valgrind, late_data_and_flag_changes) { memcheck("flag_cache", NULL); }

/* Private TLS (GPATCH_TLS=private): the programs of test_tlsprivate under
 * memcheck, which emulates the thread pointer's switch (arch_prctl and
 * wrfsbase), with a full leak check: memory no pointer reaches any more
 * ("definitely lost") is an error too, such as the buffer of a thread's
 * strerror left behind when its block is reused. Each run must also have
 * been private (no "gpatch:" warning, one OS thread) and printed want for
 * key. With valgrind's malloc, glibc's per-thread malloc cache is not in
 * play here (tls_churn's RSS checks in test_tlsprivate cover it).
 * GPATCH_HANDOFF=off: under memcheck's slowdown a coroutine often runs
 * the hand-off's 20 ms without a switch, and the hand-off then moves the
 * scheduler to a spare OS thread (threads=2; or 0 when the count catches
 * a new spare still named after the monitor that made it); and 2 of 8
 * runs of tls_thread setxid hung for good with it under load, none of 8
 * without it (natively, with GPATCH_HANDOFF=1, 30 of 30 ran). */
static void memcheck_private(const char *prog, const char *const *args,
                             const char *key, long want, int leaks) {
  if (access(VALGRIND, X_OK) != 0)
    cr_skip_test("valgrind is not installed (make deps installs it)");
  if (!gp_preload_wanted())
    cr_skip_test("the preload is not wanted");
  char path[4096];
  snprintf(path, sizeof path, "%s/progs/%s", gp_build(), prog);
  const char *argv[12] = {"--error-exitcode=9", "-q"};
  int n = 2;
  if (leaks) {
    argv[n++] = "--leak-check=full";
    argv[n++] = "--errors-for-leak-kinds=definite";
    argv[n++] = "--show-leak-kinds=definite";
  } else {
    argv[n++] = "--leak-check=no";
  }
  argv[n++] = path;
  for (int i = 0; args && args[i] && i < 4; i++)
    argv[n++] = args[i];
  struct gp_run r;
  gp_run_ok(&r, 1, GP_ARGV("GPATCH_TLS=private", "GPATCH_HANDOFF=off"), 240,
            VALGRIND, argv);
  cr_expect_eq(strstr(r.err, "=="), NULL, "memcheck said: %s", r.err);
  cr_expect_eq(strstr(r.err, "gpatch:"), NULL, "not private: %s", r.err);
  GP_EXPECT_VAL(&r, "threads", ==, 1);
  GP_EXPECT_VAL(&r, key, ==, want);
  gp_run_free(&r);
}

Test(valgrind, private_tls_counters, .timeout = 300) {
  memcheck_private("tls_private", GP_ARGV("counters"), "own", 8, 1);
}

Test(valgrind, private_tls_errno, .timeout = 300) {
  memcheck_private("tls_private", GP_ARGV("errno"), "errno_ok", 8, 1);
}

Test(valgrind, private_tls_strerror_and_locale, .timeout = 300) {
  memcheck_private("tls_private", GP_ARGV("strerror"), "locale_ok", 8, 1);
}

Test(valgrind, private_tls_self_and_fork, .timeout = 300) {
  memcheck_private("tls_private", GP_ARGV("self"), "self_ok", 8, 1);
  memcheck_private("tls_private", GP_ARGV("fork"), "child_status", 0, 1);
}

Test(valgrind, private_tls_shared_stream, .timeout = 300) {
  memcheck_private("tls_private", GP_ARGV("stream"), "echo", 1, 1);
}

Test(valgrind, private_tls_cxx_exceptions, .timeout = 300) {
  memcheck_private("tls_private_cxx", GP_ARGV("exceptions"), "own", 200, 1);
}

Test(valgrind, private_tls_cxx_thread_local_objects, .timeout = 300) {
  memcheck_private("tls_private_cxx", GP_ARGV("objects"), "dtors", 10, 1);
}

Test(valgrind, private_tls_tids_res_and_stack, .timeout = 300) {
  memcheck_private("tls_thread", GP_ARGV("tids"), "tids_distinct", 8, 1);
  memcheck_private("tls_thread", GP_ARGV("res"), "res_own", 8, 1);
  memcheck_private("tls_thread", GP_ARGV("stack"), "getattr_ok", 1, 1);
}

/* No leak check: a name lookup there runs on the shim's DNS pool thread
 * (a real thread), whose resolver configuration memcheck reports as
 * definitely lost, in the shared mode too. */
Test(valgrind, private_tls_setuid_in_a_thread, .timeout = 300) {
  memcheck_private("tls_thread", GP_ARGV("setxid"), "setxid_ok", 1, 0);
}

Test(valgrind, private_tls_dlopen_initial_exec, .timeout = 300) {
  memcheck_private("tls_dlopen", NULL, "ie_init", 8, 1);
}

/* 2,000 short threads, 100 at a time: blocks reused 1,900 times. */
Test(valgrind, private_tls_short_threads_leave_nothing, .timeout = 300) {
  memcheck_private("tls_churn", GP_ARGV("2000", "100", "1000"), "dtors",
                   2000, 1);
}
