/* diag.c: the report at exit (GPATCH_STATS), the stack overflow report,
 * and starting the blocking monitor (monitor.c).
 *
 * All of it begins when the runtime starts (the first coroutine): a
 * program that never creates one has nothing to report and pays nothing.
 *
 * Stack overflow: a coroutine that runs into the guard page below its
 * stack faults there, but the fault cannot be handled on that stack. So
 * the scheduler thread gets an alternate signal stack (unless the program
 * set one) and a SIGSEGV handler that names the coroutine, its stack size
 * and how to raise it. Then it runs the program's own SIGSEGV handler if
 * there is one, or restores the default action and returns: the faulting
 * instruction faults again and the process dies of SIGSEGV, with a core
 * where the system makes one, as it would natively.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/config.h"
#include "core/diag.h"
#include "core/guard.h"
#include "core/hooks.h"
#include "real.h"

#define ALTSTACK (64 * 1024)

static pid_t rt_pid; /* the process whose runtime runs (not a fork) */

/* Writes the overflow report (signal-safe). */
static void report_overflow(int number, const char *name, size_t size,
                            uintptr_t addr) {
  gp_msg m;
  gp__msg_begin(&m, GP_LOG_ERROR);
  gp__msg_str(&m, "stack overflow in coroutine #");
  gp__msg_uint(&m, (uint64_t)number);
  if (name[0]) {
    gp__msg_str(&m, " '");
    gp__msg_str(&m, name);
    gp__msg_str(&m, "'");
  }
  gp__msg_str(&m, ": its stack of ");
  gp__msg_uint(&m, size / 1024);
  gp__msg_str(&m, " KiB is used up (fault at ");
  gp__msg_hex(&m, addr);
  gp__msg_str(&m, ")");
  gp__msg_send(&m);
  gp__msg_begin(&m, GP_LOG_ERROR);
  gp__msg_str(&m, "raise GPATCH_STACK_SIZE (now ");
  gp__msg_uint(&m, gp_conf.stack_size / 1024);
  gp__msg_str(&m, "K; gpatch --stack-size), or the size the program gives "
                  "pthread_attr_setstacksize");
  gp__msg_str(&m, gp_sig_handled(SIGSEGV)
                      ? "; the program's SIGSEGV handler runs next"
                      : "; the process dies of SIGSEGV as it would natively");
  gp__msg_send(&m);
}

static void on_segv(int sig, siginfo_t *si, void *uc) {
  static int reported;
  int number;
  char name[16];
  size_t size;
  if (gp__tls.sched && !reported && si->si_code > 0 &&
      gp__overflowed((uintptr_t)si->si_addr, uc, &number, name, &size)) {
    reported = 1;
    report_overflow(number, name, size, (uintptr_t)si->si_addr);
  }
  if (gp_sig_forward(sig, si, uc))
    return;
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  GP_REAL(sigaction)(sig, &dfl, NULL);
  /* A fault repeats when we return; a signal sent by kill() does not. */
  if (si->si_code <= 0)
    GP_REAL(syscall)(SYS_tgkill, getpid(), (pid_t)GP_REAL(syscall)(SYS_gettid),
                     sig);
}

/* Gives the scheduler thread an alternate signal stack, unless it has one,
 * and keeps the overflow handler on SIGSEGV. */
static void overflow_setup(void) {
  stack_t ss;
  if (sigaltstack(NULL, &ss) == 0 && !(ss.ss_flags & SS_DISABLE))
    goto handler; /* the program's own */
  void *p = mmap(NULL, ALTSTACK, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (p == MAP_FAILED) {
    gp__log("no stack overflow reports: cannot map a signal stack");
    return;
  }
  ss.ss_sp = p;
  ss.ss_size = ALTSTACK;
  ss.ss_flags = 0;
  if (sigaltstack(&ss, NULL) != 0) {
    munmap(p, ALTSTACK);
    return;
  }
handler:
  if (gp_sig_keep(SIGSEGV, on_segv, SA_ONSTACK) != 0)
    gp__log("no stack overflow reports: cannot handle SIGSEGV");
}

/* The hooks table's start function (core/hooks.c): runs on the scheduler
 * thread once the runtime has started. */
void gp_diag_start(void) {
  rt_pid = getpid();
  overflow_setup();
  if (gp_conf.max_blocking > 0)
    gp_monitor_start(gp_conf.max_blocking);
}

void gp_diag_setup(void) {
  unsigned bits = 0;
  if (gp_conf.stats)
    bits |= GP_DIAG_STATS;
  if (gp_conf.max_blocking > 0)
    bits |= GP_DIAG_MONITOR;
  if (gp__log_level >= GP_LOG_DEBUG)
    bits |= GP_DIAG_DEBUG;
  gp__diag_enable(bits);
}

/* The GPATCH_STATS report: three lines of key=value words, and one more
 * for the hand-off when its monitor ran. */
static void report_stats(void) {
  struct gp_stats s;
  gp__stats_get(&s);
  uint64_t *p = s.parks;
  gp__logl(GP_LOG_INFO, "stats: created=%llu peak_live=%llu switches=%llu "
           "wall_ms=%lld loop_iterations=%llu loop_blocked_ms=%lld tls=%s",
           (unsigned long long)s.created, (unsigned long long)s.peak_live,
           (unsigned long long)s.switches, (long long)(s.wall_ns / 1000000),
           (unsigned long long)s.loop_iterations,
           (long long)(s.blocked_ns / 1000000),
           gp__tls_is_private() ? "private" : "shared");
  gp__logl(GP_LOG_INFO, "stats: parks_io=%llu parks_sync=%llu "
           "parks_join=%llu parks_sleep=%llu yields=%llu",
           (unsigned long long)p[GP_PARK_FD],
           (unsigned long long)p[GP_PARK_SYNC],
           (unsigned long long)p[GP_PARK_JOIN],
           (unsigned long long)p[GP_PARK_SLEEP],
           (unsigned long long)p[GP_PARK_YIELD]);
  uint64_t handoffs, rejoins;
  unsigned hosts, monitor;
  gp__handoff_stats(&handoffs, &rejoins, &hosts, &monitor);
  if (monitor)
    gp__logl(GP_LOG_INFO, "stats: handoffs=%llu returns=%llu os_threads=%u",
             (unsigned long long)handoffs, (unsigned long long)rejoins,
             hosts);
  if (s.stack_used == 0) {
    gp__logl(GP_LOG_INFO, "stats: stack_used_max=0 (no coroutine stack)");
    return;
  }
  gp__logl(GP_LOG_INFO, "stats: stack_used_max=%zu stack_size=%zu "
           "(coroutine #%d%s%s%s)", s.stack_used, s.stack_size,
           s.stack_number,
           s.stack_name[0] ? " '" : "", s.stack_name,
           s.stack_name[0] ? "'" : "");
}

/* At exit (after the program's atexit functions and destructors: this
 * library was loaded first), in the process whose runtime ran. */
__attribute__((destructor)) static void diag_fini(void) {
  if (!gp__rt_started() || getpid() != rt_pid)
    return;
  gp_monitor_stop();
  if (gp_conf.stats)
    report_stats();
}

/* The OS threads of the process (/proc/self/stat's num_threads), or -1.
 * Read only when every coroutine waits, so the cost does not matter. */
static long os_threads(void) {
  char buf[1024];
  int fd = GP_REAL(openat)(AT_FDCWD, "/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = GP_REAL(read)(fd, buf, sizeof buf - 1);
  GP_REAL(close)(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the name may hold spaces and ')' */
  for (int field = 2; p != NULL && field < 20; field++)
    p = strchr(p + 1, ' ');
  return p ? strtol(p + 1, NULL, 10) : -1;
}

/* A signal handler may still post a semaphore or interrupt a wait; an OS
 * thread the runtime does not own (one a library made with the real
 * pthread_create, or any thread while the thread family is off) may still
 * post, unlock or signal. Either way every coroutine waiting is no proof
 * of a deadlock. The runtime's own threads are the scheduler's, the pool
 * lanes' and the monitor's; a pool thread that is retiring right now is
 * counted as foreign for that moment, which only delays the report. */
int gp_outside_may_wake(void) {
  if (gp_sig_any_handler())
    return 1;
  long own = 1 + gp_monitor_threads();
  for (unsigned lane = 0; lane < GP_WORK_LANES; lane++)
    own += gp__work_threads(lane);
  uint64_t handoffs, rejoins;
  unsigned hosts, monitor;
  gp__handoff_stats(&handoffs, &rejoins, &hosts, &monitor);
  own += monitor + (hosts > 1 ? hosts - 1 : 0); /* spare OS threads */
  return os_threads() > own;
}
