/* condqueue: producers and consumers over a bounded queue guarded by a
 * statically initialised mutex and two condition variables.
 *
 *   condqueue PRODUCERS CONSUMERS ITEMS
 *
 * Each producer puts ITEMS distinct values into a 16-slot queue, waiting
 * on "not full"; each consumer takes values, waiting on "not empty", until
 * every producer has finished and the queue is empty.  Prints, as
 * key=value lines: threads (OS threads while all run), produced,
 * consumed, sum_in and sum_out (checksums of the values put and taken,
 * which must match), and busy_consumers (consumers that took at least one
 * value).
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "threads_now.h"

enum { SLOTS = 16, MAX_THREADS = 1024 };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static uint64_t queue[SLOTS];
static int head, len, producers_left, alive, released;
static long items, produced, consumed;
static uint64_t sum_in, sum_out;
static long taken_by[MAX_THREADS];

/* A checksum of one value that depends on the value, not on the order. */
static uint64_t weigh(uint64_t v) {
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdULL;
  v ^= v >> 33;
  return v;
}

/* Counts the caller alive, then waits for main's release; mu is held. */
static void gate_arrive_locked(void) {
  alive++;
  pthread_cond_broadcast(&gate_cv);
  while (!released)
    pthread_cond_wait(&gate_cv, &mu);
}

static void *producer(void *arg) {
  uint64_t base = (uint64_t)(intptr_t)arg * 1000003u;
  long k;

  pthread_mutex_lock(&mu);
  gate_arrive_locked();
  for (k = 0; k < items; k++) {
    uint64_t v = base + (uint64_t)k * 7 + 1;

    while (len == SLOTS)
      pthread_cond_wait(&not_full, &mu);
    queue[(head + len) % SLOTS] = v;
    len++;
    produced++;
    sum_in += weigh(v);
    pthread_cond_signal(&not_empty);
    if (k % 64 == 63) {
      /* Give the others a chance while not holding the lock. */
      pthread_mutex_unlock(&mu);
      sched_yield();
      pthread_mutex_lock(&mu);
    }
  }
  if (--producers_left == 0)
    pthread_cond_broadcast(&not_empty);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void *consumer(void *arg) {
  intptr_t id = (intptr_t)arg;

  pthread_mutex_lock(&mu);
  gate_arrive_locked();
  for (;;) {
    uint64_t v;

    while (len == 0 && producers_left > 0)
      pthread_cond_wait(&not_empty, &mu);
    if (len == 0)
      break;
    v = queue[head];
    head = (head + 1) % SLOTS;
    len--;
    consumed++;
    taken_by[id]++;
    sum_out += weigh(v);
    pthread_cond_signal(&not_full);
    /* Work on the value outside the lock, as a real consumer would. */
    pthread_mutex_unlock(&mu);
    if (consumed % 16 == 0)
      usleep(100);
    pthread_mutex_lock(&mu);
  }
  pthread_mutex_unlock(&mu);
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t t[MAX_THREADS];
  int np = argc > 1 ? atoi(argv[1]) : 4, nc = argc > 2 ? atoi(argv[2]) : 4;
  int i, threads, busy = 0;

  items = argc > 3 ? atol(argv[3]) : 10000;
  if (np < 1 || nc < 1 || np + nc > MAX_THREADS || items < 1) {
    fprintf(stderr, "usage: condqueue PRODUCERS CONSUMERS ITEMS\n");
    return 64;
  }
  producers_left = np;
  for (i = 0; i < np + nc; i++)
    if (pthread_create(&t[i], NULL, i < np ? producer : consumer,
                       (void *)(intptr_t)i) != 0)
      return 1;
  pthread_mutex_lock(&mu);
  while (alive < np + nc)
    pthread_cond_wait(&gate_cv, &mu);
  threads = threads_now();
  released = 1;
  pthread_cond_broadcast(&gate_cv);
  pthread_mutex_unlock(&mu);
  for (i = 0; i < np + nc; i++)
    pthread_join(t[i], NULL);
  for (i = np; i < np + nc; i++)
    busy += taken_by[i] > 0;
  printf("threads=%d\nproduced=%ld\nconsumed=%ld\n", threads, produced,
         consumed);
  printf("sum_in=%llu\nsum_out=%llu\nbusy_consumers=%d\n",
         (unsigned long long)sum_in, (unsigned long long)sum_out, busy);
  return produced == consumed && sum_in == sum_out ? 0 : 1;
}
