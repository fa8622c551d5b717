/* c11_threads: a C11 <threads.h> program. Eight threads increment a
 * counter under a mutex, yielding inside the lock; each keeps its own
 * thread-specific value; call_once runs once; they sleep 100 ms together
 * (overlapping); main waits on a condition variable until all are done,
 * then joins them and collects their results. Prints key=value lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>

#include "threads_now.h"

#define N 8

static mtx_t mu;
static cnd_t cv;
static tss_t key;
static once_flag once = ONCE_FLAG_INIT;
static int counter, done, arrived, once_runs, tss_ok = 1, threads_seen;

static void init_once(void) { once_runs++; }

static int worker(void *arg) {
  int id = (int)(long)arg;
  call_once(&once, init_once);
  tss_set(key, arg);
  mtx_lock(&mu); /* all alive at once: the last one counts OS threads */
  if (++arrived == N) {
    threads_seen = threads_now();
    cnd_broadcast(&cv);
  }
  while (arrived < N)
    cnd_wait(&cv, &mu);
  mtx_unlock(&mu);
  struct timespec d = {0, 100 * 1000 * 1000};
  if (thrd_sleep(&d, NULL) != 0)
    return -1;
  for (int i = 0; i < 1000; i++) {
    mtx_lock(&mu);
    int v = counter;
    if (i % 100 == 0)
      thrd_yield();
    counter = v + 1;
    mtx_unlock(&mu);
  }
  mtx_lock(&mu);
  if (tss_get(key) != arg)
    tss_ok = 0;
  done++;
  cnd_broadcast(&cv);
  mtx_unlock(&mu);
  return id * 10;
}

int main(void) {
  thrd_t t[N];
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (mtx_init(&mu, mtx_plain) != thrd_success ||
      cnd_init(&cv) != thrd_success || tss_create(&key, NULL) != thrd_success)
    return 2;
  for (long i = 0; i < N; i++)
    if (thrd_create(&t[i], worker, (void *)i) != thrd_success)
      return 2;
  mtx_lock(&mu);
  while (done < N)
    cnd_wait(&cv, &mu);
  mtx_unlock(&mu);
  int sum = 0;
  for (int i = 0; i < N; i++) {
    int res = -100;
    thrd_join(t[i], &res);
    sum += res;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  printf("threads=%d\ncounter=%d\nonce_runs=%d\ntss_ok=%d\nresult_sum=%d\n"
         "overlapped=%d\n",
         threads_seen, counter, once_runs, tss_ok, sum, ms < 700);
  mtx_destroy(&mu);
  cnd_destroy(&cv);
  tss_delete(key);
  return counter == N * 1000 && once_runs == 1 && tss_ok ? 0 : 1;
}
