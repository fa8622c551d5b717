/* conform_thread: the documented error returns of the thread calls, one
 * case per line (`name=result`, see conform.h): thread attributes,
 * pthread_create, join (and its try, timed and clock forms), detach,
 * cancellation, pthread_getattr_np, thread names, pthread_kill and
 * pthread_sigqueue, signal masks, thread-specific data, and C11's thrd_,
 * mtx_, cnd_, tss_ and call_once.
 *
 * Only cases a correct program can provoke without undefined behaviour:
 * a thread's handle is used only while it is valid (joinable and not yet
 * joined, or detached but known to be alive). A thread that must wait in
 * a call before the case runs is waited for (wait_blocked), and one that
 * must have ended is waited for too (wait_gone), so every result is
 * deterministic. Most cases run on a thread of their own (under gpatch a
 * coroutine, whose keys, names and cancellation gpatch keeps itself);
 * the keys and join cases run on the main thread too. threads= is the OS
 * thread count while five threads live: 5 natively, 1 under gpatch.
 *
 * Left out as undefined (glibc 2.36 checked): two threads joining each
 * other, or two joining one (both wait forever), and a timed join of a
 * running thread with tv_nsec out of range (glibc retries until the
 * thread ends: the conform case joins a thread that ended instead).
 */
#include <limits.h>
#include <signal.h>
#include <threads.h>

#include "conform.h"
#include "threads_now.h"

static const char *nm(const char *fmt, const char *where) {
  static char buf[4][96];
  static int next;
  next = (next + 1) % 4;
  snprintf(buf[next], sizeof buf[next], fmt, where);
  return buf[next];
}

static pthread_t main_thread;

static const char *cstate(int s) {
  return s == PTHREAD_CANCEL_ENABLE ? "ENABLE"
         : s == PTHREAD_CANCEL_DISABLE ? "DISABLE" : "other";
}

static const char *ctype(int s) {
  return s == PTHREAD_CANCEL_DEFERRED ? "DEFERRED"
         : s == PTHREAD_CANCEL_ASYNCHRONOUS ? "ASYNCHRONOUS" : "other";
}

static const char *dstate(int s) {
  return s == PTHREAD_CREATE_JOINABLE ? "JOINABLE"
         : s == PTHREAD_CREATE_DETACHED ? "DETACHED" : "other";
}

/* ---- a thread that waits until told to end ----------------------------- */

/* It publishes its OS tid and the address of one of its locals, waits on
 * go, and returns ret. */
struct waiter {
  pthread_t t;
  sem_t started, go;
  pid_t tid;
  void *local;
  void *ret;
};

static void *waiter_main(void *p) {
  struct waiter *w = p;
  int local;
  w->tid = os_tid();
  w->local = &local;
  sem_post(&w->started);
  while (sem_wait(&w->go) != 0)
    ;
  return w->ret;
}

/* Starts a waiter (attr may be NULL); returns once it runs. */
static void waiter_start(struct waiter *w, const pthread_attr_t *attr,
                         void *ret) {
  w->ret = ret;
  sem_init(&w->started, 0, 0);
  sem_init(&w->go, 0, 0);
  MUST(pthread_create(&w->t, attr, waiter_main, w));
  while (sem_wait(&w->started) != 0)
    ;
}

/* Tells it to end and waits until its OS thread is gone (it is not
 * joined: its handle stays valid). */
static void waiter_finish(struct waiter *w) {
  sem_post(&w->go);
  wait_gone(w->tid);
}

/* ---- attributes --------------------------------------------------------- */

static void attrs(void) {
  pthread_attr_t a;
  static char small[1 << 16];
  MUST(pthread_attr_init(&a));
  CASE("attr_setdetachstate_bad", pthread_attr_setdetachstate(&a, 42));
  CASE("attr_setstacksize_below_min",
       pthread_attr_setstacksize(&a, PTHREAD_STACK_MIN - 1));
  CASE("attr_setstacksize_min",
       pthread_attr_setstacksize(&a, PTHREAD_STACK_MIN));
  CASE("attr_setstack_below_min",
       pthread_attr_setstack(&a, small, PTHREAD_STACK_MIN - 1));
  CASE("attr_setscope_process",
       pthread_attr_setscope(&a, PTHREAD_SCOPE_PROCESS));
  CASE("attr_setscope_bad", pthread_attr_setscope(&a, 42));
  CASE("attr_setinheritsched_bad", pthread_attr_setinheritsched(&a, 42));
  CASE("attr_setschedpolicy_bad", pthread_attr_setschedpolicy(&a, 42));
  CASE("attr_setguardsize", pthread_attr_setguardsize(&a, 0));
  pthread_attr_destroy(&a);
}

/* ---- create, join, detach ------------------------------------------------ */

static void *t_value(void *p) { return p; }

static void *t_exit(void *p) {
  pthread_exit(p);
  return NULL;
}

/* where: "main" or "thread", the caller, in the cases' names. */
static void joins(const char *where) {
  pthread_t t;
  void *v = NULL;
  MUST(pthread_create(&t, NULL, t_value, (void *)42));
  CASE(nm("join_%s_value", where), pthread_join(t, &v));
  putl(nm("join_%s_value_value", where), (long)(intptr_t)v);
  MUST(pthread_create(&t, NULL, t_exit, (void *)7));
  CASE(nm("join_%s_exit_value", where), pthread_join(t, &v));
  putl(nm("join_%s_exit_value_value", where), (long)(intptr_t)v);
  CASE(nm("join_%s_self", where), pthread_join(pthread_self(), NULL));
  CASE(nm("tryjoin_%s_self", where), pthread_tryjoin_np(pthread_self(), NULL));
}

/* A running thread, then the same once it ended. */
static void join_running(void) {
  struct waiter w;
  void *v;
  waiter_start(&w, NULL, (void *)5);
  CASE("tryjoin_running", pthread_tryjoin_np(w.t, &v));
  CASE("timedjoin_past_running", pthread_timedjoin_np(w.t, &v, past()));
  CASE("clockjoin_mono_past_running",
       pthread_clockjoin_np(w.t, &v, CLOCK_MONOTONIC, mono_past()));
  CASE("clockjoin_real_past_running",
       pthread_clockjoin_np(w.t, &v, CLOCK_REALTIME, past()));
  CASE("clockjoin_badclock_running",
       pthread_clockjoin_np(w.t, &v, CLOCK_PROCESS_CPUTIME_ID, mono_past()));
  CASE("kill_zero_running", pthread_kill(w.t, 0));
  waiter_finish(&w);
  CASE("kill_zero_finished", pthread_kill(w.t, 0));
  CASE("kill_negative_finished", pthread_kill(w.t, -1));
  CASE("kill_sigcancel_finished", pthread_kill(w.t, 32));
  CASE("sigqueue_zero_finished", pthread_sigqueue(w.t, 0, (union sigval){0}));
  CASE("sigqueue_sigcancel_finished",
       pthread_sigqueue(w.t, 32, (union sigval){0}));
  CASE("cancel_finished", pthread_cancel(w.t));
  CASE("tryjoin_finished", pthread_tryjoin_np(w.t, &v));
  putl("tryjoin_finished_value", (long)(intptr_t)v);
}

/* Timed and clock joins that join. */
static void join_timed(void) {
  struct waiter w;
  void *v;
  waiter_start(&w, NULL, (void *)6);
  waiter_finish(&w);
  CASE("timedjoin_badns_finished", pthread_timedjoin_np(w.t, &v, bad_ns(0)));
  putl("timedjoin_badns_finished_value", (long)(intptr_t)v);
  waiter_start(&w, NULL, (void *)7);
  waiter_finish(&w);
  CASE("clockjoin_badns_finished",
       pthread_clockjoin_np(w.t, &v, CLOCK_MONOTONIC, bad_ns(1)));
  putl("clockjoin_badns_finished_value", (long)(intptr_t)v);
  waiter_start(&w, NULL, (void *)7);
  waiter_finish(&w);
  CASE("clockjoin_badclock_finished",
       pthread_clockjoin_np(w.t, &v, CLOCK_PROCESS_CPUTIME_ID, mono_past()));
  if (pthread_tryjoin_np(w.t, NULL) == EBUSY)
    die("clockjoin_badclock_finished: still running");
  struct timespec soon = at(CLOCK_REALTIME, 10000);
  waiter_start(&w, NULL, (void *)6);
  sem_post(&w.go);
  CASE("timedjoin_future", pthread_timedjoin_np(w.t, &v, &soon));
  putl("timedjoin_future_value", (long)(intptr_t)v);
  soon = at(CLOCK_MONOTONIC, 10000);
  waiter_start(&w, NULL, (void *)8);
  sem_post(&w.go);
  CASE("clockjoin_future",
       pthread_clockjoin_np(w.t, &v, CLOCK_MONOTONIC, &soon));
  putl("clockjoin_future_value", (long)(intptr_t)v);
}

static void join_detached(void) {
  struct waiter w, w2;
  pthread_attr_t a;
  void *v;

  /* Detached while alive: join and a second detach fail. */
  waiter_start(&w, NULL, NULL);
  CASE("detach_running", pthread_detach(w.t));
  CASE("join_detached", pthread_join(w.t, &v));
  CASE("tryjoin_detached", pthread_tryjoin_np(w.t, &v));
  CASE("detach_twice", pthread_detach(w.t));
  sem_post(&w.go);
  MUST(pthread_attr_init(&a));
  MUST(pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED));
  waiter_start(&w2, &a, NULL);
  pthread_attr_destroy(&a);
  CASE("join_created_detached", pthread_join(w2.t, &v));
  CASE("detach_created_detached", pthread_detach(w2.t));
  sem_post(&w2.go);
  wait_gone(w.tid);
  wait_gone(w2.tid);

  /* Detaching a thread that ended frees it. */
  waiter_start(&w, NULL, NULL);
  waiter_finish(&w);
  CASE("detach_finished", pthread_detach(w.t));
}

/* ---- cancellation ----------------------------------------------------- */

static int cleanups;
static int cfd[2];

static void cleanup(void *p) {
  (void)p;
  cleanups++;
}

static void *t_blocked_read(void *p) {
  struct waiter *w = p;
  char c;
  w->tid = os_tid();
  pthread_cleanup_push(cleanup, NULL);
  sem_post(&w->started);
  while (read(cfd[0], &c, 1) < 0)
    ;
  pthread_cleanup_pop(0);
  return (void *)1;
}

static int reached_enable, passed_testcancel, old_state;

static void *t_disabled(void *p) {
  struct waiter *w = p;
  int old;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_state);
  sem_post(&w->started);
  while (sem_wait(&w->go) != 0)
    ;
  pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
  reached_enable = old == PTHREAD_CANCEL_DISABLE;
  pthread_testcancel();
  passed_testcancel = 1;
  return (void *)1;
}

static int self_cancel_r, self_passed;

static void *t_cancel_self(void *p) {
  (void)p;
  self_cancel_r = pthread_cancel(pthread_self());
  self_passed = 1; /* deferred: it acts at the next cancellation point */
  pthread_testcancel();
  self_passed = 2;
  return NULL;
}

static void cancel_states(void) {
  int old = -1;
  CASE("setcancelstate_bad", pthread_setcancelstate(42, &old));
  CASE("setcanceltype_bad", pthread_setcanceltype(42, &old));
  CASE("setcancelstate_disable",
       pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old));
  put("setcancelstate_disable_old", cstate(old));
  CASE("setcancelstate_enable",
       pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old));
  put("setcancelstate_enable_old", cstate(old));
  CASE("setcancelstate_nullold",
       pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL));
  CASE("setcanceltype_async",
       pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old));
  put("setcanceltype_async_old", ctype(old));
  CASE("setcanceltype_deferred",
       pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &old));
  put("setcanceltype_deferred_old", ctype(old));
}

/* Cancellation of a thread blocked in read, of one with cancellation
 * disabled, and of itself. */
static void cancels(void) {
  struct waiter w;
  void *v = NULL;
  MUST(pipe(cfd));
  sem_init(&w.started, 0, 0);
  MUST(pthread_create(&w.t, NULL, t_blocked_read, &w));
  while (sem_wait(&w.started) != 0)
    ;
  wait_blocked(w.tid);
  CASE("cancel_blocked_read", pthread_cancel(w.t));
  CASE("cancel_blocked_read_again", pthread_cancel(w.t));
  CASE("cancel_blocked_read_join", pthread_join(w.t, &v));
  putl("cancel_blocked_read_canceled", v == PTHREAD_CANCELED);
  putl("cancel_blocked_read_cleanups", cleanups);
  close(cfd[0]);
  close(cfd[1]);

  sem_init(&w.started, 0, 0);
  sem_init(&w.go, 0, 0);
  MUST(pthread_create(&w.t, NULL, t_disabled, &w));
  while (sem_wait(&w.started) != 0)
    ;
  CASE("cancel_disabled", pthread_cancel(w.t));
  sem_post(&w.go);
  CASE("cancel_disabled_join", pthread_join(w.t, &v));
  putl("cancel_disabled_canceled", v == PTHREAD_CANCELED);
  put("cancel_disabled_old_state", cstate(old_state));
  putl("cancel_disabled_reached_enable", reached_enable);
  putl("cancel_disabled_passed_testcancel", passed_testcancel);

  pthread_t t;
  MUST(pthread_create(&t, NULL, t_cancel_self, NULL));
  CASE("cancel_self_join", pthread_join(t, &v));
  put("cancel_self", ename(self_cancel_r));
  putl("cancel_self_canceled", v == PTHREAD_CANCELED);
  putl("cancel_self_passed", self_passed);
}

/* ---- pthread_getattr_np ------------------------------------------------- */

/* Reports detach state, guard size, and whether the stack holds local
 * (and, when want_size, is at least that big). */
static void attr_report(const char *name, pthread_t t, void *local,
                        size_t want_size) {
  pthread_attr_t a;
  int ds = -1;
  void *lo = NULL;
  size_t size = 0, guard = 0;
  char n[96];
  if (CASE(name, pthread_getattr_np(t, &a)) != 0)
    return;
  pthread_attr_getdetachstate(&a, &ds);
  pthread_attr_getstack(&a, &lo, &size);
  pthread_attr_getguardsize(&a, &guard);
  pthread_attr_destroy(&a);
  snprintf(n, sizeof n, "%s_detachstate", name);
  put(n, dstate(ds));
  snprintf(n, sizeof n, "%s_stack_holds_local", name);
  putl(n, (char *)local >= (char *)lo && (char *)local < (char *)lo + size);
  if (want_size) {
    snprintf(n, sizeof n, "%s_stack_size_ok", name);
    putl(n, size >= want_size);
  }
  (void)guard;
}

static void *t_getattr_self(void *p) {
  int local;
  attr_report((const char *)p, pthread_self(), &local, 1 << 20);
  return NULL;
}

static char own_stack[1 << 18] __attribute__((aligned(4096)));

static void *t_own_stack(void *p) {
  pthread_attr_t a;
  void *lo = NULL;
  size_t size = 0;
  (void)p;
  CASE("getattr_own_stack", pthread_getattr_np(pthread_self(), &a));
  pthread_attr_getstack(&a, &lo, &size);
  pthread_attr_destroy(&a);
  putl("getattr_own_stack_addr", lo == own_stack);
  putl("getattr_own_stack_size", size == sizeof own_stack);
  return NULL;
}

static void getattrs(void *main_local) {
  pthread_attr_t a;
  pthread_t t;
  struct waiter w;
  MUST(pthread_attr_init(&a));
  MUST(pthread_attr_setstacksize(&a, 1 << 20));
  MUST(pthread_create(&t, &a, t_getattr_self, "getattr_self"));
  MUST(pthread_join(t, NULL));
  MUST(pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED));
  waiter_start(&w, &a, NULL);
  attr_report("getattr_detached_other", w.t, w.local, 1 << 20);
  sem_post(&w.go);
  wait_gone(w.tid);
  pthread_attr_destroy(&a);

  waiter_start(&w, NULL, NULL);
  attr_report("getattr_other", w.t, w.local, 0);
  CASE("getattr_detach", pthread_detach(w.t));
  attr_report("getattr_detached_later", w.t, w.local, 0);
  sem_post(&w.go);
  wait_gone(w.tid);

  attr_report("getattr_main", main_thread, main_local, 0);

  MUST(pthread_attr_init(&a));
  MUST(pthread_attr_setstack(&a, own_stack, sizeof own_stack));
  MUST(pthread_create(&t, &a, t_own_stack, NULL));
  MUST(pthread_join(t, NULL));
  pthread_attr_destroy(&a);
}

/* ---- names ------------------------------------------------------------- */

static void name_report(const char *name, pthread_t t, size_t len) {
  char buf[64] = "";
  if (CASE(name, pthread_getname_np(t, buf, len)) == 0) {
    char n[96];
    snprintf(n, sizeof n, "%s_value", name);
    put(n, buf[0] ? buf : "(empty)");
  }
}

static void names(void) {
  struct waiter w;
  pthread_t me = pthread_self();
  name_report("getname_self_default", me, 16);
  CASE("setname_self", pthread_setname_np(me, "conform-a"));
  name_report("getname_self", me, 16);
  CASE("setname_self_16chars", pthread_setname_np(me, "0123456789abcdef"));
  name_report("getname_self_after_erange", me, 16);
  CASE("setname_self_15chars", pthread_setname_np(me, "0123456789abcde"));
  name_report("getname_self_15chars", me, 16);
  name_report("getname_self_len15", me, 15);
  CASE("setname_self_short", pthread_setname_np(me, "ab"));
  name_report("getname_self_short_len8", me, 8);
  name_report("getname_self_short_len64", me, 64);
  CASE("setname_self_empty", pthread_setname_np(me, ""));
  name_report("getname_self_empty", me, 16);
  CASE("setname_self_again", pthread_setname_np(me, "conform-r"));

  waiter_start(&w, NULL, NULL);
  name_report("getname_other_default", w.t, 16);
  CASE("setname_other", pthread_setname_np(w.t, "conform-w"));
  name_report("getname_other", w.t, 16);
  CASE("setname_other_16chars", pthread_setname_np(w.t, "0123456789abcdef"));
  name_report("getname_other_len15", w.t, 15);
  name_report("getname_main", main_thread, 16);
  sem_post(&w.go);
  MUST(pthread_join(w.t, NULL));

  /* A thread created by a named one. */
  waiter_start(&w, NULL, NULL);
  name_report("getname_child_of_named", w.t, 16);
  sem_post(&w.go);
  MUST(pthread_join(w.t, NULL));
}

/* ---- signals --------------------------------------------------------- */

static volatile sig_atomic_t usr1_count;

static void on_usr1(int sig) {
  (void)sig;
  usr1_count++;
}

/* Waits (natively the handler runs on the target thread, soon) until
 * SIGUSR1's handler has run n times in all; returns 1 when it has. */
static int handled(int n) {
  for (int i = 0; i < 5000 && usr1_count < n; i++)
    usleep(1000);
  return usr1_count == n;
}

static int is_blocked(int sig) {
  sigset_t cur;
  sigemptyset(&cur);
  pthread_sigmask(SIG_BLOCK, NULL, &cur);
  return sigismember(&cur, sig);
}

static void *t_mask(void *p) {
  (void)p;
  return (void *)(intptr_t)is_blocked(SIGUSR2);
}

static void signals(void) {
  struct sigaction sa;
  struct waiter w;
  union sigval val = {.sival_int = 1};
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  MUST(sigaction(SIGUSR1, &sa, NULL));

  waiter_start(&w, NULL, NULL);
  CASE("kill_zero", pthread_kill(w.t, 0));
  CASE("kill_negative", pthread_kill(w.t, -1));
  CASE("kill_nsig", pthread_kill(w.t, _NSIG));
  CASE("kill_sigcancel", pthread_kill(w.t, 32));
  CASE("kill_sigsetxid", pthread_kill(w.t, 33));
  CASE("kill_usr1", pthread_kill(w.t, SIGUSR1));
  putl("kill_usr1_handled", handled(1));
  CASE("sigqueue_zero", pthread_sigqueue(w.t, 0, val));
  CASE("sigqueue_negative", pthread_sigqueue(w.t, -1, val));
  CASE("sigqueue_nsig", pthread_sigqueue(w.t, _NSIG, val));
  CASE("sigqueue_sigcancel", pthread_sigqueue(w.t, 32, val));
  CASE("sigqueue_usr1", pthread_sigqueue(w.t, SIGUSR1, val));
  putl("sigqueue_usr1_handled", handled(2));
  sem_post(&w.go);
  MUST(pthread_join(w.t, NULL));

  usr1_count = 0;
  CASE("kill_self_usr1", pthread_kill(pthread_self(), SIGUSR1));
  putl("kill_self_usr1_handled", usr1_count);
  CASE("kill_self_sigcancel", pthread_kill(pthread_self(), 32));

  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  CASE("sigmask_badhow", pthread_sigmask(42, &set, &old));
  CASE("sigmask_badhow_nullset", pthread_sigmask(42, NULL, &old));
  CASE_ERRNO("sigprocmask_badhow", sigprocmask(42, &set, &old));
  CASE("sigmask_block_usr2", pthread_sigmask(SIG_BLOCK, &set, &old));
  putl("sigmask_usr2_blocked", is_blocked(SIGUSR2));
  pthread_t t;
  void *v;
  MUST(pthread_create(&t, NULL, t_mask, NULL));
  MUST(pthread_join(t, &v));
  putl("sigmask_inherited", (long)(intptr_t)v);
  CASE("sigmask_unblock_usr2", pthread_sigmask(SIG_UNBLOCK, &set, NULL));
  putl("sigmask_usr2_unblocked", !is_blocked(SIGUSR2));
  sigemptyset(&set);
  sigaddset(&set, 32);
  sigaddset(&set, 33);
  CASE("sigmask_block_internal", pthread_sigmask(SIG_BLOCK, &set, NULL));
  putl("sigmask_sigcancel_blocked", is_blocked(32));
  putl("sigmask_sigsetxid_blocked", is_blocked(33));
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* ---- thread-specific data ------------------------------------------------ */

static pthread_key_t dkey;
static int dtor_runs;
static void *dtor_arg;

static void dtor(void *v) {
  dtor_runs++;
  dtor_arg = v;
}

/* Sets its value again each time: destructors run again, up to
 * PTHREAD_DESTRUCTOR_ITERATIONS rounds. */
static void dtor_again(void *v) {
  dtor_runs++;
  pthread_setspecific(dkey, v);
}

static void *t_set(void *v) {
  pthread_setspecific(dkey, v);
  return NULL;
}

static void *t_get(void *p) {
  (void)p;
  return pthread_getspecific(dkey);
}

static void dtor_case(const char *where, const char *name,
                      void (*fn)(void *), void *val) {
  pthread_t t;
  char n[96];
  MUST(pthread_key_create(&dkey, fn));
  dtor_runs = 0;
  dtor_arg = NULL;
  MUST(pthread_create(&t, NULL, t_set, val));
  MUST(pthread_join(t, NULL));
  snprintf(n, sizeof n, "key_%s_%s_runs", where, name);
  putl(n, dtor_runs);
  if (fn == dtor) {
    snprintf(n, sizeof n, "key_%s_%s_arg_ok", where, name);
    putl(n, dtor_arg == val);
  }
  MUST(pthread_key_delete(dkey));
}

static int one, two;

static void keys(const char *where) {
  pthread_key_t k, k2;
  pthread_t t;
  void *v;
  CASE(nm("key_%s_create", where), pthread_key_create(&k, NULL));
  putl(nm("key_%s_get_unset_null", where), pthread_getspecific(k) == NULL);
  CASE(nm("key_%s_set", where), pthread_setspecific(k, &one));
  putl(nm("key_%s_get_set", where), pthread_getspecific(k) == &one);
  dkey = k;
  MUST(pthread_create(&t, NULL, t_get, NULL));
  MUST(pthread_join(t, &v));
  putl(nm("key_%s_other_thread_null", where), v == NULL);
  CASE(nm("key_%s_delete", where), pthread_key_delete(k));
  putl(nm("key_%s_get_deleted_null", where), pthread_getspecific(k) == NULL);
  CASE(nm("key_%s_set_deleted", where), pthread_setspecific(k, &two));
  CASE(nm("key_%s_delete_twice", where), pthread_key_delete(k));
  CASE(nm("key_%s_delete_out_of_range", where),
       pthread_key_delete(PTHREAD_KEYS_MAX + 5));
  CASE(nm("key_%s_set_out_of_range", where),
       pthread_setspecific(PTHREAD_KEYS_MAX + 5, &one));
  putl(nm("key_%s_get_out_of_range_null", where),
       pthread_getspecific(PTHREAD_KEYS_MAX + 5) == NULL);
  /* A new key in the deleted one's slot starts empty. */
  MUST(pthread_key_create(&k2, NULL));
  putl(nm("key_%s_reused_null", where), pthread_getspecific(k2) == NULL);
  MUST(pthread_key_delete(k2));

  dtor_case(where, "dtor", dtor, &one);
  dtor_case(where, "dtor_null", dtor, NULL);
  dtor_case(where, "dtor_again", dtor_again, &two);

  /* Until none is left. */
  static pthread_key_t all[PTHREAD_KEYS_MAX + 1];
  int n = 0, r;
  while (n <= PTHREAD_KEYS_MAX && (r = pthread_key_create(&all[n], NULL)) == 0)
    n++;
  put(nm("key_%s_exhausted", where),
      n <= PTHREAD_KEYS_MAX ? ename(r) : "never");
  while (n > 0)
    pthread_key_delete(all[--n]);
}

/* ---- C11 -------------------------------------------------------------- */

static const char *tcode(int r) {
  static char buf[16];
  switch (r) {
  case thrd_success: return "thrd_success";
  case thrd_busy: return "thrd_busy";
  case thrd_error: return "thrd_error";
  case thrd_nomem: return "thrd_nomem";
  case thrd_timedout: return "thrd_timedout";
  }
  snprintf(buf, sizeof buf, "%d", r);
  return buf;
}

#define C11(name, call) put((name), tcode(call))

static mtx_t cm, crm;
static cnd_t cc;
static tss_t ck;
static once_flag conce = ONCE_FLAG_INIT;
static int conce_runs, ctss_dtor_runs, cflag;
static thrd_t c_target;

static void c_once(void) { conce_runs++; }
static void c_tss_dtor(void *v) { ctss_dtor_runs += v != NULL; }

static int c_exit(void *p) {
  tss_set(ck, p);
  thrd_exit(5);
  return 0;
}

static int c_seven(void *p) {
  (void)p;
  return 7;
}

static int c_others(void *p) {
  (void)p;
  C11("mtx_trylock_other", mtx_trylock(&cm));
  C11("mtx_timedlock_past_other", mtx_timedlock(&cm, past()));
  C11("mtx_timedlock_badns_other", mtx_timedlock(&cm, bad_ns(0)));
  C11("mtx_recursive_trylock_other", mtx_trylock(&crm));
  return 3;
}

static int c_waiter(void *p) {
  (void)p;
  int r = thrd_success;
  mtx_lock(&cm);
  cflag = 1;
  while (cflag == 1 && r == thrd_success)
    r = cnd_wait(&cc, &cm);
  mtx_unlock(&cm);
  return r;
}

static int c_sleeper(void *p) {
  (void)p;
  call_once(&conce, c_once);
  thrd_sleep(&(struct timespec){0, 20000000}, NULL);
  return 0;
}

static void c11_threads(void);

/* Mutexes and a timed condition wait. */
static void c11(void) {
  thrd_t t;
  int res = -1;
  C11("thrd_create", thrd_create(&t, c_seven, NULL));
  C11("thrd_join", thrd_join(t, &res));
  putl("thrd_join_res", res);
  C11("mtx_init_plain", mtx_init(&cm, mtx_plain));
  C11("mtx_init_recursive", mtx_init(&crm, mtx_plain | mtx_recursive));
  C11("cnd_init", cnd_init(&cc));
  int r = mtx_timedlock(&cm, bad_ns(0)); /* glibc takes a free one */
  C11("mtx_timedlock_badns_free", r);
  if (r == thrd_success)
    mtx_unlock(&cm);
  C11("mtx_lock", mtx_lock(&cm));
  C11("mtx_trylock_self", mtx_trylock(&cm));
  C11("mtx_recursive_lock", mtx_lock(&crm));
  C11("mtx_recursive_trylock_self", mtx_trylock(&crm));
  r = thrd_create(&t, c_others, NULL); /* it prints: report after it */
  int jr = thrd_join(t, &res);
  C11("thrd_create_others", r);
  C11("thrd_join_others", jr);
  putl("thrd_join_others_res", res);
  C11("cnd_timedwait_past", cnd_timedwait(&cc, &cm, past()));
  C11("cnd_timedwait_badns", cnd_timedwait(&cc, &cm, bad_ns(0)));
  C11("mtx_unlock", mtx_unlock(&cm));
  C11("mtx_recursive_unlock2", mtx_unlock(&crm));
  C11("mtx_recursive_unlock1", mtx_unlock(&crm));
  C11("cnd_signal_nowaiters", cnd_signal(&cc));
  C11("cnd_broadcast_nowaiters", cnd_broadcast(&cc));

  c11_threads();
}

/* A condition wait, thread-specific data, call_once and the thread
 * calls. */
static void c11_threads(void) {
  thrd_t t;
  int res = -1;
  C11("thrd_create_waiter", thrd_create(&t, c_waiter, NULL));
  for (;;) { /* until the waiter waits (it holds cm until then) */
    mtx_lock(&cm);
    if (cflag == 1)
      break;
    mtx_unlock(&cm);
    thrd_yield();
  }
  cflag = 2;
  C11("cnd_signal", cnd_signal(&cc));
  mtx_unlock(&cm);
  C11("thrd_join_waiter", thrd_join(t, &res));
  put("cnd_wait_result", tcode(res));

  C11("tss_create", tss_create(&ck, c_tss_dtor));
  putl("tss_get_unset_null", tss_get(ck) == NULL);
  C11("tss_set", tss_set(ck, &one));
  putl("tss_get_set", tss_get(ck) == &one);
  C11("thrd_create_exit", thrd_create(&t, c_exit, &two));
  C11("thrd_join_exit", thrd_join(t, &res));
  putl("thrd_exit_res", res);
  putl("tss_dtor_runs", ctss_dtor_runs);
  tss_delete(ck);
  C11("tss_set_deleted", tss_set(ck, &one));

  thrd_t s[3];
  for (int i = 0; i < 3; i++)
    thrd_create(&s[i], c_sleeper, NULL);
  for (int i = 0; i < 3; i++)
    thrd_join(s[i], NULL);
  putl("call_once_runs", conce_runs);

  C11("thrd_join_self", thrd_join(thrd_current(), &res));
  putl("thrd_equal_self", thrd_equal(thrd_current(), thrd_current()) != 0);
  struct waiter w;
  waiter_start(&w, NULL, NULL);
  c_target = (thrd_t)w.t;
  C11("thrd_detach", thrd_detach(c_target));
  C11("thrd_detach_twice", thrd_detach(c_target));
  C11("thrd_join_detached", thrd_join(c_target, &res));
  sem_post(&w.go);
  wait_gone(w.tid);
  putl("thrd_sleep", thrd_sleep(&(struct timespec){0, 1000000}, NULL));
  putl("thrd_sleep_badns", thrd_sleep(bad_ns(0), NULL));
  mtx_destroy(&cm);
  mtx_destroy(&crm);
  cnd_destroy(&cc);
}

/* ---- main ------------------------------------------------------------- */

static void *runner(void *p) {
  (void)p;
  struct waiter w[3];
  for (int i = 0; i < 3; i++)
    waiter_start(&w[i], NULL, NULL);
  putl("threads", threads_now());
  for (int i = 0; i < 3; i++) {
    sem_post(&w[i].go);
    MUST(pthread_join(w[i].t, NULL));
  }
  attrs();
  joins("thread");
  join_running();
  join_timed();
  join_detached();
  cancel_states();
  cancels();
  getattrs(p);
  keys("thread");
  signals();
  c11();
  names();
  return NULL;
}

int main(void) {
  pthread_t t;
  int local;
  setvbuf(stdout, NULL, _IOLBF, 0);
  main_thread = pthread_self();
  MUST(pthread_create(&t, NULL, runner, &local));
  MUST(pthread_join(t, NULL));
  joins("main");
  keys("main");
  puts("end=1");
  return 0;
}
