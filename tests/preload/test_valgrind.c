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
