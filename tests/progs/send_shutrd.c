/* send_shutrd: a thread blocked in send() on a full AF_UNIX stream socket
 * while, 100 ms later, another thread calls shutdown(SHUT_RD) on the peer.
 * Natively the send fails with EPIPE at once (the shutdown wakes the
 * sender); under the shim the sender stays parked: the kernel wakes the
 * socket's wait queue, but with no poll bit for epoll to report (the
 * socket is still full, and SEND_SHUTDOWN alone sets none), so the
 * runtime never learns it should try again.  A known limit (README), found
 * while reducing fuzz_interp seed 28; tests/preload/test_fuzz.c holds it
 * as a disabled test.
 *
 *   send_shutrd
 *
 * Prints send_rc=-1 and send_errno=EPIPE.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int sv[2];

static void *later(void *arg) {
  usleep(100000);
  shutdown(sv[1], SHUT_RD);
  return arg;
}

int main(void) {
  static char buf[4096];
  pthread_t t;
  ssize_t r;

  signal(SIGPIPE, SIG_IGN);
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return 1;
  while (send(sv[0], buf, sizeof buf, MSG_DONTWAIT) > 0)
    ;
  pthread_create(&t, NULL, later, NULL);
  r = send(sv[0], buf, sizeof buf, 0);
  printf("send_rc=%zd\nsend_errno=%s\n", r,
         r < 0 ? strerrorname_np(errno) : "none");
  pthread_join(t, NULL);
  return 0;
}
