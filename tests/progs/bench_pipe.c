/* bench_pipe: the cost of waking a thread through an fd, an ordinary
 * pthread program (the self-pipe and worker-pipe patterns).
 *
 *   bench_pipe pipe N        two threads bounce one byte N round trips
 *                            over two pipes, with blocking read and write
 *   bench_pipe socketpair N  the same over one AF_UNIX stream socketpair
 *                            (each thread reads and writes its own end)
 *   bench_pipe eventfd N     the same with two eventfds: write a count
 *                            of 1, read it back
 *
 * Prints one line "mode=... value=... unit=ns" with the ns per round trip
 * (two hand-offs), and exits 1 if a byte or count came back wrong.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long n;
static int ev; /* eventfd mode: 8-byte counts instead of bytes */
/* ping: main writes to a[1], the echo thread reads a[0]; pong: the echo
 * thread writes to b[1], main reads b[0]. */
static int a[2], b[2];
static volatile int bad;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Sends one byte (or a count of 1) to fd. */
static void put(int fd, unsigned char c) {
  uint64_t one = 1;
  ssize_t r = ev ? write(fd, &one, 8) : write(fd, &c, 1);
  if (r != (ev ? 8 : 1))
    bad = 1;
}

/* Receives one byte (or the count) from fd; the byte, or 1. */
static unsigned char get(int fd) {
  uint64_t v = 0;
  unsigned char c = 0;
  ssize_t r = ev ? read(fd, &v, 8) : read(fd, &c, 1);
  if (r != (ev ? 8 : 1) || (ev && v != 1))
    bad = 1;
  return ev ? 1 : c;
}

static void *echo(void *arg) {
  (void)arg;
  for (long i = 0; i < n; i++)
    put(b[1], get(a[0]));
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_pipe pipe|socketpair|eventfd N\n");
    return 2;
  }
  const char *mode = argv[1];
  n = atol(argv[2]);
  if (strcmp(mode, "pipe") == 0) {
    if (pipe(a) != 0 || pipe(b) != 0)
      return 1;
  } else if (strcmp(mode, "socketpair") == 0) {
    int s[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0)
      return 1;
    a[1] = s[0], a[0] = s[1]; /* main's end and the echo thread's */
    b[1] = s[1], b[0] = s[0];
  } else if (strcmp(mode, "eventfd") == 0) {
    ev = 1;
    a[0] = a[1] = eventfd(0, 0);
    b[0] = b[1] = eventfd(0, 0);
    if (a[0] < 0 || b[0] < 0)
      return 1;
  } else {
    fprintf(stderr, "bench_pipe: unknown mode %s\n", mode);
    return 2;
  }
  pthread_t t;
  pthread_create(&t, NULL, echo, NULL);
  double t0 = now();
  for (long i = 0; i < n; i++) {
    put(a[1], (unsigned char)i);
    if (get(b[0]) != (ev ? 1 : (unsigned char)i))
      bad = 1;
  }
  double dt = now() - t0;
  pthread_join(t, NULL);
  if (bad) {
    fprintf(stderr, "bench_pipe: a byte or count came back wrong\n");
    return 1;
  }
  printf("mode=%s value=%.1f unit=ns\n", mode, dt * 1e9 / n);
  return 0;
}
