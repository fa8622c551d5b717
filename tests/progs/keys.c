/* keys: thread-specific data is per thread. Ten threads each store their
 * own value under one key, block (sleep, yield), and read it back; the
 * key's destructor runs once for each when it ends, and a value set by
 * main is main's alone. The threads wait at a gate while main counts the
 * OS threads (natively one could end before the count). Prints key=value lines; exits 0 when all held.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "threads_now.h"

#define N 10

static pthread_key_t key;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int dtor_calls, dtor_sum, mismatches;
static pthread_barrier_t gate; /* all N alive while main counts them */

static void dtor(void *v) {
  pthread_mutex_lock(&mu);
  dtor_calls++;
  dtor_sum += *(int *)v;
  pthread_mutex_unlock(&mu);
  free(v);
}

static void *worker(void *arg) {
  int id = (int)(long)arg;
  if (pthread_getspecific(key) != NULL)
    mismatches++; /* a new thread starts with NULL */
  int *mine = malloc(sizeof *mine);
  *mine = id;
  pthread_setspecific(key, mine);
  pthread_barrier_wait(&gate); /* main counts the threads */
  pthread_barrier_wait(&gate);
  for (int i = 0; i < 3; i++) {
    usleep(1000 * (unsigned)(N - id));
    sched_yield();
    int *v = pthread_getspecific(key);
    if (v != mine || *v != id)
      mismatches++;
  }
  return NULL;
}

int main(void) {
  static int main_val = 1000;
  if (pthread_key_create(&key, dtor) != 0)
    return 2;
  pthread_setspecific(key, &main_val);
  pthread_barrier_init(&gate, NULL, N + 1);
  pthread_t t[N];
  for (int i = 0; i < N; i++)
    pthread_create(&t[i], NULL, worker, (void *)(long)(i + 1));
  pthread_barrier_wait(&gate);
  int threads = threads_now();
  pthread_barrier_wait(&gate);
  for (int i = 0; i < N; i++)
    pthread_join(t[i], NULL);
  int main_ok = pthread_getspecific(key) == &main_val;
  pthread_setspecific(key, NULL);
  printf("threads=%d\nmismatches=%d\ndtor_calls=%d\ndtor_sum=%d\n"
         "main_ok=%d\n",
         threads, mismatches, dtor_calls, dtor_sum, main_ok);
  return mismatches == 0 && dtor_calls == N && main_ok ? 0 : 1;
}
