/* connect_errors: what connect() reports, blocking and non-blocking.
 *
 *   connect_errors CLOSED_PORT
 *
 * In a thread: a blocking connect to 127.0.0.1:CLOSED_PORT (where nothing
 * listens) fails with ECONNREFUSED; a non-blocking one gives EINPROGRESS,
 * then poll reports it done and SO_ERROR holds ECONNREFUSED.  Against a
 * listener of its own: a non-blocking connect (SOCK_NONBLOCK or fcntl)
 * gives EINPROGRESS and completes with SO_ERROR 0, and a second connect
 * then reports the outcome (0 on Linux); a blocking connect succeeds.
 * F_GETFL is printed after each.  Prints key=value lines (errno numbers,
 * poll revents, F_GETFL flags, and threads, the OS thread count while the
 * thread runs).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "threads_now.h"

static int closed_port;

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a = { .sin_family = AF_INET };

  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

/* Connects fd to port and prints name_rc and name_errno. */
static void try_connect(const char *name, int fd, int port) {
  struct sockaddr_in a = loopback(port);
  int rc = connect(fd, (struct sockaddr *)&a, sizeof a);

  printf("%s_rc=%d\n%s_errno=%d\n", name, rc, name, rc < 0 ? errno : 0);
}

/* Waits for a non-blocking connect to finish; prints what poll and
 * SO_ERROR say, and the flags. */
static void finish(const char *name, int fd) {
  struct pollfd pfd = { .fd = fd, .events = POLLOUT };
  int rc = poll(&pfd, 1, 5000), err = -1;
  socklen_t len = sizeof err;

  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  printf("%s_poll=%d\n%s_revents=%d\n%s_soerror=%d\n%s_flags=%d\n", name, rc,
         name, pfd.revents, name, err, name, fcntl(fd, F_GETFL));
}

static void *worker(void *arg) {
  struct sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  int l = socket(AF_INET, SOCK_STREAM, 0), port, fd;

  (void)arg;
  printf("threads=%d\n", threads_now());
  if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 16) != 0
      || getsockname(l, (struct sockaddr *)&a, &len) != 0)
    exit(1);
  port = ntohs(a.sin_port);

  fd = socket(AF_INET, SOCK_STREAM, 0);
  try_connect("refused", fd, closed_port);
  printf("refused_flags=%d\n", fcntl(fd, F_GETFL));
  close(fd);

  fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  try_connect("nb_refused", fd, closed_port);
  finish("nb_refused", fd);
  close(fd);

  fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  try_connect("nb", fd, port);
  finish("nb", fd);
  try_connect("nb_again", fd, port);
  close(fd);

  fd = socket(AF_INET, SOCK_STREAM, 0);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  try_connect("fcntl_nb", fd, port);
  finish("fcntl_nb", fd);
  close(fd);

  fd = socket(AF_INET, SOCK_STREAM, 0);
  try_connect("blocking", fd, port);
  printf("blocking_flags=%d\n", fcntl(fd, F_GETFL));
  close(fd);
  close(l);
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t t;

  closed_port = argc > 1 ? atoi(argv[1]) : 0;
  if (closed_port <= 0 || closed_port > 65535) {
    fprintf(stderr, "usage: connect_errors CLOSED_PORT\n");
    return 64;
  }
  pthread_create(&t, NULL, worker, NULL);
  pthread_join(t, NULL);
  return 0;
}
