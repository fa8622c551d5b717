/* init.c: the constructor: resolves real symbols and reads GPATCH_*. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "intr.h"
#include "proc.h"
#include "real.h"
#include "rt.h"

static void bad_env(const char *msg) {
  gp__log("%s", msg);
  _exit(2);
}

/* A signal by name (SIGUSR2, USR2, case ignored) or number; 0 when s
 * names none. */
static int parse_signal(const char *s) {
  if (strncasecmp(s, "SIG", 3) == 0)
    s += 3;
  if (*s >= '0' && *s <= '9') {
    char *end;
    long n = strtol(s, &end, 10);
    return *end == '\0' && n > 0 && n < NSIG ? (int)n : 0;
  }
  for (int sig = 1; sig < SIGRTMIN; sig++) {
    const char *name = sigabbrev_np(sig);
    if (name && strcasecmp(s, name) == 0)
      return sig;
  }
  return 0;
}

/* GPATCH_DUMP_SIGNAL and GPATCH_INHERIT. */
static void init_process(void) {
  const char *v = secure_getenv("GPATCH_DUMP_SIGNAL");
  if (v) {
    int sig = parse_signal(v);
    if (sig == 0 || sig == SIGKILL || sig == SIGSTOP ||
        gp_signal_dump_init(sig) != 0) {
      gp__log("GPATCH_DUMP_SIGNAL='%s': expected a signal that can be "
              "caught, by name (SIGUSR2, USR2) or number", v);
      _exit(2);
    }
  }
  v = secure_getenv("GPATCH_INHERIT");
  if (v && strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
    gp__log("GPATCH_INHERIT='%s': expected 1 (programs it runs are "
            "patched too, the default) or 0 (they are not)", v);
    _exit(2);
  }
  if (v && strcmp(v, "0") == 0)
    gp_inherit_strip();
}

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
  init_process();
  pthread_atfork(NULL, NULL, gp_fork_child);
}

__attribute__((constructor(101))) static void gp_ctor(void) { gp__init(); }
