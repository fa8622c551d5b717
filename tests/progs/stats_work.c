/* stats_work: a small workload whose GPATCH_STATS counts are known.
 *
 *   stats_work
 *
 * Main starts eight threads, then joins them:
 *   four "sleeper"s: usleep(20 ms) once each;
 *   "deep": touches 64 KiB of its stack, then returns;
 *   "reader": read()s one byte from a pipe, which is empty at first;
 *   "writer": usleep(10 ms), writes the byte, then signals a condition
 *             variable under a mutex;
 *   "waiter": waits on that condition variable until the writer's flag.
 * On one OS thread, in the order they are created: 8 coroutines, 9 alive
 * at most (main too), 5 sleeps, 1 fd wait (the reader), 1 condvar wait,
 * at least 1 join, no yield, and a deepest stack use of 64 KiB and a bit.
 * Prints done=1.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fds[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int flag;

static void *sleeper(void *arg) {
  (void)arg;
  usleep(20000);
  return NULL;
}

static void *deep(void *arg) {
  volatile char buf[64 * 1024];

  (void)arg;
  memset((char *)buf, 1, sizeof buf);
  return (void *)(long)buf[100];
}

static void *reader(void *arg) {
  char c;

  (void)arg;
  return read(fds[0], &c, 1) == 1 ? NULL : (void *)1;
}

static void *writer(void *arg) {
  (void)arg;
  usleep(10000);
  if (write(fds[1], "x", 1) != 1)
    return (void *)1;
  pthread_mutex_lock(&mu);
  flag = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void *waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  while (!flag)
    pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  return NULL;
}

int main(void) {
  static const struct { const char *name; void *(*fn)(void *); } jobs[] = {
    { "sleeper", sleeper }, { "sleeper", sleeper }, { "sleeper", sleeper },
    { "sleeper", sleeper }, { "deep", deep }, { "reader", reader },
    { "writer", writer }, { "waiter", waiter },
  };
  pthread_t t[8];
  int failed = 0;

  if (pipe(fds) != 0)
    return 1;
  for (int i = 0; i < 8; i++) {
    if (pthread_create(&t[i], NULL, jobs[i].fn, NULL) != 0)
      return 1;
    pthread_setname_np(t[i], jobs[i].name);
  }
  for (int i = 0; i < 8; i++) {
    void *r;

    pthread_join(t[i], &r);
    failed += r != NULL && i != 4;
  }
  printf("done=%d\n", failed == 0);
  return 0;
}
