/* sock_timeouts: SO_RCVTIMEO and SO_SNDTIMEO on blocking socket calls.
 *
 *   sock_timeouts
 *
 * In a thread, with 200 ms timeouts, each call waits for something that
 * never comes: recv, read and recvmsg on an empty socketpair; recv with
 * MSG_WAITALL when only 3 of 10 bytes come (the part is returned); send
 * into a full socket (EAGAIN) and a 4 MiB send into an empty one (the
 * part that fitted is returned); accept with no client; connect to a
 * listener whose accept queue is full (EINPROGRESS); then a recv whose
 * data comes before the timeout, and a timeout of {0, 0} (forever) on a
 * recv that data ends after 300 ms. A ticker thread counts 1 ms sleeps.
 * Prints NAME_rc, NAME_errno, NAME_timed (1 when the call took 190 ms to
 * 1.5 s) and NAME_ticked (1 when the ticker ran during the call: under
 * load the process may wait on the run queue for most of it, so a count
 * would measure the load) for each, and threads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "threads_now.h"

#define BIG (4 << 20)

static volatile int stop;
static volatile long ticks;
static long t0, k0;

static long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void timeo(int fd, int opt, long ms) {
  struct timeval tv = { ms / 1000, ms % 1000 * 1000 };

  setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv);
}

static void begin(void) {
  t0 = now_ms();
  k0 = ticks;
  errno = 0;
}

/* Prints what the call returned and how long it took. */
static void report(const char *name, long rc) {
  int err = rc < 0 ? errno : 0;
  long ms = now_ms() - t0;

  printf("%s_rc=%ld %s_errno=%d %s_timed=%d %s_ticked=%d\n", name, rc, name,
         err, name, ms >= 190 && ms < 1500, name, ticks - k0 >= 1);
}

static void receives(void) {
  char buf[16];
  struct iovec iov = { buf, sizeof buf };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
  int sv[2];

  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  timeo(sv[0], SO_RCVTIMEO, 200);
  begin();
  report("recv", recv(sv[0], buf, sizeof buf, 0));
  begin();
  report("read", read(sv[0], buf, sizeof buf));
  begin();
  report("recvmsg", recvmsg(sv[0], &m, 0));
  send(sv[1], "abc", 3, 0);
  begin();
  report("waitall", recv(sv[0], buf, 10, MSG_WAITALL));
  close(sv[0]);
  close(sv[1]);
}

static void sends(void) {
  char *big = calloc(1, BIG);
  int sv[2];
  long n;

  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  timeo(sv[0], SO_SNDTIMEO, 200);
  while (send(sv[0], big, 65536, MSG_DONTWAIT) > 0)
    ;
  begin();
  report("send_full", send(sv[0], big, 1000, 0));
  close(sv[0]);
  close(sv[1]);

  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  timeo(sv[0], SO_SNDTIMEO, 200);
  begin();
  n = send(sv[0], big, BIG, 0);
  report("send_part", n > 0 && n < BIG ? 1 : n);
  close(sv[0]);
  close(sv[1]);
  free(big);
}

/* A listener of 127.0.0.1 with a backlog of 0; its address in *a. */
static int listener(struct sockaddr_in *a) {
  socklen_t len = sizeof *a;
  int l = socket(AF_INET, SOCK_STREAM, 0);

  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(l, (struct sockaddr *)a, len) != 0 || listen(l, 0) != 0
      || getsockname(l, (struct sockaddr *)a, &len) != 0)
    exit(1);
  return l;
}

static void accept_connect(void) {
  struct sockaddr_in a;
  int l = listener(&a), c1, c2;

  timeo(l, SO_RCVTIMEO, 200);
  begin();
  report("accept", accept(l, NULL, NULL));
  c1 = socket(AF_INET, SOCK_STREAM, 0);
  c2 = socket(AF_INET, SOCK_STREAM, 0);
  connect(c1, (struct sockaddr *)&a, sizeof a); /* fills the queue */
  timeo(c2, SO_SNDTIMEO, 200);
  begin();
  report("connect", connect(c2, (struct sockaddr *)&a, sizeof a));
  close(c1);
  close(c2);
  close(l);
}

static int late_fd;

static void *late_writer(void *arg) {
  usleep((useconds_t)(long)arg * 1000);
  send(late_fd, "late", 4, 0);
  return NULL;
}

/* Data 100 ms into a 200 ms timeout, and at 300 ms with {0, 0}. */
static void in_time(void) {
  char buf[16];
  pthread_t t;
  int sv[2];
  long n;

  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  late_fd = sv[1];
  timeo(sv[0], SO_RCVTIMEO, 200);
  pthread_create(&t, NULL, late_writer, (void *)100L);
  begin();
  n = recv(sv[0], buf, sizeof buf, 0);
  printf("in_time_rc=%ld in_time_early=%d\n", n, now_ms() - t0 < 190);
  pthread_join(t, NULL);
  timeo(sv[0], SO_RCVTIMEO, 0);
  pthread_create(&t, NULL, late_writer, (void *)300L);
  begin();
  n = recv(sv[0], buf, sizeof buf, 0);
  printf("forever_rc=%ld forever_waited=%d\n", n, now_ms() - t0 >= 290);
  pthread_join(t, NULL);
  close(sv[0]);
  close(sv[1]);
}

static void *worker(void *arg) {
  (void)arg;
  printf("threads=%d\n", threads_now());
  receives();
  sends();
  accept_connect();
  in_time();
  return NULL;
}

static void *ticker(void *arg) {
  (void)arg;
  while (!stop) {
    usleep(1000);
    ticks++;
  }
  return NULL;
}

int main(void) {
  pthread_t w, t;

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_create(&t, NULL, ticker, NULL);
  pthread_create(&w, NULL, worker, NULL);
  pthread_join(w, NULL);
  stop = 1;
  pthread_join(t, NULL);
  return 0;
}
