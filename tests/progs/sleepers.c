/* sleepers: many threads sleep at the same time.
 *
 *   sleepers MODE [THREADS [MS]]
 *
 * Starts THREADS threads (default 200); once all of them are alive they are
 * released together and each sleeps MS milliseconds (default 100) with the
 * call MODE names: usleep, nanosleep, sleep (sleep(1), MS is ignored),
 * clock_rel (clock_nanosleep on CLOCK_MONOTONIC, relative), clock_abs
 * (CLOCK_MONOTONIC, TIMER_ABSTIME), clock_abs_rt (CLOCK_REALTIME,
 * TIMER_ABSTIME) or mixed (thread i uses variant i mod 5).  Prints, as
 * key=value lines: threads (OS threads while all are alive), slept (threads
 * that finished), rc_errors (sleep calls that failed), min_us and max_us
 * (shortest and longest measured sleep), total_ms (release to last join).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "threads_now.h"

enum { MAX_THREADS = 10000 };

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_alive, gate_open;

static const char *mode;
static long sleep_ms;
static long dur_us[MAX_THREADS];
static int rc_err[MAX_THREADS];

static long long now_us(clockid_t clk) {
  struct timespec ts;

  clock_gettime(clk, &ts);
  return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Called by each thread: counts itself alive, then waits for the release. */
static void gate_arrive(void) {
  pthread_mutex_lock(&gate_mu);
  gate_alive++;
  pthread_cond_broadcast(&gate_cv);
  while (!gate_open)
    pthread_cond_wait(&gate_cv, &gate_mu);
  pthread_mutex_unlock(&gate_mu);
}

/* Called by main: waits until n threads are alive, reads the OS thread
 * count, then releases them.  Returns the thread count. */
static int gate_release(int n) {
  int threads;

  pthread_mutex_lock(&gate_mu);
  while (gate_alive < n)
    pthread_cond_wait(&gate_cv, &gate_mu);
  threads = threads_now();
  gate_open = 1;
  pthread_cond_broadcast(&gate_cv);
  pthread_mutex_unlock(&gate_mu);
  return threads;
}

/* Adds ms milliseconds to an absolute time. */
static struct timespec later(clockid_t clk, long ms) {
  struct timespec ts;

  clock_gettime(clk, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

/* Sleeps ms milliseconds with variant v; returns 0 or the failure. */
static int sleep_with(const char *v, long ms) {
  struct timespec rel = { ms / 1000, (ms % 1000) * 1000000L }, abs;

  if (strcmp(v, "usleep") == 0)
    return usleep(ms * 1000) == 0 ? 0 : errno;
  if (strcmp(v, "nanosleep") == 0)
    return nanosleep(&rel, NULL) == 0 ? 0 : errno;
  if (strcmp(v, "sleep") == 0)
    return (int)sleep(1);
  if (strcmp(v, "clock_rel") == 0)
    return clock_nanosleep(CLOCK_MONOTONIC, 0, &rel, NULL);
  if (strcmp(v, "clock_abs") == 0) {
    abs = later(CLOCK_MONOTONIC, ms);
    return clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
  }
  if (strcmp(v, "clock_abs_rt") == 0) {
    abs = later(CLOCK_REALTIME, ms);
    return clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &abs, NULL);
  }
  return -1;
}

static void *sleeper(void *arg) {
  static const char *const mixed[] = { "usleep", "nanosleep", "clock_rel",
                                       "clock_abs", "clock_abs_rt" };
  long i = (long)arg;
  const char *v = strcmp(mode, "mixed") == 0 ? mixed[i % 5] : mode;
  long long t0;

  gate_arrive();
  t0 = now_us(CLOCK_MONOTONIC);
  rc_err[i] = sleep_with(v, sleep_ms) != 0;
  dur_us[i] = now_us(CLOCK_MONOTONIC) - t0;
  return NULL;
}

int main(int argc, char **argv) {
  static pthread_t tids[MAX_THREADS];
  int n = argc > 2 ? atoi(argv[2]) : 200, i, threads, slept = 0, errs = 0;
  long min = -1, max = -1;
  long long t0;

  mode = argc > 1 ? argv[1] : "usleep";
  sleep_ms = argc > 3 ? atol(argv[3]) : 100;
  if (n < 1 || n > MAX_THREADS
      || strstr(" usleep nanosleep sleep clock_rel clock_abs clock_abs_rt"
                " mixed ", mode) == NULL || strchr(mode, ' ') != NULL) {
    fprintf(stderr, "usage: sleepers MODE [THREADS [MS]]\n");
    return 64;
  }
  for (i = 0; i < n; i++)
    if (pthread_create(&tids[i], NULL, sleeper, (void *)(long)i) != 0) {
      fprintf(stderr, "sleepers: pthread_create %d failed\n", i);
      return 1;
    }
  threads = gate_release(n);
  t0 = now_us(CLOCK_MONOTONIC);
  for (i = 0; i < n; i++)
    if (pthread_join(tids[i], NULL) == 0)
      slept++;
  for (i = 0; i < n; i++) {
    errs += rc_err[i];
    if (min < 0 || dur_us[i] < min)
      min = dur_us[i];
    if (dur_us[i] > max)
      max = dur_us[i];
  }
  printf("threads=%d\nslept=%d\nrc_errors=%d\n", threads, slept, errs);
  printf("min_us=%ld\nmax_us=%ld\ntotal_ms=%lld\n", min, max,
         (now_us(CLOCK_MONOTONIC) - t0) / 1000);
  return slept == n && errs == 0 ? 0 : 1;
}
