/* launch_probe: reports what the gpatch launcher gave the program.
 *
 *   launch_probe [-t THREADS] [-m LIB]... [-x CODE] [-k SIGNAL] [ARG]...
 *
 * Prints, one key=value a line (flushed at once, so a run that ends by a
 * signal still shows them):
 *   ppid=N             the parent's pid: the launcher execs the program, so
 *                      this is the pid of whoever started the launcher
 *   argc=N             the argument count, to see arguments pass untouched
 *   env_NAME=VALUE     LD_PRELOAD, GPATCH_PATCH, GPATCH_STACK_SIZE,
 *                      GPATCH_STATS, GPATCH_MAX_BLOCKING, GPATCH_SLICE,
 *                      GPATCH_TLS, GPATCH_LOG,
 *                      GPATCH_LOG_FILE, GPATCH_INHERIT, GPATCH_DEADLOCK,
 *                      GPATCH_DUMP_SIGNAL as received ("(unset)" when absent)
 *   gpatch=PATH        the libgpatch.so mapped into the process, or none
 *   mapped_LIB=0|1     for each -m LIB, whether a file named LIB is mapped
 *   threads=N          with -t, the OS threads while THREADS threads are
 *                      all alive (1 under the preload, THREADS+1 natively)
 * then exits with CODE (default 0), or raises SIGNAL first.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "threads_now.h"

enum { MAX_THREADS = 100, MAX_LIBS = 8 };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int alive, released;

/* Copies into out (size len) the path of the first mapping of
 * /proc/self/maps whose file name is name; returns 1 when there is one. */
static int mapped(const char *name, char *out, size_t len) {
  char line[4096];
  FILE *f = fopen("/proc/self/maps", "re");
  int found = 0;

  while (f != NULL && !found && fgets(line, sizeof line, f) != NULL) {
    char *path = strchr(line, '/'), *base;

    if (path == NULL)
      continue;
    path[strcspn(path, "\n")] = '\0';
    base = strrchr(path, '/') + 1;
    if (strcmp(base, name) == 0) {
      snprintf(out, len, "%s", path);
      found = 1;
    }
  }
  if (f != NULL)
    fclose(f);
  return found;
}

static void *worker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  alive++;
  pthread_cond_broadcast(&cv);
  while (!released)
    pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  return NULL;
}

/* Starts n threads, waits until all are alive, returns the OS thread count
 * then, and joins them; -1 when one could not be created. */
static int run_threads(int n) {
  pthread_t t[MAX_THREADS];
  int i, threads;

  for (i = 0; i < n; i++)
    if (pthread_create(&t[i], NULL, worker, NULL) != 0)
      return -1;
  pthread_mutex_lock(&mu);
  while (alive < n)
    pthread_cond_wait(&cv, &mu);
  threads = threads_now();
  released = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  for (i = 0; i < n; i++)
    pthread_join(t[i], NULL);
  return threads;
}

int main(int argc, char **argv) {
  static const char *const vars[] = {
    "LD_PRELOAD", "GPATCH_PATCH", "GPATCH_STACK_SIZE", "GPATCH_STATS",
    "GPATCH_MAX_BLOCKING", "GPATCH_SLICE", "GPATCH_TLS", "GPATCH_LOG",
    "GPATCH_LOG_FILE",
    "GPATCH_INHERIT", "GPATCH_DEADLOCK", "GPATCH_DUMP_SIGNAL",
  };
  const char *libs[MAX_LIBS];
  int nthreads = 0, code = 0, sig = 0, nlibs = 0, opt;
  char path[4096];
  size_t i;

  while ((opt = getopt(argc, argv, "+t:m:x:k:")) != -1) {
    if (opt == 't')
      nthreads = atoi(optarg);
    else if (opt == 'm' && nlibs < MAX_LIBS)
      libs[nlibs++] = optarg;
    else if (opt == 'x')
      code = atoi(optarg);
    else if (opt == 'k')
      sig = atoi(optarg);
    else
      return 64;
  }
  if (nthreads < 0 || nthreads > MAX_THREADS)
    return 64;
  printf("ppid=%d\nargc=%d\n", (int)getppid(), argc);
  for (i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    const char *v = getenv(vars[i]);

    printf("env_%s=%s\n", vars[i], v != NULL ? v : "(unset)");
  }
  printf("gpatch=%s\n",
         mapped("libgpatch.so", path, sizeof path) ? path : "none");
  for (opt = 0; opt < nlibs; opt++)
    printf("mapped_%s=%d\n", libs[opt], mapped(libs[opt], path, sizeof path));
  if (nthreads > 0)
    printf("threads=%d\n", run_threads(nthreads));
  fflush(stdout);
  if (sig != 0) {
    raise(sig);
    return 99; /* The signal did not end the process. */
  }
  return code;
}
