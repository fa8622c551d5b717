/* fortified: the _FORTIFY_SOURCE entry points block only their thread.
 *
 *   fortified
 *
 * Built with _FORTIFY_SOURCE=2 as Debian builds its packages, so that a
 * read, recv, recvfrom, poll, ppoll and pread whose length is not a
 * compile-time constant call __read_chk, __recv_chk, __recvfrom_chk,
 * __poll_chk, __ppoll_chk and __pread_chk (glibc's versions call libc's
 * internal names, which no preload sees). Main makes each blocking call
 * on an fd that a feeder thread makes ready 30 ms later; the pread reads
 * a temporary file. Prints NAME_rc for each call, pread_data (1 when the
 * bytes read are those written) and threads (the most OS threads the
 * feeder saw while main waited). An entry point the shim missed blocks
 * the one OS thread: the feeder never runs and the run times out.
 */
#undef _FORTIFY_SOURCE
#define _FORTIFY_SOURCE 2
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "threads_now.h"

/* Lengths the compiler cannot see: the fortified inline wrappers then
 * call the _chk entry points instead of the plain names. */
static volatile size_t len = 16;
static volatile nfds_t nfds = 1;
static int feed_fd, most_threads;

static void *feeder(void *arg) {
  (void)arg;
  usleep(30000);
  int t = threads_now();
  if (t > most_threads)
    most_threads = t;
  if (write(feed_fd, "x", 1) != 1)
    exit(3);
  return NULL;
}

/* Starts the feeder for fd (the end it writes to). */
static pthread_t feed(int fd) {
  pthread_t t;
  feed_fd = fd;
  if (pthread_create(&t, NULL, feeder, NULL) != 0)
    exit(2);
  return t;
}

static long with_pipe(int kind) {
  char buf[16];
  int p[2];
  long rc = -2;
  if (pipe(p) != 0)
    exit(2);
  pthread_t t = feed(p[1]);
  if (kind == 0) {
    rc = read(p[0], buf, len);
  } else {
    struct pollfd fds[1] = {{.fd = p[0], .events = POLLIN}};
    struct timespec ts = {5, 0};
    rc = kind == 1 ? poll(fds, nfds, 5000) : ppoll(fds, nfds, &ts, NULL);
  }
  pthread_join(t, NULL);
  close(p[0]);
  close(p[1]);
  return rc;
}

static long with_socket(int from) {
  char buf[16];
  int sv[2];
  long rc;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0)
    exit(2);
  pthread_t t = feed(sv[1]);
  if (from)
    rc = recvfrom(sv[0], buf, len, 0, (struct sockaddr *)&ss, &sl);
  else
    rc = recv(sv[0], buf, len, 0);
  pthread_join(t, NULL);
  close(sv[0]);
  close(sv[1]);
  return rc;
}

static void with_file(void) {
  char path[] = "/tmp/gpatch-fortified-XXXXXX", buf[16] = "";
  int fd = mkstemp(path);
  if (fd < 0)
    exit(2);
  unlink(path);
  if (write(fd, "0123456789abcdef", 16) != 16)
    exit(2);
  long rc = pread(fd, buf, len - 4, 4);
  printf("pread_rc=%ld\npread_data=%d\n", rc,
         memcmp(buf, "456789abcdef", 12) == 0);
  close(fd);
}

int main(void) {
  printf("read_rc=%ld\n", with_pipe(0));
  printf("poll_rc=%ld\n", with_pipe(1));
  printf("ppoll_rc=%ld\n", with_pipe(2));
  printf("recv_rc=%ld\n", with_socket(0));
  printf("recvfrom_rc=%ld\n", with_socket(1));
  with_file();
  printf("threads=%d\n", most_threads);
  return 0;
}
