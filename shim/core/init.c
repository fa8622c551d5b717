/* init.c: the constructor: resolves real symbols, hands the runtime its
 * hooks table (core/hooks.c) and reads GPATCH_*. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/config.h"
#include "core/diag.h"
#include "core/hooks.h"
#include "core/offload.h"
#include "process/intr.h"
#include "process/proc.h"
#include "real.h"
#include "rt.h"

/* A malformed setting: one "gpatch:" line on stderr (the log file is
 * opened last, so it is never the destination), then exit status 2
 * before the program's main runs. */
__attribute__((noreturn, format(printf, 1, 2))) static void
bad_env(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  gp__logl(GP_LOG_ERROR, "%s", msg);
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
      bad_env("GPATCH_DUMP_SIGNAL='%s': expected a signal that can be "
              "caught, by name (SIGUSR2, USR2) or number", v);
    }
  }
  v = secure_getenv("GPATCH_DEADLOCK");
  if (v && strcmp(v, "abort") != 0 && strcmp(v, "wait") != 0)
    bad_env("GPATCH_DEADLOCK='%s': expected abort (report and abort, the "
            "default) or wait (report and keep waiting)", v);
  gp__set_deadlock_wait(v && strcmp(v, "wait") == 0);
  v = secure_getenv("GPATCH_INHERIT");
  if (v && strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
    bad_env("GPATCH_INHERIT='%s': expected 1 (programs it runs are "
            "patched too, the default) or 0 (they are not)", v);
  if (v && strcmp(v, "0") == 0)
    gp_inherit_strip();
}

/* GPATCH_PATCH, GPATCH_STACK_SIZE, GPATCH_SWITCH, GPATCH_TLS,
 * GPATCH_SLICE, GPATCH_HANDOFF and GPATCH_MAX_OS_THREADS. */
static void read_core(void) {
  char err[256];
  const char *v = secure_getenv("GPATCH_PATCH");
  if (v && gp_parse_patch(v, &gp_conf.families, err, sizeof err) != 0)
    bad_env("%s", err);
  v = secure_getenv("GPATCH_STACK_SIZE");
  if (v) {
    size_t sz;
    if (gp_parse_size(v, &sz) != 0 || sz < 16384 || sz > (1ul << 30))
      bad_env("GPATCH_STACK_SIZE='%s': expected a size from 16K to 1G "
              "(bytes, or with a K, M or G suffix)", v);
    gp_conf.stack_size = sz;
  }
  v = secure_getenv("GPATCH_SWITCH");
  if (v && strcmp(v, "asm") != 0 && strcmp(v, "ucontext") != 0)
    bad_env("GPATCH_SWITCH='%s': expected 'asm' or 'ucontext'", v);
  gp__switch_select(v && strcmp(v, "ucontext") == 0);
  v = secure_getenv("GPATCH_TLS");
  if (v && strcmp(v, "private") != 0 && strcmp(v, "shared") != 0)
    bad_env("GPATCH_TLS='%s': expected 'private' (a thread-local storage "
            "block per coroutine, the default) or 'shared' (coroutines "
            "share the OS thread's)", v);
  gp__tls_select(!(v && strcmp(v, "shared") == 0));
  gp__set_default_stack(gp_conf.stack_size);
  v = secure_getenv("GPATCH_SLICE");
  if (v && gp_parse_slice(v, &gp_conf.slice_ms) != 0)
    bad_env("GPATCH_SLICE='%s': expected milliseconds, from 1 to %d, or 0 "
            "or off (no time slice)", v, GP_SLICE_MAX_MS);
  gp__slice_set(gp_conf.slice_ms * 1000000);
  v = secure_getenv("GPATCH_HANDOFF");
  long ms = GP_HANDOFF_DEFAULT_MS, threads = 0;
  if (v && gp_parse_slice(v, &ms) != 0)
    bad_env("GPATCH_HANDOFF='%s': expected milliseconds, from 1 to %d, or "
            "0 or off (no hand-off)", v, GP_SLICE_MAX_MS);
  v = secure_getenv("GPATCH_MAX_OS_THREADS");
  if (v && gp_parse_count(v, 2, 64, &threads) != 0)
    bad_env("GPATCH_MAX_OS_THREADS='%s': expected a number of OS threads "
            "for coroutines, from 2 to 64", v);
  gp__handoff_set(ms * 1000000, (unsigned)threads);
}

/* The most threads a pool lane may have, from GPATCH_DNS_THREADS and
 * GPATCH_FILE_THREADS; the defaults are the hooks table's (core/hooks.c,
 * which the runtime has been given already). The PEER lane has no
 * variable: see the table. */
static void read_pools(void) {
  static const struct {
    const char *name;
    unsigned lane;
  } pools[] = {
    {"GPATCH_DNS_THREADS", GP_LANE_DNS},
    {"GPATCH_FILE_THREADS", GP_LANE_FILE},
  };
  for (size_t i = 0; i < sizeof pools / sizeof pools[0]; i++) {
    const char *v = secure_getenv(pools[i].name);
    long n;
    if (v == NULL)
      continue;
    if (gp_parse_count(v, 1, GP_POOL_THREADS_MAX, &n) != 0)
      bad_env("%s='%s': expected a number of threads, from 1 to %d",
              pools[i].name, v, GP_POOL_THREADS_MAX);
    gp__work_set_limit(pools[i].lane, (unsigned)n);
  }
}

/* Set in the environment once a process has opened GPATCH_LOG_FILE, so
 * that programs it starts know the setting was good at start-up. */
#define LOG_OPENED "GPATCH_LOG_FILE_OPENED"

/* Opens the log file at path. The process that starts with a path it
 * cannot open exits with status 2, as for any bad setting. A program that
 * process starts may not be able to open it (a daemon's child that runs
 * as another user, a file replaced meanwhile): that one logs to stderr
 * after one warning and runs on, since the setting was good where it was
 * given. */
static void open_log(const char *path) {
  int err = gp__log_open(path);
  if (err == 0) {
    setenv(LOG_OPENED, "1", 1);
    return;
  }
  if (secure_getenv(LOG_OPENED) == NULL)
    bad_env("GPATCH_LOG_FILE='%s': cannot open it for appending: %s (a "
            "regular file or a device, not a symbolic link)", path,
            strerror(-err));
  gp__logl(GP_LOG_WARN, "GPATCH_LOG_FILE='%s': cannot open it here (%s); "
           "this process logs to stderr", path, strerror(-err));
}

/* GPATCH_STATS, GPATCH_MAX_BLOCKING, GPATCH_LOG and GPATCH_LOG_FILE. The
 * file is opened only once every value is known to be good. */
static void read_diag(void) {
  const char *v = secure_getenv("GPATCH_STATS");
  if (v && strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
    bad_env("GPATCH_STATS='%s': expected 1 (report at exit) or 0", v);
  gp_conf.stats = v && v[0] == '1';
  v = secure_getenv("GPATCH_MAX_BLOCKING");
  if (v && gp_parse_count(v, 0, 3600000, &gp_conf.max_blocking) != 0)
    bad_env("GPATCH_MAX_BLOCKING='%s': expected milliseconds, from 1 to "
            "3600000 (0 turns the monitor off)", v);
  int level = GP_LOG_WARN;
  v = secure_getenv("GPATCH_LOG");
  if (v && gp_parse_level(v, &level) != 0)
    bad_env("GPATCH_LOG='%s': expected error, warn, info or debug", v);
  v = secure_getenv("GPATCH_LOG_FILE");
  if (v && v[0] == '\0')
    bad_env("GPATCH_LOG_FILE is empty: expected the path of the log file");
  gp__log_level = (unsigned char)level;
  if (v)
    open_log(v);
}

/* Resolves the real symbols, hands the hooks table to the runtime (the
 * only wiring between the two, core/hooks.c) and reads GPATCH_*, once:
 * from the constructor, or earlier from the first hook that needs it
 * (another library's constructor). Always before the runtime starts:
 * whatever starts it calls this first. */
void gp_init(void) {
  static int done;
  if (done)
    return;
  done = 1;
  gp__real_init();
  gp__rt_set_hooks(&gp_hooks);
  read_core();
  read_pools();
  init_process();
  read_diag();
  gp_diag_setup();
  pthread_atfork(gp_fork_prepare, gp_fork_parent, gp_fork_child);
}

__attribute__((constructor(101))) static void gp_ctor(void) { gp_init(); }
