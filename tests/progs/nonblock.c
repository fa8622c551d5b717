/* nonblock: descriptors the program itself made non-blocking stay so.
 *
 *   nonblock fcntl|sockflag|ioctl
 *
 * In a thread, makes a TCP listener, an accepted socket and a pipe
 * non-blocking with fcntl(F_SETFL), with SOCK_NONBLOCK / accept4 / pipe2
 * flags, or with ioctl(FIONBIO), and checks that they answer -1/EAGAIN
 * where nothing is ready (accept, read, recv, recvmsg, a full send or pipe
 * write), that recv(MSG_DONTWAIT) on a blocking socket does too, and that
 * F_GETFL shows exactly the flags the program set, before and after use.
 * Then it clears O_NONBLOCK again and checks a read blocks until another
 * thread writes 100 ms later.  Prints key=value lines; *_flags values are
 * F_GETFL results, *_errno values errno numbers, threads the OS thread
 * count while both threads run.
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
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "threads_now.h"

static const char *mode;
static int client_fd;

static long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Sets or clears O_NONBLOCK the way the mode says (sockflag uses fcntl
 * once the descriptor exists). */
static void set_nonblock(int fd, int on) {
  if (strcmp(mode, "ioctl") == 0) {
    int v = on;

    ioctl(fd, FIONBIO, &v);
  } else {
    int fl = fcntl(fd, F_GETFL);

    fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
  }
}

/* Prints "name=rc" for a call expected to fail and "name_errno=E". */
static void report(const char *name, long rc) {
  printf("%s_rc=%ld\n%s_errno=%d\n", name, rc, name, rc < 0 ? errno : 0);
}

/* The late writer waits here until the worker has counted the OS threads
 * (natively it could otherwise write and end before the count). */
static pthread_barrier_t gate;

static void *late_writer(void *arg) {
  (void)arg;
  pthread_barrier_wait(&gate);
  usleep(100000);
  if (write(client_fd, "late", 4) != 4)
    fprintf(stderr, "nonblock: late write failed\n");
  return NULL;
}

/* The listener: non-blocking, so accept with nothing pending fails. */
static int listener(struct sockaddr_in *a) {
  int sockflag = strcmp(mode, "sockflag") == 0;
  int l = socket(AF_INET, SOCK_STREAM | (sockflag ? SOCK_NONBLOCK : 0), 0);
  socklen_t len = sizeof *a;

  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(l, (struct sockaddr *)a, sizeof *a) != 0 || listen(l, 16) != 0
      || getsockname(l, (struct sockaddr *)a, &len) != 0)
    exit(1);
  if (!sockflag)
    set_nonblock(l, 1);
  printf("l_flags=%d\n", fcntl(l, F_GETFL));
  report("accept", accept(l, NULL, NULL));
  report("accept4", accept4(l, NULL, NULL, SOCK_CLOEXEC));
  return l;
}

/* Fills the send buffer of the non-blocking socket s. */
static void fill(int s) {
  static char chunk[65536];
  long total = 0;
  ssize_t n = 0;

  while (total < (256L << 20) && (n = send(s, chunk, sizeof chunk, 0)) > 0)
    total += n;
  printf("fill_rc=%d\nfill_errno=%d\n", n < 0 ? -1 : 0, n < 0 ? errno : 0);
}

/* A pipe made non-blocking: an empty read and a full write fail. */
static void pipe_checks(void) {
  static char chunk[4096];
  int p[2], i;
  ssize_t n = 0;
  char c;

  if (strcmp(mode, "sockflag") == 0) {
    if (pipe2(p, O_NONBLOCK) != 0)
      exit(1);
  } else {
    if (pipe(p) != 0)
      exit(1);
    set_nonblock(p[0], 1);
    set_nonblock(p[1], 1);
  }
  printf("pipe_r_flags=%d\npipe_w_flags=%d\n", fcntl(p[0], F_GETFL),
         fcntl(p[1], F_GETFL));
  report("pipe_read", read(p[0], &c, 1));
  for (i = 0; i < 1000 && (n = write(p[1], chunk, sizeof chunk)) > 0; i++)
    ;
  printf("pipe_fill_rc=%d\npipe_fill_errno=%d\n", n < 0 ? -1 : 0,
         n < 0 ? errno : 0);
  printf("pipe_r_flags_end=%d\npipe_w_flags_end=%d\n", fcntl(p[0], F_GETFL),
         fcntl(p[1], F_GETFL));
  close(p[0]);
  close(p[1]);
}

static void *worker(void *arg) {
  struct sockaddr_in a;
  struct pollfd pfd;
  struct iovec iov;
  struct msghdr msg;
  pthread_t t;
  char buf[16];
  long t0;
  int l = listener(&a), s, c;

  (void)arg;
  c = socket(AF_INET, SOCK_STREAM, 0);
  printf("c_flags=%d\n", fcntl(c, F_GETFL));
  printf("connect_rc=%d\n", connect(c, (struct sockaddr *)&a, sizeof a));
  pfd = (struct pollfd){ .fd = l, .events = POLLIN };
  printf("listen_poll_rc=%d\n", poll(&pfd, 1, 5000));
  if (strcmp(mode, "sockflag") == 0) {
    s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
    printf("s_flags_accepted=%d\n", fcntl(s, F_GETFL));
  } else {
    s = accept(l, NULL, NULL);
    printf("s_flags_accepted=%d\n", fcntl(s, F_GETFL));
    set_nonblock(s, 1);
  }
  printf("s_flags=%d\n", fcntl(s, F_GETFL));
  report("read", read(s, buf, sizeof buf));
  report("recv", recv(s, buf, sizeof buf, 0));
  iov = (struct iovec){ .iov_base = buf, .iov_len = sizeof buf };
  msg = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1 };
  report("recvmsg", recvmsg(s, &msg, 0));
  report("dontwait", recv(c, buf, sizeof buf, MSG_DONTWAIT));
  printf("c_flags_after_dontwait=%d\n", fcntl(c, F_GETFL));

  printf("hello_write=%zd\n", write(c, "hello", 5));
  pfd = (struct pollfd){ .fd = s, .events = POLLIN };
  printf("hello_poll=%d\n", poll(&pfd, 1, 5000));
  printf("hello_read=%zd\n", read(s, buf, sizeof buf));
  fill(s);
  pipe_checks();

  set_nonblock(s, 0);
  printf("s_flags_cleared=%d\n", fcntl(s, F_GETFL));
  client_fd = c;
  pthread_barrier_init(&gate, NULL, 2);
  pthread_create(&t, NULL, late_writer, NULL);
  printf("threads=%d\n", threads_now());
  pthread_barrier_wait(&gate);
  t0 = now_ms();
  printf("late_read=%zd\n", read(s, buf, 4));
  printf("late_waited=%d\n", now_ms() - t0 >= 40);
  pthread_join(t, NULL);
  printf("l_flags_end=%d\ns_flags_end=%d\nc_flags_end=%d\n",
         fcntl(l, F_GETFL), fcntl(s, F_GETFL), fcntl(c, F_GETFL));
  close(s);
  close(c);
  close(l);
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t t;

  mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "fcntl") != 0 && strcmp(mode, "sockflag") != 0
      && strcmp(mode, "ioctl") != 0) {
    fprintf(stderr, "usage: nonblock fcntl|sockflag|ioctl\n");
    return 64;
  }
  pthread_create(&t, NULL, worker, NULL);
  pthread_join(t, NULL);
  return 0;
}
