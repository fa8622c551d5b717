/* deadlock: two threads lock two mutexes in opposite orders and wait for
 * each other forever, while main joins them.
 *
 *   deadlock plain     no signal handler: under gpatch, a report naming
 *                      each thread and what it waits on, then abort
 *   deadlock sigwait   the same, but a third thread waits in sigwait for
 *                      SIGUSR1, which a timer sends after 300 ms: that
 *                      thread is no deadlock; it prints and exits 0
 *
 * Natively "plain" hangs (the test runs it only under the shim). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;

static void *ab(void *arg) {
  (void)arg;
  pthread_mutex_lock(&a);
  usleep(50 * 1000);
  pthread_mutex_lock(&b);
  return NULL;
}

static void *ba(void *arg) {
  (void)arg;
  pthread_mutex_lock(&b);
  usleep(50 * 1000);
  pthread_mutex_lock(&a);
  return NULL;
}

static void *waiter(void *arg) {
  sigset_t *set = arg;
  int sig = 0;
  sigwait(set, &sig);
  printf("sigwait=%d\n", sig == SIGUSR1);
  fflush(stdout);
  _exit(0);
}

int main(int argc, char **argv) {
  int with_sigwait = argc > 1 && strcmp(argv[1], "sigwait") == 0;
  static sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  pthread_t t1, t2, t3;
  pthread_create(&t1, NULL, ab, NULL);
  pthread_create(&t2, NULL, ba, NULL);
  if (with_sigwait) {
    pthread_create(&t3, NULL, waiter, &set);
    pid_t self = getpid();
    if (fork() == 0) { /* the timer: a child that signals later */
      usleep(300 * 1000);
      kill(self, SIGUSR1);
      _exit(0);
    }
  }
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  return 0;
}
