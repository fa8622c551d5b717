/* gpatch.h: the C API of libgpatch, gevent's concepts for C programs.
 *
 * Tasks are coroutines on the thread that calls these functions (the
 * process's main thread, usually): spawn one to run fn(arg), join it,
 * look at how it ended, kill it, sleep, yield, and put a Timeout on the
 * blocking calls of the running one. A program that includes this header
 * links with -lgpatch (`pkg-config --cflags --libs gpatch`); the library
 * then also makes its threads coroutines, exactly as LD_PRELOAD would, and
 * the same program runs unchanged whether or not it is also preloaded.
 *
 * Every function that returns int returns 0 or an error number (like
 * pthreads; errno is left alone), except where said otherwise. All of
 * them must be called on the scheduler thread (the thread that started
 * the runtime; the first call starts it): elsewhere they return EPERM,
 * as they do when GPATCH_PATCH leaves out the thread family.
 *
 * Kill and Timeout act on the waits a program expects to fail: socket,
 * pipe and poll calls (read, write, accept, connect, recv, send, poll,
 * select, epoll_wait, ...), the sleeps, pthread_join and this API's
 * joins and sleeps, when their family is patched. Such a call fails with
 * ECANCELED once its task is killed, and with ETIMEDOUT once a Timeout of
 * its coroutine has passed (a socket's own SO_RCVTIMEO still gives
 * EAGAIN). Mutex and condition variable waits are never cut short: POSIX
 * gives them no such error, and code rarely checks for one.
 */
#ifndef GPATCH_H
#define GPATCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A task: gevent's Greenlet. Opaque; valid until gpatch_release. */
typedef struct gpatch_task gpatch_task;

/* Options of gpatch_spawn; NULL or all zero for the defaults. */
typedef struct gpatch_opts {
  size_t stack_size;  /* bytes, 16 KiB to 1 GiB; 0: GPATCH_STACK_SIZE */
  const char *name;   /* up to 15 bytes, shown in gpatch's reports */
  long timeout_ms;    /* a Timeout for the whole task, counted from the
                         spawn (gevent's with_timeout); 0: none */
} gpatch_opts;

/* Creates a task that runs fn(arg) as a coroutine, from the next time
 * the caller blocks or yields, and stores it in *task. Returns 0, EINVAL
 * (no fn or task, a bad stack size or timeout), ERANGE (name too long),
 * EAGAIN (no memory for it) or EPERM. */
int gpatch_spawn(gpatch_task **task, const gpatch_opts *opts,
                 void *(*fn)(void *), void *arg);

/* Waits until task has ended: timeout_ms < 0 waits for as long as it
 * takes, 0 only looks. Returns 0 once it has ended, ETIMEDOUT when it
 * has not (after timeout_ms, or because a Timeout of the caller passed),
 * ECANCELED when the caller was killed, EDEADLK for the caller's own
 * task, EINVAL or EPERM. */
int gpatch_join(gpatch_task *task, long timeout_ms);

/* gpatch_join for n tasks with one timeout: 0 once all have ended; else
 * as gpatch_join (some may have ended: ask gpatch_ready). */
int gpatch_joinall(gpatch_task *const *tasks, size_t n, long timeout_ms);

/* Asks task to stop: the blocking call it is in, and every later one,
 * fail with ECANCELED, so that it unwinds through its own code and ends
 * (mutex and condition variable waits excepted, see above). A task
 * killed before it ran never runs. Returns at once (gpatch_join waits
 * for the end); 0, EINVAL or EPERM. Killing an ended task does nothing. */
int gpatch_kill(gpatch_task *task);

/* Frees task once it has ended; a task still running is freed when it
 * ends. task must not be used afterwards. */
void gpatch_release(gpatch_task *task);

/* How a task stands, as gevent's Greenlet says it. Each answers 0 or 1. */
int gpatch_started(const gpatch_task *task);    /* fn has begun to run */
int gpatch_ready(const gpatch_task *task);      /* it has ended */
int gpatch_successful(const gpatch_task *task); /* ended, not failed */
/* What fn returned (or gave pthread_exit), once it ended successfully;
 * NULL otherwise. */
void *gpatch_value(const gpatch_task *task);
/* Why it failed, once ended: 0 (it did not), ECANCELED (it was killed)
 * or ETIMEDOUT (it ended with a Timeout passed and not cancelled: its
 * opts.timeout_ms, or one it started and left running). */
int gpatch_error(const gpatch_task *task);
/* The name given at the spawn ("" for none). */
const char *gpatch_name(const gpatch_task *task);

/* Parks the caller for ms milliseconds (0: yields). Returns 0, or
 * ECANCELED / ETIMEDOUT when its task was killed or a Timeout passed, or
 * EINVAL. Outside the scheduler thread it is the real nanosleep. */
int gpatch_sleep(long ms);
/* Lets every other ready coroutine run, then goes on. */
void gpatch_yield(void);

/* A Timeout: from gpatch_timeout_start until gpatch_timeout_cancel, the
 * blocking calls of the coroutine that started it fail with ETIMEDOUT
 * once ms milliseconds have passed. Timeouts nest (the earliest wins) and
 * may be cancelled in any order. The struct lives with the caller; its
 * fields are private. */
typedef struct gpatch_timeout {
  int64_t deadline_;              /* absolute, CLOCK_MONOTONIC ns */
  struct gpatch_timeout *next_;   /* the coroutine's other Timeouts */
  void *owner_;                   /* the coroutine it applies to */
  int active_;                    /* started and not cancelled */
  int expired_;                   /* its deadline had passed at cancel */
} gpatch_timeout;

/* Starts t on the running coroutine. Returns 0, EINVAL (ms < 0) or
 * EPERM. */
int gpatch_timeout_start(gpatch_timeout *t, long ms);
/* Ends t (again: nothing more). Returns 1 when its deadline had passed by
 * then, else 0. Must run on the coroutine that started it. */
int gpatch_timeout_cancel(gpatch_timeout *t);
/* 1 when the deadline of a started t has passed (cancelled or not). */
int gpatch_timeout_expired(const gpatch_timeout *t);

#if defined(__GNUC__) || defined(__clang__)
/* A scoped Timeout, gevent's `with Timeout(seconds):`. The block runs
 * once with the Timeout t on; leaving it in any way (its end, break,
 * return, goto) cancels t:
 *
 *   GPATCH_WITH_TIMEOUT(t, 500) {
 *     if (read(fd, buf, sizeof buf) < 0 && errno == ETIMEDOUT)
 *       puts("no answer within 500 ms");
 *   }
 */
#define GPATCH_WITH_TIMEOUT(t, ms)                                        \
  for (gpatch_timeout t __attribute__((cleanup(gpatch_timeout_cancel))) = \
           {0, 0, 0, 0, 0},                                               \
           *t##_once_ = (gpatch_timeout_start(&t, (ms)), &t);             \
       t##_once_ != NULL; t##_once_ = NULL)
#endif

#ifdef __cplusplus
}
#endif

#endif
