/* kill_wake: a signal aimed at a thread that waits on a lock or a
 * condition variable, then the wake-up it waits for, before it runs.
 *
 *   kill_wake cond|mutex
 *
 * cond: T waits in pthread_cond_wait until stop is set; main, holding
 *   the mutex, sets stop, sends T SIGALRM (an empty handler,
 *   SA_RESTART), signals the condition variable and unlocks.
 * mutex: T waits in pthread_mutex_lock on a mutex main holds; main sends
 *   T SIGALRM, then unlocks.
 * The order is knotd's thread stop (pthread_kill, then the broadcast).
 * Prints threads (OS threads while T waits), handled (T's handler ran:
 * 1) and joined=1 once T has ended (a lost wake-up hangs in the join:
 * the harness's timeout ends it).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "threads_now.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static volatile sig_atomic_t handled;
static int stop, waiting, use_cond;

static void on_alarm(int s) {
  (void)s;
  handled = 1;
}

static void *waiter(void *arg) {
  (void)arg;
  if (use_cond) {
    pthread_mutex_lock(&mu);
    waiting = 1;
    while (!stop)
      pthread_cond_wait(&cv, &mu);
  } else {
    __atomic_store_n(&waiting, 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&mu);
  }
  pthread_mutex_unlock(&mu);
  return NULL;
}

int main(int argc, char **argv) {
  use_cond = argc > 1 && strcmp(argv[1], "cond") == 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  if (!use_cond)
    pthread_mutex_lock(&mu);
  pthread_t t;
  pthread_create(&t, NULL, waiter, NULL);
  while (!__atomic_load_n(&waiting, __ATOMIC_ACQUIRE))
    usleep(1000);
  usleep(50000); /* T is in its wait by now */
  printf("threads=%d\n", threads_now());
  if (use_cond) {
    pthread_mutex_lock(&mu);
    stop = 1;
  }
  pthread_kill(t, SIGALRM);
  if (use_cond)
    pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  pthread_join(t, NULL);
  printf("handled=%d\njoined=1\n", (int)handled);
  return 0;
}
