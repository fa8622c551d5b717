/* pipe_pc: a producer and a consumer thread over a pipe or a socketpair.
 *
 *   pipe_pc pipe|socketpair COUNT SIZE
 *
 * The consumer starts reading at once and so waits for the producer, which
 * first sleeps 100 ms, then writes COUNT messages of SIZE bytes each with
 * one blocking write() per message (a SIZE above the 64 KiB pipe buffer
 * makes the producer wait for the consumer too).  The consumer reads with
 * blocking read() calls of at most 4 KiB until it has every byte.  A third
 * thread ticks every millisecond meanwhile.  Prints, as key=value lines:
 * threads (OS threads while all three run), bytes (read), sum_w and sum_r
 * (checksums of what was written and read), short_writes (writes that
 * returned less than SIZE), reader_waited (1 when the first read waited 40
 * ms or more for the producer), ticked (1 when the ticker ran while the
 * consumer waited for its first bytes: at all, as under load the process
 * may wait on the run queue for most of that time) and first_read_ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "threads_now.h"

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_alive, gate_open;

static int fds[2];
static long count, size;
static uint64_t sum_w, sum_r;
static long bytes_read, short_writes, first_read_ms, first_read_ticks;
static volatile long ticks;
static volatile int transfer_done;

static long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void gate_arrive(void) {
  pthread_mutex_lock(&gate_mu);
  gate_alive++;
  pthread_cond_broadcast(&gate_cv);
  while (!gate_open)
    pthread_cond_wait(&gate_cv, &gate_mu);
  pthread_mutex_unlock(&gate_mu);
}

static int gate_release(int n) {
  int threads;

  pthread_mutex_lock(&gate_mu);
  while (gate_alive < n)
    pthread_cond_wait(&gate_cv, &gate_mu);
  threads = threads_now();
  gate_open = 1;
  pthread_cond_broadcast(&gate_cv);
  pthread_mutex_unlock(&gate_mu);
  return threads;
}

/* The byte at offset off of the whole stream. */
static unsigned char pattern(uint64_t off) {
  return (unsigned char)(off * 2654435761u >> 13);
}

/* A position-dependent checksum step. */
static uint64_t mix(uint64_t sum, uint64_t off, unsigned char c) {
  return sum + (off + 1) * (c + 1);
}

static void *producer(void *arg) {
  char *buf = malloc(size);
  uint64_t off = 0;
  long m, j;

  (void)arg;
  gate_arrive();
  usleep(100000);
  /* And one tick more, which falls into the consumer's first wait (natively
   * under load the ticker thread could be kept off the CPU throughout). */
  long k = ticks;
  while (ticks == k)
    usleep(1000);
  for (m = 0; buf != NULL && m < count; m++) {
    ssize_t n;

    for (j = 0; j < size; j++) {
      buf[j] = (char)pattern(off + j);
      sum_w = mix(sum_w, off + j, (unsigned char)buf[j]);
    }
    n = write(fds[1], buf, size);
    if (n < 0) {
      fprintf(stderr, "pipe_pc: write: %s\n", strerror(errno));
      break;
    }
    if (n < size) {
      short_writes++;
      /* Write the rest so the consumer still gets every byte. */
      for (j = n; j < size;) {
        ssize_t k = write(fds[1], buf + j, size - j);

        if (k <= 0)
          break;
        j += k;
      }
    }
    off += size;
  }
  free(buf);
  return NULL;
}

static void *consumer(void *arg) {
  char buf[4096];
  long total = count * size, t0;

  (void)arg;
  gate_arrive();
  t0 = now_ms();
  while (bytes_read < total) {
    ssize_t n = read(fds[0], buf, sizeof buf), i;

    if (n <= 0) {
      fprintf(stderr, "pipe_pc: read: %s\n", n ? strerror(errno) : "EOF");
      break;
    }
    if (bytes_read == 0) {
      first_read_ms = now_ms() - t0;
      first_read_ticks = ticks;
    }
    for (i = 0; i < n; i++)
      sum_r = mix(sum_r, bytes_read + i, (unsigned char)buf[i]);
    bytes_read += n;
  }
  transfer_done = 1;
  return NULL;
}

static void *ticker(void *arg) {
  (void)arg;
  gate_arrive();
  while (!transfer_done) {
    usleep(1000);
    ticks++;
  }
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t t[3];
  int threads, rc;

  if (argc != 4 || (count = atol(argv[2])) < 1
      || (size = atol(argv[3])) < 1) {
    fprintf(stderr, "usage: pipe_pc pipe|socketpair COUNT SIZE\n");
    return 64;
  }
  if (strcmp(argv[1], "pipe") == 0)
    rc = pipe(fds);
  else if (strcmp(argv[1], "socketpair") == 0)
    rc = socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
  else
    rc = -1;
  if (rc != 0) {
    fprintf(stderr, "pipe_pc: cannot make a %s\n", argv[1]);
    return 1;
  }
  pthread_create(&t[0], NULL, consumer, NULL);
  pthread_create(&t[1], NULL, producer, NULL);
  pthread_create(&t[2], NULL, ticker, NULL);
  threads = gate_release(3);
  pthread_join(t[0], NULL);
  pthread_join(t[1], NULL);
  pthread_join(t[2], NULL);
  printf("threads=%d\nbytes=%ld\nsum_w=%llu\nsum_r=%llu\n", threads,
         bytes_read, (unsigned long long)sum_w, (unsigned long long)sum_r);
  printf("short_writes=%ld\nreader_waited=%d\nticked=%d\n", short_writes,
         first_read_ms >= 40, first_read_ticks >= 1);
  printf("first_read_ms=%ld\n", first_read_ms);
  return bytes_read == count * size && sum_w == sum_r ? 0 : 1;
}
