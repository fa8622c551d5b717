/* mutex_kinds: robust and priority-inheritance mutexes contended by
 * threads that block while holding them (sleep inside the lock). Natively
 * and under the shim the counter must come out exact and the program
 * must not hang. Prints key=value lines. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define N 4

static pthread_mutex_t mu;
static int counter;

static void *worker(void *arg) {
  (void)arg;
  for (int i = 0; i < 20; i++) {
    if (pthread_mutex_lock(&mu) != 0)
      return (void *)1;
    int v = counter;
    usleep(500); /* blocks while holding the mutex */
    counter = v + 1;
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

static int run(int robust, int protocol) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  if (robust)
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  if (protocol)
    pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
  pthread_mutex_init(&mu, &a);
  pthread_mutexattr_destroy(&a);
  counter = 0;
  pthread_t t[N];
  int errors = 0;
  for (int i = 0; i < N; i++)
    pthread_create(&t[i], NULL, worker, NULL);
  for (int i = 0; i < N; i++) {
    void *r;
    pthread_join(t[i], &r);
    errors += r != NULL;
  }
  pthread_mutex_destroy(&mu);
  return errors == 0 && counter == N * 20;
}

int main(void) {
  int robust = run(1, 0), pi = run(0, 1), both = run(1, 1);
  printf("robust_ok=%d\npi_ok=%d\nrobust_pi_ok=%d\n", robust, pi, both);
  return robust && pi && both ? 0 : 1;
}
