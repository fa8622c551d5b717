/* handoff_stress: threads that keep their OS thread at random (CPU loops
 * and raw-syscall sleeps of 25-45 ms, longer than the hand-off
 * threshold) while passing numbered messages round a ring of pipes and
 * counting under a mutex that a watcher waits on with a condition
 * variable and no timeout. Nothing may be lost: every message arrives in
 * order, the count reaches its total, and the watcher wakes (a lost
 * wake-up hangs it, and the harness's deadline fails the run).
 *
 *   handoff_stress THREADS ROUNDS SEED
 *
 * Prints key=value lines: messages (received in order), out_of_order,
 * counted (the mutex counter), watcher_woke (1), stalls (how many stalls
 * the threads made). Exit 0 when all held.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

static int nthreads, rounds;
static unsigned seed;
static int pipes[MAX_THREADS][2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counted, messages, out_of_order, stalls;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* nanosleep through a raw syscall instruction: no hook sees it. */
static void raw_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  long r;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "0"((long)SYS_nanosleep), "D"(&ts), "S"(0L)
                   : "rcx", "r11", "memory");
  (void)r;
}

static void stall(unsigned *rs) {
  unsigned r = (unsigned)rand_r(rs) % 16;
  long ms = 25 + rand_r(rs) % 21;
  if (r == 0) {
    double t0 = now_ms();
    volatile unsigned long x = 0;
    while (now_ms() - t0 < ms)
      x++;
  } else if (r == 1) {
    raw_sleep_ms(ms);
  } else {
    return;
  }
  __atomic_add_fetch(&stalls, 1, __ATOMIC_RELAXED);
}

static int full_read(int fd, void *buf, size_t n) {
  char *p = buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r <= 0)
      return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static void *worker(void *arg) {
  int i = (int)(long)arg;
  unsigned rs = seed * 7919u + (unsigned)i;
  int next = (i + 1) % nthreads;
  for (int k = 0; k < rounds; k++) {
    uint64_t m = ((uint64_t)i << 32) | (uint64_t)k;
    if (write(pipes[next][1], &m, sizeof m) != sizeof m)
      abort();
    stall(&rs);
    uint64_t got;
    if (full_read(pipes[i][0], &got, sizeof got) != 0)
      abort();
    int from = (i + nthreads - 1) % nthreads;
    pthread_mutex_lock(&mu);
    messages++;
    if (got != (((uint64_t)from << 32) | (uint64_t)k))
      out_of_order++;
    counted++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    stall(&rs);
  }
  return NULL;
}

static void *watcher(void *arg) {
  long total = (long)arg;
  pthread_mutex_lock(&mu);
  while (counted < total)
    pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  return (void *)1;
}

int main(int argc, char **argv) {
  if (argc != 4)
    return 2;
  nthreads = atoi(argv[1]);
  rounds = atoi(argv[2]);
  seed = (unsigned)atoi(argv[3]);
  if (nthreads < 2 || nthreads > MAX_THREADS || rounds < 1)
    return 2;
  for (int i = 0; i < nthreads; i++)
    if (pipe(pipes[i]) != 0)
      return 2;
  pthread_t w, t[MAX_THREADS];
  pthread_create(&w, NULL, watcher, (void *)(long)(nthreads * rounds));
  for (int i = 0; i < nthreads; i++)
    pthread_create(&t[i], NULL, worker, (void *)(long)i);
  for (int i = 0; i < nthreads; i++)
    pthread_join(t[i], NULL);
  void *woke = NULL;
  pthread_join(w, &woke);
  printf("messages=%ld\nout_of_order=%ld\ncounted=%ld\nwatcher_woke=%d\n"
         "stalls=%ld\n",
         messages, out_of_order, counted, woke == (void *)1, stalls);
  return messages == (long)nthreads * rounds && out_of_order == 0 &&
                 woke == (void *)1
             ? 0
             : 1;
}
