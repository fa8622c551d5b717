/* sig_interrupt: a signal while the main thread blocks and other threads
 * wait in read, sleep and a condvar.
 *
 *   sig_interrupt intr     handler without SA_RESTART: accept fails, EINTR
 *   sig_interrupt restart  with SA_RESTART: accept goes on and returns the
 *                          connection another thread makes afterwards
 *   sig_interrupt sleep    nanosleep returns EINTR and the time left
 *   sig_interrupt poll     poll returns EINTR even with SA_RESTART
 *
 * A helper thread sends the signal to the process with kill() after
 * 200 ms. Prints key=value lines; exits 0 when the run went as expected.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "threads_now.h"

static volatile sig_atomic_t handled;
static int port;
static int restart;
static int pipefd[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void on_usr1(int sig) {
  (void)sig;
  handled++;
}

static void *reader(void *arg) {
  char c;
  (void)arg;
  read(pipefd[0], &c, 1);
  return NULL;
}

static void *sleeper(void *arg) {
  (void)arg;
  sleep(30);
  return NULL;
}

static void *waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  return NULL;
}

/* The killer waits here until main has counted the OS threads (natively
 * it could otherwise be done before a late count). */
static pthread_barrier_t gate;

static void *killer(void *arg) {
  (void)arg;
  pthread_barrier_wait(&gate);
  usleep(200 * 1000);
  /* Natively also until main is blocked in its call (under load it could
   * get there after the signal, and then wait forever). */
  if (threads_now() > 1)
    wait_in_call(getpid());
  kill(getpid(), SIGUSR1);
  if (restart) {
    usleep(100 * 1000);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((unsigned short)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
      perror("connect");
    close(fd);
  }
  return NULL;
}

static int listener(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      listen(fd, 8) != 0 || getsockname(fd, (struct sockaddr *)&a, &len))
    return -1;
  port = ntohs(a.sin_port);
  return fd;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "intr";
  restart = strcmp(mode, "intr") != 0 && strcmp(mode, "sleep") != 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigaction(SIGUSR1, &sa, NULL);
  int lfd = listener();
  if (lfd < 0 || pipe(pipefd) != 0) {
    perror("setup");
    return 2;
  }
  pthread_t t;
  void *(*fns[])(void *) = {reader, sleeper, waiter, killer};
  pthread_barrier_init(&gate, NULL, 2);
  for (int i = 0; i < 4; i++) {
    pthread_create(&t, NULL, fns[i], NULL);
    pthread_detach(t);
  }
  printf("threads=%d\n", threads_now());
  pthread_barrier_wait(&gate);
  int ok = 0;
  if (strcmp(mode, "intr") == 0 || strcmp(mode, "restart") == 0) {
    int c = accept(lfd, NULL, NULL);
    int err = errno;
    printf("accept_eintr=%d accept_ok=%d\n", c < 0 && err == EINTR, c >= 0);
    ok = restart ? c >= 0 : (c < 0 && err == EINTR);
  } else if (strcmp(mode, "sleep") == 0) {
    struct timespec req = {5, 0}, rem = {0, 0};
    int r = nanosleep(&req, &rem);
    int err = errno;
    printf("sleep_eintr=%d rem_ok=%d\n", r == -1 && err == EINTR,
           rem.tv_sec >= 3 && rem.tv_sec <= 5);
    ok = r == -1 && err == EINTR && rem.tv_sec >= 3;
  } else {
    struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
    int r = poll(&p, 1, 5000);
    int err = errno;
    printf("poll_eintr=%d\n", r == -1 && err == EINTR);
    ok = r == -1 && err == EINTR;
  }
  printf("handled=%d\n", (int)handled);
  fflush(stdout);
  return ok && handled == 1 ? 0 : 1;
}
