/* init.c: the constructor: resolves real symbols and reads GPATCH_*. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "real.h"
#include "rt.h"

static void bad_env(const char *msg) {
  gp__log("%s", msg);
  _exit(2);
}

/* A forked child keeps only the calling coroutine: until fork is covered
 * (see README), it continues with the real calls. */
static void atfork_child(void) { gp__tls.sched = 0; }

void gp__init(void) {
  static int done;
  if (done)
    return;
  done = 1;
  gp__real_init();
  char err[256];
  const char *v = secure_getenv("GPATCH_PATCH");
  if (v && gp__parse_patch(v, &gp__config.families, err, sizeof err) != 0)
    bad_env(err);
  v = secure_getenv("GPATCH_STACK_SIZE");
  if (v) {
    size_t sz;
    if (gp__parse_size(v, &sz) != 0 || sz < 16384 || sz > (1ul << 30)) {
      gp__log("GPATCH_STACK_SIZE='%s': expected a size from 16K to 1G "
              "(bytes, or with a K, M or G suffix)", v);
      _exit(2);
    }
    gp__config.stack_size = sz;
  }
  v = secure_getenv("GPATCH_SWITCH");
  if (v && strcmp(v, "asm") != 0 && strcmp(v, "ucontext") != 0) {
    gp__log("GPATCH_SWITCH='%s': expected 'asm' or 'ucontext'", v);
    _exit(2);
  }
  gp__switch_select(v && strcmp(v, "ucontext") == 0);
  gp__set_default_stack(gp__config.stack_size);
  pthread_atfork(NULL, NULL, atfork_child);
}

__attribute__((constructor(101))) static void gp_ctor(void) { gp__init(); }
