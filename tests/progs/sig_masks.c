/* sig_masks: a process-directed signal goes to a thread that does not
 * block it, whatever the masks were when the threads were created.
 *
 *   sig_masks unblock  main blocks SIGTERM, creates a worker (which
 *                      inherits the block), then unblocks SIGTERM and
 *                      waits in accept; the worker sends SIGTERM to the
 *                      process: main's handler runs and accept fails
 *                      with EINTR (accept_eintr=1, handled=1)
 *   sig_masks sigwait  the worker is created first; then both threads
 *                      block SIGTERM and main waits in sigwait; the
 *                      worker sends SIGTERM: sigwait takes it
 *                      (sigwait_got=15) and the process lives
 *
 * The worker sends the signal 200 ms after main is ready. Prints
 * threads=N and key=value lines; exits 0 when the run went as expected.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "threads_now.h"

static volatile sig_atomic_t handled;
static int sigwait_mode;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int blocked; /* sigwait mode: the worker has blocked SIGTERM */
/* The worker waits here until main has counted the OS threads (natively
 * it could otherwise be done before a late count). */
static pthread_barrier_t gate;

static void on_term(int sig) {
  (void)sig;
  handled++;
}

static void block_term(int how) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  pthread_sigmask(how, &s, NULL);
}

static void *worker(void *arg) {
  (void)arg;
  if (sigwait_mode) {
    block_term(SIG_BLOCK);
    pthread_mutex_lock(&mu);
    blocked = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
  }
  pthread_barrier_wait(&gate);
  usleep(200000);
  /* Natively also until main is blocked in accept or sigwait (under load
   * it could get there after the signal). */
  if (threads_now() > 1)
    wait_in_call(getpid());
  kill(getpid(), SIGTERM);
  return NULL;
}

static int unblock_case(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART */
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 ||
      listen(ls, 1) != 0)
    return 1;
  block_term(SIG_BLOCK);
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  block_term(SIG_UNBLOCK);
  printf("threads=%d\n", threads_now());
  pthread_barrier_wait(&gate);
  int c = accept(ls, NULL, NULL);
  int eintr = c < 0 && errno == EINTR;
  pthread_join(t, NULL);
  printf("accept_eintr=%d\nhandled=%d\n", eintr, (int)handled);
  return eintr && handled == 1 ? 0 : 1;
}

static int sigwait_case(void) {
  sigwait_mode = 1;
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  block_term(SIG_BLOCK);
  pthread_mutex_lock(&mu);
  while (!blocked)
    pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  printf("threads=%d\n", threads_now());
  pthread_barrier_wait(&gate);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  int sig = 0;
  sigwait(&s, &sig);
  pthread_join(t, NULL);
  printf("sigwait_got=%d\n", sig);
  return sig == SIGTERM ? 0 : 1;
}

int main(int argc, char **argv) {
  pthread_barrier_init(&gate, NULL, 2);
  if (argc == 2 && strcmp(argv[1], "unblock") == 0)
    return unblock_case();
  if (argc == 2 && strcmp(argv[1], "sigwait") == 0)
    return sigwait_case();
  fprintf(stderr, "usage: sig_masks unblock|sigwait\n");
  return 64;
}
