/* proc_exit: how a process with threads ends, as its parent sees it.
 *
 *   proc_exit MODE
 *
 * Before MODE acts, 20 threads wait (in read on a pipe, sleep and a
 * condvar), stdout holds buffered text ("buffered=1", not flushed), and an
 * atexit handler that prints "atexit=1" is registered.
 *
 * exit_thread   a thread calls exit(3)
 * _exit_thread  a thread calls _exit(4): no atexit, no flush
 * abort_thread  a thread calls abort() (no core file: RLIMIT_CORE is 0)
 * return_main   main returns 5 while the threads wait
 * exit_main     main releases the waiters and calls pthread_exit; the
 *               last thread to end (a sleeper, after 200 ms) ends the
 *               process with status 0, atexit and flush once
 * kill_thread   a thread sends itself SIGTERM (default action)
 *
 * The parent (the test) checks the status and the output.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *mode;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int pipefd[2], arrived;

static void at_exit(void) { printf("atexit=1\n"); }

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
  if (strcmp(mode, "exit_main") == 0)
    usleep(200 * 1000);
  else
    sleep(30);
  return NULL;
}

static void *waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  arrived++;
  pthread_cond_broadcast(&cv);
  pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void *actor(void *arg) {
  (void)arg;
  usleep(50 * 1000);
  if (strcmp(mode, "exit_thread") == 0)
    exit(3);
  if (strcmp(mode, "_exit_thread") == 0)
    _exit(4);
  if (strcmp(mode, "abort_thread") == 0)
    abort();
  if (strcmp(mode, "kill_thread") == 0)
    kill(getpid(), SIGTERM);
  return NULL;
}

int main(int argc, char **argv) {
  mode = argc > 1 ? argv[1] : "exit_thread";
  struct rlimit no = {0, 0};
  setrlimit(RLIMIT_CORE, &no);
  if (pipe(pipefd) != 0)
    return 2;
  atexit(at_exit);
  void *(*fns[])(void *) = {reader, sleeper, waiter};
  for (int i = 0; i < 20; i++) {
    pthread_t t;
    pthread_create(&t, NULL, fns[i % 3], NULL);
    pthread_detach(t);
  }
  pthread_mutex_lock(&mu);
  while (arrived < 20)
    pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  printf("buffered=1\n"); /* stdout is a pipe: this stays in the buffer */
  if (strcmp(mode, "return_main") == 0)
    return 5;
  if (strcmp(mode, "exit_main") == 0) {
    /* The readers and waiters would keep the process alive. */
    pthread_mutex_lock(&mu);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    char ones[7] = {1, 1, 1, 1, 1, 1, 1};
    write(pipefd[1], ones, sizeof ones);
    pthread_exit(NULL);
  }
  pthread_t t;
  pthread_create(&t, NULL, actor, NULL);
  pthread_join(t, NULL);
  sleep(5); /* kill_thread: the signal ends the process before this */
  return 1;
}
