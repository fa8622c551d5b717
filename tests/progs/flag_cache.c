/* flag_cache: a socket's blocking mode and timeouts change while threads
 * use it, and a reader that saw the socket empty gets data that arrives
 * later. Each step prints key=1 when it behaved as POSIX says:
 *
 *   got_late       a short read, then a blocking read that gets data a
 *                  thread writes 50 ms later
 *   dup_nonblock   O_NONBLOCK set through a dup: the original fd (same
 *                  open file) gets EAGAIN at once
 *   timeo          SO_RCVTIMEO of 100 ms set after the socket was used:
 *                  read fails with EAGAIN after about 100 ms
 *   fionbio        ioctl(FIONBIO) on: EAGAIN at once
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int sv[2];

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void *late_writer(void *arg) {
  (void)arg;
  usleep(50 * 1000);
  write(sv[1], "b", 1);
  return NULL;
}

static void *idler(void *arg) { /* keeps a second thread alive */
  (void)arg;
  usleep(2000 * 1000);
  return NULL;
}

int main(void) {
  char buf[100];
  pthread_t w, idle;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return 2;
  pthread_create(&idle, NULL, idler, NULL);
  pthread_detach(idle);

  write(sv[1], "a", 1);
  ssize_t n1 = read(sv[0], buf, sizeof buf); /* short: the socket is empty */
  pthread_create(&w, NULL, late_writer, NULL);
  ssize_t n2 = read(sv[0], buf, sizeof buf);
  pthread_join(w, NULL);
  printf("got_late=%d\n", n1 == 1 && n2 == 1 && buf[0] == 'b');

  int d = dup(sv[0]);
  fcntl(d, F_SETFL, fcntl(d, F_GETFL) | O_NONBLOCK);
  long t0 = now_ms();
  ssize_t r = read(sv[0], buf, sizeof buf);
  printf("dup_nonblock=%d\n", r == -1 && errno == EAGAIN && now_ms() - t0 < 50);
  close(d);

  int off = 0, on = 1;
  ioctl(sv[0], FIONBIO, &off);
  struct timeval tv = {0, 100 * 1000};
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  t0 = now_ms();
  r = read(sv[0], buf, sizeof buf);
  long dt = now_ms() - t0;
  printf("timeo=%d\n", r == -1 && errno == EAGAIN && dt >= 90 && dt < 2000);

  ioctl(sv[0], FIONBIO, &on);
  t0 = now_ms();
  r = read(sv[0], buf, sizeof buf);
  printf("fionbio=%d\n", r == -1 && errno == EAGAIN && now_ms() - t0 < 50);
  return 0;
}
