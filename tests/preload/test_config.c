/* Configuration: GPATCH_PATCH selects the patched families,
 * GPATCH_STACK_SIZE the coroutine stack size, GPATCH_SLICE the time
 * slice (milliseconds, or off), GPATCH_DNS_THREADS and
 * GPATCH_FILE_THREADS the pools' sizes; a malformed value stops the
 * program with status 2 and a gpatch: message before its main runs.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

/* Runs config_probe preloaded with one extra environment entry. */
static void probe(struct gp_run *r, const char *setting) {
  gp_run_ok(r, 1, GP_ARGV(setting), 30, "config_probe", GP_ARGV("4"));
}

/* Checks a setting is refused: status 2, main never ran, and stderr starts
 * with "gpatch:" and names what is wrong; for GPATCH_PATCH it lists the
 * known families. */
static void check_refused(const char *setting, int lists_families) {
  static const char *const families[] = { "thread", "sync", "sleep",
                                          "socket", "poll", "dns",
                                          "file" };
  struct gp_run r;
  size_t i;

  if (!gp_preload_wanted())
    cr_skip_test("GPATCH_TEST_NATIVE_ONLY is set");
  cr_assert_eq(gp_run(&r, 1, GP_ARGV(setting), 30, "config_probe",
                      GP_ARGV("4")), 0,
               "cannot start config_probe (or libgpatch.so is missing)");
  gp_expect_exit(&r, 2);
  cr_expect(strstr(r.out, "main=1") == NULL, "main ran; %s", gp_describe(&r));
  cr_expect(strncmp(r.err, "gpatch:", 7) == 0,
            "stderr does not start with gpatch:; %s", gp_describe(&r));
  for (i = 0; lists_families && i < sizeof families / sizeof families[0];
       i++)
    cr_expect(strstr(r.err, families[i]) != NULL,
              "the message does not list %s; %s", families[i],
              gp_describe(&r));
  gp_run_free(&r);
}

/* Checks a setting is accepted and runs on expect_threads OS threads. */
static void check_runs(const char *setting, long expect_threads) {
  struct gp_run r;

  if (!gp_preload_wanted())
    cr_skip_test("GPATCH_TEST_NATIVE_ONLY is set");
  probe(&r, setting);
  GP_EXPECT_VAL(&r, "main", ==, 1);
  GP_EXPECT_VAL(&r, "threads", ==, expect_threads);
  GP_EXPECT_VAL(&r, "done", ==, 1);
  gp_run_free(&r);
}

Test(config, native_probe_runs_on_five_threads) {
  struct gp_run r;

  gp_run_ok(&r, 0, NULL, 30, "config_probe", GP_ARGV("4"));
  GP_EXPECT_VAL(&r, "threads", ==, 5);
  GP_EXPECT_VAL(&r, "done", ==, 1);
  gp_run_free(&r);
}

Test(config, patch_unknown_family_exits_2) {
  check_refused("GPATCH_PATCH=bogus", 1);
}

Test(config, patch_empty_item_exits_2) {
  check_refused("GPATCH_PATCH=all,,sleep", 1);
}

Test(config, patch_trailing_comma_exits_2) {
  check_refused("GPATCH_PATCH=sleep,", 1);
}

Test(config, patch_unknown_removal_exits_2) {
  check_refused("GPATCH_PATCH=all,-bogus", 1);
}

Test(config, patch_all_without_thread_runs_natively) {
  check_runs("GPATCH_PATCH=all,-thread", 5);
}

Test(config, patch_thread_and_sync_runs_on_one_thread) {
  check_runs("GPATCH_PATCH=thread,sync", 1);
}

Test(config, patch_all_runs_on_one_thread) {
  check_runs("GPATCH_PATCH=all", 1);
}

Test(config, stack_size_malformed_exits_2) {
  check_refused("GPATCH_STACK_SIZE=bogus", 0);
}

Test(config, stack_size_bad_suffix_exits_2) {
  check_refused("GPATCH_STACK_SIZE=64X", 0);
}

Test(config, stack_size_64k_runs) {
  check_runs("GPATCH_STACK_SIZE=64K", 1);
}

Test(config, tls_unknown_mode_exits_2) {
  check_refused("GPATCH_TLS=thread", 0);
}

Test(config, tls_shared_runs_on_one_thread) {
  check_runs("GPATCH_TLS=shared", 1);
}

Test(config, tls_private_runs_on_one_thread) {
  check_runs("GPATCH_TLS=private", 1);
}

/* A pool size out of 1 to 1024, or not a plain decimal number, is
 * refused, and the message names the variable and the value. */
Test(config, pool_sizes_malformed_exit_2) {
  static const char *const bad[] = {
    "GPATCH_DNS_THREADS=0",    "GPATCH_DNS_THREADS=1025",
    "GPATCH_DNS_THREADS=-4",   "GPATCH_DNS_THREADS=ten",
    "GPATCH_DNS_THREADS=",     "GPATCH_DNS_THREADS=16k",
    "GPATCH_DNS_THREADS= 8",   "GPATCH_FILE_THREADS=0",
    "GPATCH_FILE_THREADS=99999999999999",
  };

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char want[64];
    const char *eq = strchr(bad[i], '=');
    struct gp_run r;

    check_refused(bad[i], 0);
    snprintf(want, sizeof want, "%.*s='%s'", (int)(eq - bad[i]), bad[i],
             eq + 1);
    cr_assert_eq(gp_run(&r, 1, GP_ARGV(bad[i]), 30, "config_probe",
                        GP_ARGV("4")), 0);
    cr_expect(strstr(r.err, want) != NULL && strstr(r.err, "1 to 1024"),
              "no message naming %s and the range; %s", want,
              gp_describe(&r));
    gp_run_free(&r);
  }
}

Test(config, pool_sizes_in_range_run) {
  check_runs("GPATCH_DNS_THREADS=1", 1);
  check_runs("GPATCH_DNS_THREADS=1024", 1);
  check_runs("GPATCH_FILE_THREADS=3", 1);
}

Test(config, slice_malformed_exits_2) {
  check_refused("GPATCH_SLICE=5ms", 0);
  check_refused("GPATCH_SLICE=-1", 0);
  check_refused("GPATCH_SLICE=20000", 0);
}

Test(config, slice_off_and_ms_run) {
  check_runs("GPATCH_SLICE=off", 1);
  check_runs("GPATCH_SLICE=1", 1);
}
