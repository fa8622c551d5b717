/* bench_switch: costs of thread primitives, an ordinary pthread program.
 *
 *   bench_switch yield N   two threads hand a turn back and forth N times,
 *                          spinning with sched_yield: ns per hand-off
 *   bench_switch cond N    the same with a mutex and a condvar
 *   bench_switch spawn N   pthread_create + pthread_join, N times: us each
 *   bench_switch spawn_stack N BYTES   the same with a stack of BYTES set by
 *                          pthread_attr_setstacksize
 *   bench_switch mutex N   uncontended lock + unlock, N times, in a second
 *                          thread (a threaded program): ns each
 *   bench_switch mutex_main N   the same in main before any thread exists
 *
 * Prints one line "mode=... value=... unit=...".
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile int turn;
static long n;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *yielder(void *arg) {
  int me = (int)(long)arg;
  for (long i = 0; i < n; i++) {
    while (turn != me)
      sched_yield();
    turn = !me;
  }
  return NULL;
}

static void *waiter(void *arg) {
  int me = (int)(long)arg;
  pthread_mutex_lock(&mu);
  for (long i = 0; i < n; i++) {
    while (turn != me)
      pthread_cond_wait(&cv, &mu);
    turn = !me;
    pthread_cond_signal(&cv);
  }
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void *nothing(void *arg) { return arg; }

/* Creates and joins a thread n times with attr (NULL: the default); us
 * each. */
static double spawn_loop(const pthread_attr_t *attr) {
  pthread_t t;
  double t0 = now();
  for (long i = 0; i < n; i++) {
    if (pthread_create(&t, attr, nothing, NULL) != 0) {
      fprintf(stderr, "bench_switch: pthread_create failed\n");
      exit(1);
    }
    pthread_join(t, NULL);
  }
  return (now() - t0) * 1e6 / n;
}

/* Locks and unlocks mu n times; ns each. */
static double lock_loop(void) {
  double t0 = now();
  for (long i = 0; i < n; i++) {
    pthread_mutex_lock(&mu);
    pthread_mutex_unlock(&mu);
  }
  return (now() - t0) * 1e9 / n;
}

static void *lock_thread(void *res) {
  *(double *)res = lock_loop();
  return NULL;
}

/* Runs fn in two threads that hand off 2n times; ns per hand-off. */
static double pingpong(void *(*fn)(void *)) {
  pthread_t a, b;
  double t0 = now();
  pthread_create(&a, NULL, fn, (void *)0L);
  pthread_create(&b, NULL, fn, (void *)1L);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  return (now() - t0) * 1e9 / (2.0 * n);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_switch yield|cond|spawn|mutex|mutex_main N"
                    "\n       bench_switch spawn_stack N BYTES\n");
    return 2;
  }
  const char *mode = argv[1];
  n = atol(argv[2]);
  double v;
  const char *unit = "ns";
  if (strcmp(mode, "yield") == 0) {
    v = pingpong(yielder);
  } else if (strcmp(mode, "cond") == 0) {
    v = pingpong(waiter);
  } else if (strcmp(mode, "spawn") == 0) {
    v = spawn_loop(NULL);
    unit = "us";
  } else if (strcmp(mode, "spawn_stack") == 0 && argc >= 4) {
    pthread_attr_t a;
    pthread_attr_init(&a);
    if (pthread_attr_setstacksize(&a, (size_t)atol(argv[3])) != 0) {
      fprintf(stderr, "bench_switch: bad stack size %s\n", argv[3]);
      return 2;
    }
    v = spawn_loop(&a);
    pthread_attr_destroy(&a);
    unit = "us";
  } else if (strcmp(mode, "mutex") == 0) {
    pthread_t t;
    pthread_create(&t, NULL, lock_thread, &v);
    pthread_join(t, NULL);
  } else if (strcmp(mode, "mutex_main") == 0) {
    v = lock_loop();
  } else {
    fprintf(stderr, "bench_switch: unknown mode %s\n", mode);
    return 2;
  }
  printf("mode=%s value=%.3f unit=%s\n", mode, v, unit);
  return 0;
}
