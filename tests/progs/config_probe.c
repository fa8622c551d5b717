/* config_probe: shows whether main ran and on how many OS threads.
 *
 *   config_probe [THREADS]
 *
 * Prints main=1 at once (flushed, so a run stopped before main is told
 * apart from one stopped later), then starts THREADS threads (default 4)
 * that each use 16 KiB of stack and sleep 10 ms once all are alive.
 * Prints threads (the OS thread count while all are alive) and done=1.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "threads_now.h"

enum { MAX_THREADS = 1000 };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int alive, released;

static void *worker(void *arg) {
  volatile char stack_use[16384];
  long sum = 0;
  size_t i;

  (void)arg;
  memset((char *)stack_use, 1, sizeof stack_use);
  pthread_mutex_lock(&mu);
  alive++;
  pthread_cond_broadcast(&cv);
  while (!released)
    pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  usleep(10000);
  for (i = 0; i < sizeof stack_use; i++)
    sum += stack_use[i];
  return (void *)sum;
}

int main(int argc, char **argv) {
  pthread_t t[MAX_THREADS];
  int n = argc > 1 ? atoi(argv[1]) : 4, i, threads, ok = 1;

  printf("main=1\n");
  fflush(stdout);
  if (n < 1 || n > MAX_THREADS) {
    fprintf(stderr, "usage: config_probe [THREADS]\n");
    return 64;
  }
  for (i = 0; i < n; i++)
    if (pthread_create(&t[i], NULL, worker, NULL) != 0)
      return 1;
  pthread_mutex_lock(&mu);
  while (alive < n)
    pthread_cond_wait(&cv, &mu);
  threads = threads_now();
  released = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  for (i = 0; i < n; i++) {
    void *v;

    ok &= pthread_join(t[i], &v) == 0 && (long)v == 16384;
  }
  printf("threads=%d\ndone=%d\n", threads, ok);
  return ok ? 0 : 1;
}
