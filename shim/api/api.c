/* api.c: the C API of gpatch.h: tasks, joins, kill, sleep, Timeouts.
 *
 * A task is a detached coroutine running task_main, plus this record,
 * which outlives the coroutine so that the task can still be asked how it
 * ended. Joiners wait on the record's address in the runtime's wait
 * queues; gp_api_task_end, the last exit function of the hooks table
 * (core/hooks.c), marks the record ready and wakes them, however the
 * coroutine ends (fn returning or pthread_exit).
 *
 * Kill and Timeout are the runtime's (gp__kill, gp__set_deadline): each
 * coroutine's active Timeouts form a list through the callers' structs,
 * headed in the shim's record of the coroutine (core/hooks.h, which also
 * names the task it runs), and the coroutine's deadline is the earliest
 * of them, recomputed when one is cancelled. A task's opts.timeout_ms is
 * one more entry, held in its record.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "api/gpatch.h"
#include "core/guard.h"
#include "core/hooks.h"
#include "core/timeutil.h"
#include "real.h"

struct gpatch_task {
  void *(*fn)(void *);      /* what it runs, and on what */
  void *arg;
  gp_coro *coro;            /* its coroutine, until it ends */
  gpatch_timeout limit;     /* opts.timeout_ms, when active_ */
  void *value;              /* what fn returned */
  int error;                /* 0, ECANCELED or ETIMEDOUT, once ready */
  unsigned char started;    /* fn has begun */
  unsigned char ready;      /* it has ended */
  unsigned char released;   /* gpatch_release came first: free at end */
  char name[16];
};

/* May the caller use coroutines? Starts the runtime on this thread when
 * nothing has yet. Returns 0 or EPERM (another thread runs it, the thread
 * family is off, or a hook is running). */
static int api_ready(void) {
  gp_init();
  if (gp__tls.inside)
    return EPERM;
  if (gp__sched_here())
    return gp__self() ? 0 : EPERM;
  if (!(gp_conf.families & GP_FAM_THREAD) || gp__rt_started())
    return EPERM;
  gp_enter();
  int err = gp__rt_start((uintptr_t)GP_REAL(pthread_self)());
  gp_leave();
  return err ? EPERM : 0;
}

/* ---- Timeouts ---- */

/* Sets the running coroutine's deadline to the earliest of its active
 * Timeouts (inside the runtime). */
static void deadline_update(void) {
  int64_t d = GP_NEVER;
  for (gpatch_timeout *t = gp_shim(gp__self())->timeouts; t; t = t->next_)
    if (t->deadline_ < d)
      d = t->deadline_;
  gp__set_deadline(d);
}

/* Puts t, whose deadline is set, on the running coroutine. */
static void timeout_push(gpatch_timeout *t) {
  gpatch_timeout **head = &gp_shim(gp__self())->timeouts;
  t->next_ = *head;
  t->owner_ = gp__self();
  t->active_ = 1;
  t->expired_ = 0;
  *head = t;
  deadline_update();
}

GP_EXPORT int gpatch_timeout_start(gpatch_timeout *t, long ms) {
  if (t == NULL)
    return EINVAL;
  t->active_ = 0;
  t->deadline_ = GP_NEVER;
  if (ms < 0)
    return EINVAL;
  int err = api_ready();
  if (err)
    return err;
  gp_enter();
  t->deadline_ = gp_deadline_ms(ms);
  timeout_push(t);
  GP_LOGL(GP_LOG_DEBUG, "coroutine #%d: Timeout of %ld ms started",
          gp__coro_number(gp__self()), ms);
  gp_leave();
  return 0;
}

GP_EXPORT int gpatch_timeout_cancel(gpatch_timeout *t) {
  if (t == NULL || !t->active_)
    return t ? t->expired_ : 0;
  if (!gp__sched_here() || gp__tls.inside || gp__self() != t->owner_)
    return 0; /* not its coroutine: it stays on */
  gp_enter();
  t->expired_ = gp__now() >= t->deadline_;
  gpatch_timeout **head = &gp_shim(gp__self())->timeouts;
  if (*head == t)
    *head = t->next_;
  for (gpatch_timeout *q = *head; q; q = q->next_)
    if (q->next_ == t)
      q->next_ = t->next_;
  t->active_ = 0;
  deadline_update();
  gp_leave();
  return t->expired_;
}

GP_EXPORT int gpatch_timeout_expired(const gpatch_timeout *t) {
  return t && t->deadline_ != GP_NEVER && gp__now() >= t->deadline_;
}

/* ---- tasks ---- */

/* The runtime calls this when any coroutine ends, in it, after the other
 * exit functions of the hooks table (core/hooks.c): a task's record
 * learns how it ended and its joiners wake. */
void gp_api_task_end(gp_coro *c) {
  gpatch_task *t = gp_shim(c)->task;
  if (t == NULL)
    return;
  t->value = gp__coro_retval(c);
  if (gp__coro_killed(c))
    t->error = ECANCELED;
  else if (gp__get_deadline() <= gp__now())
    t->error = ETIMEDOUT;
  t->ready = 1;
  t->coro = NULL;
  gp__wq_wake(t, INT_MAX);
  GP_LOGL(GP_LOG_DEBUG, "task '%s' ended: %s", t->name,
          t->error == ECANCELED ? "killed" : t->error ? "timed out" : "ok");
  if (t->released)
    free(t);
}

static void *task_main(void *arg) {
  gpatch_task *t = arg;
  gp_enter();
  if (t->limit.deadline_ != GP_NEVER)
    timeout_push(&t->limit);
  int killed = gp__coro_killed(gp__self());
  gp_leave();
  if (killed)
    return NULL; /* killed before it ran: it never runs (gevent) */
  t->started = 1;
  return t->fn(t->arg);
}

/* Checks the options; 0 or the error gpatch_spawn returns. */
static int opts_check(const gpatch_opts *o) {
  if (o == NULL)
    return 0;
  if (o->stack_size != 0 &&
      (o->stack_size < 16384 || o->stack_size > (1ul << 30)))
    return EINVAL;
  if (o->timeout_ms < 0)
    return EINVAL;
  if (o->name && strlen(o->name) > 15)
    return ERANGE;
  return 0;
}

GP_EXPORT int gpatch_spawn(gpatch_task **task, const gpatch_opts *opts,
                 void *(*fn)(void *), void *arg) {
  if (task == NULL || fn == NULL)
    return EINVAL;
  int err = opts_check(opts);
  if (err || (err = api_ready()) != 0)
    return err;
  gpatch_task *t = calloc(1, sizeof *t);
  if (t == NULL)
    return EAGAIN;
  t->fn = fn;
  t->arg = arg;
  t->limit.deadline_ = GP_NEVER;
  if (opts && opts->timeout_ms)
    t->limit.deadline_ = gp_deadline_ms(opts->timeout_ms);
  if (opts && opts->name)
    strcpy(t->name, opts->name);
  gp_enter();
  err = gp__spawn(task_main, t, opts ? opts->stack_size : 0, 1, &t->coro);
  if (err == 0) {
    gp_shim(t->coro)->task = t;
    strcpy(gp__coro_name(t->coro), t->name);
  }
  gp_leave();
  if (err) {
    free(t);
    return EAGAIN;
  }
  *task = t;
  return 0;
}

/* Waits until t has ended or the deadline (inside the runtime). */
static int join_until(gpatch_task *t, int64_t deadline) {
  if (t->ready)
    return 0;
  if (t->coro == gp__self())
    return EDEADLK;
  if (deadline == 0)
    return ETIMEDOUT;
  int r = 0;
  while (!t->ready && r == 0) {
    gp_waiter w;
    gp__wq_add(&w, t);
    r = gp__wq_park_intr(&w, deadline);
  }
  if (t->ready)
    return 0;
  return r == -ETIMEDOUT ? ETIMEDOUT : -gp_stopped(r);
}

/* The start of a call on a task that has nothing to do once the task has
 * ended: EINVAL for no task, -1 for an ended one (the call returns 0),
 * else what api_ready says (0: go on). */
static int task_pending(const gpatch_task *task) {
  if (task == NULL)
    return EINVAL;
  return task->ready ? -1 : api_ready();
}

GP_EXPORT int gpatch_join(gpatch_task *task, long timeout_ms) {
  int err = task_pending(task);
  if (err)
    return err < 0 ? 0 : err;
  gp_enter();
  err = join_until(task, timeout_ms == 0 ? 0 : gp_deadline_ms(timeout_ms));
  gp_leave();
  return err;
}

GP_EXPORT int gpatch_joinall(gpatch_task *const *tasks, size_t n,
                             long timeout_ms) {
  if (n > 0 && tasks == NULL)
    return EINVAL;
  for (size_t i = 0; i < n; i++)
    if (tasks[i] == NULL)
      return EINVAL;
  int err = api_ready();
  if (err)
    return err;
  gp_enter();
  int64_t deadline = timeout_ms == 0 ? 0 : gp_deadline_ms(timeout_ms);
  for (size_t i = 0; i < n && err == 0; i++)
    err = join_until(tasks[i], deadline);
  gp_leave();
  return err;
}

GP_EXPORT int gpatch_kill(gpatch_task *task) {
  int err = task_pending(task);
  if (err)
    return err < 0 ? 0 : err;
  gp_enter();
  gp__kill(task->coro);
  gp_leave();
  return 0;
}

GP_EXPORT void gpatch_release(gpatch_task *task) {
  if (task == NULL)
    return;
  if (task->ready)
    free(task);
  else
    task->released = 1;
}

GP_EXPORT int gpatch_started(const gpatch_task *t) {
  return t && t->started;
}

GP_EXPORT int gpatch_ready(const gpatch_task *t) { return t && t->ready; }

GP_EXPORT int gpatch_successful(const gpatch_task *t) {
  return t && t->ready && t->error == 0;
}

GP_EXPORT void *gpatch_value(const gpatch_task *t) {
  return gpatch_successful(t) ? t->value : NULL;
}

GP_EXPORT int gpatch_error(const gpatch_task *t) {
  return t && t->ready ? t->error : 0;
}

GP_EXPORT const char *gpatch_name(const gpatch_task *t) {
  return t ? t->name : "";
}

/* ---- sleep and yield ---- */

GP_EXPORT int gpatch_sleep(long ms) {
  if (ms < 0)
    return EINVAL;
  if (api_ready() != 0) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    return GP_REAL(nanosleep)(&ts, NULL) ? errno : 0;
  }
  if (ms == 0) {
    gpatch_yield();
    return 0;
  }
  gp_enter();
  int64_t deadline = gp_deadline_ms(ms);
  int r;
  while ((r = gp__park_intr(deadline)) == 0)
    ;
  gp_leave();
  return r == -ETIMEDOUT ? 0 : -gp_stopped(r);
}

GP_EXPORT void gpatch_yield(void) {
  if (api_ready() != 0) {
    GP_REAL(sched_yield)();
    return;
  }
  gp_enter();
  gp__yield();
  gp_leave();
}
