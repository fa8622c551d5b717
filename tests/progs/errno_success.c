/* errno_success: a call that succeeds leaves errno as it found it.
 *
 *   errno_success
 *
 * A plain pthread program with a table of cases, one or more for each libc
 * name the gpatch shim exports.  Each case sets errno to a marker no call
 * returns (12345), makes a call that succeeds and checks errno afterwards.
 * It prints one line per case:
 *
 *   name.path=ok            the call succeeded and errno still holds the marker
 *   name.path=changed:E     the call succeeded but left errno == E
 *   name.path=failed:E      the call failed (E: errno, or the error number a
 *                           pthread-style call returned): a broken case
 *
 * "name" is the exported name, "path" the way the call went: "now" when it
 * can return at once (data there, lock free, zero timeout), "wait" when
 * another thread supplies the data, unlocks or posts DELAY_MS later so
 * that a caller under the shim parks, "again" for a second call on the
 * same fd (the shim's cached fd state), "setfl" for a call after fcntl
 * F_SETFL changed the fd's flags, and so on.  A keeper thread stays alive
 * the whole run so that the shim takes its cooperative paths (a hook with a
 * single coroutine alive may pass straight through).  Also prints
 * threads=N (taken while the keeper lives), signal_restarts=N (handler
 * runs during the SA_RESTART cases), skipped=name,... (exported names with
 * no case, each with its reason in skipped[]), cases=N and bad=N.  Exits 0 when it ran to the end, whatever the cases said.
 */
#include "errno_success.h"
#include "errno_success_io.h"
#include "errno_success_sync.h"
#include "errno_success_proc.h"
#include "errno_success_more.h"

/* Exported names with no case, and why. */
static const char *const skipped[] = {
  "pthread_exit",          /* never returns: no errno to look at */
  "thrd_exit",             /* never returns: no errno to look at */
  "__pthread_unwind_next", /* runs only inside a cancellation unwind */
  "pause",                 /* returns only -1/EINTR: cannot succeed */
  "sigsuspend",            /* returns only -1/EINTR: cannot succeed */
  "setgroups",             /* needs CAP_SETGID; setuid's cases take the
                              same path (shim/process/setxid.c) */
  "initgroups",            /* needs CAP_SETGID too; setgroups' hook */
};

/* ---- Main -------------------------------------------------------------- */

/* Removes the test directory and what the cases left in it. */
static void cleanup_dir(void) {
  DIR *d = opendir(dir);
  struct dirent *e;

  while (d != NULL && (e = readdir(d)) != NULL)
    if (e->d_name[0] != '.')
      unlink(path_of(e->d_name));
  if (d != NULL)
    closedir(d);
  rmdir(dir);
}

int main(void) {
  sigset_t set;
  size_t i;

  setvbuf(stdout, NULL, _IOLBF, 0);
  snprintf(dir, sizeof dir, "/tmp/gp_errno.XXXXXX");
  if (mkdtemp(dir) == NULL)
    die("mkdtemp");
  atexit(cleanup_dir); /* also when a setup step fails (die) */
  /* SIGUSR1 is taken with sigwait: blocked in every thread. */
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  main_thread = pthread_self();
  alone();
  make_pipe(keeper_pipe);
  if (pthread_create(&keeper, NULL, keeper_main, NULL) != 0)
    die("pthread_create");
  printf("threads=%d\n", threads_now());
  reads();
  special_reads();
  writes();
  files();
  opens();
  fds();
  sockets();
  polls();
  sleeps();
  mutexes();
  conds();
  rwlocks();
  barriers_spins();
  sems();
  threads();
  signals();
  processes();
  dns();
  c11();
  ttys_and_devices();
  eofs_and_timeouts();
  long_lists();
  masks_and_dgrams();
  sync_kinds();
  thread_kinds();
  streams();
  restarts();
  odds();
  ipc_and_locks();
  tids();
  blocking_last();
  printf("skipped=");
  for (i = 0; i < sizeof skipped / sizeof skipped[0]; i++)
    printf("%s%s", i > 0 ? "," : "", skipped[i]);
  printf("\n");
  printf("cases=%d\nbad=%d\n", ncases, nbad);
  if (write(keeper_pipe[1], "q", 1) != 1)
    die("keeper");
  pthread_join(keeper, NULL);
  return 0;
}
