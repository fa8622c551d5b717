/* sync_spin: spinlock contention between threads.
 *
 *   sync_spin THREADS ITERATIONS
 *
 * Each thread increments a shared counter ITERATIONS times under a
 * spinlock, sometimes blocking (usleep) while holding it, so the others
 * find it taken. The counter ends at THREADS * ITERATIONS (count=...) and
 * no two threads are ever inside at once (overlap=0). Also checks
 * pthread_spin_trylock on a held lock (trylock_busy=16, EBUSY). Prints
 * key=value lines; threads is the OS thread count while they run.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "threads_now.h"

enum { MAX_THREADS = 256 };

static pthread_spinlock_t spin;
static long count, iterations;
static int inside, overlap;

static int go; /* the workers start once main has counted the threads */

static void *worker(void *arg) {
  long id = (long)arg;
  while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
    usleep(1000);
  for (long i = 0; i < iterations; i++) {
    pthread_spin_lock(&spin);
    if (__atomic_fetch_add(&inside, 1, __ATOMIC_SEQ_CST) != 0)
      overlap++;
    count++;
    if ((i + id) % 50 == 0)
      usleep(200); /* block while holding it */
    __atomic_fetch_sub(&inside, 1, __ATOMIC_SEQ_CST);
    pthread_spin_unlock(&spin);
  }
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int n = argc > 2 ? atoi(argv[1]) : 0;
  iterations = argc > 2 ? atol(argv[2]) : 0;
  if (n < 1 || n > MAX_THREADS || iterations < 1)
    return 2;
  pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
  pthread_t t[MAX_THREADS];
  for (long i = 0; i < n; i++)
    pthread_create(&t[i], NULL, worker, (void *)i);
  int threads = threads_now();
  __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
  for (int i = 0; i < n; i++)
    pthread_join(t[i], NULL);
  pthread_spin_lock(&spin);
  int busy = pthread_spin_trylock(&spin);
  pthread_spin_unlock(&spin);
  printf("threads=%d\ncount=%ld\noverlap=%d\ntrylock_busy=%d\n", threads,
         count, overlap, busy);
  pthread_spin_destroy(&spin);
  return count == n * iterations && overlap == 0 ? 0 : 1;
}
