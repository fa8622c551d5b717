/* bench_idle: many threads that block at once, an ordinary pthread program.
 *
 *   bench_idle sleep N   N threads each sleep 2 s, then end
 *   bench_idle cond N    N threads wait on one condvar until a broadcast
 *
 * Stack size: 64 KiB per thread, set with pthread_attr_setstacksize, as a
 * server expecting many threads would. Prints "threads=... create_ms=...
 * rss_kb_per_thread=... joined=... total_ms=...": the RSS is read from
 * /proc/self/status once every thread is blocked. Exits 0 when all joined.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long started, go;
static int use_cond;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static long status_kb(const char *key) {
  char line[256];
  long v = -1;
  size_t k = strlen(key);
  FILE *f = fopen("/proc/self/status", "r");
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, key, k) == 0)
      v = atol(line + k);
  if (f)
    fclose(f);
  return v;
}

static void *worker(void *arg) {
  pthread_mutex_lock(&mu);
  started++;
  if (use_cond) {
    while (!go)
      pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
  } else {
    pthread_mutex_unlock(&mu);
    sleep(2);
  }
  return arg;
}

int main(int argc, char **argv) {
  if (argc < 3)
    return 2;
  use_cond = strcmp(argv[1], "cond") == 0;
  long n = atol(argv[2]);
  pthread_t *t = calloc((size_t)n, sizeof *t);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  long rss0 = status_kb("VmRSS:");
  double t0 = now();
  long made = 0;
  for (; made < n; made++)
    if (pthread_create(&t[made], &attr, worker, NULL) != 0)
      break;
  double t1 = now();
  for (;;) { /* until every thread has blocked */
    pthread_mutex_lock(&mu);
    long s = started;
    pthread_mutex_unlock(&mu);
    if (s == made)
      break;
    usleep(1000);
  }
  long threads = status_kb("Threads:");
  long rss1 = status_kb("VmRSS:");
  pthread_mutex_lock(&mu);
  go = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  long joined = 0;
  for (long i = 0; i < made; i++)
    joined += pthread_join(t[i], NULL) == 0;
  printf("threads=%ld created=%ld create_ms=%.1f rss_kb_per_thread=%.2f "
         "joined=%ld total_ms=%.0f\n",
         threads, made, (t1 - t0) * 1e3,
         made ? (double)(rss1 - rss0) / (double)made : 0.0, joined,
         (now() - t0) * 1e3);
  return joined == n ? 0 : 1;
}
