/* monitor.c: the blocking monitor (GPATCH_MAX_BLOCKING=MS).
 *
 * Nothing preempts a coroutine: one that computes, spins or makes a real
 * blocking call holds up all the others. A helper OS thread (a real
 * thread with every signal blocked, so none of the program's signals
 * lands there) looks 8 times per MS at what the scheduler thread
 * runs: the runtime notes the time of every switch (runtime/diag.c).
 * When one coroutine has run MS without a switch while others exist, the
 * helper reports it, once per episode: which coroutine, for how long, and
 * its backtrace; when the episode ends, how long it lasted in all. The
 * reports were asked for, so GPATCH_LOG's threshold does not hide them.
 *
 * The backtrace must be taken on the scheduler thread: the helper sends
 * it SIGURG (ignored by default and rarely used, which is why the Go
 * runtime preempts with it too) with a cookie, and the handler, on the
 * alternate signal stack, writes backtrace_symbols_fd lines to the log
 * and returns, so the coroutine goes on. backtrace() loads libgcc's
 * unwinder on its first call, which is not signal-safe: the monitor calls
 * it once when it starts. A SIGURG without the cookie is the program's
 * and goes to the program's handler.
 *
 * A coroutine blocked in a real system call is not interrupted (the call
 * could fail with EINTR, which the program would see): the report names
 * the system call instead, from /proc. Nor is one that blocks SIGURG.
 */
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/diag.h"
#include "core/guard.h"
#include "real.h"

#define COOKIE 0x67706d6e  /* "gpmn": this SIGURG is the monitor's */
#define FRAMES 48          /* backtrace depth */
#define SKIP 2             /* the handler and the signal trampoline */

static long limit_ms;          /* GPATCH_MAX_BLOCKING */
static int sched_tid;          /* the thread to sample */
static int stopping;           /* the process is exiting */
static int running;            /* its thread was started */
static uint64_t want_seq;      /* the episode a backtrace is asked for */

static void on_sample(int sig, siginfo_t *si, void *uc) {
  if (si->si_code != SI_QUEUE || si->si_pid != getpid() ||
      si->si_value.sival_int != COOKIE) {
    gp_sig_forward(sig, si, uc);
    return;
  }
  int saved = errno;
  struct gp_running r;
  if (gp__running(&r) != 0 ||
      r.seq != __atomic_load_n(&want_seq, __ATOMIC_ACQUIRE))
    goto out; /* it has yielded meanwhile: nothing to show */
  void *frames[FRAMES];
  int n = backtrace(frames, FRAMES);
  int fd = gp__log_fd();
  for (int i = SKIP; i < n; i++) {
    gp_msg m;
    gp__msg_begin(&m, GP_LOG_WARN);
    gp__msg_str(&m, "blocking:   #");
    gp__msg_uint(&m, (uint64_t)(i - SKIP));
    gp__msg_str(&m, " ");
    GP_REAL(write)(fd, m.buf, m.len);
    backtrace_symbols_fd(&frames[i], 1, fd);
  }
out:
  errno = saved;
}

/* Reads /proc/self/task/<tid>/<what> into buf (NUL-terminated); returns
 * the length, or -1. */
static ssize_t read_task(const char *what, char *buf, size_t len) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/%s", sched_tid, what);
  int fd = GP_REAL(openat)(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = GP_REAL(read)(fd, buf, len - 1);
  GP_REAL(close)(fd);
  buf[n > 0 ? n : 0] = '\0';
  return n;
}

/* Whether the scheduler thread blocks SIGURG now (its SigBlk mask). */
static int urg_blocked(void) {
  char buf[4096];
  if (read_task("status", buf, sizeof buf) <= 0)
    return 0;
  char *p = strstr(buf, "\nSigBlk:");
  if (p == NULL)
    return 0;
  unsigned long long mask = strtoull(p + 8, NULL, 16);
  return (mask >> (SIGURG - 1)) & 1;
}

/* Asks the scheduler thread for the backtrace of episode seq, or says why
 * it cannot be had. */
static void ask_backtrace(uint64_t seq) {
  char buf[256];
  if (read_task("syscall", buf, sizeof buf) > 0 &&
      strncmp(buf, "running", 7) != 0) {
    gp__logl(GP_LOG_WARN, "blocking:   it is in a real system call "
             "(number %d on this machine), which gpatch does not interrupt",
             atoi(buf));
    return;
  }
  if (urg_blocked()) {
    gp__logl(GP_LOG_WARN, "blocking:   no backtrace: it blocks SIGURG");
    return;
  }
  __atomic_store_n(&want_seq, seq, __ATOMIC_RELEASE);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = SIGURG;
  si.si_code = SI_QUEUE;
  si.si_pid = getpid();
  si.si_uid = getuid();
  si.si_value.sival_int = COOKIE;
  GP_REAL(syscall)(SYS_rt_tgsigqueueinfo, getpid(), sched_tid, SIGURG, &si);
}

/* "coroutine #2 'name'" (numbered as the dump numbers them), or "the
 * main coroutine (#0)". */
static void describe(const struct gp_running *r, char *buf, size_t len) {
  if (r->is_main)
    snprintf(buf, len, "the main coroutine (#0)");
  else if (r->name[0])
    snprintf(buf, len, "coroutine #%d '%s'", r->number, r->name);
  else
    snprintf(buf, len, "coroutine #%d", r->number);
}

/* Sleeps for ns nanoseconds on the helper thread. */
static void nap(int64_t ns) {
  struct timespec ts = {ns / 1000000000, ns % 1000000000};
  while (GP_REAL(clock_nanosleep)(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
    ;
}

static void *monitor_main(void *arg) {
  (void)arg;
  int64_t limit = (int64_t)limit_ms * 1000000;
  int64_t period = limit / 8;
  period = period < 1000000 ? 1000000 : period > 100000000 ? 100000000
                                                           : period;
  uint64_t reported = 0; /* the episode reported last (0: none) */
  int open = 0;          /* its end is still to be reported */
  char who[64] = "";
  for (;;) {
    nap(period);
    struct gp_running r;
    if (__atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
      return NULL;
    if (gp__running(&r) != 0)
      continue;
    if (open && r.long_seq == reported) {
      gp__logl(GP_LOG_WARN, "blocking: %s yielded after %lld ms", who,
              (long long)(r.long_ns / 1000000));
      open = 0;
    }
    int64_t ran = gp__diag_clock() - r.since;
    if (r.coro == NULL || r.seq == reported || ran < limit ||
        __atomic_load_n(&gp__nlive, __ATOMIC_RELAXED) < 2)
      continue;
    describe(&r, who, sizeof who);
    gp__logl(GP_LOG_WARN, "blocking: %s has run %lld ms without yielding, "
             "holding up the other coroutines (GPATCH_MAX_BLOCKING=%ld)",
             who, (long long)(ran / 1000000), limit_ms);
    reported = r.seq;
    open = 1;
    ask_backtrace(r.seq);
  }
}

void gp_monitor_start(long ms) {
  void *probe[1];
  backtrace(probe, 1); /* loads the unwinder now, not in the handler */
  limit_ms = ms;
  sched_tid = gp__sched_tid();
  gp__diag_set_limit((int64_t)ms * 1000000);
  if (gp_sig_keep(SIGURG, on_sample, SA_ONSTACK | SA_RESTART) != 0)
    gp__log("blocking monitor: cannot handle SIGURG: no backtraces");
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 128 * 1024);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigset_t all, old;
  sigfillset(&all);
  GP_REAL(pthread_sigmask)(SIG_SETMASK, &all, &old);
  pthread_t t;
  int err = GP_REAL(pthread_create)(&t, &attr, monitor_main, NULL);
  GP_REAL(pthread_sigmask)(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  if (err) {
    gp__log("blocking monitor: cannot start its thread: %s", strerror(err));
    return;
  }
  __atomic_store_n(&running, 1, __ATOMIC_RELEASE);
  GP_REAL(pthread_setname_np)(t, "gpatch-monitor");
  GP_LOGL(GP_LOG_INFO, "blocking monitor started (GPATCH_MAX_BLOCKING=%ld)",
          ms);
}

int gp_monitor_threads(void) {
  return __atomic_load_n(&running, __ATOMIC_ACQUIRE);
}

void gp_monitor_stop(void) {
  __atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
}
