/* proc_dump: threads parked in different calls when SIGUSR2 arrives.
 *
 *   proc_dump handler|nohandler
 *
 * Threads wait in read on a pipe, in sleep, on a condvar, on a mutex main
 * holds, in pthread_join, and one named "worker-x" in waitpid for a child
 * that sleeps. Main then sends itself SIGUSR2, sleeps 200 ms, releases
 * everyone and exits 0. handler: the program has its own SIGUSR2 handler
 * (SA_RESTART) and prints how often it ran; nohandler: it has none (run
 * with GPATCH_DUMP_SIGNAL=SIGUSR2, the process survives the signal).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int pipefd[2], arrived, released;
static volatile sig_atomic_t handled;
static pthread_t sleeper_t;
static pid_t kid;

static void arrive(void) {
  pthread_mutex_lock(&mu);
  arrived++;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

static void *reader(void *arg) {
  char c;
  (void)arg;
  arrive();
  read(pipefd[0], &c, 1);
  return NULL;
}

static void *sleeper(void *arg) {
  (void)arg;
  arrive();
  usleep(600 * 1000);
  return NULL;
}

static void *cond_waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  arrived++;
  pthread_cond_broadcast(&cv);
  while (!released)
    pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void *locker(void *arg) {
  (void)arg;
  arrive();
  pthread_mutex_lock(&held);
  pthread_mutex_unlock(&held);
  return NULL;
}

static void *joiner(void *arg) {
  (void)arg;
  arrive();
  pthread_join(sleeper_t, NULL);
  return NULL;
}

static void *reaper(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "worker-x");
  arrive();
  int st;
  waitpid(kid, &st, 0);
  return NULL;
}

static void on_usr2(int sig) {
  (void)sig;
  handled++;
}

int main(int argc, char **argv) {
  int own = argc > 1 && strcmp(argv[1], "handler") == 0;
  if (own) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR2, &sa, NULL);
  }
  if (pipe(pipefd) != 0)
    return 2;
  pthread_mutex_lock(&held);
  fflush(stdout);
  kid = fork();
  if (kid == 0) {
    usleep(400 * 1000);
    _exit(0);
  }
  pthread_t t[7];
  pthread_create(&sleeper_t, NULL, sleeper, NULL);
  pthread_create(&t[0], NULL, reader, NULL);
  pthread_create(&t[1], NULL, cond_waiter, NULL);
  pthread_create(&t[2], NULL, locker, NULL);
  pthread_create(&t[3], NULL, joiner, NULL);
  pthread_create(&t[4], NULL, reaper, NULL);
  pthread_mutex_lock(&mu);
  while (arrived < 6)
    pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  usleep(50 * 1000); /* let each reach its wait */
  kill(getpid(), SIGUSR2);
  usleep(200 * 1000);
  pthread_mutex_lock(&mu);
  released = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  pthread_mutex_unlock(&held);
  write(pipefd[1], "x", 1);
  for (int i = 0; i < 5; i++)
    pthread_join(t[i], NULL);
  printf("handled=%d done=1\n", (int)handled);
  return 0;
}
