/* CPython's own thread and socket tests (test_threading, test_thread,
 * test_queue, test_socket, test_socketserver, test_select,
 * test_selectors) pass under the shim, but for the few that
 * scripts/cpython-tests.sh excludes with their reasons (they need the
 * hand-off or private TLS, which the script does not turn on: the tests
 * below run them with GPATCH_TLS=private). The script checks the shim
 * really ran (one OS thread for three Python threads) and bounds every
 * module by a timeout. Needs Debian's libpython3.11-testsuite (make deps
 * installs it): without it the test is skipped with the reason. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

Test(cpython, thread_and_socket_suites_pass_on_one_os_thread,
     .timeout = 1800) {
  char cmd[3 * PATH_MAX + 128], log[] = "/tmp/gp_cpy.XXXXXX";
  const char *src = gp_src();
  cr_assert(src != NULL, "no source tree (set GPATCH_TEST_SRC)");
  int fd = mkstemp(log);
  cr_assert(fd >= 0);
  close(fd);
  snprintf(cmd, sizeof cmd,
           "timeout -k 10 1500 '%s/scripts/cpython-tests.sh' "
           "'%s/libgpatch.so' >'%s' 2>&1", src, gp_build(), log);
  int st = system(cmd);
  char tail[4096] = "";
  snprintf(cmd, sizeof cmd, "tail -c 3000 '%s'", log);
  FILE *f = popen(cmd, "r");
  if (f) {
    size_t n = fread(tail, 1, sizeof tail - 1, f);
    tail[n] = '\0';
    pclose(f);
  }
  unlink(log);
  cr_assert(WIFEXITED(st), "cpython-tests.sh did not exit: %s", tail);
  if (WEXITSTATUS(st) == 77)
    cr_skip_test("%s", tail);
  cr_expect_eq(WEXITSTATUS(st), 0, "cpython-tests.sh exit %d:\n%s",
               WEXITSTATUS(st), tail);
}

/* The test that needs the hand-off (the script runs it too, in the
 * default private mode), with it: the
 * worker spins in bytecode holding the GIL, the hand-off moves the main
 * thread to another OS thread, its 5 ms timed wait for the GIL fires and
 * it interrupts the loop. Then the same test without the hand-off fails,
 * as it did before (the loop runs all its iterations), so this test can
 * tell them apart. */
static int run_tight_loops(const char *env) {
  char cmd[2 * PATH_MAX + 256];
  snprintf(cmd, sizeof cmd,
           "%s LD_PRELOAD='%s/libgpatch.so' timeout -k 5 120 "
           "/usr/bin/python3 -m test test_threading "
           "-m test_can_interrupt_tight_loops >/dev/null 2>&1",
           env, gp_build());
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(cpython, tight_loops_are_interrupted_with_the_handoff, .timeout = 300) {
  if (access("/usr/lib/python3.11/test/test_threading.py", R_OK) != 0)
    cr_skip_test("libpython3.11-testsuite is not installed (make deps "
                 "installs it)");
  if (!gp_preload_wanted())
    cr_skip_test("the preload is not wanted");
  cr_expect_eq(run_tight_loops("GPATCH_TLS=private"), 0,
               "test_can_interrupt_tight_loops failed with the hand-off");
  cr_expect_neq(run_tight_loops("GPATCH_TLS=private GPATCH_HANDOFF=off"), 0,
                "test_can_interrupt_tight_loops passed without the "
                "hand-off: this test no longer shows what it changes");
}

/* CPython's native-id tests: test_threading's test_various_ops and its
 * small- and large-stack forms check that ten threads and main have 11
 * distinct threading.get_native_id() values, which CPython takes from
 * syscall(SYS_gettid). With private TLS every thread has a tid of its
 * own and the three pass; with shared TLS every coroutine has the OS
 * thread's (1 != 11), so scripts/cpython-tests.sh excludes them there.
 * Both are checked, so that this test tells the modes apart. */
static void various_ops(struct gp_run *r, const char *tls) {
  gp_run(r, 1, GP_ARGV(tls), 240, "/usr/bin/python3",
         GP_ARGV("-m", "test", "-v", "--timeout", "120", "test_threading",
                 "-m", "test_various_ops*"));
}

Test(cpython, native_ids_are_per_thread_with_private_tls, .timeout = 600) {
  if (access("/usr/lib/python3.11/test/test_threading.py", R_OK) != 0)
    cr_skip_test("libpython3.11-testsuite is not installed (make deps "
                 "installs it)");
  if (!gp_preload_wanted())
    cr_skip_test("the preload is not wanted");
  struct gp_run r;
  various_ops(&r, "GPATCH_TLS=private");
  cr_expect(!r.timed_out && WIFEXITED(r.status) &&
                WEXITSTATUS(r.status) == 0 &&
                strstr(r.out, "Ran 3 tests") != NULL &&
                strstr(r.out, "Tests result: SUCCESS") != NULL,
            "test_various_ops* under GPATCH_TLS=private: %s\n%s",
            gp_describe(&r), r.out);
  gp_run_free(&r);
  various_ops(&r, "GPATCH_TLS=shared");
  cr_expect(!r.timed_out && WIFEXITED(r.status) &&
                WEXITSTATUS(r.status) != 0 &&
                strstr(r.out, "AssertionError: 1 != 11") != NULL,
            "test_various_ops* under GPATCH_TLS=shared did not fail on the "
            "native ids: %s\n%s", gp_describe(&r), r.out);
  gp_run_free(&r);
}
