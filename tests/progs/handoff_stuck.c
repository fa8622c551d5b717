/* handoff_stuck: one thread keeps its CPU for a while in a way no hook
 * sees, while a ticker thread sleeps 5 ms at a time and notes how late
 * each sleep ends. Natively the ticker never waits for the stuck thread;
 * under gpatch without a hand-off it waits for all of it.
 *
 *   handoff_stuck spin MS     a CPU loop of MS ms (no call at all)
 *   handoff_stuck syscall MS  a read blocked MS ms in a raw syscall
 *                             instruction (inline assembly) on a
 *                             socketpair a third thread writes to
 *   handoff_stuck semop MS    semop on a System V semaphore that a third
 *                             thread raises after MS ms
 *   handoff_stuck aio MS      libaio's io_getevents waiting MS ms for an
 *                             event that never comes (its own syscall:
 *                             no hook sees it); libaio.so.1 is opened with
 *                             dlopen, and without it the program prints
 *                             result=skip and exits 3
 *
 * Prints key=value lines: ticks (the ticker's sleeps while the stuck
 * thread was stuck), late_max_ms and late_p99_ms (how late they ended),
 * stuck_ms (how long the stuck thread was), result (what the stuck call
 * gave: 1 byte read, semop's 0), threads (OS threads while stuck). Then
 * the stuck thread makes ordinary calls again (a mutex, a usleep) and
 * the program ends: exit 0 when everything returned what it should.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "threads_now.h"

#define TICK_MS 5
#define MAX_TICKS 4096

static const char *mode;
static long stuck_ms;
static int sv[2], semid = -1;
static volatile int stuck_now, done;
static double late[MAX_TICKS];
static int nticks;
static long result = -100, threads;
static double stuck_took;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long raw_read(int fd, void *buf, size_t n) {
  long r;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "0"((long)SYS_read), "D"((long)fd), "S"(buf), "d"(n)
                   : "rcx", "r11", "memory");
  return r;
}

/* libaio, opened at run time (no -dev package needed to build). */
struct aio_event {
  void *data, *obj;
  long res, res2;
};
static int (*aio_setup)(int, void **);
static int (*aio_getevents)(void *, long, long, struct aio_event *,
                            struct timespec *);
static void *aio_ctx;

static void *stuck(void *arg) {
  (void)arg;
  while (!stuck_now) /* the ticker is ticking */
    usleep(1000);
  double t0 = now_ms();
  if (strcmp(mode, "spin") == 0) {
    volatile unsigned long x = 0;
    while (now_ms() - t0 < stuck_ms)
      x++;
    result = 0;
  } else if (strcmp(mode, "syscall") == 0) {
    char c;
    result = raw_read(sv[0], &c, 1);
  } else if (strcmp(mode, "aio") == 0) {
    struct aio_event ev;
    struct timespec ts = {stuck_ms / 1000, (stuck_ms % 1000) * 1000000};
    result = aio_getevents(aio_ctx, 1, 1, &ev, &ts); /* 0: timed out */
  } else {
    struct sembuf op = {0, -1, 0};
    result = semop(semid, &op, 1);
  }
  stuck_took = now_ms() - t0;
  threads = threads_now();
  stuck_now = 0;
  /* Ordinary calls again: they must work as before. */
  pthread_mutex_lock(&mu);
  usleep(2000);
  pthread_mutex_unlock(&mu);
  return NULL;
}

/* Ends the blocked call after stuck_ms. */
static void *waker(void *arg) {
  (void)arg;
  while (!stuck_now)
    usleep(1000);
  usleep((useconds_t)stuck_ms * 1000);
  if (strcmp(mode, "syscall") == 0) {
    if (write(sv[1], "x", 1) != 1)
      abort();
  } else {
    struct sembuf op = {0, 1, 0};
    if (semop(semid, &op, 1) != 0)
      abort();
  }
  return NULL;
}

static void *ticker(void *arg) {
  (void)arg;
  usleep(20000);
  stuck_now = 1; /* the stuck thread starts within a millisecond: the
                    first tick already waits for the hand-off */
  while (stuck_now && nticks < MAX_TICKS) {
    double t0 = now_ms();
    usleep(TICK_MS * 1000);
    late[nticks++] = now_ms() - t0 - TICK_MS;
  }
  return NULL;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  mode = argv[1];
  stuck_ms = atol(argv[2]);
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return 2;
  if (strcmp(mode, "semop") == 0 &&
      (semid = semget(IPC_PRIVATE, 1, 0600)) < 0)
    return 2;
  if (strcmp(mode, "aio") == 0) {
    void *so = dlopen("libaio.so.1", RTLD_NOW);
    if (so == NULL) {
      printf("result=skip\n");
      return 3;
    }
    aio_setup = (int (*)(int, void **))dlsym(so, "io_setup");
    aio_getevents = (int (*)(void *, long, long, struct aio_event *,
                             struct timespec *))dlsym(so, "io_getevents");
    if (!aio_setup || !aio_getevents || aio_setup(1, &aio_ctx) != 0)
      return 2;
  }
  pthread_t s, t, w;
  pthread_create(&s, NULL, stuck, NULL);
  pthread_create(&t, NULL, ticker, NULL);
  int waking = strcmp(mode, "spin") != 0 && strcmp(mode, "aio") != 0;
  if (waking)
    pthread_create(&w, NULL, waker, NULL);
  pthread_join(t, NULL);
  pthread_join(s, NULL);
  if (waking)
    pthread_join(w, NULL);
  if (semid >= 0)
    semctl(semid, 0, IPC_RMID);
  qsort(late, (size_t)nticks, sizeof late[0], cmp);
  double max = nticks ? late[nticks - 1] : -1;
  double p99 = nticks ? late[(nticks * 99) / 100] : -1;
  long want = strcmp(mode, "syscall") == 0 ? 1 : 0;
  printf("ticks=%d\nlate_max_ms=%.0f\nlate_p99_ms=%.0f\nstuck_ms=%.0f\n"
         "result=%ld\nthreads=%ld\n",
         nticks, max, p99, stuck_took, result, threads);
  return result == want && nticks > 0 ? 0 : 1;
}
