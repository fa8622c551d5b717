/* sync_misc: mutex kinds and timed condition waits, one case per mode.
 *
 *   sync_misc MODE
 *
 * timedwait   pthread_cond_timedwait times out with ETIMEDOUT after 200 ms
 *             (first on CLOCK_REALTIME, second with a CLOCK_MONOTONIC
 *             condattr), releasing the mutex meanwhile and holding it again
 *             afterwards; a past deadline times out at once; a signal
 *             before the deadline wakes the waiter with 0
 * clockwait   pthread_cond_clockwait, the same (first on CLOCK_MONOTONIC,
 *             second on CLOCK_REALTIME)
 * recursive   a recursive mutex (static and from an attribute): relocking
 *             works, another thread's trylock gets EBUSY and its lock waits
 *             for the last unlock, one unlock too many gets EPERM
 * errorcheck  an error-checking mutex: relock gives EDEADLK, unlock by
 *             another thread EPERM, trylock by another thread EBUSY
 * normal      a default mutex: trylock by another thread gives EBUSY while
 *             held and 0 once released
 * contention  8 threads increment a counter 200 times each under one mutex,
 *             sleeping or yielding while they hold it
 *
 * Prints key=value lines: return codes as errno numbers, *_ms timings, and
 * threads, the OS thread count while the mode's threads run.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "threads_now.h"

static pthread_mutex_t em = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static pthread_mutex_t rm = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t nm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t *target;
static volatile int stop, flag;
static volatile long ticks;
static int released_during_wait;

static long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static struct timespec later(clockid_t clk, long ms) {
  struct timespec ts;

  clock_gettime(clk, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  if (ts.tv_nsec < 0) {
    ts.tv_sec--;
    ts.tv_nsec += 1000000000L;
  }
  return ts;
}

static pthread_t start(void *(*fn)(void *), void *arg) {
  pthread_t t;

  if (pthread_create(&t, NULL, fn, arg) != 0) {
    fprintf(stderr, "sync_misc: pthread_create failed\n");
    exit(1);
  }
  return t;
}

/* Ticks every 2 ms; on the 10th tick checks that em, held by the waiting
 * main thread, was released by its condition wait. */
static void *ticker(void *arg) {
  (void)arg;
  while (!stop) {
    usleep(2000);
    if (++ticks == 10 && pthread_mutex_trylock(&em) == 0) {
      released_during_wait = 1;
      pthread_mutex_unlock(&em);
    }
  }
  return NULL;
}

/* Sets the flag and signals 50 ms after it starts. */
static void *signaller(void *arg) {
  (void)arg;
  usleep(50000);
  pthread_mutex_lock(&em);
  flag = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&em);
  return NULL;
}

/* One timed wait on c with em held, ms from now on clock clk. */
static int timed(pthread_cond_t *c, clockid_t clk, long ms, int clockwait) {
  struct timespec dl = later(clk, ms);

  return clockwait ? pthread_cond_clockwait(c, &em, clk, &dl)
                   : pthread_cond_timedwait(c, &em, &dl);
}

static int mode_timedwait(int clockwait) {
  pthread_condattr_t attr;
  pthread_cond_t mono;
  pthread_t tick = start(ticker, NULL), sig;
  long t0, before;
  int rc;

  printf("threads=%d\n", threads_now());
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&mono, &attr);

  /* The first wait uses the condvar's clock (timedwait) or CLOCK_MONOTONIC
   * (clockwait); the second the other clock. */
  pthread_mutex_lock(&em);
  before = ticks;
  t0 = now_ms();
  rc = timed(&cv, clockwait ? CLOCK_MONOTONIC : CLOCK_REALTIME, 200,
             clockwait);
  printf("first_rc=%d\nfirst_ms=%ld\n", rc, now_ms() - t0);
  printf("first_ticked=%d\n", ticks - before >= 10);
  printf("first_released=%d\n", released_during_wait);
  printf("first_held_after=%d\n", pthread_mutex_unlock(&em) == 0);

  pthread_mutex_lock(&em);
  t0 = now_ms();
  rc = timed(&mono, clockwait ? CLOCK_REALTIME : CLOCK_MONOTONIC, 200,
             clockwait);
  printf("second_rc=%d\nsecond_ms=%ld\n", rc, now_ms() - t0);
  t0 = now_ms();
  rc = timed(&cv, clockwait ? CLOCK_MONOTONIC : CLOCK_REALTIME, -1000,
             clockwait);
  printf("past_rc=%d\npast_ms=%ld\n", rc, now_ms() - t0);
  pthread_mutex_unlock(&em);

  sig = start(signaller, NULL);
  pthread_mutex_lock(&em);
  t0 = now_ms();
  rc = 0;
  while (!flag && rc == 0)
    rc = timed(&cv, clockwait ? CLOCK_MONOTONIC : CLOCK_REALTIME, 5000,
               clockwait);
  printf("signalled_rc=%d\nsignalled_flag=%d\nsignalled_ms=%ld\n", rc, flag,
         now_ms() - t0);
  pthread_mutex_unlock(&em);
  pthread_join(sig, NULL);
  stop = 1;
  pthread_join(tick, NULL);
  pthread_cond_destroy(&mono);
  pthread_condattr_destroy(&attr);
  return 0;
}

/* recursive: the other thread's view of a mutex main holds three times. */
static int rec_trylock, rec_order_ok, rec_lock;
static volatile int fully_unlocked;

static void *rec_other(void *arg) {
  (void)arg;
  rec_trylock = pthread_mutex_trylock(target);
  rec_lock = pthread_mutex_lock(target);
  rec_order_ok = fully_unlocked;
  pthread_mutex_unlock(target);
  return NULL;
}

/* Runs the recursive checks on m; prints them with prefix. */
static void recursive_on(pthread_mutex_t *m, const char *prefix) {
  pthread_t t;
  int a, b, c, u1, u2, u3;

  target = m;
  fully_unlocked = 0;
  a = pthread_mutex_lock(m);
  b = pthread_mutex_lock(m);
  c = pthread_mutex_trylock(m);
  t = start(rec_other, NULL);
  printf("threads=%d\n", threads_now());
  usleep(50000);
  u1 = pthread_mutex_unlock(m);
  u2 = pthread_mutex_unlock(m);
  fully_unlocked = 1;
  u3 = pthread_mutex_unlock(m);
  pthread_join(t, NULL);
  printf("%s_locks=%d,%d,%d\n%s_unlocks=%d,%d,%d\n", prefix, a, b, c, prefix,
         u1, u2, u3);
  printf("%s_other_trylock=%d\n%s_other_lock=%d\n%s_order_ok=%d\n", prefix,
         rec_trylock, prefix, rec_lock, prefix, rec_order_ok);
  printf("%s_extra_unlock=%d\n", prefix, pthread_mutex_unlock(m));
}

static int mode_recursive(void) {
  pthread_mutexattr_t attr;
  pthread_mutex_t m;

  recursive_on(&rm, "static");
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&m, &attr);
  recursive_on(&m, "attr");
  pthread_mutex_destroy(&m);
  pthread_mutexattr_destroy(&attr);
  return 0;
}

/* errorcheck and normal: what another thread gets from a held mutex. */
static int other_unlock, other_trylock, other_later;

static pthread_mutex_t other_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t other_cv = PTHREAD_COND_INITIALIZER;
static int other_done, other_released;

/* Tries to unlock (error-checking mutexes only: a default mutex would
 * simply be unlocked) and to trylock the mutex main holds, then stays
 * alive until main has counted the threads. */
static void *held_other(void *arg) {
  if (arg != NULL)
    other_unlock = pthread_mutex_unlock(target);
  other_trylock = pthread_mutex_trylock(target);
  pthread_mutex_lock(&other_mu);
  other_done = 1;
  pthread_cond_broadcast(&other_cv);
  while (!other_released)
    pthread_cond_wait(&other_cv, &other_mu);
  pthread_mutex_unlock(&other_mu);
  return NULL;
}

/* Waits for held_other's checks, counts the threads and lets it end. */
static int held_other_threads(void) {
  int threads;

  pthread_mutex_lock(&other_mu);
  while (!other_done)
    pthread_cond_wait(&other_cv, &other_mu);
  threads = threads_now();
  other_released = 1;
  pthread_cond_broadcast(&other_cv);
  pthread_mutex_unlock(&other_mu);
  return threads;
}

static void *free_other(void *arg) {
  (void)arg;
  other_later = pthread_mutex_trylock(target);
  if (other_later == 0)
    pthread_mutex_unlock(target);
  return NULL;
}

/* Runs the error checks on m; prints them with prefix. */
static void errorcheck_on(pthread_mutex_t *m, const char *prefix, int ec) {
  pthread_t t;
  int lock, relock = -1, unlock, again;

  target = m;
  lock = pthread_mutex_lock(m);
  if (ec)
    relock = pthread_mutex_lock(m);
  other_done = other_released = 0;
  t = start(held_other, ec ? m : NULL);
  printf("threads=%d\n", held_other_threads());
  pthread_join(t, NULL);
  unlock = pthread_mutex_unlock(m);
  again = ec ? pthread_mutex_unlock(m) : 0;
  t = start(free_other, NULL);
  pthread_join(t, NULL);
  printf("%s_lock=%d\n%s_relock=%d\n", prefix, lock, prefix, relock);
  if (ec)
    printf("%s_other_unlock=%d\n", prefix, other_unlock);
  printf("%s_other_trylock=%d\n%s_unlock=%d\n%s_unlock_again=%d\n", prefix,
         other_trylock, prefix, unlock, prefix, again);
  printf("%s_other_later=%d\n", prefix, other_later);
}

static int mode_errorcheck(void) {
  pthread_mutexattr_t attr;
  pthread_mutex_t m;

  errorcheck_on(&em, "static", 1);
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&m, &attr);
  errorcheck_on(&m, "attr", 1);
  pthread_mutex_destroy(&m);
  pthread_mutexattr_destroy(&attr);
  return 0;
}

static int mode_normal(void) {
  errorcheck_on(&nm, "normal", 0);
  return 0;
}

/* contention: a read-modify-write that blocks while holding the lock. */
static long counter;
static int inside, max_inside;

static void *incrementer(void *arg) {
  int k;

  (void)arg;
  for (k = 0; k < 200; k++) {
    long v;

    pthread_mutex_lock(&nm);
    if (++inside > max_inside)
      max_inside = inside;
    v = counter;
    if (k % 10 == 0)
      usleep(100);
    else
      sched_yield();
    counter = v + 1;
    inside--;
    pthread_mutex_unlock(&nm);
  }
  return NULL;
}

static int mode_contention(void) {
  pthread_t t[8];
  int i, threads;

  pthread_mutex_lock(&nm);
  for (i = 0; i < 8; i++)
    t[i] = start(incrementer, NULL);
  threads = threads_now();
  pthread_mutex_unlock(&nm);
  for (i = 0; i < 8; i++)
    pthread_join(t[i], NULL);
  printf("threads=%d\ncounter=%ld\nmax_inside=%d\n", threads, counter,
         max_inside);
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";

  if (strcmp(mode, "timedwait") == 0)
    return mode_timedwait(0);
  if (strcmp(mode, "clockwait") == 0)
    return mode_timedwait(1);
  if (strcmp(mode, "recursive") == 0)
    return mode_recursive();
  if (strcmp(mode, "errorcheck") == 0)
    return mode_errorcheck();
  if (strcmp(mode, "normal") == 0)
    return mode_normal();
  if (strcmp(mode, "contention") == 0)
    return mode_contention();
  fprintf(stderr, "usage: sync_misc timedwait|clockwait|recursive|"
          "errorcheck|normal|contention\n");
  return 64;
}
