/* conform_sync: the documented error returns of the synchronisation
 * objects, one case per line (`name=result`, see conform.h): mutexes of
 * every kind (normal, recursive, error-checking, adaptive,
 * priority-inheritance, robust, process-shared) and their attributes,
 * condition variables, read-write locks, semaphores, barriers, spinlocks
 * and pthread_once.
 *
 * Only cases a correct program can provoke without undefined behaviour:
 * no relock of a normal mutex by its owner, no unlock of a normal mutex
 * by another thread. A case that needs a second thread (ownership) runs
 * its call there, or has the object held there (struct holder), so every
 * result is deterministic. The cases run on a thread of their own (under
 * gpatch: a coroutine, while the main one waits in pthread_join); threads=
 * is the OS thread count while five threads live (main, that one, three
 * idle ones): 5 natively, 1 under gpatch.
 */
#include <limits.h>
#include <stdarg.h>

#include "conform.h"
#include "threads_now.h"

/* A case name from a format, in one of a few rotating buffers. */
static const char *nm(const char *fmt, ...) {
  static char buf[4][96];
  static int next;
  va_list ap;
  next = (next + 1) % 4;
  va_start(ap, fmt);
  vsnprintf(buf[next], sizeof buf[next], fmt, ap);
  va_end(ap);
  return buf[next];
}

/* What the call made on another thread (on_thread) needs besides its
 * object: the case's name, a timeout and a clock. */
static const char *cur;
static const struct timespec *cur_ts;
static clockid_t cur_clk;

static int mx_lock(void *m) { return pthread_mutex_lock(m); }
static int mx_unlock(void *m) { return pthread_mutex_unlock(m); }

/* ---- mutexes -------------------------------------------------------- */

static void mx_init(pthread_mutex_t *m, int type, int protocol, int robust,
                    int pshared) {
  pthread_mutexattr_t a;
  MUST(pthread_mutexattr_init(&a));
  MUST(pthread_mutexattr_settype(&a, type));
  if (protocol)
    MUST(pthread_mutexattr_setprotocol(&a, protocol));
  if (robust)
    MUST(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST));
  if (pshared)
    MUST(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED));
  MUST(pthread_mutex_init(m, &a));
  pthread_mutexattr_destroy(&a);
}

/* The calls made from another thread; a lock they get is given back. */
static int t_trylock(void *m) {
  int r = CASE(cur, pthread_mutex_trylock(m));
  if (r == 0)
    pthread_mutex_unlock(m);
  return r;
}

static int t_timedlock(void *m) {
  int r = CASE(cur, pthread_mutex_timedlock(m, cur_ts));
  if (r == 0)
    pthread_mutex_unlock(m);
  return r;
}

static int t_clocklock(void *m) {
  int r = CASE(cur, pthread_mutex_clocklock(m, cur_clk, cur_ts));
  if (r == 0)
    pthread_mutex_unlock(m);
  return r;
}

static int t_unlock(void *m) { return CASE(cur, pthread_mutex_unlock(m)); }

static void other(const char *name, int (*fn)(void *), void *obj) {
  cur = name;
  on_thread(fn, obj);
}

/* kind: the name in the cases; pi: priority inheritance. Its clocklock
 * cases are left out: pthread_mutex_clocklock has no hook, and under
 * gpatch glibc's on a PI mutex another coroutine holds aborts the process
 * ("The futex facility returned an unexpected error code"). */
static void mutex_kind(const char *k, int type, int pi) {
  pthread_mutex_t m;
  int checks = type == PTHREAD_MUTEX_RECURSIVE ||
               type == PTHREAD_MUTEX_ERRORCHECK;
  mx_init(&m, type, pi ? PTHREAD_PRIO_INHERIT : 0, 0, 0);

  /* Held by us. */
  MUST(pthread_mutex_lock(&m));
  if (CASE(nm("mutex_%s_trylock_self", k), pthread_mutex_trylock(&m)) == 0)
    MUST(pthread_mutex_unlock(&m));
  other(nm("mutex_%s_trylock_other", k), t_trylock, &m);
  cur_ts = past();
  other(nm("mutex_%s_timedlock_past_other", k), t_timedlock, &m);
  cur_ts = bad_ns(0);
  other(nm("mutex_%s_timedlock_badns_other", k), t_timedlock, &m);
  cur_ts = bad_ns(1);
  other(nm("mutex_%s_timedlock_negns_other", k), t_timedlock, &m);
  if (!pi) {
    cur_ts = mono_past();
    cur_clk = CLOCK_MONOTONIC;
    other(nm("mutex_%s_clocklock_past_other", k), t_clocklock, &m);
    cur_clk = CLOCK_PROCESS_CPUTIME_ID;
    other(nm("mutex_%s_clocklock_badclock_other", k), t_clocklock, &m);
  }
  if (checks)
    other(nm("mutex_%s_unlock_other", k), t_unlock, &m);
  CASE(nm("mutex_%s_destroy_locked", k), pthread_mutex_destroy(&m));
  if (type == PTHREAD_MUTEX_ERRORCHECK) {
    CASE(nm("mutex_%s_relock", k), pthread_mutex_lock(&m));
    CASE(nm("mutex_%s_timedlock_self_past", k),
         pthread_mutex_timedlock(&m, past()));
    CASE(nm("mutex_%s_timedlock_self_badns", k),
         pthread_mutex_timedlock(&m, bad_ns(0)));
  }
  if (type == PTHREAD_MUTEX_RECURSIVE) {
    CASE(nm("mutex_%s_relock", k), pthread_mutex_lock(&m));
    CASE(nm("mutex_%s_timedlock_self_past", k),
         pthread_mutex_timedlock(&m, past()));
    CASE(nm("mutex_%s_unlock_depth3", k), pthread_mutex_unlock(&m));
    CASE(nm("mutex_%s_unlock_depth2", k), pthread_mutex_unlock(&m));
    other(nm("mutex_%s_trylock_other_depth1", k), t_trylock, &m);
  }
  CASE(nm("mutex_%s_unlock", k), pthread_mutex_unlock(&m));

  /* Free. */
  if (checks)
    CASE(nm("mutex_%s_unlock_unlocked", k), pthread_mutex_unlock(&m));
  if (CASE(nm("mutex_%s_timedlock_free_past", k),
           pthread_mutex_timedlock(&m, past())) == 0)
    MUST(pthread_mutex_unlock(&m));
  if (!pi) {
    CASE(nm("mutex_%s_clocklock_free_badclock", k),
         pthread_mutex_clocklock(&m, CLOCK_PROCESS_CPUTIME_ID, mono_past()));
    CASE(nm("mutex_%s_clocklock_free_clock42", k),
         pthread_mutex_clocklock(&m, 42, mono_past()));
  }
  other(nm("mutex_%s_trylock_other_free", k), t_trylock, &m);
  CASE(nm("mutex_%s_destroy", k), pthread_mutex_destroy(&m));
}

/* The cases whose shim result differs today (see the test's known list)
 * each use an object of their own, so that a difference never spreads
 * to the cases after it. */
static void mutex_known(const char *k, int type) {
  pthread_mutex_t m;
  mx_init(&m, type, 0, 0, 0);
  if (CASE(nm("mutex_%s_timedlock_free_badns", k),
           pthread_mutex_timedlock(&m, bad_ns(0))) == 0)
    pthread_mutex_unlock(&m);
  mx_init(&m, type, 0, 0, 0);
  /* Taken with clocklock, released with unlock. */
  if (CASE(nm("mutex_%s_clocklock_free", k),
           pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, mono_past())) == 0)
    CASE(nm("mutex_%s_clocklock_free_unlock", k), pthread_mutex_unlock(&m));
}

static pthread_mutex_t s_err = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static pthread_mutex_t s_rec = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t s_norm = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t s_adapt = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;

static void mutex_static(void) {
  MUST(pthread_mutex_lock(&s_err));
  CASE("mutex_static_errorcheck_relock", pthread_mutex_lock(&s_err));
  other("mutex_static_errorcheck_unlock_other", t_unlock, &s_err);
  MUST(pthread_mutex_unlock(&s_err));
  CASE("mutex_static_errorcheck_unlock_unlocked",
       pthread_mutex_unlock(&s_err));
  MUST(pthread_mutex_lock(&s_rec));
  CASE("mutex_static_recursive_trylock_self", pthread_mutex_trylock(&s_rec));
  other("mutex_static_recursive_trylock_other", t_trylock, &s_rec);
  other("mutex_static_recursive_unlock_other", t_unlock, &s_rec);
  MUST(pthread_mutex_unlock(&s_rec));
  MUST(pthread_mutex_unlock(&s_rec));
  CASE("mutex_static_recursive_unlock_unlocked", pthread_mutex_unlock(&s_rec));
  MUST(pthread_mutex_lock(&s_norm));
  other("mutex_static_normal_trylock_other", t_trylock, &s_norm);
  CASE("mutex_static_normal_destroy_locked", pthread_mutex_destroy(&s_norm));
  MUST(pthread_mutex_unlock(&s_norm));
  MUST(pthread_mutex_lock(&s_adapt));
  other("mutex_static_adaptive_trylock_other", t_trylock, &s_adapt);
  MUST(pthread_mutex_unlock(&s_adapt));
}

static void mutex_attrs(void) {
  pthread_mutexattr_t a;
  int v = -1;
  MUST(pthread_mutexattr_init(&a));
  CASE("mutexattr_settype_bad", pthread_mutexattr_settype(&a, 42));
  CASE("mutexattr_settype_errorcheck",
       pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK));
  CASE("mutexattr_gettype", pthread_mutexattr_gettype(&a, &v));
  putl("mutexattr_gettype_value", v);
  CASE("mutexattr_setprotocol_bad", pthread_mutexattr_setprotocol(&a, 42));
  CASE("mutexattr_setrobust_bad", pthread_mutexattr_setrobust(&a, 42));
  CASE("mutexattr_setpshared_bad", pthread_mutexattr_setpshared(&a, 42));
  CASE("mutexattr_setprioceiling_bad",
       pthread_mutexattr_setprioceiling(&a, 100000));
  pthread_mutexattr_destroy(&a);
}

/* ---- robust and process-shared mutexes ------------------------------- */

static pthread_mutex_t rb_dead, rb_lost, rb_err, rb_rec, rb_norm;
static pthread_mutex_t ps_err, ps_rec, ps_norm;

/* Locks m and ends the thread holding it. */
static int t_lock_and_end(void *m) { return pthread_mutex_lock(m); }

/* A robust mutex whose owner thread ended holding it: EOWNERDEAD, then
 * consistent, or unlocked inconsistent and ENOTRECOVERABLE for good.
 * Only try and timed forms: under gpatch (known list) a blocking lock
 * would wait forever. */
static void mutex_robust_dead(void) {
  mx_init(&rb_dead, PTHREAD_MUTEX_NORMAL, 0, 1, 0);
  MUST(on_thread(t_lock_and_end, &rb_dead));
  CASE("mutex_robust_ownerdead_trylock", pthread_mutex_trylock(&rb_dead));
  CASE("mutex_robust_ownerdead_consistent",
       pthread_mutex_consistent(&rb_dead));
  CASE("mutex_robust_ownerdead_unlock", pthread_mutex_unlock(&rb_dead));
  if (CASE("mutex_robust_ownerdead_relock",
           pthread_mutex_trylock(&rb_dead)) == 0)
    pthread_mutex_unlock(&rb_dead);

  mx_init(&rb_lost, PTHREAD_MUTEX_NORMAL, 0, 1, 0);
  MUST(on_thread(t_lock_and_end, &rb_lost));
  CASE("mutex_robust_lost_trylock", pthread_mutex_trylock(&rb_lost));
  CASE("mutex_robust_lost_unlock", pthread_mutex_unlock(&rb_lost));
  struct timespec soon = at(CLOCK_REALTIME, 100);
  CASE("mutex_robust_lost_timedlock", pthread_mutex_timedlock(&rb_lost, &soon));
  CASE("mutex_robust_lost_trylock_again", pthread_mutex_trylock(&rb_lost));
  CASE("mutex_robust_lost_consistent", pthread_mutex_consistent(&rb_lost));
}

/* Robust mutexes whose owner lives: the usual kind errors. */
static void mutex_robust_live(void) {
  pthread_mutex_t plain;
  mx_init(&plain, PTHREAD_MUTEX_NORMAL, 0, 0, 0);
  CASE("mutex_consistent_nonrobust", pthread_mutex_consistent(&plain));
  pthread_mutex_destroy(&plain);

  mx_init(&rb_norm, PTHREAD_MUTEX_NORMAL, 0, 1, 0);
  CASE("mutex_robust_consistent_healthy", pthread_mutex_consistent(&rb_norm));
  CASE("mutex_robust_unlock_unlocked", pthread_mutex_unlock(&rb_norm));
  MUST(pthread_mutex_lock(&rb_norm));
  cur_ts = past();
  other("mutex_robust_normal_timedlock_past_other", t_timedlock, &rb_norm);
  other("mutex_robust_normal_trylock_other", t_trylock, &rb_norm);
  CASE("mutex_robust_normal_unlock", pthread_mutex_unlock(&rb_norm));

  mx_init(&rb_err, PTHREAD_MUTEX_ERRORCHECK, 0, 1, 0);
  MUST(pthread_mutex_lock(&rb_err));
  CASE("mutex_robust_errorcheck_relock", pthread_mutex_lock(&rb_err));
  CASE("mutex_robust_errorcheck_trylock_self", pthread_mutex_trylock(&rb_err));
  CASE("mutex_robust_errorcheck_unlock", pthread_mutex_unlock(&rb_err));
  CASE("mutex_robust_errorcheck_unlock_unlocked",
       pthread_mutex_unlock(&rb_err));

  mx_init(&rb_rec, PTHREAD_MUTEX_RECURSIVE, 0, 1, 0);
  MUST(pthread_mutex_lock(&rb_rec));
  CASE("mutex_robust_recursive_relock", pthread_mutex_lock(&rb_rec));
  CASE("mutex_robust_recursive_unlock_depth2", pthread_mutex_unlock(&rb_rec));
  CASE("mutex_robust_recursive_unlock", pthread_mutex_unlock(&rb_rec));
  CASE("mutex_robust_recursive_unlock_unlocked",
       pthread_mutex_unlock(&rb_rec));
}

/* Robust and process-shared mutexes held by another live thread: glibc
 * knows the owner by its OS tid, which under gpatch every coroutine
 * shares (README, known limits). Each case on an object of its own. */
static void mutex_owner_by_tid(void) {
  mx_init(&rb_err, PTHREAD_MUTEX_ERRORCHECK, 0, 1, 0);
  MUST(pthread_mutex_lock(&rb_err));
  other("mutex_robust_errorcheck_trylock_other", t_trylock, &rb_err);
  mx_init(&rb_rec, PTHREAD_MUTEX_RECURSIVE, 0, 1, 0);
  MUST(pthread_mutex_lock(&rb_rec));
  other("mutex_robust_recursive_trylock_other", t_trylock, &rb_rec);
  mx_init(&rb_norm, PTHREAD_MUTEX_ERRORCHECK, 0, 1, 0);
  MUST(pthread_mutex_lock(&rb_norm));
  other("mutex_robust_errorcheck_unlock_other", t_unlock, &rb_norm);

  mx_init(&ps_norm, PTHREAD_MUTEX_NORMAL, 0, 0, 1);
  MUST(pthread_mutex_lock(&ps_norm));
  other("mutex_pshared_normal_trylock_other", t_trylock, &ps_norm);
  cur_ts = past();
  other("mutex_pshared_normal_timedlock_past_other", t_timedlock, &ps_norm);
  CASE("mutex_pshared_normal_destroy_locked", pthread_mutex_destroy(&ps_norm));
  CASE("mutex_pshared_normal_unlock", pthread_mutex_unlock(&ps_norm));
  mx_init(&ps_rec, PTHREAD_MUTEX_RECURSIVE, 0, 0, 1);
  MUST(pthread_mutex_lock(&ps_rec));
  other("mutex_pshared_recursive_trylock_other", t_trylock, &ps_rec);
  mx_init(&ps_err, PTHREAD_MUTEX_ERRORCHECK, 0, 0, 1);
  MUST(pthread_mutex_lock(&ps_err));
  other("mutex_pshared_errorcheck_trylock_other", t_trylock, &ps_err);
  other("mutex_pshared_errorcheck_unlock_other", t_unlock, &ps_err);
}

static void mutexes(void) {
  static const struct {
    const char *name;
    int type, pi;
  } k[] = {
    {"normal", PTHREAD_MUTEX_NORMAL, 0},
    {"recursive", PTHREAD_MUTEX_RECURSIVE, 0},
    {"errorcheck", PTHREAD_MUTEX_ERRORCHECK, 0},
    {"adaptive", PTHREAD_MUTEX_ADAPTIVE_NP, 0},
    {"pi_normal", PTHREAD_MUTEX_NORMAL, 1},
    {"pi_recursive", PTHREAD_MUTEX_RECURSIVE, 1},
    {"pi_errorcheck", PTHREAD_MUTEX_ERRORCHECK, 1},
  };
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
    mutex_kind(k[i].name, k[i].type, k[i].pi);
  for (size_t i = 0; i < 4; i++)
    mutex_known(k[i].name, k[i].type);
  mutex_static();
  mutex_attrs();
  mutex_robust_live();
  mutex_robust_dead();
  mutex_owner_by_tid();
}

/* ---- condition variables ---------------------------------------------- */

static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cem = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static pthread_mutex_t crm = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static int cflag;
static sem_t cready;

static int t_cond_wait(void *timed) {
  MUST(pthread_mutex_lock(&cm));
  sem_post(&cready);
  int r = 0;
  struct timespec soon = at(CLOCK_REALTIME, 30000);
  while (!cflag && r == 0)
    r = timed ? pthread_cond_timedwait(&cv, &cm, &soon)
              : pthread_cond_wait(&cv, &cm);
  MUST(pthread_mutex_unlock(&cm));
  return r;
}

/* A waiter is woken by a signal (timed: well before its deadline). */
static void cond_wake(const char *name, int timed, int broadcast) {
  pthread_t t;
  void *r;
  cflag = 0;
  sem_init(&cready, 0, 0);
  MUST(pthread_create(&t, NULL, (void *(*)(void *))on_thread_main,
                      &(struct on_thread){t_cond_wait,
                                          (void *)(intptr_t)timed}));
  while (sem_wait(&cready) != 0)
    ;
  MUST(pthread_mutex_lock(&cm)); /* free only once the waiter waits */
  cflag = 1;
  CASE(nm("%s_signal", name),
       broadcast ? pthread_cond_broadcast(&cv) : pthread_cond_signal(&cv));
  MUST(pthread_mutex_unlock(&cm));
  MUST(pthread_join(t, &r));
  put(nm("%s_waiter", name), ename((int)(intptr_t)r));
  sem_destroy(&cready);
}

static void cond_attrs(void);

static void conds(void) {
  MUST(pthread_mutex_lock(&cm));
  CASE("cond_timedwait_past", pthread_cond_timedwait(&cv, &cm, past()));
  CASE("cond_timedwait_badns", pthread_cond_timedwait(&cv, &cm, bad_ns(0)));
  CASE("cond_timedwait_negns", pthread_cond_timedwait(&cv, &cm, bad_ns(1)));
  CASE("cond_clockwait_mono_past",
       pthread_cond_clockwait(&cv, &cm, CLOCK_MONOTONIC, mono_past()));
  CASE("cond_clockwait_real_past",
       pthread_cond_clockwait(&cv, &cm, CLOCK_REALTIME, past()));
  CASE("cond_clockwait_badclock",
       pthread_cond_clockwait(&cv, &cm, CLOCK_PROCESS_CPUTIME_ID, past()));
  CASE("cond_clockwait_clock42", pthread_cond_clockwait(&cv, &cm, 42, past()));
  CASE("cond_clockwait_badns",
       pthread_cond_clockwait(&cv, &cm, CLOCK_MONOTONIC, bad_ns(0)));
  MUST(pthread_mutex_unlock(&cm));

  /* The mutex is held again after each return. */
  MUST(pthread_mutex_lock(&cem));
  CASE("cond_timedwait_past_errorcheck",
       pthread_cond_timedwait(&cv, &cem, past()));
  CASE("cond_timedwait_past_errorcheck_held", pthread_mutex_trylock(&cem));
  CASE("cond_timedwait_badns_errorcheck",
       pthread_cond_timedwait(&cv, &cem, bad_ns(0)));
  CASE("cond_timedwait_badns_errorcheck_held", pthread_mutex_trylock(&cem));
  CASE("cond_timedwait_errorcheck_unlock", pthread_mutex_unlock(&cem));

  /* Waits with a mutex the caller does not hold. */
  CASE("cond_wait_errorcheck_unowned", pthread_cond_wait(&cv, &cem));
  CASE("cond_timedwait_errorcheck_unowned",
       pthread_cond_timedwait(&cv, &cem, past()));
  CASE("cond_clockwait_errorcheck_unowned",
       pthread_cond_clockwait(&cv, &cem, CLOCK_MONOTONIC, mono_past()));
  CASE("cond_wait_recursive_unowned", pthread_cond_wait(&cv, &crm));
  struct holder h;
  hold_begin(&h, mx_lock, mx_unlock, &cem);
  CASE("cond_wait_errorcheck_other_owned", pthread_cond_wait(&cv, &cem));
  CASE("cond_wait_errorcheck_other_owned_unlock", hold_end(&h));

  CASE("cond_signal_nowaiters", pthread_cond_signal(&cv));
  CASE("cond_broadcast_nowaiters", pthread_cond_broadcast(&cv));
  cond_wake("cond_wait_signalled", 0, 0);
  cond_wake("cond_timedwait_signalled", 1, 0);
  cond_wake("cond_wait_broadcast", 0, 1);
  cond_attrs();
}

/* The clock and sharing attributes, and a wait on CLOCK_MONOTONIC. */
static void cond_attrs(void) {
  pthread_condattr_t a;
  clockid_t clk = -1;
  MUST(pthread_condattr_init(&a));
  CASE("condattr_setclock_cputime",
       pthread_condattr_setclock(&a, CLOCK_PROCESS_CPUTIME_ID));
  CASE("condattr_setclock_clock42", pthread_condattr_setclock(&a, 42));
  CASE("condattr_setpshared_bad", pthread_condattr_setpshared(&a, 42));
  CASE("condattr_setclock_monotonic",
       pthread_condattr_setclock(&a, CLOCK_MONOTONIC));
  CASE("condattr_getclock", pthread_condattr_getclock(&a, &clk));
  putl("condattr_getclock_value", clk);
  pthread_cond_t mc;
  MUST(pthread_cond_init(&mc, &a));
  pthread_condattr_destroy(&a);
  MUST(pthread_mutex_lock(&cm));
  CASE("cond_monotonic_timedwait_past",
       pthread_cond_timedwait(&mc, &cm, mono_past()));
  MUST(pthread_mutex_unlock(&cm));
  CASE("cond_destroy", pthread_cond_destroy(&mc));
}

/* ---- read-write locks --------------------------------------------------- */

static int rw_rd(void *l) { return pthread_rwlock_rdlock(l); }
static int rw_wr(void *l) { return pthread_rwlock_wrlock(l); }
static int rw_un(void *l) { return pthread_rwlock_unlock(l); }

/* The calls of the cases, by name, on lock l. */
enum rwop { TRYRD, TRYWR, TIMEDRD, TIMEDWR, CLOCKRD, CLOCKWR };

static int rw_call(pthread_rwlock_t *l, enum rwop op) {
  switch (op) {
  case TRYRD: return pthread_rwlock_tryrdlock(l);
  case TRYWR: return pthread_rwlock_trywrlock(l);
  case TIMEDRD: return pthread_rwlock_timedrdlock(l, cur_ts);
  case TIMEDWR: return pthread_rwlock_timedwrlock(l, cur_ts);
  case CLOCKRD: return pthread_rwlock_clockrdlock(l, cur_clk, cur_ts);
  case CLOCKWR: return pthread_rwlock_clockwrlock(l, cur_clk, cur_ts);
  }
  return -1;
}

/* One call, made while another thread holds l (for read or for write);
 * a lock it gets is given back. */
static void rw_held(const char *name, pthread_rwlock_t *l, int by_writer,
                    enum rwop op) {
  struct holder h;
  hold_begin(&h, by_writer ? rw_wr : rw_rd, rw_un, l);
  if (CASE(name, rw_call(l, op)) == 0)
    MUST(pthread_rwlock_unlock(l));
  MUST(hold_end(&h));
}

static void rw_init(pthread_rwlock_t *l, int kind, int pshared) {
  pthread_rwlockattr_t a;
  MUST(pthread_rwlockattr_init(&a));
  MUST(pthread_rwlockattr_setkind_np(&a, kind));
  if (pshared)
    MUST(pthread_rwlockattr_setpshared(&a, PTHREAD_PROCESS_SHARED));
  MUST(pthread_rwlock_init(l, &a));
  pthread_rwlockattr_destroy(&a);
}

static int t_tryrdlock(void *l) {
  int r = CASE(cur, pthread_rwlock_tryrdlock(l));
  if (r == 0)
    pthread_rwlock_unlock(l);
  return r;
}

static pthread_rwlock_t wq_lock;
static sem_t wq_ready;
static pid_t wq_tid;

/* A writer that queues behind our read lock, for the preference case. */
static void *t_writer(void *p) {
  (void)p;
  wq_tid = os_tid();
  sem_post(&wq_ready);
  int r = pthread_rwlock_wrlock(&wq_lock);
  if (r == 0)
    pthread_rwlock_unlock(&wq_lock);
  return (void *)(intptr_t)r;
}

static pthread_rwlock_t rwl = PTHREAD_RWLOCK_INITIALIZER;

/* Calls on a lock another thread holds. */
static void rwlock_held(void) {
  pthread_rwlock_t *l = &rwl;
  cur_ts = past();
  rw_held("rwlock_tryrdlock_writeheld", l, 1, TRYRD);
  rw_held("rwlock_trywrlock_writeheld", l, 1, TRYWR);
  rw_held("rwlock_trywrlock_readheld", l, 0, TRYWR);
  rw_held("rwlock_tryrdlock_readheld", l, 0, TRYRD);
  rw_held("rwlock_timedrdlock_past_writeheld", l, 1, TIMEDRD);
  rw_held("rwlock_timedwrlock_past_writeheld", l, 1, TIMEDWR);
  rw_held("rwlock_timedwrlock_past_readheld", l, 0, TIMEDWR);
  rw_held("rwlock_timedrdlock_past_readheld", l, 0, TIMEDRD);
  cur_clk = CLOCK_MONOTONIC;
  cur_ts = mono_past();
  rw_held("rwlock_clockrdlock_mono_past_writeheld", l, 1, CLOCKRD);
  rw_held("rwlock_clockwrlock_mono_past_readheld", l, 0, CLOCKWR);
  cur_ts = bad_ns(0);
  rw_held("rwlock_timedrdlock_badns_writeheld", l, 1, TIMEDRD);
  rw_held("rwlock_timedwrlock_badns_readheld", l, 0, TIMEDWR);
  rw_held("rwlock_clockwrlock_badns_readheld", l, 0, CLOCKWR);
  cur_clk = CLOCK_PROCESS_CPUTIME_ID;
  cur_ts = mono_past();
  rw_held("rwlock_clockrdlock_badclock_writeheld", l, 1, CLOCKRD);
}

/* Calls on a lock we hold, then on a free one. */
static void rwlock_own(void) {
  pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;

  /* Held by us for writing. */
  MUST(pthread_rwlock_wrlock(&l));
  CASE("rwlock_wrlock_self_write", pthread_rwlock_wrlock(&l));
  CASE("rwlock_rdlock_self_write", pthread_rwlock_rdlock(&l));
  CASE("rwlock_trywrlock_self_write", pthread_rwlock_trywrlock(&l));
  CASE("rwlock_tryrdlock_self_write", pthread_rwlock_tryrdlock(&l));
  CASE("rwlock_timedwrlock_self_write_past",
       pthread_rwlock_timedwrlock(&l, past()));
  CASE("rwlock_timedrdlock_self_write_past",
       pthread_rwlock_timedrdlock(&l, past()));
  CASE("rwlock_clockwrlock_self_write_past",
       pthread_rwlock_clockwrlock(&l, CLOCK_MONOTONIC, mono_past()));
  CASE("rwlock_unlock_write", pthread_rwlock_unlock(&l));

  /* Held by us for reading. */
  MUST(pthread_rwlock_rdlock(&l));
  CASE("rwlock_rdlock_self_read", pthread_rwlock_rdlock(&l));
  CASE("rwlock_trywrlock_self_read", pthread_rwlock_trywrlock(&l));
  CASE("rwlock_timedwrlock_self_read_past",
       pthread_rwlock_timedwrlock(&l, past()));
  CASE("rwlock_unlock_read2", pthread_rwlock_unlock(&l));
  CASE("rwlock_unlock_read1", pthread_rwlock_unlock(&l));

  /* Free. */
  CASE("rwlock_timedrdlock_badns_free",
       pthread_rwlock_timedrdlock(&l, bad_ns(0)));
  CASE("rwlock_timedwrlock_negns_free",
       pthread_rwlock_timedwrlock(&l, bad_ns(1)));
  CASE("rwlock_clockwrlock_badclock_free",
       pthread_rwlock_clockwrlock(&l, CLOCK_PROCESS_CPUTIME_ID, mono_past()));
  CASE("rwlock_clockrdlock_clock42_free",
       pthread_rwlock_clockrdlock(&l, 42, mono_past()));
  if (CASE("rwlock_timedwrlock_past_free",
           pthread_rwlock_timedwrlock(&l, past())) == 0)
    MUST(pthread_rwlock_unlock(&l));
  if (CASE("rwlock_clockrdlock_mono_past_free",
           pthread_rwlock_clockrdlock(&l, CLOCK_MONOTONIC, mono_past())) == 0)
    MUST(pthread_rwlock_unlock(&l));
  CASE("rwlock_destroy", pthread_rwlock_destroy(&l));

  /* Unlocking a free lock (glibc: 0), on a lock used for nothing else. */
  pthread_rwlock_t u = PTHREAD_RWLOCK_INITIALIZER;
  CASE("rwlock_unlock_free", pthread_rwlock_unlock(&u));
}

/* Writer preference, non-recursive: a new reader waits for the queued
 * writer. */
static void rwlock_prefer(void) {
  rw_init(&wq_lock, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP, 0);
  MUST(pthread_rwlock_rdlock(&wq_lock));
  sem_init(&wq_ready, 0, 0);
  pthread_t t;
  void *r;
  MUST(pthread_create(&t, NULL, t_writer, NULL));
  while (sem_wait(&wq_ready) != 0)
    ;
  wait_blocked(wq_tid);
  other("rwlock_prefer_writer_tryrdlock_other", t_tryrdlock, &wq_lock);
  CASE("rwlock_prefer_writer_unlock", pthread_rwlock_unlock(&wq_lock));
  MUST(pthread_join(t, &r));
  put("rwlock_prefer_writer_writer", ename((int)(intptr_t)r));
  sem_destroy(&wq_ready);
  CASE("rwlock_prefer_writer_destroy", pthread_rwlock_destroy(&wq_lock));
}

static void rwlock_pshared(void) {
  pthread_rwlock_t ps;
  rw_init(&ps, PTHREAD_RWLOCK_PREFER_READER_NP, 1);
  cur_ts = past();
  rw_held("rwlock_pshared_trywrlock_writeheld", &ps, 1, TRYWR);
  rw_held("rwlock_pshared_tryrdlock_writeheld", &ps, 1, TRYRD);
  rw_held("rwlock_pshared_trywrlock_readheld", &ps, 0, TRYWR);
  rw_held("rwlock_pshared_timedwrlock_past_readheld", &ps, 0, TIMEDWR);
  CASE("rwlock_pshared_destroy", pthread_rwlock_destroy(&ps));
}

static void rwlocks(void) {
  pthread_rwlockattr_t a;
  int kind = -1;
  MUST(pthread_rwlockattr_init(&a));
  CASE("rwlockattr_getkind", pthread_rwlockattr_getkind_np(&a, &kind));
  putl("rwlockattr_getkind_value", kind);
  CASE("rwlockattr_setkind_bad", pthread_rwlockattr_setkind_np(&a, 42));
  CASE("rwlockattr_setpshared_bad", pthread_rwlockattr_setpshared(&a, 42));
  pthread_rwlockattr_destroy(&a);
  rwlock_held();
  rwlock_own();
  rwlock_prefer();
  rwlock_pshared();
}

/* ---- semaphores --------------------------------------------------------- */

static sem_t sw;

static int t_sem_post(void *s) { return sem_post(s); }

/* Both kinds: pshared 0 (private) and 1 (process-shared). */
static void sem_kind(const char *k, int pshared) {
  sem_t s;
  int v = -1;
  CASE_ERRNO(nm("sem_%s_init_toolarge", k),
             sem_init(&s, pshared, (unsigned)SEM_VALUE_MAX + 1));
  MUST(sem_init(&s, pshared, 2));
  CASE_ERRNO(nm("sem_%s_getvalue", k), sem_getvalue(&s, &v));
  putl(nm("sem_%s_getvalue_value", k), v);
  CASE_ERRNO(nm("sem_%s_trywait_two", k), sem_trywait(&s));
  CASE_ERRNO(nm("sem_%s_timedwait_past_one", k), sem_timedwait(&s, past()));
  CASE_ERRNO(nm("sem_%s_trywait_zero", k), sem_trywait(&s));
  CASE_ERRNO(nm("sem_%s_timedwait_past_zero", k), sem_timedwait(&s, past()));
  CASE_ERRNO(nm("sem_%s_timedwait_badns_zero", k),
             sem_timedwait(&s, bad_ns(0)));
  CASE_ERRNO(nm("sem_%s_timedwait_negns_zero", k),
             sem_timedwait(&s, bad_ns(1)));
  CASE_ERRNO(nm("sem_%s_clockwait_mono_past_zero", k),
             sem_clockwait(&s, CLOCK_MONOTONIC, mono_past()));
  CASE_ERRNO(nm("sem_%s_clockwait_real_past_zero", k),
             sem_clockwait(&s, CLOCK_REALTIME, past()));
  CASE_ERRNO(nm("sem_%s_clockwait_badclock_zero", k),
             sem_clockwait(&s, CLOCK_PROCESS_CPUTIME_ID, mono_past()));
  CASE_ERRNO(nm("sem_%s_clockwait_badns_zero", k),
             sem_clockwait(&s, CLOCK_MONOTONIC, bad_ns(0)));
  CASE_ERRNO(nm("sem_%s_post", k), sem_post(&s));
  CASE_ERRNO(nm("sem_%s_timedwait_badns_one", k),
             sem_timedwait(&s, bad_ns(0)));
  CASE_ERRNO(nm("sem_%s_clockwait_badclock_one", k),
             sem_clockwait(&s, 42, mono_past()));
  CASE_ERRNO(nm("sem_%s_clockwait_mono_past_one", k),
             sem_clockwait(&s, CLOCK_MONOTONIC, mono_past()));
  sem_getvalue(&s, &v);
  putl(nm("sem_%s_value_end", k), v);
  CASE_ERRNO(nm("sem_%s_destroy", k), sem_destroy(&s));

  MUST(sem_init(&s, pshared, SEM_VALUE_MAX));
  CASE_ERRNO(nm("sem_%s_post_overflow", k), sem_post(&s));
  sem_getvalue(&s, &v);
  putl(nm("sem_%s_value_at_max", k), v == SEM_VALUE_MAX);
  CASE_ERRNO(nm("sem_%s_trywait_at_max", k), sem_trywait(&s));
  CASE_ERRNO(nm("sem_%s_post_below_max", k), sem_post(&s));
  sem_destroy(&s);

  /* A wait ended by another thread's post. */
  MUST(sem_init(&sw, pshared, 0));
  pthread_t t;
  MUST(pthread_create(&t, NULL, (void *(*)(void *))on_thread_main,
                      &(struct on_thread){t_sem_post, &sw}));
  CASE_ERRNO(nm("sem_%s_wait_posted", k), sem_wait(&sw));
  MUST(pthread_join(t, NULL));
  struct timespec soon = at(CLOCK_REALTIME, 10000);
  MUST(pthread_create(&t, NULL, (void *(*)(void *))on_thread_main,
                      &(struct on_thread){t_sem_post, &sw}));
  CASE_ERRNO(nm("sem_%s_timedwait_posted", k), sem_timedwait(&sw, &soon));
  MUST(pthread_join(t, NULL));
  sem_destroy(&sw);
}

static void sems(void) {
  sem_kind("private", 0);
  sem_kind("pshared", 1);
}

/* ---- barriers, spinlocks, pthread_once ------------------------------- */

#define BAR_THREADS 4
#define BAR_ROUNDS 3

static pthread_barrier_t bar;
static int serial[BAR_ROUNDS], zero[BAR_ROUNDS], other_r;

static void *t_barrier(void *p) {
  (void)p;
  for (int i = 0; i < BAR_ROUNDS; i++) {
    int r = pthread_barrier_wait(&bar);
    if (r == PTHREAD_BARRIER_SERIAL_THREAD)
      __atomic_add_fetch(&serial[i], 1, __ATOMIC_RELAXED);
    else if (r == 0)
      __atomic_add_fetch(&zero[i], 1, __ATOMIC_RELAXED);
    else
      __atomic_store_n(&other_r, r, __ATOMIC_RELAXED);
  }
  return NULL;
}

static void barriers(void) {
  pthread_barrier_t b;
  pthread_barrierattr_t a;
  CASE("barrier_init_zero", pthread_barrier_init(&b, NULL, 0));
  CASE("barrier_init_huge", pthread_barrier_init(&b, NULL, UINT_MAX));
  MUST(pthread_barrierattr_init(&a));
  CASE("barrierattr_setpshared_bad", pthread_barrierattr_setpshared(&a, 42));
  pthread_barrierattr_destroy(&a);
  MUST(pthread_barrier_init(&b, NULL, 1));
  int r = pthread_barrier_wait(&b);
  put("barrier_count1_wait",
      r == PTHREAD_BARRIER_SERIAL_THREAD ? "SERIAL" : ename(r));
  CASE("barrier_count1_destroy", pthread_barrier_destroy(&b));

  pthread_t t[BAR_THREADS];
  MUST(pthread_barrier_init(&bar, NULL, BAR_THREADS));
  for (int i = 0; i < BAR_THREADS; i++)
    MUST(pthread_create(&t[i], NULL, t_barrier, NULL));
  for (int i = 0; i < BAR_THREADS; i++)
    MUST(pthread_join(t[i], NULL));
  for (int i = 0; i < BAR_ROUNDS; i++) {
    putl(nm("barrier_round%d_serial", i), serial[i]);
    putl(nm("barrier_round%d_zero", i), zero[i]);
  }
  put("barrier_other_result", ename(other_r));
  CASE("barrier_destroy", pthread_barrier_destroy(&bar));
}

static pthread_spinlock_t sl;

static int t_spin_trylock(void *l) {
  int r = CASE(cur, pthread_spin_trylock(l));
  if (r == 0)
    pthread_spin_unlock(l);
  return r;
}

static int sp_lock(void *l) { return pthread_spin_lock(l); }

/* Holds the spinlock for a while, then lets it go. */
static int sp_unlock_later(void *l) {
  usleep(20000);
  return pthread_spin_unlock(l);
}

static void spins(void) {
  CASE("spin_init_pshared_bad", pthread_spin_init(&sl, 42));
  pthread_spin_destroy(&sl);
  MUST(pthread_spin_init(&sl, PTHREAD_PROCESS_PRIVATE));
  CASE("spin_trylock_free", pthread_spin_trylock(&sl));
  CASE("spin_trylock_self", pthread_spin_trylock(&sl));
  other("spin_trylock_other", t_spin_trylock, (void *)&sl);
  CASE("spin_unlock", pthread_spin_unlock(&sl));
  other("spin_trylock_other_free", t_spin_trylock, (void *)&sl);
  /* A lock that spins until the holder, blocked meanwhile, lets go. */
  struct holder h;
  hold_begin(&h, sp_lock, sp_unlock_later, (void *)&sl);
  sem_post(&h.go); /* it lets go 20 ms later; hold_end's post is spare */
  CASE("spin_lock_waits", pthread_spin_lock(&sl));
  CASE("spin_lock_waits_unlock", pthread_spin_unlock(&sl));
  CASE("spin_lock_waits_holder", hold_end(&h));
  CASE("spin_destroy", pthread_spin_destroy(&sl));
}

#define ONCE_THREADS 4

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs, once_done, once_seen[ONCE_THREADS];

static void once_fn(void) {
  once_runs++;
  usleep(20000); /* the others arrive meanwhile */
  once_done = 1;
}

static void *t_once(void *p) {
  int r = pthread_once(&once, once_fn);
  once_seen[(intptr_t)p] = once_done;
  return (void *)(intptr_t)r;
}

static void onces(void) {
  pthread_t t[ONCE_THREADS];
  void *r;
  int errs = 0, seen = 0;
  for (intptr_t i = 0; i < ONCE_THREADS; i++)
    MUST(pthread_create(&t[i], NULL, t_once, (void *)i));
  for (int i = 0; i < ONCE_THREADS; i++) {
    MUST(pthread_join(t[i], &r));
    errs += r != NULL;
    seen += once_seen[i];
  }
  putl("once_runs", once_runs);
  putl("once_errors", errs);
  putl("once_done_on_return", seen);
  CASE("once_again", pthread_once(&once, once_fn));
  putl("once_runs_after", once_runs);
}

/* ---- main ------------------------------------------------------------- */

static sem_t idle_go;

static void *t_idle(void *p) {
  (void)p;
  while (sem_wait(&idle_go) != 0)
    ;
  return NULL;
}

/* threads=: the OS thread count while three more threads live. */
static void count_threads(void) {
  pthread_t t[3];
  sem_init(&idle_go, 0, 0);
  for (int i = 0; i < 3; i++)
    MUST(pthread_create(&t[i], NULL, t_idle, NULL));
  putl("threads", threads_now());
  for (int i = 0; i < 3; i++)
    sem_post(&idle_go);
  for (int i = 0; i < 3; i++)
    MUST(pthread_join(t[i], NULL));
  sem_destroy(&idle_go);
}

static void *runner(void *p) {
  (void)p;
  count_threads();
  mutexes();
  conds();
  rwlocks();
  sems();
  barriers();
  spins();
  onces();
  return NULL;
}

int main(void) {
  pthread_t t;
  setvbuf(stdout, NULL, _IOLBF, 0);
  MUST(pthread_create(&t, NULL, runner, NULL));
  MUST(pthread_join(t, NULL));
  puts("end=1");
  return 0;
}
