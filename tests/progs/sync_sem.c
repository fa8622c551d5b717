/* sync_sem: unnamed semaphores between threads.
 *
 *   sync_sem pc PRODUCERS CONSUMERS ITEMS | errors | timed | fifo | shared
 *            | foreign [alone]
 *
 * pc      producers put ITEMS values each into an 8-slot ring guarded by
 *         two counting semaphores (free slots, full slots) and a binary
 *         one (sem as a mutex); consumers take until a stop value.
 *         produced, consumed and the checksums sum_in/sum_out must match;
 *         threads is the OS thread count while all run
 * errors  EAGAIN, EINVAL, EOVERFLOW, a past deadline with a free unit,
 *         errno kept on success, sem_getvalue, in a thread
 * timed   sem_timedwait and sem_clockwait time out (ETIMEDOUT, *_ms the
 *         wait) and a wait ended by a post in time returns 0
 * fifo    three waiters queue in turn; three posts wake them in that order
 * shared  a process-shared semaphore between a parent and its child
 * foreign a thread made through libc's own pthread_create (a real OS
 *         thread under the shim, as a library that resolves the name
 *         with dlsym makes) posts, 100 ms on, a semaphore a thread waits
 *         on in sem_wait; only the post can wake it. A keeper thread
 *         waits meanwhile (up to 5 s) on a second semaphore that main
 *         posts once the waiter is back: its timed wait keeps the
 *         shim's loop from looking dead (its deadlock check does not
 *         count foreign threads). Prints foreign_wait (the wait's
 *         result), foreign_value (the value after) and keeper_timedout
 *         (1 when the waiter was not back within 5 s). With "alone", no
 *         keeper: nothing but the foreign thread can wake the waiter
 * Prints key=value lines.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "threads_now.h"

enum { SLOTS = 8, MAX_THREADS = 128 };

static sem_t free_slots, full_slots, guard;
static int64_t ring[SLOTS];
static int put_at, take_at;
static long items, produced, consumed;
static int64_t sum_in, sum_out;
static char order[8];

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ms(int n) { usleep((useconds_t)n * 1000); }

static struct timespec in_ms(clockid_t clk, int n) {
  struct timespec ts;
  clock_gettime(clk, &ts);
  ts.tv_nsec += (long)n * 1000000;
  ts.tv_sec += ts.tv_nsec / 1000000000;
  ts.tv_nsec %= 1000000000;
  return ts;
}

static void put(int64_t v) {
  while (sem_wait(&free_slots) != 0)
    ;
  while (sem_wait(&guard) != 0)
    ;
  ring[put_at] = v;
  put_at = (put_at + 1) % SLOTS;
  sem_post(&guard);
  sem_post(&full_slots);
}

static int64_t take(void) {
  while (sem_wait(&full_slots) != 0)
    ;
  while (sem_wait(&guard) != 0)
    ;
  int64_t v = ring[take_at];
  take_at = (take_at + 1) % SLOTS;
  sem_post(&guard);
  sem_post(&free_slots);
  return v;
}

static sem_t go; /* producers start once main has counted the threads */

static void *producer(void *arg) {
  long id = (long)arg;
  while (sem_wait(&go) != 0)
    ;
  for (long i = 0; i < items; i++) {
    int64_t v = id * 1000003 + i;
    put(v);
    __atomic_fetch_add(&sum_in, v, __ATOMIC_RELAXED);
    __atomic_fetch_add(&produced, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

static void *consumer(void *arg) {
  (void)arg;
  for (;;) {
    int64_t v = take();
    if (v < 0)
      return NULL;
    __atomic_fetch_add(&sum_out, v, __ATOMIC_RELAXED);
    __atomic_fetch_add(&consumed, 1, __ATOMIC_RELAXED);
  }
}

static int pc(int np, int nc) {
  pthread_t t[MAX_THREADS];
  sem_init(&free_slots, 0, SLOTS);
  sem_init(&full_slots, 0, 0);
  sem_init(&guard, 0, 1);
  sem_init(&go, 0, 0);
  for (int i = 0; i < np + nc; i++)
    pthread_create(&t[i], NULL, i < np ? producer : consumer,
                   (void *)(long)(i + 1));
  int threads = threads_now();
  for (int i = 0; i < np; i++)
    sem_post(&go);
  for (int i = 0; i < np; i++)
    pthread_join(t[i], NULL);
  for (int i = 0; i < nc; i++)
    put(-1);
  for (int i = np; i < np + nc; i++)
    pthread_join(t[i], NULL);
  int free_v, full_v;
  sem_getvalue(&free_slots, &free_v);
  sem_getvalue(&full_slots, &full_v);
  printf("threads=%d\nproduced=%ld\nconsumed=%ld\nsum_in=%lld\n"
         "sum_out=%lld\nfree_after=%d\nfull_after=%d\n",
         threads, produced, consumed, (long long)sum_in,
         (long long)sum_out, free_v, full_v);
  return produced == consumed && sum_in == sum_out ? 0 : 1;
}

/* Prints the result and errno of one call: name=rc name_errno=e. */
#define SHOW(name, call)                                                    \
  do {                                                                      \
    errno = 0;                                                              \
    int r_ = (call);                                                        \
    printf("%s=%d\n%s_errno=%d\n", name, r_, name, r_ ? errno : 0);         \
  } while (0)

static void *errors_thread(void *arg) {
  (void)arg;
  sem_t s;
  struct timespec bad = {0, -1}, past = {-1, 0};
  int v = -1;
  sem_init(&s, 0, 0);
  SHOW("trywait_empty", sem_trywait(&s));
  SHOW("timedwait_bad", sem_timedwait(&s, &bad));
  SHOW("clockwait_badclock", sem_clockwait(&s, CLOCK_PROCESS_CPUTIME_ID,
                                           &past));
  SHOW("timedwait_past", sem_timedwait(&s, &past));
  sem_post(&s);
  SHOW("timedwait_bad_free", sem_timedwait(&s, &bad));
  SHOW("timedwait_past_free", sem_timedwait(&s, &past));
  sem_post(&s);
  sem_post(&s);
  errno = 1234;
  int r = sem_wait(&s);
  printf("wait=%d\nerrno_kept=%d\n", r, errno == 1234);
  sem_getvalue(&s, &v);
  printf("value=%d\n", v);
  sem_init(&s, 0, SEM_VALUE_MAX);
  SHOW("post_max", sem_post(&s));
  sem_getvalue(&s, &v);
  printf("value_max=%d\n", v == SEM_VALUE_MAX);
  sem_destroy(&s);
  return NULL;
}

static int errors(void) {
  pthread_t t;
  pthread_create(&t, NULL, errors_thread, NULL);
  pthread_join(t, NULL);
  return 0;
}

static sem_t ts_sem;

static void *late_poster(void *arg) {
  ms((int)(long)arg);
  sem_post(&ts_sem);
  return NULL;
}

static int timed(void) {
  sem_init(&ts_sem, 0, 0);
  pthread_t t;
  pthread_create(&t, NULL, late_poster, (void *)400L);
  struct timespec ts = in_ms(CLOCK_REALTIME, 100);
  long t0 = now_ms();
  SHOW("timedwait", sem_timedwait(&ts_sem, &ts));
  printf("timedwait_ms=%ld\n", now_ms() - t0);
  ts = in_ms(CLOCK_MONOTONIC, 100), t0 = now_ms();
  SHOW("clockwait", sem_clockwait(&ts_sem, CLOCK_MONOTONIC, &ts));
  printf("clockwait_ms=%ld\n", now_ms() - t0);
  ts = in_ms(CLOCK_REALTIME, 5000), t0 = now_ms();
  SHOW("posted", sem_timedwait(&ts_sem, &ts));
  printf("posted_ms=%ld\n", now_ms() - t0); /* ~200: the post */
  pthread_join(t, NULL);
  return 0;
}

static sem_t fifo_sem;

static void *fifo_waiter(void *arg) {
  while (sem_wait(&fifo_sem) != 0)
    ;
  order[strlen(order)] = (char)('0' + (long)arg);
  return NULL;
}

static int fifo(void) {
  pthread_t t[3];
  sem_init(&fifo_sem, 0, 0);
  for (long i = 0; i < 3; i++) {
    pthread_create(&t[i], NULL, fifo_waiter, (void *)(i + 1));
    ms(30);
  }
  for (int i = 0; i < 3; i++) {
    sem_post(&fifo_sem);
    ms(30);
  }
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  printf("order=%s\n", order);
  return 0;
}

static void *shared_poster(void *arg) {
  sem_t *s = arg;
  ms(50);
  sem_post(&s[1]); /* tells the child to answer */
  return NULL;
}

/* A pshared semaphore in shared memory: the child posts s[0] when the
 * parent's thread has posted s[1]. */
static int shared(void) {
  sem_t *s = mmap(NULL, 2 * sizeof(sem_t), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED)
    return 1;
  sem_init(&s[0], 1, 0);
  sem_init(&s[1], 1, 0);
  pid_t pid = fork();
  if (pid == 0) {
    while (sem_wait(&s[1]) != 0)
      ;
    sem_post(&s[0]);
    _exit(0);
  }
  pthread_t t;
  pthread_create(&t, NULL, shared_poster, s);
  struct timespec ts = in_ms(CLOCK_REALTIME, 5000);
  SHOW("shared_wait", sem_timedwait(&s[0], &ts));
  pthread_join(t, NULL);
  int st = 0;
  waitpid(pid, &st, 0);
  printf("child_ok=%d\n", WIFEXITED(st) && WEXITSTATUS(st) == 0);
  return 0;
}

static sem_t fsem;

static void *foreign_poster(void *arg) {
  usleep(100000);
  sem_post(&fsem);
  return arg;
}

static void *foreign_waiter(void *arg) {
  (void)arg;
  return (void *)(intptr_t)(sem_wait(&fsem) == 0 ? 0 : errno);
}

static sem_t keep_sem;

static void *keeper(void *arg) {
  (void)arg;
  struct timespec ts = in_ms(CLOCK_REALTIME, 5000);
  return (void *)(intptr_t)(sem_timedwait(&keep_sem, &ts) != 0);
}

static int foreign(int keep) {
  void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  int (*libc_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
                     void *) = libc ? dlsym(libc, "pthread_create") : NULL;
  pthread_t w, k, real;
  void *r, *timedout;
  int v = -1;
  if (libc_create == NULL || sem_init(&fsem, 0, 0) != 0 ||
      sem_init(&keep_sem, 0, 0) != 0)
    return 2;
  if (keep)
    pthread_create(&k, NULL, keeper, NULL);
  pthread_create(&w, NULL, foreign_waiter, NULL);
  if (libc_create(&real, NULL, foreign_poster, NULL) != 0)
    return 2;
  pthread_join(w, &r);
  timedout = NULL;
  if (keep) {
    sem_post(&keep_sem);
    pthread_join(k, &timedout);
  }
  pthread_join(real, NULL);
  sem_getvalue(&fsem, &v);
  printf("foreign_wait=%d\nforeign_value=%d\nkeeper_timedout=%d\n",
         (int)(intptr_t)r, v, (int)(intptr_t)timedout);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *what = argc > 1 ? argv[1] : "";
  if (strcmp(what, "pc") == 0 && argc == 5) {
    int np = atoi(argv[2]), nc = atoi(argv[3]);
    items = atol(argv[4]);
    if (np < 1 || nc < 1 || np + nc > MAX_THREADS)
      return 2;
    return pc(np, nc);
  }
  if (strcmp(what, "errors") == 0)
    return errors();
  if (strcmp(what, "timed") == 0)
    return timed();
  if (strcmp(what, "fifo") == 0)
    return fifo();
  if (strcmp(what, "shared") == 0)
    return shared();
  if (strcmp(what, "foreign") == 0)
    return foreign(argc < 3 || strcmp(argv[2], "alone") != 0);
  fprintf(stderr, "usage: sync_sem pc P C ITEMS|errors|timed|fifo|shared"
          "|foreign\n");
  return 2;
}
