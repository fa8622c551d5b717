/* conform.h: what the conformance programs (conform_sync.c,
 * conform_thread.c) share: printing one case per line, errno names,
 * deadlines, and running a call on another thread.
 *
 * Each case prints `name=result`: the result is the return value's errno
 * name for the calls that return an error number (0 for success), the
 * errno name for the calls that return -1 and set errno, or a value. A
 * call that succeeds but changes errno gets `/errno=NAME` appended: a
 * hook must leave errno as it found it (errno is set to a sentinel before
 * each call). The output is the same natively and under the shim, line by
 * line, or the shim is wrong.
 */
#ifndef CONFORM_H
#define CONFORM_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SENTINEL 9999 /* errno before each call: no real errno value */

static inline const char *ename(int e) {
  static char buf[4][24];
  static int next;
  switch (e) {
  case 0: return "0";
  case EPERM: return "EPERM";
  case ENOENT: return "ENOENT";
  case ESRCH: return "ESRCH";
  case EINTR: return "EINTR";
  case EAGAIN: return "EAGAIN";
  case ENOMEM: return "ENOMEM";
  case EBUSY: return "EBUSY";
  case EINVAL: return "EINVAL";
  case EDEADLK: return "EDEADLK";
  case ERANGE: return "ERANGE";
  case ENOSYS: return "ENOSYS";
  case ENOTSUP: return "ENOTSUP";
  case ETIMEDOUT: return "ETIMEDOUT";
  case EOVERFLOW: return "EOVERFLOW";
  case ECANCELED: return "ECANCELED";
  case EOWNERDEAD: return "EOWNERDEAD";
  case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
  case SENTINEL: return "unchanged";
  default:
    next = (next + 1) % 4;
    snprintf(buf[next], sizeof buf[next], "E%d", e);
    return buf[next];
  }
}

/* Prints name=value. */
static inline void put(const char *name, const char *value) {
  printf("%s=%s\n", name, value);
}

static inline void putl(const char *name, long value) {
  printf("%s=%ld\n", name, value);
}

/* A call that returns an error number; err is errno after it. */
static inline void report(const char *name, int r, int err) {
  if (r == 0 && err != SENTINEL)
    printf("%s=0/errno=%s\n", name, ename(err));
  else if (r < 0)
    printf("%s=%d\n", name, r);
  else
    put(name, ename(r));
}

/* A call that returns -1 and sets errno (or a value >= 0). */
static inline void report_errno(const char *name, int r, int err) {
  if (r == -1)
    put(name, ename(err));
  else if (err != SENTINEL)
    printf("%s=%d/errno=%s\n", name, r, ename(err));
  else
    putl(name, r);
}

/* One case: CASE for error-number calls, CASE_ERRNO for -1/errno calls.
 * Both evaluate to the call's result. */
#define CASE(name, call)                                                   \
  ({                                                                       \
    errno = SENTINEL;                                                      \
    int r_ = (call);                                                       \
    report((name), r_, errno);                                             \
    errno = 0;                                                             \
    r_;                                                                    \
  })

#define CASE_ERRNO(name, call)                                             \
  ({                                                                       \
    errno = SENTINEL;                                                      \
    int r_ = (call);                                                       \
    report_errno((name), r_, errno);                                       \
    errno = 0;                                                             \
    r_;                                                                    \
  })

/* Stops the program: a step that must work did not. */
static inline void die(const char *what) {
  fprintf(stderr, "conform: %s failed\n", what);
  fflush(stdout);
  exit(1);
}

#define MUST(call)                                                         \
  do {                                                                     \
    if ((call) != 0)                                                       \
      die(#call);                                                          \
  } while (0)

/* Now on clk moved by ms (negative: the past). */
static inline struct timespec at(clockid_t clk, long ms) {
  struct timespec ts;
  clock_gettime(clk, &ts);
  long long ns = (long long)ts.tv_nsec + (long long)ms * 1000000;
  ts.tv_sec += ns / 1000000000;
  ns %= 1000000000;
  if (ns < 0) {
    ns += 1000000000;
    ts.tv_sec--;
  }
  ts.tv_nsec = ns;
  return ts;
}

/* A second ago on the wall clock. */
static inline struct timespec *past(void) {
  static struct timespec ts;
  ts = at(CLOCK_REALTIME, -1000);
  return &ts;
}

static inline struct timespec *mono_past(void) {
  static struct timespec ts;
  ts = at(CLOCK_MONOTONIC, -1000);
  return &ts;
}

/* A timeout with tv_nsec out of range (1e9, or -1 when neg), in the past
 * in case an implementation took it anyway. */
static inline struct timespec *bad_ns(int neg) {
  static struct timespec ts;
  ts.tv_sec = 0;
  ts.tv_nsec = neg ? -1 : 1000000000;
  return &ts;
}

/* Runs fn(arg) on a new thread and returns its result, once joined. The
 * caller waits in pthread_join meanwhile, so whatever it holds stays
 * held. */
struct on_thread {
  int (*fn)(void *);
  void *arg;
};

static inline void *on_thread_main(void *p) {
  struct on_thread *o = p;
  return (void *)(intptr_t)o->fn(o->arg);
}

static inline int on_thread(int (*fn)(void *), void *arg) {
  struct on_thread o = {fn, arg};
  pthread_t t;
  void *r;
  MUST(pthread_create(&t, NULL, on_thread_main, &o));
  MUST(pthread_join(t, &r));
  return (int)(intptr_t)r;
}

/* A thread that holds an object (takes it with lock, releases it with
 * unlock) between hold_begin and hold_end, parked on a semaphore. */
struct holder {
  int (*lock)(void *);
  int (*unlock)(void *);
  void *obj;
  sem_t held, go;
  pthread_t t;
  int lock_r;
};

static inline void *holder_main(void *p) {
  struct holder *h = p;
  h->lock_r = h->lock(h->obj);
  sem_post(&h->held);
  while (sem_wait(&h->go) != 0)
    ;
  return (void *)(intptr_t)(h->lock_r == 0 ? h->unlock(h->obj) : h->lock_r);
}

/* Starts the holder; returns once it holds obj (or failed to take it). */
static inline void hold_begin(struct holder *h, int (*lock)(void *),
                              int (*unlock)(void *), void *obj) {
  h->lock = lock;
  h->unlock = unlock;
  h->obj = obj;
  sem_init(&h->held, 0, 0);
  sem_init(&h->go, 0, 0);
  MUST(pthread_create(&h->t, NULL, holder_main, h));
  while (sem_wait(&h->held) != 0)
    ;
  if (h->lock_r != 0)
    die("the holder's lock");
}

/* Lets the holder release obj and end; returns its unlock's result. */
static inline int hold_end(struct holder *h) {
  void *r;
  sem_post(&h->go);
  MUST(pthread_join(h->t, &r));
  sem_destroy(&h->held);
  sem_destroy(&h->go);
  return (int)(intptr_t)r;
}

/* The calling thread's id, for wait_blocked. */
static inline pid_t os_tid(void) { return gettid(); }

/* Whether tid is another OS thread of this process. Under the shim every
 * coroutine runs on the caller's OS thread: its tid is the OS thread's
 * (GPATCH_TLS=shared), or an id of its own that the kernel does not know
 * (private), with no /proc/self/task entry. */
static inline int other_os_thread(pid_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d", (int)tid);
  return tid != os_tid() && access(path, F_OK) == 0;
}

/* Waits until the OS thread tid sleeps (state S in its stat: it blocks in
 * the call it was about to make), so that a case about a thread that
 * waits is deterministic natively. Under the shim every coroutine runs on
 * the caller's OS thread, and one that is not running is parked: nothing
 * to wait for. */
static inline void wait_blocked(pid_t tid) {
  char path[64], buf[256];
  if (!other_os_thread(tid))
    return;
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
  for (int i = 0; i < 10000; i++) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
      close(fd);
    if (n > 0) {
      buf[n] = '\0';
      char *p = strrchr(buf, ')');
      if (p && p[1] == ' ' && p[2] == 'S')
        return;
    }
    usleep(1000);
  }
  die("wait_blocked");
}

/* Waits until the OS thread tid has exited (its task is gone), once it
 * was told to. Under the shim the thread is a coroutine made ready by
 * that: yielding lets it run to its end (the ready queue is FIFO). */
static inline void wait_gone(pid_t tid) {
  char path[64];
  if (!other_os_thread(tid)) { /* natively: gone already */
    for (int i = 0; i < 10; i++)
      sched_yield();
    return;
  }
  snprintf(path, sizeof path, "/proc/self/task/%d", (int)tid);
  for (int i = 0; i < 10000; i++) {
    if (access(path, F_OK) != 0)
      return;
    usleep(1000);
  }
  die("wait_gone");
}

#endif
