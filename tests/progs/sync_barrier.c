/* sync_barrier: pthread_barrier_wait with N threads over several rounds.
 *
 *   sync_barrier THREADS ROUNDS
 *
 * Each round, every thread adds to the round's arrival count, waits at
 * the barrier, then checks that all THREADS had arrived (late=0 counts
 * threads that left early). Exactly one thread per round gets
 * PTHREAD_BARRIER_SERIAL_THREAD (serial_rounds=ROUNDS, serial_total=
 * ROUNDS). The barrier also checks a count of 0 (EINVAL) and a count of 1
 * (serial at once). Prints key=value lines; threads is the OS thread
 * count during the rounds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "threads_now.h"

enum { MAX_THREADS = 256, MAX_ROUNDS = 1000 };

static pthread_barrier_t bar;
static pthread_barrier_t gate; /* the workers start once main has counted */
static int nthreads, rounds;
static int arrived[MAX_ROUNDS], serials[MAX_ROUNDS];
static int late, others;

static void *worker(void *arg) {
  long id = (long)arg;
  pthread_barrier_wait(&gate);
  for (int r = 0; r < rounds; r++) {
    __atomic_fetch_add(&arrived[r], 1, __ATOMIC_SEQ_CST);
    if ((id + r) % 3 == 0)
      usleep(100); /* arrive in a different order each round */
    int rc = pthread_barrier_wait(&bar);
    if (__atomic_load_n(&arrived[r], __ATOMIC_SEQ_CST) != nthreads)
      __atomic_fetch_add(&late, 1, __ATOMIC_SEQ_CST);
    if (rc == PTHREAD_BARRIER_SERIAL_THREAD)
      __atomic_fetch_add(&serials[r], 1, __ATOMIC_SEQ_CST);
    else if (rc != 0)
      __atomic_fetch_add(&others, 1, __ATOMIC_SEQ_CST);
  }
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc != 3)
    return 2;
  nthreads = atoi(argv[1]);
  rounds = atoi(argv[2]);
  if (nthreads < 2 || nthreads > MAX_THREADS || rounds < 1 ||
      rounds > MAX_ROUNDS)
    return 2;
  pthread_barrier_t one;
  printf("init_zero=%d\n", pthread_barrier_init(&one, NULL, 0));
  pthread_barrier_init(&one, NULL, 1);
  pthread_barrier_init(&bar, NULL, (unsigned)nthreads);
  pthread_barrier_init(&gate, NULL, (unsigned)nthreads + 1);
  pthread_t t[MAX_THREADS];
  for (long i = 0; i < nthreads; i++)
    pthread_create(&t[i], NULL, worker, (void *)i);
  int threads = threads_now(); /* none can end before the gate opens */
  pthread_barrier_wait(&gate);
  /* main, not counted by the barrier, meanwhile uses the count-1 one */
  int one_serial = 0;
  for (int i = 0; i < 3; i++)
    one_serial += pthread_barrier_wait(&one) == PTHREAD_BARRIER_SERIAL_THREAD;
  for (int i = 0; i < nthreads; i++)
    pthread_join(t[i], NULL);
  int serial_rounds = 0, serial_total = 0;
  for (int r = 0; r < rounds; r++) {
    serial_rounds += serials[r] == 1;
    serial_total += serials[r];
  }
  printf("threads=%d\nlate=%d\nothers=%d\nserial_rounds=%d\n"
         "serial_total=%d\none_serial=%d\ndestroy=%d\n",
         threads, late, others, serial_rounds, serial_total, one_serial,
         pthread_barrier_destroy(&bar));
  pthread_barrier_destroy(&one);
  return late == 0 && serial_rounds == rounds ? 0 : 1;
}
