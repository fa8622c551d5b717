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
 *   toggles        on a second socketpair, O_NONBLOCK turned on and off
 *                  four times each way (FIONBIO, F_SETFL) while the
 *                  first pair is used in between: each read on it gives
 *                  EAGAIN at once when on and waits for a thread's write
 *                  when off; the first pair stays non-blocking
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

  int tp[2], good = 0;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, tp) != 0)
    return 2;
  for (int i = 0; i < 8; i++) {
    int fl = fcntl(tp[0], F_GETFL);
    if (i % 2 == 0)
      ioctl(tp[0], FIONBIO, i % 4 == 0 ? &on : &off);
    else
      fcntl(tp[0], F_SETFL, i % 4 == 1 ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
    int want_nb = i % 4 < 2;
    r = read(sv[0], buf, sizeof buf); /* sv[0] used meanwhile: still on */
    good += r == -1 && errno == EAGAIN;
    t0 = now_ms();
    if (want_nb) {
      r = read(tp[0], buf, sizeof buf);
      good += r == -1 && errno == EAGAIN && now_ms() - t0 < 50;
    } else {
      sv[1] = tp[1]; /* late_writer writes to sv[1] */
      pthread_create(&w, NULL, late_writer, NULL);
      r = read(tp[0], buf, sizeof buf);
      pthread_join(w, NULL);
      good += r == 1 && buf[0] == 'b' && now_ms() - t0 >= 40;
    }
  }
  printf("toggles=%d\n", good == 16);
  return 0;
}
