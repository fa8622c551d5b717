/* A parent's pipe and socket, given to a patched child as its stdin and
 * stdout and used blockingly by the child's threads, keep their file
 * flags (no O_NONBLOCK) before, during and after the child's run. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

Test(sharedflags, parent_pipe_and_socket_flags_unchanged) {
  char lib[PATH_MAX];
  snprintf(lib, sizeof lib, "%s/libgpatch.so", gp_build());
  char *abs = realpath(lib, NULL);
  cr_assert_not_null(abs, "no %s", lib);
  struct gp_run r;
  gp_run_ok(&r, 0, NULL, 30, "flags_parent", GP_ARGV(abs));
  GP_EXPECT_VAL(&r, "flags_unchanged", ==, 1);
  GP_EXPECT_VAL(&r, "bytes_back", ==, 1700);
  GP_EXPECT_VAL(&r, "child_ok", ==, 1);
  gp_run_free(&r);
  free(abs);
}
