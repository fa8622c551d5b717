/* work.c: running a function on a pool thread while the calling coroutine
 * parks ("offload"), for calls that have no non-blocking form.
 *
 * Each lane is a pool of its own: a FIFO of jobs and the threads that
 * serve it, started when work arrives and no thread of the lane is idle,
 * up to the lane's limit. A thread that has found no job for IDLE_NS
 * retires (see worker); the next job that finds no idle thread starts a
 * new one. Lanes never wait for each other, so
 * slow work in one (a name server that does not answer) cannot starve
 * another. A job lives on its coroutine's stack; a pool thread takes it,
 * runs it, puts it on the done list and wakes the hub (uv_async_send),
 * which unparks the coroutine.
 *
 * Why not libuv's pool (uv_queue_work): libuv joins its pool threads in a
 * destructor at exit, so a process whose pool thread is stuck (a slow
 * look-up, a FIFO open that waits for a peer) could not exit, where the
 * native process exits at once. These threads are detached and exit with
 * the process. They block every signal: a process-directed signal goes
 * to the scheduler thread, where the shim turns it into EINTR.
 *
 *   coroutine --job--> lane queue --> pool thread: fn(arg)
 *       ^                                  |
 *       +-- unpark <-- hub <-- async <-- done list
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "coro.h"
#include "real.h"

#define DEFAULT_LIMIT 16
/* How long a pool thread waits for a job before it exits. A burst of
 * look-ups keeps its threads across pauses of a few seconds (a thread
 * start costs tens of microseconds, nothing beside a look-up, but there
 * is no reason to pay it per request), while a daemon that resolved a
 * burst of names at start-up does not keep dozens of idle threads (each
 * with its 8 MB stack reservation and a line in every ps -L) for the
 * rest of its life. */
#define IDLE_NS (10 * 1000000000LL)

/* One call to run; lives on the parked coroutine's stack. */
struct job {
  gp_list link;        /* in the lane's queue, then in the done list */
  void (*fn)(void *);
  void *arg;
  gp_coro *coro;       /* parked until done */
  int done;            /* set by the hub once fn returned */
};

/* A pool. Fields under mu unless said otherwise. */
struct lane {
  gp_list queue;       /* jobs no thread has taken yet */
  size_t queued;       /* jobs in queue */
  unsigned threads;    /* started (or being started) */
  unsigned idle;       /* threads waiting for a job */
  unsigned limit;      /* the most threads (scheduler thread only) */
  pthread_cond_t cond; /* a job was queued; on CLOCK_MONOTONIC */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct lane lanes[GP_WORK_LANES];
static gp_list done = {&done, &done}; /* finished jobs, under mu */
static uv_async_t done_async;         /* wakes the hub for them */
static int ready;                     /* lanes and done_async are set up */
static size_t outstanding;            /* jobs not yet handed back */
static int64_t idle_ns = IDLE_NS;     /* see IDLE_NS; under mu */

void gp__work_set_limit(unsigned lane, unsigned max) {
  GP_ASSERT(lane < GP_WORK_LANES && max > 0);
  lanes[lane].limit = max;
}

void gp__work_set_idle(int64_t ns) {
  GP_ASSERT(ns > 0);
  GP_REAL(pthread_mutex_lock)(&mu);
  idle_ns = ns;
  GP_REAL(pthread_mutex_unlock)(&mu);
}

unsigned gp__work_threads(unsigned lane) {
  GP_ASSERT(lane < GP_WORK_LANES);
  GP_REAL(pthread_mutex_lock)(&mu);
  unsigned n = lanes[lane].threads;
  GP_REAL(pthread_mutex_unlock)(&mu);
  return n;
}

/* In the hub: hands finished jobs back to their coroutines. */
static void on_done(uv_async_t *a) {
  (void)a;
  gp_list got = {&got, &got};
  GP_REAL(pthread_mutex_lock)(&mu);
  while (!gp__list_empty(&done))
    gp__list_push(&got, gp__list_pop(&done));
  GP_REAL(pthread_mutex_unlock)(&mu);
  for (gp_list *l; (l = gp__list_pop(&got)) != NULL;) {
    struct job *j = GP_CONTAINER(l, struct job, link);
    gp_coro *c = j->coro;
    j->done = 1; /* the job's memory is the coroutine's again */
    gp__unpark(c, 0);
    if (--outstanding == 0)
      uv_unref((uv_handle_t *)&done_async);
  }
}

/* Waits on ln's condvar under mu until a job is queued or idle_ns has
 * passed without one. Returns 1 when the lane has a job for the caller, 0
 * when it should retire: then it has already left the lane's counts,
 * under mu, in the same critical section that saw the queue empty. */
static int await_job(struct lane *ln) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t until = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + idle_ns;
  ts.tv_sec = (time_t)(until / 1000000000);
  ts.tv_nsec = (long)(until % 1000000000);
  while (ln->queued == 0) {
    ln->idle++;
    int err = GP_REAL(pthread_cond_timedwait)(&ln->cond, &mu, &ts);
    ln->idle--;
    if (err == ETIMEDOUT && ln->queued == 0) {
      ln->threads--;
      return 0;
    }
  }
  return 1;
}

/* A pool thread: takes the lane's jobs in order until it has waited
 * idle_ns for one in vain.
 *
 * No job is stranded by a retirement: the thread decides to leave, and
 * leaves the counts (threads, idle), in one critical section of mu that
 * sees the queue empty. submit queues and reads the counts under mu too,
 * so it runs either before that section (the queue is not empty: the
 * thread takes the job instead of leaving, even after a timeout) or
 * after it (the counts no longer include the thread: submit signals a
 * thread that is still idle, or starts one). A signal that meets a
 * waiter that is timing out is not lost either: that waiter re-checks
 * the queue under mu before it leaves. */
static void *worker(void *p) {
  struct lane *ln = p;
  GP_REAL(pthread_mutex_lock)(&mu);
  while (await_job(ln)) {
    struct job *j = GP_CONTAINER(gp__list_pop(&ln->queue), struct job, link);
    ln->queued--;
    GP_REAL(pthread_mutex_unlock)(&mu);
    j->fn(j->arg);
    GP_REAL(pthread_mutex_lock)(&mu);
    gp__list_push(&done, &j->link); /* j is not touched after this */
    uv_async_send(&done_async);
  }
  GP_REAL(pthread_mutex_unlock)(&mu);
  return NULL;
}

/* Starts one detached thread for ln with every signal blocked. */
static int start_thread(struct lane *ln) {
  pthread_attr_t attr;
  sigset_t all, old;
  pthread_t t;
  int err = pthread_attr_init(&attr);
  if (err)
    return -err;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigfillset(&all);
  GP_REAL(pthread_sigmask)(SIG_SETMASK, &all, &old);
  err = GP_REAL(pthread_create)(&t, &attr, worker, ln);
  GP_REAL(pthread_sigmask)(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  return -err;
}

/* Makes ln's condvar, on CLOCK_MONOTONIC (await_job's deadline). */
static void cond_make(struct lane *ln) {
  pthread_condattr_t attr;
  GP_ASSERT(pthread_condattr_init(&attr) == 0);
  GP_ASSERT(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0);
  GP_ASSERT(pthread_cond_init(&ln->cond, &attr) == 0);
  pthread_condattr_destroy(&attr);
}

static int setup(void) {
  int err = uv_async_init(gp__loop(), &done_async, on_done);
  if (err)
    return err;
  uv_unref((uv_handle_t *)&done_async);
  for (unsigned i = 0; i < GP_WORK_LANES; i++) {
    gp__list_init(&lanes[i].queue);
    cond_make(&lanes[i]);
    if (lanes[i].limit == 0)
      lanes[i].limit = DEFAULT_LIMIT;
  }
  ready = 1;
  return 0;
}

/* In a forked child, before the loop is made anew: the pool threads did
 * not survive the fork, so every lane is empty, with no thread, and the
 * jobs of the coroutines that did not survive are forgotten (the one
 * that forked has none). The lock and the condvars are made anew, as a
 * pool thread may have held the one and waited on the others; the
 * limits stay. Without this, a child forked while a lane had an idle
 * thread would queue its first job for that thread and wait forever. */
void gp__work_fork(void) {
  pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
  mu = fresh;
  gp__list_init(&done);
  if (!ready)
    return;
  for (unsigned i = 0; i < GP_WORK_LANES; i++) {
    struct lane *ln = &lanes[i];
    gp__list_init(&ln->queue);
    ln->queued = 0;
    ln->threads = ln->idle = 0;
    cond_make(ln);
  }
  if (outstanding > 0)
    uv_unref((uv_handle_t *)&done_async);
  outstanding = 0;
  /* As hub.c's async_forget_pending: libuv 1.44 keeps the flag. */
  done_async.pending = 0;
}

/* Queues j on ln and makes sure a thread will take it: an idle one, or a
 * new one while the lane is under its limit (else the next to finish). */
static int submit(struct lane *ln, struct job *j) {
  GP_REAL(pthread_mutex_lock)(&mu);
  gp__list_push(&ln->queue, &j->link);
  ln->queued++;
  int grow = ln->queued > ln->idle && ln->threads < ln->limit;
  if (grow)
    ln->threads++;
  else
    GP_REAL(pthread_cond_signal)(&ln->cond);
  GP_REAL(pthread_mutex_unlock)(&mu);
  int err = grow ? start_thread(ln) : 0;
  if (err == 0)
    return 0;
  GP_REAL(pthread_mutex_lock)(&mu);
  ln->threads--;
  if (ln->threads == 0) { /* nobody would ever take it */
    gp__list_del(&j->link);
    ln->queued--;
  } else {
    err = 0; /* a thread of the lane will take it */
    GP_REAL(pthread_cond_signal)(&ln->cond);
  }
  GP_REAL(pthread_mutex_unlock)(&mu);
  return err;
}

int gp__work_run(unsigned lane, void (*fn)(void *), void *arg) {
  GP_ASSERT(lane < GP_WORK_LANES && gp__current != NULL);
  if (!ready) {
    int err = setup();
    if (err)
      return err;
  }
  struct job j = {.fn = fn, .arg = arg, .coro = gp__current};
  int err = submit(&lanes[lane], &j);
  if (err)
    return err == -ENOMEM ? -EAGAIN : err;
  if (outstanding++ == 0)
    uv_ref((uv_handle_t *)&done_async); /* a waiter: the loop is alive */
  while (!j.done)
    gp__park(GP_NEVER); /* nothing else may end this wait */
  return 0;
}
