/* fd_misuse: calls that the kernel refuses at once, on descriptors that
 * have nothing to read or no room to write, while a second thread is
 * alive (so that the shim takes its cooperative path).  Found by the
 * differential fuzzer (fuzz_interp seeds 0, 1, 3, 4, 6, 8, 9, 10): the
 * shim polled for readiness before making the call, so a blocking call
 * waited forever for an event that could never come, and a non-blocking
 * one said EAGAIN instead of the kernel's error.
 *
 *   fd_misuse
 *
 * Prints one key=ERRNO-NAME (or the count) per call, the same natively
 * and under the shim:
 *   read_wrend, readv_wrend     read on the write end of an empty pipe
 *   write_rdend                 write on the read end of a pipe
 *   recv_pipe, recvmsg_pipe     recv and recvmsg on a pipe's read end
 *   send_rdend                  send on a pipe's read end
 *   recv_eventfd                recv on an eventfd whose count is 0
 *   read4_eventfd               a 4-byte read of an eventfd at 0
 *   write4_eventfd              a 4-byte write to an eventfd
 *   read_epoll, write_epoll     read and write on an epoll set
 * each twice: blocking (key_b) and with O_NONBLOCK set (key_nb), then
 *   fill_nb     bytes a non-blocking pipe takes in 1000-byte writes until
 *               EAGAIN (the kernel packs them into its last page: poll
 *               says "no room" 3000 bytes earlier, fuzz seeds 5, 6)
 *   fill5k_nb   the same with 5000-byte writes (partial writes)
 *   write0_full a write of 0 bytes to that full pipe, blocking (0)
 *   read0_empty a read of 0 bytes from an empty blocking pipe (0)
 *   send_shutrd a blocking send on a full AF_UNIX stream socket whose
 *               peer has called shutdown(SHUT_RD) (EPIPE at once; the
 *               shim skipped the try on a socket it had seen full and
 *               waited for room that the kernel never reports, seed 28)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done;

/* Keeps a second thread alive until main is done. */
static void *idle(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  while (!done)
    pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void show(const char *key, const char *mode, long rc) {
  int err = errno;

  if (rc < 0)
    printf("%s_%s=%s\n", key, mode, strerrorname_np(err));
  else
    printf("%s_%s=%ld\n", key, mode, rc);
}

/* Every call once; nb says whether the descriptors are non-blocking. */
static void calls(int nb) {
  const char *m = nb ? "nb" : "b";
  int p[2], efd, ep, fl = nb ? O_NONBLOCK : 0;
  char buf[64] = { 0 };
  struct iovec iov = { buf, sizeof buf };
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
  uint64_t one = 1;

  if (pipe2(p, fl) != 0 || (efd = eventfd(0, nb ? EFD_NONBLOCK : 0)) < 0 ||
      (ep = epoll_create1(0)) < 0) {
    perror("fd_misuse: setup");
    return;
  }
  if (nb)
    fcntl(ep, F_SETFL, O_NONBLOCK);
  show("read_wrend", m, read(p[1], buf, sizeof buf));
  show("readv_wrend", m, readv(p[1], &iov, 1));
  show("write_rdend", m, write(p[0], buf, sizeof buf));
  show("recv_pipe", m, recv(p[0], buf, sizeof buf, 0));
  show("recvmsg_pipe", m, recvmsg(p[0], &mh, 0));
  show("send_rdend", m, send(p[0], buf, sizeof buf, 0));
  show("recv_eventfd", m, recv(efd, buf, sizeof buf, 0));
  show("read4_eventfd", m, read(efd, buf, 4));
  show("write4_eventfd", m, write(efd, &one, 4));
  show("read_epoll", m, read(ep, buf, sizeof buf));
  show("write_epoll", m, write(ep, buf, 8));
  close(p[0]);
  close(p[1]);
  close(efd);
  close(ep);
}

/* Fills a non-blocking pipe with writes of size n; returns the bytes. */
static long fill(int fd, size_t n) {
  static char buf[5000];
  long total = 0;
  ssize_t w;

  while ((w = write(fd, buf, n)) > 0)
    total += w;
  return total;
}

/* The pipe-capacity and zero-length cases. */
static void pipes(void) {
  int p[2];

  if (pipe2(p, O_NONBLOCK) != 0)
    return;
  printf("fill_nb=%ld\n", fill(p[1], 1000));
  fcntl(p[1], F_SETFL, 0);
  show("write0", "full", write(p[1], "", 0));
  close(p[0]);
  close(p[1]);
  if (pipe2(p, O_NONBLOCK) != 0)
    return;
  printf("fill5k_nb=%ld\n", fill(p[1], 5000));
  fcntl(p[0], F_SETFL, 0);
  close(p[1]);
  close(p[0]);
  if (pipe(p) != 0)
    return;
  show("read0", "empty", read(p[0], p, 0));
  close(p[0]);
  close(p[1]);
}

/* A full socket whose peer stops reading: send fails with EPIPE. */
static void shut_rd(void) {
  static char buf[4096];
  int sv[2];

  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return;
  signal(SIGPIPE, SIG_IGN);
  while (send(sv[0], buf, sizeof buf, MSG_DONTWAIT) > 0)
    ;
  shutdown(sv[1], SHUT_RD);
  show("send", "shutrd", send(sv[0], buf, sizeof buf, 0));
  close(sv[0]);
  close(sv[1]);
}

int main(void) {
  pthread_t t;

  if (pthread_create(&t, NULL, idle, NULL) != 0)
    return 1;
  calls(0);
  calls(1);
  pipes();
  shut_rd();
  pthread_mutex_lock(&mu);
  done = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  pthread_join(t, NULL);
  return 0;
}
