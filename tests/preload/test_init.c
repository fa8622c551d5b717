/* The shim's start: hooks reached before its constructor ran, from the
 * constructor of a library the loader initialises first, resolve the
 * real symbols themselves and work (DESIGN.md, Known traps). */
#include <criterion/criterion.h>
#include <stdio.h>

#include "harness.h"

Test(init, hooks_called_from_an_earlier_constructor_work) {
  char preload[512];
  /* Initialised in reverse order of the list: libearly.so first. */
  snprintf(preload, sizeof preload,
           "LD_PRELOAD=%s/libgpatch.so %s/progs/libearly.so", gp_build(),
           gp_build());
  struct gp_run r;
  gp_run_ok(&r, 0, GP_ARGV(preload), 20, "sync_once", GP_ARGV("4"));
  GP_EXPECT_VAL(&r, "early_ok", ==, 1);
  GP_EXPECT_VAL(&r, "runs", ==, 1);
  GP_EXPECT_VAL(&r, "saw_done", ==, 4);
  GP_EXPECT_VAL(&r, "threads", ==, 1); /* the shim is active in main */
  gp_run_free(&r);
}
