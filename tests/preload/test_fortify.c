/* _FORTIFY_SOURCE: a program built as Debian builds its packages calls
 * __read_chk, __recv_chk, __recvfrom_chk, __poll_chk, __ppoll_chk and
 * __pread_chk instead of the plain names (DESIGN.md, Known traps). Each
 * must park only its caller, as the plain hook does: glibc's own versions
 * call libc's internal names and would block the one OS thread. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

/* The program really imports the entry points (a compiler that turned
 * fortification off would make the test prove nothing). */
static void expect_imports(const char *prog, const char *const *names) {
  char cmd[512], line[256], seen[2048] = "";
  snprintf(cmd, sizeof cmd, "timeout 10 nm -D --undefined-only %s/progs/%s",
           gp_build(), prog);
  FILE *f = popen(cmd, "r");
  cr_assert_not_null(f, "cannot run %s", cmd);
  while (fgets(line, sizeof line, f) != NULL &&
         strlen(seen) + strlen(line) < sizeof seen)
    strcat(seen, line);
  cr_assert_eq(pclose(f), 0, "%s failed", cmd);
  for (; *names != NULL; names++) {
    char want[64];
    snprintf(want, sizeof want, " %s@", *names);
    cr_expect_not_null(strstr(seen, want), "%s does not import %s", prog,
                       *names);
  }
}

static void check(const struct gp_run *r) {
  static const char *const ones[] = {"read_rc", "poll_rc", "ppoll_rc",
                                     "recv_rc", "recvfrom_rc", "pread_data"};
  for (size_t i = 0; i < sizeof ones / sizeof ones[0]; i++)
    GP_EXPECT_VAL(r, ones[i], ==, 1);
  GP_EXPECT_VAL(r, "pread_rc", ==, 12);
}

Test(fortify, chk_entry_points_park_only_their_caller) {
  expect_imports("fortified",
                 GP_ARGV("__read_chk", "__recv_chk", "__recvfrom_chk",
                         "__poll_chk", "__ppoll_chk", "__pread_chk"));
  gp_both_check("fortified", NULL, 2, NULL, check);
}
