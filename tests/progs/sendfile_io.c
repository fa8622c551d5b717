/* sendfile_io: sendfile into a socket that fills up, and the positional
 * calls on fds that have no position.
 *
 *   sendfile_io
 *
 * A 4 MiB file with a known pattern is sent over a Unix stream socket by
 * a sender thread with one blocking sendfile (more than the socket
 * buffers: it waits for the reader, which starts 100 ms late), first from
 * the file position, then from an offset, then with a count beyond the
 * end of the file; then with SO_SNDTIMEO 100 ms and nobody reading (part
 * of it goes). A ticker thread counts 1 ms sleeps meanwhile. Then pread,
 * pwrite, preadv and pwritev on a pipe and a socket (ESPIPE). Prints, as
 * key=value: sent/got/intact for each transfer, pos (the file position
 * after), off (the offset after), part (1 when the timed send moved some
 * but not all), ticked, the errno of each positional call, and threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "threads_now.h"

#define SIZE (4 << 20)

static int file, sv[2];
static volatile int stop;
static volatile long ticks;

static unsigned char pattern(long off) {
  return (unsigned char)(off * 2654435761u >> 13);
}

struct reader {
  long want, from; /* bytes to read; the file offset of the first */
  long got;
  int intact;
  int gated; /* meets main at the gate first (the first transfer) */
};

/* The first reader and main meet here twice: main counts the OS threads
 * in between, while the reader and the sender (whose sendfile waits for
 * the reader) are certainly alive. */
static pthread_barrier_t gate;

static void *reader(void *arg) {
  struct reader *r = arg;
  unsigned char buf[8192];

  if (r->gated) {
    pthread_barrier_wait(&gate); /* alive: main counts now */
    pthread_barrier_wait(&gate); /* counted */
  }
  usleep(100000);
  r->intact = 1;
  while (r->got < r->want) {
    ssize_t n = read(sv[1], buf, sizeof buf), i;

    if (n <= 0)
      break;
    for (i = 0; i < n; i++)
      r->intact &= buf[i] == pattern(r->from + r->got + i);
    r->got += n;
  }
  return NULL;
}

/* One sendfile of count bytes (from *off, or the position when off is
 * NULL) while a reader expects want bytes from from. */
static void transfer(const char *name, off_t *off, long count, long want,
                     long from) {
  struct reader r = { .want = want, .from = from,
                      .gated = strcmp(name, "pos") == 0 };
  pthread_t t;
  ssize_t n;

  pthread_create(&t, NULL, reader, &r);
  n = sendfile(sv[0], file, off, (size_t)count);
  pthread_join(t, NULL);
  printf("%s_sent=%zd %s_got=%ld %s_intact=%d\n", name, n, name, r.got, name,
         r.intact);
}

static void transfers(void) {
  struct timeval tv = { 0, 100000 };
  off_t off = SIZE / 2;
  long t0 = ticks;
  ssize_t n;

  transfer("pos", NULL, SIZE, SIZE, 0);
  printf("pos_after=%ld\n", (long)lseek(file, 0, SEEK_CUR));
  lseek(file, 0, SEEK_SET);
  transfer("off", &off, SIZE / 4, SIZE / 4, SIZE / 2);
  printf("off_after=%ld pos_kept=%ld\n", (long)off,
         (long)lseek(file, 0, SEEK_CUR));
  off = SIZE - 1000;
  transfer("end", &off, 5000, 1000, SIZE - 1000);
  /* At all: under load the process may wait on the run queue for most of
   * the transfers. */
  printf("ticked=%d\n", ticks - t0 >= 1);
  setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  off = 0;
  n = sendfile(sv[0], file, &off, SIZE);
  printf("part=%d part_off=%d\n", n > 0 && n < SIZE, (long)off == n);
}

/* Prints name=rc/errno. */
static void show(const char *name, ssize_t rc) {
  int err = rc < 0 ? errno : 0;

  printf("%s=%zd/%d\n", name, rc, err);
}

static void positional(void) {
  char buf[16] = "abc";
  struct iovec iov = { buf, 3 };
  int p[2];

  if (pipe(p) != 0)
    return;
  show("pread_pipe", pread(p[0], buf, 3, 0));
  show("pwrite_pipe", pwrite(p[1], buf, 3, 0));
  show("preadv_sock", preadv(sv[1], &iov, 1, 0));
  show("pwritev_sock", pwritev(sv[0], &iov, 1, 0));
  close(p[0]);
  close(p[1]);
}

static void *sender(void *arg) {
  (void)arg;
  transfers();
  positional();
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
  char path[] = "/tmp/gpatch-sendfile-XXXXXX";
  unsigned char *data = malloc(SIZE);
  pthread_t s, t;
  long i;

  file = mkstemp(path);
  if (file < 0 || data == NULL)
    return 1;
  unlink(path);
  for (i = 0; i < SIZE; i++)
    data[i] = pattern(i);
  if (write(file, data, SIZE) != SIZE
      || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return 1;
  lseek(file, 0, SEEK_SET);
  free(data);
  pthread_barrier_init(&gate, NULL, 2);
  pthread_create(&t, NULL, ticker, NULL);
  pthread_create(&s, NULL, sender, NULL);
  pthread_barrier_wait(&gate); /* the first reader is up */
  printf("threads=%d\n", threads_now());
  pthread_barrier_wait(&gate);
  pthread_join(s, NULL);
  stop = 1;
  pthread_join(t, NULL);
  return 0;
}
