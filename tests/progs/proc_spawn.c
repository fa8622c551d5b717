/* proc_spawn: system, popen/pclose and posix_spawn while other threads
 * run.
 *
 *   proc_spawn MODE
 *
 * system   20 threads run system("sleep 0.3") at once while a thread ticks
 *          every 10 ms; then the statuses of system("exit 3"), of a shell
 *          that kills itself with SIGTERM, system(NULL), and SIGINT
 *          ignored in the caller while system runs (a child sends it)
 * popen    20 threads each popen("echo N; sleep 0.3", "r"), read the line
 *          with fgets and pclose; then "w" mode into "cat >/dev/null" and
 *          "exit 4" (pclose gives 4 << 8), a bad mode (EINVAL), "re"
 *          (close-on-exec) and "r" (not)
 * spawn    posix_spawn and posix_spawnp of "sleep 0.3" in 10 threads, each
 *          reaped with waitpid
 *
 * Prints key=value lines; *_ms values are timings; exits 0 when all went
 * as expected: the runs overlapped (fast: all of them took less than half
 * of count times the quickest run, which is what one after another would
 * take at least; a limit in seconds measured the load instead: 20 x 0.3 s
 * took 3.5 s natively under load) and the ticker ran meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define N 20

static volatile int stop_ticking, ticks;
static volatile sig_atomic_t int_seen;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void *ticker(void *arg) {
  (void)arg;
  while (!stop_ticking) {
    usleep(10 * 1000);
    ticks++;
  }
  return NULL;
}

/* The job of in_threads, and how long each run of it took. */
static void *(*job)(void *);
static long took[N];

static void *timed_job(void *arg) {
  long t0 = now_ms();
  void *r = job(arg);
  took[(intptr_t)arg] = now_ms() - t0;
  return r;
}

/* Runs fn(i) in count threads at once; returns how many gave 0, and the
 * time taken in *ms, the ticks meanwhile in *n, and in *fast whether the
 * runs overlapped: all of them took less than half of count times the
 * quickest (one after another, or one at a time behind a lock, they take
 * at least that). */
static int in_threads(void *(*fn)(void *), int count, long *ms, int *n,
                      int *fast) {
  pthread_t t[N];
  long t0 = now_ms(), quickest = -1;
  int before = ticks, good = 0;
  job = fn;
  for (intptr_t i = 0; i < count; i++)
    pthread_create(&t[i], NULL, timed_job, (void *)i);
  for (int i = 0; i < count; i++) {
    void *r;
    pthread_join(t[i], &r);
    good += r == NULL;
    if (quickest < 0 || took[i] < quickest)
      quickest = took[i];
  }
  *ms = now_ms() - t0;
  *n = ticks - before;
  *fast = 2 * *ms < count * quickest;
  return good;
}

static void *run_system(void *arg) {
  (void)arg;
  return system("sleep 0.3") == 0 ? NULL : (void *)1;
}

static void on_int(int sig) {
  (void)sig;
  int_seen++;
}

static int mode_system(void) {
  long ms;
  int n, fast;
  int good = in_threads(run_system, N, &ms, &n, &fast);
  printf("system_ok=%d fast=%d ticks_ok=%d system_ms=%ld ticks=%d\n", good,
         fast, n >= 1, ms, n);
  int st3 = system("exit 3");
  int sterm = system("kill -TERM $$");
  printf("status_exit3=%d status_term_signaled=%d termsig=%d "
         "have_shell=%d\n", WEXITSTATUS(st3), WIFSIGNALED(sterm),
         WTERMSIG(sterm), system(NULL) != 0);
  /* SIGINT to the caller while system runs: ignored, the handler does
   * not run; after it returns the handler is back. */
  signal(SIGINT, on_int);
  char cmd[64];
  snprintf(cmd, sizeof cmd, "kill -INT %d; sleep 0.1", (int)getpid());
  int sint = system(cmd);
  usleep(50 * 1000);
  int during = int_seen;
  kill(getpid(), SIGINT);
  usleep(50 * 1000);
  printf("int_status=%d int_during=%d int_after=%d\n", WEXITSTATUS(sint),
         during, (int)int_seen);
  return good == N && fast && n >= 1 && WEXITSTATUS(st3) == 3 &&
                 during == 0 && int_seen == 1
             ? 0
             : 1;
}

static void *run_popen(void *arg) {
  intptr_t i = (intptr_t)arg;
  char cmd[64], line[64];
  snprintf(cmd, sizeof cmd, "echo %d; sleep 0.3", (int)i);
  FILE *f = popen(cmd, "r");
  if (f == NULL)
    return (void *)1;
  int ok = fgets(line, sizeof line, f) != NULL && atoi(line) == i;
  int st = pclose(f);
  return ok && st == 0 ? NULL : (void *)1;
}

static int cloexec(FILE *f) {
  int fl = fcntl(fileno(f), F_GETFD);
  return fl >= 0 && (fl & FD_CLOEXEC);
}

static int mode_popen(void) {
  long ms;
  int n, fast;
  int good = in_threads(run_popen, N, &ms, &n, &fast);
  printf("popen_ok=%d fast=%d ticks_ok=%d popen_ms=%ld ticks=%d\n", good,
         fast, n >= 1, ms, n);
  FILE *w = popen("cat >/dev/null", "w");
  int wrote = w && fputs("hello\n", w) >= 0;
  int wst = w ? pclose(w) : -2;
  FILE *x = popen("exit 4", "r");
  int xst = x ? pclose(x) : -2;
  errno = 0;
  FILE *bad = popen("true", "rw");
  int einval = bad == NULL && errno == EINVAL;
  FILE *e = popen("true", "re"), *r = popen("true", "r");
  int ce = e && cloexec(e), cr = r && cloexec(r);
  if (e)
    pclose(e);
  if (r)
    pclose(r);
  printf("w_ok=%d w_status=%d exit4_status=%d bad_mode_einval=%d "
         "e_cloexec=%d r_cloexec=%d\n", wrote, wst, xst, einval, ce, cr);
  return good == N && fast && n >= 1 && wst == 0 && xst == 4 << 8 &&
                 einval && ce && !cr
             ? 0
             : 1;
}

static void *run_spawn(void *arg) {
  intptr_t i = (intptr_t)arg;
  char *argv[] = {"sleep", "0.3", NULL};
  pid_t pid;
  int err = i % 2 ? posix_spawnp(&pid, "sleep", NULL, NULL, argv, environ)
                  : posix_spawn(&pid, "/bin/sleep", NULL, NULL, argv,
                                environ);
  int st;
  if (err || waitpid(pid, &st, 0) != pid)
    return (void *)1;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? NULL : (void *)1;
}

static int mode_spawn(void) {
  long ms;
  int n, fast;
  int good = in_threads(run_spawn, 10, &ms, &n, &fast);
  printf("spawn_ok=%d fast=%d ticks_ok=%d spawn_ms=%ld ticks=%d\n", good,
         fast, n >= 1, ms, n);
  return good == 10 && fast && n >= 1 ? 0 : 1;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "system";
  pthread_t t;
  pthread_create(&t, NULL, ticker, NULL);
  int r;
  if (strcmp(mode, "system") == 0)
    r = mode_system();
  else if (strcmp(mode, "popen") == 0)
    r = mode_popen();
  else if (strcmp(mode, "spawn") == 0)
    r = mode_spawn();
  else
    r = 2;
  stop_ticking = 1;
  pthread_join(t, NULL);
  fflush(stdout);
  return r;
}
