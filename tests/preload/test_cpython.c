/* CPython's own thread and socket tests (test_threading, test_thread,
 * test_queue, test_socket, test_socketserver, test_select,
 * test_selectors) pass under the shim, but for the few that
 * scripts/cpython-tests.sh excludes with their reasons (the hand-off and
 * private TLS are not built yet). The script checks the shim really ran
 * (one OS thread for three Python threads) and bounds every module by a
 * timeout. Needs Debian's libpython3.11-testsuite (make deps installs
 * it): without it the test is skipped with the reason. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
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
