/* accept_first: the first read of an accepted connection gets what the
 * peer sent before the accept, and waits for what it sends after.
 *
 * In a thread (a second one stays alive, so the calls are cooperative
 * under gpatch), each case makes a loopback connection, lets the client
 * end act, then accepts and reads. Prints key=value lines:
 *
 *   early_read, early_eof     data and a FIN that came before the accept:
 *                             5, then 0
 *   timeo_read, timeo_errno   the listener has SO_RCVTIMEO 200 ms (the
 *                             accepted socket inherits it): the data that
 *                             came before, 5; then, with nothing more,
 *                             EAGAIN once the timeout passed
 *   nb_read, nb_errno         accept4(SOCK_NONBLOCK) with data there: 5,
 *                             then EAGAIN at once
 *   late_read                 nothing before the accept; data a thread
 *                             writes 50 ms later: 5
 *   msg_read                  recvmsg of data that came before: 5
 *   reset_read, reset_errno   data, then a reset, before the accept (as
 *                             the kernel reports it; compared with native)
 *   threads                   OS threads while the two threads and main
 *                             run
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "threads_now.h"

/* The idler waits here until the server thread has counted the OS threads
 * (natively its sleep could end before the count). */
static pthread_barrier_t gate;

static int lfd;
static struct sockaddr_in addr;

/* A connected client socket whose connection waits in lfd's backlog. */
static int dial(void) {
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (c < 0 || connect(c, (struct sockaddr *)&addr, sizeof addr) != 0) {
    perror("accept_first: connect");
    _exit(2);
  }
  return c;
}

/* Prints name_read=rc of a read of up to 100 bytes from s. */
static void report_read(const char *name, int s) {
  char buf[100];
  ssize_t r = read(s, buf, sizeof buf);
  printf("%s_read=%zd\n", name, r);
}

/* Prints name_errno of a read from s that should fail. */
static void report_errno(const char *name, int s) {
  char buf[100];
  errno = 0;
  ssize_t r = read(s, buf, sizeof buf);
  printf("%s_errno=%d\n", name, r < 0 ? errno : 0);
}

static void *late_writer(void *arg) {
  usleep(50 * 1000);
  write(*(int *)arg, "hello", 5);
  return NULL;
}

static void early(void) {
  int c = dial();
  write(c, "hello", 5);
  shutdown(c, SHUT_WR);
  usleep(20 * 1000); /* the segments reach the server's socket */
  int s = accept(lfd, NULL, NULL);
  report_read("early", s);
  char buf[100];
  printf("early_eof=%zd\n", read(s, buf, sizeof buf));
  close(s);
  close(c);
}

static void timeo(void) {
  struct timeval tv = {0, 200 * 1000};
  setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int c = dial();
  write(c, "hello", 5);
  usleep(20 * 1000);
  int s = accept(lfd, NULL, NULL);
  report_read("timeo", s);
  report_errno("timeo", s);
  close(s);
  close(c);
  struct timeval none = {0, 0};
  setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
}

static void nonblock(void) {
  int c = dial();
  write(c, "hello", 5);
  usleep(20 * 1000);
  int s = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
  report_read("nb", s);
  report_errno("nb", s);
  close(s);
  close(c);
}

static void late(void) {
  int c = dial();
  int s = accept(lfd, NULL, NULL);
  pthread_t w;
  pthread_create(&w, NULL, late_writer, &c);
  report_read("late", s);
  pthread_join(w, NULL);
  close(s);
  close(c);
}

static void msg(void) {
  int c = dial();
  write(c, "hello", 5);
  usleep(20 * 1000);
  int s = accept(lfd, NULL, NULL);
  char buf[100];
  struct iovec iov = {buf, sizeof buf};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  printf("msg_read=%zd\n", recvmsg(s, &m, 0));
  close(s);
  close(c);
}

static void reset(void) {
  int c = dial();
  write(c, "hello", 5);
  struct linger lg = {1, 0};
  setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(c); /* a reset */
  usleep(20 * 1000);
  int s = accept(lfd, NULL, NULL);
  if (s < 0) {
    printf("reset_accept_errno=%d\n", errno);
    return;
  }
  char buf[100];
  errno = 0;
  ssize_t r = read(s, buf, sizeof buf);
  printf("reset_read=%zd\nreset_errno=%d\n", r, r < 0 ? errno : 0);
  close(s);
}

static void *server(void *arg) {
  (void)arg;
  printf("threads=%d\n", threads_now()); /* main, the idler, this one */
  pthread_barrier_wait(&gate); /* the idler waits there until now */
  early();
  timeo();
  nonblock();
  late();
  msg();
  reset();
  return NULL;
}

static void *idler(void *arg) { /* keeps a second thread alive */
  (void)arg;
  pthread_barrier_wait(&gate); /* alive until counted */
  usleep(3000 * 1000);
  return NULL;
}

int main(void) {
  socklen_t len = sizeof addr;
  lfd = socket(AF_INET, SOCK_STREAM, 0);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
      listen(lfd, 16) != 0 ||
      getsockname(lfd, (struct sockaddr *)&addr, &len) != 0) {
    perror("accept_first: listen");
    return 2;
  }
  pthread_t idle, srv;
  pthread_barrier_init(&gate, NULL, 2);
  pthread_create(&idle, NULL, idler, NULL);
  pthread_detach(idle);
  pthread_create(&srv, NULL, server, NULL);
  pthread_join(srv, NULL);
  fflush(stdout);
  return 0;
}
