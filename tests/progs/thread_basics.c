/* thread_basics: the pthread life cycle, one case per mode.
 *
 *   thread_basics MODE
 *
 * join       join values from return and from pthread_exit, joined in
 *            creation order while the threads finish in reverse order
 * self       pthread_self and pthread_equal, distinct per thread
 * detach     pthread_detach and PTHREAD_CREATE_DETACHED threads run
 * tryjoin    pthread_tryjoin_np gives EBUSY, then 0 once the thread ended
 * timedjoin  pthread_timedjoin_np gives ETIMEDOUT, then 0
 * clockjoin  pthread_clockjoin_np on CLOCK_MONOTONIC, the same
 * self_join  joining oneself gives EDEADLK, in main and in a thread
 * nested     a thread created from a thread created from a thread
 * exit_main  main calls pthread_exit while its threads still run (each
 *            joining the previous one): the process exits 0 after the last
 *            one, its output and atexit handler complete
 *
 * Results are key=value lines; threads is the OS thread count while all
 * the mode's threads are alive; *_ms values are timings.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "threads_now.h"

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_alive, gate_open;

static long now_ms(clockid_t clk) {
  struct timespec ts;

  clock_gettime(clk, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

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

static void start(pthread_t *t, void *(*fn)(void *), intptr_t arg) {
  int rc = pthread_create(t, NULL, fn, (void *)arg);

  if (rc != 0) {
    fprintf(stderr, "thread_basics: pthread_create: %s\n", strerror(rc));
    exit(1);
  }
}

/* join: thread i waits (5 - i) * 40 ms, notes when it finished and hands
 * back 10 * i, by return for even i and by pthread_exit for odd i. */
static int finish_seq;
static char finish_order[8];

static void *join_worker(void *arg) {
  intptr_t i = (intptr_t)arg;

  gate_arrive();
  usleep((5 - i) * 40000);
  pthread_mutex_lock(&gate_mu);
  finish_order[finish_seq++] = (char)('0' + i);
  pthread_mutex_unlock(&gate_mu);
  if (i % 2)
    pthread_exit((void *)(10 * i));
  return (void *)(10 * i);
}

static int mode_join(void) {
  pthread_t t[5];
  void *v;
  intptr_t i;
  int threads;

  for (i = 0; i < 5; i++)
    start(&t[i], join_worker, i);
  threads = gate_release(5);
  printf("threads=%d\njoin_values=", threads);
  for (i = 0; i < 5; i++) {
    int rc = pthread_join(t[i], &v);

    printf("%s%ld", i ? "," : "", rc == 0 ? (long)(intptr_t)v : -rc);
  }
  printf("\nfinish_order=%s\n", finish_order);
  return 0;
}

/* self: each thread compares pthread_self with the id pthread_create gave
 * main, and stores it for main to compare with the others. */
static pthread_t self_ids[5], self_created[5];
static int self_matches;

static void *self_worker(void *arg) {
  intptr_t i = (intptr_t)arg;

  gate_arrive();
  self_ids[i] = pthread_self();
  pthread_mutex_lock(&gate_mu);
  self_matches += pthread_equal(self_ids[i], self_created[i]) != 0;
  self_matches += pthread_equal(pthread_self(), self_ids[i]) != 0;
  pthread_mutex_unlock(&gate_mu);
  return NULL;
}

static int mode_self(void) {
  int i, j, threads, same = 0;

  for (i = 1; i < 5; i++)
    start(&self_created[i], self_worker, i);
  threads = gate_release(4);
  for (i = 1; i < 5; i++)
    pthread_join(self_created[i], NULL);
  self_ids[0] = pthread_self();
  for (i = 0; i < 5; i++)
    for (j = i + 1; j < 5; j++)
      same += pthread_equal(self_ids[i], self_ids[j]) != 0;
  printf("threads=%d\nself_matches=%d\nequal_pairs=%d\n", threads,
         self_matches, same);
  printf("main_equal=%d\n", pthread_equal(pthread_self(), self_ids[0]) != 0);
  return 0;
}

/* detach: one thread detached after its creation, one created detached;
 * both report in before main prints. */
static int detached_ran;

static void *detach_worker(void *arg) {
  (void)arg;
  usleep(20000);
  pthread_mutex_lock(&gate_mu);
  detached_ran++;
  pthread_cond_broadcast(&gate_cv);
  pthread_mutex_unlock(&gate_mu);
  return NULL;
}

static int mode_detach(void) {
  pthread_attr_t attr;
  pthread_t a, b;
  int rc_detach, rc_create, state = -1;

  start(&a, detach_worker, 0);
  rc_detach = pthread_detach(a);
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_getdetachstate(&attr, &state);
  rc_create = pthread_create(&b, &attr, detach_worker, NULL);
  pthread_attr_destroy(&attr);
  pthread_mutex_lock(&gate_mu);
  while (detached_ran < 2)
    pthread_cond_wait(&gate_cv, &gate_mu);
  pthread_mutex_unlock(&gate_mu);
  printf("detach_rc=%d\ncreate_detached_rc=%d\ndetached_state=%d\n",
         rc_detach, rc_create, state == PTHREAD_CREATE_DETACHED);
  printf("detached_ran=%d\n", detached_ran);
  return 0;
}

/* tryjoin: the thread blocks reading a pipe until main writes to it. */
static int try_pipe[2];

static void *try_worker(void *arg) {
  char c;

  (void)arg;
  if (read(try_pipe[0], &c, 1) != 1)
    return (void *)-1;
  return (void *)7;
}

static int mode_tryjoin(void) {
  pthread_t t;
  void *v = NULL;
  int busy, rc, tries = 0, threads;

  if (pipe(try_pipe) != 0)
    return 1;
  start(&t, try_worker, 0);
  threads = threads_now();
  usleep(20000);
  busy = pthread_tryjoin_np(t, &v);
  if (write(try_pipe[1], "x", 1) != 1)
    return 1;
  while ((rc = pthread_tryjoin_np(t, &v)) == EBUSY && tries++ < 5000)
    usleep(1000);
  printf("threads=%d\ntryjoin_busy=%d\ntryjoin_done=%d\ntryjoin_value=%ld\n",
         threads, busy, rc, (long)(intptr_t)v);
  return 0;
}

/* timedjoin and clockjoin: the thread sleeps 300 ms; a 50 ms deadline
 * passes first, a 5 s one does not. */
static void *slow_worker(void *arg) {
  (void)arg;
  gate_arrive(); /* natively it could otherwise end before a late count */
  usleep(300000);
  return (void *)8;
}

static int mode_timedjoin(int clock_variant) {
  clockid_t clk = clock_variant ? CLOCK_MONOTONIC : CLOCK_REALTIME;
  struct timespec dl = later(clk, 50);
  const char *name = clock_variant ? "clockjoin" : "timedjoin";
  pthread_t t;
  void *v = NULL;
  long t0 = now_ms(CLOCK_MONOTONIC), first_ms;
  int first, second, threads;

  start(&t, slow_worker, 0);
  threads = gate_release(1);
  first = clock_variant ? pthread_clockjoin_np(t, &v, clk, &dl)
                        : pthread_timedjoin_np(t, &v, &dl);
  first_ms = now_ms(CLOCK_MONOTONIC) - t0;
  dl = later(clk, 5000);
  second = clock_variant ? pthread_clockjoin_np(t, &v, clk, &dl)
                         : pthread_timedjoin_np(t, &v, &dl);
  printf("threads=%d\n%s_first=%d\n%s_second=%d\n%s_value=%ld\n", threads,
         name, first, name, second, name, (long)(intptr_t)v);
  printf("first_ms=%ld\ntotal_ms=%ld\n", first_ms,
         now_ms(CLOCK_MONOTONIC) - t0);
  return 0;
}

/* self_join: pthread_join on oneself. */
static void *self_join_worker(void *arg) {
  (void)arg;
  return (void *)(intptr_t)pthread_join(pthread_self(), NULL);
}

static int mode_self_join(void) {
  pthread_t t;
  void *v = NULL;
  int rc_main = pthread_join(pthread_self(), NULL), rc;

  start(&t, self_join_worker, 0);
  rc = pthread_join(t, &v);
  printf("join_self_main=%d\njoin_self_thread=%ld\njoin_rc=%d\n", rc_main,
         (long)(intptr_t)v, rc);
  return 0;
}

/* nested: depth 3; the innermost reads the thread count while its two
 * parents wait in pthread_join. */
static int nested_threads;

static void *nested_worker(void *arg) {
  intptr_t depth = (intptr_t)arg;
  pthread_t t;
  void *v = NULL;

  if (depth == 3) {
    nested_threads = threads_now();
    return (void *)1;
  }
  start(&t, nested_worker, depth + 1);
  if (pthread_join(t, &v) != 0)
    return (void *)-100;
  return (void *)((intptr_t)v + 1);
}

static int mode_nested(void) {
  pthread_t t;
  void *v = NULL;
  int rc;

  start(&t, nested_worker, 1);
  rc = pthread_join(t, &v);
  printf("threads=%d\nnested_rc=%d\nnested_value=%ld\n", nested_threads, rc,
         (long)(intptr_t)v);
  return 0;
}

/* exit_main: worker 0 ends 50 ms after main is gone, worker i joins worker
 * i - 1 before it ends, so their lines come in a fixed order. */
static pthread_t exit_tids[3];
static int main_printed;

static void at_exit(void) {
  printf("atexit=1\n");
}

static void *exit_worker(void *arg) {
  intptr_t i = (intptr_t)arg;

  gate_arrive();
  if (i == 0) {
    pthread_mutex_lock(&gate_mu);
    while (!main_printed)
      pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    usleep(50000);
  } else if (pthread_join(exit_tids[i - 1], NULL) != 0) {
    printf("worker%ld_join_failed=1\n", (long)i);
  }
  printf("worker%ld=1\n", (long)i);
  return NULL;
}

static int mode_exit_main(void) {
  intptr_t i;
  int threads;

  atexit(at_exit);
  for (i = 0; i < 3; i++)
    start(&exit_tids[i], exit_worker, i);
  threads = gate_release(3);
  printf("threads=%d\nmain_exit=1\n", threads);
  pthread_mutex_lock(&gate_mu);
  main_printed = 1;
  pthread_cond_broadcast(&gate_cv);
  pthread_mutex_unlock(&gate_mu);
  pthread_exit(NULL);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";

  if (strcmp(mode, "join") == 0)
    return mode_join();
  if (strcmp(mode, "self") == 0)
    return mode_self();
  if (strcmp(mode, "detach") == 0)
    return mode_detach();
  if (strcmp(mode, "tryjoin") == 0)
    return mode_tryjoin();
  if (strcmp(mode, "timedjoin") == 0)
    return mode_timedjoin(0);
  if (strcmp(mode, "clockjoin") == 0)
    return mode_timedjoin(1);
  if (strcmp(mode, "self_join") == 0)
    return mode_self_join();
  if (strcmp(mode, "nested") == 0)
    return mode_nested();
  if (strcmp(mode, "exit_main") == 0)
    return mode_exit_main();
  fprintf(stderr, "usage: thread_basics join|self|detach|tryjoin|timedjoin|"
          "clockjoin|self_join|nested|exit_main\n");
  return 64;
}
