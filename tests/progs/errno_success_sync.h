/* errno_success_sync.h: the waiting cases of errno_success: sleeps,
 * mutexes, condition variables, rwlocks, barriers, spinlocks, semaphores,
 * futexes and the thread calls. A part of errno_success.c (see
 * errno_success.h).
 */
#ifndef ERRNO_SUCCESS_SYNC_H
#define ERRNO_SUCCESS_SYNC_H

/* ---- Sleeps ------------------------------------------------------------ */

static void sleeps(void) {
  struct timespec z = { 0, 0 }, d = { 0, DELAY_MS * 1000000L }, t;

  CHECK("sleep", "zero", sleep(0) == 0);
  CHECK("sleep", "wait", sleep(1) == 0);
  CHECK("usleep", "zero", usleep(0) == 0);
  CHECK("usleep", "wait", usleep(DELAY_MS * 1000) == 0);
  CHECK("nanosleep", "zero", nanosleep(&z, NULL) == 0);
  CHECK("nanosleep", "wait", nanosleep(&d, NULL) == 0);
  CHECK_RC("clock_nanosleep", "zero",
           clock_nanosleep(CLOCK_MONOTONIC, 0, &z, NULL));
  CHECK_RC("clock_nanosleep", "wait",
           clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL));
  CHECK_RC("clock_nanosleep", "realtime",
           clock_nanosleep(CLOCK_REALTIME, 0, &d, NULL));
  t = deadline(CLOCK_MONOTONIC, DELAY_MS);
  CHECK_RC("clock_nanosleep", "abstime",
           clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL));
  t = deadline(CLOCK_MONOTONIC, -1000);
  CHECK_RC("clock_nanosleep", "abstime_past",
           clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL));
  CHECK("thrd_sleep", "zero", thrd_sleep(&z, NULL) == 0);
  CHECK("thrd_sleep", "wait", thrd_sleep(&d, NULL) == 0);
  CHECK("sched_yield", "now", sched_yield() == 0);
  CHECK_VOID("thrd_yield", "now", thrd_yield());
}

/* ---- Mutexes, condition variables, rwlocks, barriers, spinlocks -------- */

/* A thread that takes a lock, says so, holds it DELAY_MS, then lets go. */
struct holder {
  pthread_t t;
  void (*take)(void *);
  void (*give)(void *);
  void *obj;
  sem_t held;
};

static void *holder_main(void *arg) {
  struct holder *h = arg;

  h->take(h->obj);
  sem_post(&h->held);
  ms_sleep(DELAY_MS);
  h->give(h->obj);
  return NULL;
}

static void hold(struct holder *h, void (*take)(void *),
                 void (*give)(void *), void *obj) {
  h->take = take;
  h->give = give;
  h->obj = obj;
  sem_init(&h->held, 0, 0);
  if (pthread_create(&h->t, NULL, holder_main, h) != 0)
    die("pthread_create");
  while (sem_wait(&h->held) != 0)
    ;
}

static void unhold(struct holder *h) {
  pthread_join(h->t, NULL);
  sem_destroy(&h->held);
}

static void mu_take(void *m) { pthread_mutex_lock(m); }
static void mu_give(void *m) { pthread_mutex_unlock(m); }
static void rw_rd(void *l) { pthread_rwlock_rdlock(l); }
static void rw_wr(void *l) { pthread_rwlock_wrlock(l); }
static void rw_give(void *l) { pthread_rwlock_unlock(l); }
static void sp_take(void *s) { pthread_spin_lock(s); }
static void sp_give(void *s) { pthread_spin_unlock(s); }

/* A thread blocked in pthread_mutex_lock while main holds the mutex. */
static void *lock_once(void *m) {
  pthread_mutex_lock(m);
  pthread_mutex_unlock(m);
  return NULL;
}

static void mutexes(void) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_t r = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
  pthread_mutex_t ec = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
  struct timespec t;
  struct holder h;
  pthread_t w;

  CHECK_RC("pthread_mutex_lock", "free", pthread_mutex_lock(&m));
  CHECK_RC("pthread_mutex_unlock", "no_waiter", pthread_mutex_unlock(&m));
  hold(&h, mu_take, mu_give, &m);
  CHECK_RC("pthread_mutex_lock", "contended", pthread_mutex_lock(&m));
  pthread_mutex_unlock(&m);
  unhold(&h);
  CHECK_RC("pthread_mutex_trylock", "free", pthread_mutex_trylock(&m));
  pthread_create(&w, NULL, lock_once, &m);
  ms_sleep(DELAY_MS);
  CHECK_RC("pthread_mutex_unlock", "waiter", pthread_mutex_unlock(&m));
  pthread_join(w, NULL);
  t = deadline(CLOCK_REALTIME, 5000);
  CHECK_RC("pthread_mutex_timedlock", "free",
           pthread_mutex_timedlock(&m, &t));
  pthread_mutex_unlock(&m);
  hold(&h, mu_take, mu_give, &m);
  t = deadline(CLOCK_REALTIME, 5000);
  CHECK_RC("pthread_mutex_timedlock", "contended",
           pthread_mutex_timedlock(&m, &t));
  pthread_mutex_unlock(&m);
  unhold(&h);
  t = deadline(CLOCK_MONOTONIC, 5000);
  CHECK_RC("pthread_mutex_clocklock", "free",
           pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &t));
  pthread_mutex_unlock(&m);
  hold(&h, mu_take, mu_give, &m);
  t = deadline(CLOCK_MONOTONIC, 5000);
  CHECK_RC("pthread_mutex_clocklock", "contended",
           pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &t));
  pthread_mutex_unlock(&m);
  unhold(&h);
  CHECK_RC("pthread_mutex_lock", "recursive", pthread_mutex_lock(&r));
  CHECK_RC("pthread_mutex_lock", "recursive_again", pthread_mutex_lock(&r));
  CHECK_RC("pthread_mutex_unlock", "recursive", pthread_mutex_unlock(&r));
  pthread_mutex_unlock(&r);
  CHECK_RC("pthread_mutex_lock", "errorcheck", pthread_mutex_lock(&ec));
  CHECK_RC("pthread_mutex_unlock", "errorcheck", pthread_mutex_unlock(&ec));
  CHECK_RC("pthread_mutex_destroy", "unlocked", pthread_mutex_destroy(&m));
  CHECK_RC("pthread_mutex_destroy", "recursive", pthread_mutex_destroy(&r));
}

/* Condition variable fixture: a flag guarded by mu, signalled through cv. */
struct cond_fix {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int flag, waiting;
};

static void cb_cond_signal(void *arg) {
  struct cond_fix *c = arg;

  pthread_mutex_lock(&c->mu);
  c->flag = 1;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

/* Waits for flag like a waiter does, so that main's signal has a waiter. */
static void *cond_waiter(void *arg) {
  struct cond_fix *c = arg;

  pthread_mutex_lock(&c->mu);
  c->waiting++;
  while (!c->flag)
    pthread_cond_wait(&c->cv, &c->mu);
  c->waiting--;
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

/* Starts a cond_waiter and returns once it waits (mu not held). */
static pthread_t start_waiter(struct cond_fix *c) {
  pthread_t t;
  int w;

  c->flag = 0;
  pthread_create(&t, NULL, cond_waiter, c);
  do {
    ms_sleep(2);
    pthread_mutex_lock(&c->mu);
    w = c->waiting;
    pthread_mutex_unlock(&c->mu);
  } while (w == 0);
  return t;
}

/* One timed or untimed wait on c: 0 means it woke up normally. */
typedef int cwait_fn(struct cond_fix *c, int ms);

static int cw_wait(struct cond_fix *c, int ms) {
  (void)ms;
  return pthread_cond_wait(&c->cv, &c->mu);
}
static int cw_timed(struct cond_fix *c, int ms) {
  struct timespec t = deadline(CLOCK_REALTIME, ms);
  return pthread_cond_timedwait(&c->cv, &c->mu, &t);
}
static int cw_clock(struct cond_fix *c, int ms) {
  struct timespec t = deadline(CLOCK_MONOTONIC, ms);
  return pthread_cond_clockwait(&c->cv, &c->mu, CLOCK_MONOTONIC, &t);
}

static void conds(void) {
  static const struct {
    const char *name;
    cwait_fn *w;
  } waits[] = {
    { "pthread_cond_wait", cw_wait },
    { "pthread_cond_timedwait", cw_timed },
    { "pthread_cond_clockwait", cw_clock },
  };
  struct cond_fix c = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                        0, 0 };
  struct later l;
  pthread_t t;
  size_t i;

  for (i = 0; i < sizeof waits / sizeof waits[0]; i++) {
    pthread_mutex_lock(&c.mu);
    c.flag = 0;
    later_start(&l, DELAY_MS, cb_cond_signal, &c);
    CHECK_RC(waits[i].name, "signalled", waits[i].w(&c, 5000));
    while (!c.flag)
      waits[i].w(&c, 5000);
    pthread_mutex_unlock(&c.mu);
    later_join(&l);
  }
  CHECK_RC("pthread_cond_signal", "no_waiter", pthread_cond_signal(&c.cv));
  CHECK_RC("pthread_cond_broadcast", "no_waiter",
           pthread_cond_broadcast(&c.cv));
  t = start_waiter(&c);
  pthread_mutex_lock(&c.mu);
  c.flag = 1;
  CHECK_RC("pthread_cond_signal", "waiter", pthread_cond_signal(&c.cv));
  pthread_mutex_unlock(&c.mu);
  pthread_join(t, NULL);
  t = start_waiter(&c);
  pthread_mutex_lock(&c.mu);
  c.flag = 1;
  CHECK_RC("pthread_cond_broadcast", "waiter",
           pthread_cond_broadcast(&c.cv));
  pthread_mutex_unlock(&c.mu);
  pthread_join(t, NULL);
}

static void rwlocks(void) {
  pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;
  struct timespec t;
  struct holder h;

  CHECK_RC("pthread_rwlock_rdlock", "free", pthread_rwlock_rdlock(&l));
  CHECK_RC("pthread_rwlock_unlock", "reader", pthread_rwlock_unlock(&l));
  CHECK_RC("pthread_rwlock_wrlock", "free", pthread_rwlock_wrlock(&l));
  CHECK_RC("pthread_rwlock_unlock", "writer", pthread_rwlock_unlock(&l));
  CHECK_RC("pthread_rwlock_tryrdlock", "free", pthread_rwlock_tryrdlock(&l));
  pthread_rwlock_unlock(&l);
  CHECK_RC("pthread_rwlock_trywrlock", "free", pthread_rwlock_trywrlock(&l));
  pthread_rwlock_unlock(&l);
  hold(&h, rw_rd, rw_give, &l);
  CHECK_RC("pthread_rwlock_rdlock", "shared", pthread_rwlock_rdlock(&l));
  pthread_rwlock_unlock(&l);
  CHECK_RC("pthread_rwlock_wrlock", "contended", pthread_rwlock_wrlock(&l));
  pthread_rwlock_unlock(&l);
  unhold(&h);
  hold(&h, rw_wr, rw_give, &l);
  CHECK_RC("pthread_rwlock_rdlock", "contended", pthread_rwlock_rdlock(&l));
  pthread_rwlock_unlock(&l);
  unhold(&h);
  hold(&h, rw_wr, rw_give, &l);
  t = deadline(CLOCK_REALTIME, 5000);
  CHECK_RC("pthread_rwlock_timedrdlock", "contended",
           pthread_rwlock_timedrdlock(&l, &t));
  pthread_rwlock_unlock(&l);
  unhold(&h);
  hold(&h, rw_wr, rw_give, &l);
  t = deadline(CLOCK_REALTIME, 5000);
  CHECK_RC("pthread_rwlock_timedwrlock", "contended",
           pthread_rwlock_timedwrlock(&l, &t));
  pthread_rwlock_unlock(&l);
  unhold(&h);
  hold(&h, rw_wr, rw_give, &l);
  t = deadline(CLOCK_MONOTONIC, 5000);
  CHECK_RC("pthread_rwlock_clockrdlock", "contended",
           pthread_rwlock_clockrdlock(&l, CLOCK_MONOTONIC, &t));
  pthread_rwlock_unlock(&l);
  unhold(&h);
  hold(&h, rw_wr, rw_give, &l);
  t = deadline(CLOCK_MONOTONIC, 5000);
  CHECK_RC("pthread_rwlock_clockwrlock", "contended",
           pthread_rwlock_clockwrlock(&l, CLOCK_MONOTONIC, &t));
  CHECK_RC("pthread_rwlock_unlock", "after_wait", pthread_rwlock_unlock(&l));
  unhold(&h);
  t = deadline(CLOCK_REALTIME, 5000);
  CHECK_RC("pthread_rwlock_timedrdlock", "free",
           pthread_rwlock_timedrdlock(&l, &t));
  pthread_rwlock_unlock(&l);
  CHECK_RC("pthread_rwlock_timedwrlock", "free",
           pthread_rwlock_timedwrlock(&l, &t));
  pthread_rwlock_unlock(&l);
  t = deadline(CLOCK_MONOTONIC, 5000);
  CHECK_RC("pthread_rwlock_clockrdlock", "free",
           pthread_rwlock_clockrdlock(&l, CLOCK_MONOTONIC, &t));
  pthread_rwlock_unlock(&l);
  CHECK_RC("pthread_rwlock_clockwrlock", "free",
           pthread_rwlock_clockwrlock(&l, CLOCK_MONOTONIC, &t));
  pthread_rwlock_unlock(&l);
}

static pthread_barrier_t bar;

static void *barrier_now(void *arg) {
  (void)arg;
  pthread_barrier_wait(&bar);
  return NULL;
}

static void cb_barrier(void *arg) {
  (void)arg;
  pthread_barrier_wait(&bar);
}

static int barrier_ok(int rc) {
  return rc == PTHREAD_BARRIER_SERIAL_THREAD ? 0 : rc;
}

static void barriers_spins(void) {
  pthread_spinlock_t s;
  struct later l;
  pthread_t t;

  pthread_barrier_init(&bar, NULL, 2);
  later_start(&l, DELAY_MS, cb_barrier, NULL);
  CHECK_RC("pthread_barrier_wait", "wait",
           barrier_ok(pthread_barrier_wait(&bar)));
  later_join(&l);
  pthread_create(&t, NULL, barrier_now, NULL);
  ms_sleep(DELAY_MS);
  CHECK_RC("pthread_barrier_wait", "last",
           barrier_ok(pthread_barrier_wait(&bar)));
  pthread_join(t, NULL);
  pthread_barrier_destroy(&bar);
  pthread_spin_init(&s, PTHREAD_PROCESS_PRIVATE);
  CHECK_RC("pthread_spin_lock", "free", pthread_spin_lock(&s));
  pthread_spin_unlock(&s);
  pthread_spin_destroy(&s);
}

/* ---- Semaphores and futexes -------------------------------------------- */

static void cb_sem_post(void *arg) { sem_post(arg); }

static void *sem_waiter(void *arg) {
  while (sem_wait(arg) != 0)
    ;
  return NULL;
}

static int futex_word;

static void cb_futex_wake(void *arg) {
  (void)arg;
  __atomic_store_n(&futex_word, 1, __ATOMIC_SEQ_CST);
  syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void sems(void) {
  struct timespec t;
  struct later l;
  pthread_t w;
  sem_t s;

  sem_init(&s, 0, 0);
  CHECK("sem_post", "no_waiter", sem_post(&s) == 0);
  CHECK("sem_wait", "now", sem_wait(&s) == 0);
  later_start(&l, DELAY_MS, cb_sem_post, &s);
  CHECK("sem_wait", "wait", sem_wait(&s) == 0);
  later_join(&l);
  sem_post(&s);
  CHECK("sem_trywait", "now", sem_trywait(&s) == 0);
  sem_post(&s);
  t = deadline(CLOCK_REALTIME, 5000);
  CHECK("sem_timedwait", "now", sem_timedwait(&s, &t) == 0);
  later_start(&l, DELAY_MS, cb_sem_post, &s);
  CHECK("sem_timedwait", "wait", sem_timedwait(&s, &t) == 0);
  later_join(&l);
  sem_post(&s);
  t = deadline(CLOCK_MONOTONIC, 5000);
  CHECK("sem_clockwait", "now", sem_clockwait(&s, CLOCK_MONOTONIC, &t) == 0);
  later_start(&l, DELAY_MS, cb_sem_post, &s);
  CHECK("sem_clockwait", "wait",
        sem_clockwait(&s, CLOCK_MONOTONIC, &t) == 0);
  later_join(&l);
  pthread_create(&w, NULL, sem_waiter, &s);
  ms_sleep(DELAY_MS);
  CHECK("sem_post", "waiter", sem_post(&s) == 0);
  pthread_join(w, NULL);
  sem_destroy(&s);
  /* syscall(): a plain one, a futex wake, a futex wait woken later. */
  CHECK("syscall", "getpid", syscall(SYS_getpid) == getpid());
  CHECK("syscall", "futex_wake_none",
        syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL,
                0) == 0);
  futex_word = 0;
  later_start(&l, DELAY_MS, cb_futex_wake, NULL);
  CHECK("syscall", "futex_wait",
        syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL,
                0) == 0);
  later_join(&l);
}

/* ---- Threads ----------------------------------------------------------- */

static volatile int ran;

static void *quick(void *arg) {
  ran = 1;
  return arg;
}

static void *slow(void *arg) {
  ms_sleep(DELAY_MS);
  return arg;
}

static void *cancel_me(void *arg) {
  char c;

  while (read((int)(intptr_t)arg, &c, 1) != 0)
    ;
  return NULL;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void once_fn(void) { ran = 2; }
static void cleanup_fn(void *arg) { (void)arg; }

/* Joins t with a call that may find it still running (EBUSY, ETIMEDOUT):
 * retries, each try its own marker, and reports the last. */
#define JOIN_TRY(name, path, call)                                        \
  do {                                                                    \
    int rc_, e_, n_ = 0;                                                  \
    do {                                                                  \
      if (n_++ > 0)                                                       \
        ms_sleep(5);                                                      \
      errno = MARK;                                                       \
      rc_ = (call);                                                       \
      e_ = errno;                                                         \
    } while (rc_ == EBUSY && n_ < 400);                                   \
    report(name, path, rc_ == 0, rc_, e_);                                \
  } while (0)

static void threads(void) {
  struct timespec ts;
  pthread_t t, self;
  pthread_attr_t attr;
  pthread_key_t key;
  struct sched_param sp;
  cpu_set_t cpus;
  clockid_t cid;
  char name[32];
  int p[2], old, pol;
  void *v;

  CHECK_RC("pthread_create", "now", pthread_create(&t, NULL, quick, NULL));
  while (!ran)
    ms_sleep(1);
  ms_sleep(DELAY_MS);
  CHECK_RC("pthread_join", "done", pthread_join(t, NULL));
  pthread_create(&t, NULL, slow, NULL);
  CHECK_RC("pthread_join", "wait", pthread_join(t, NULL));
  pthread_create(&t, NULL, quick, NULL);
  JOIN_TRY("pthread_tryjoin_np", "done", pthread_tryjoin_np(t, NULL));
  pthread_create(&t, NULL, slow, NULL);
  ts = deadline(CLOCK_REALTIME, 5000);
  CHECK_RC("pthread_timedjoin_np", "wait",
           pthread_timedjoin_np(t, NULL, &ts));
  pthread_create(&t, NULL, slow, NULL);
  ts = deadline(CLOCK_MONOTONIC, 5000);
  CHECK_RC("pthread_clockjoin_np", "wait",
           pthread_clockjoin_np(t, NULL, CLOCK_MONOTONIC, &ts));
  pthread_create(&t, NULL, slow, NULL);
  CHECK_RC("pthread_detach", "running", pthread_detach(t));
  ms_sleep(2 * DELAY_MS);
  make_pipe(p);
  pthread_create(&t, NULL, cancel_me, (void *)(intptr_t)p[0]);
  ms_sleep(DELAY_MS);
  CHECK_RC("pthread_cancel", "blocked", pthread_cancel(t));
  pthread_join(t, &v);
  close2(p);
  CHECK("pthread_self", "main", (self = pthread_self()) != 0);
  CHECK("pthread_equal", "self", pthread_equal(self, pthread_self()) != 0);
  CHECK_VOID("pthread_testcancel", "none", pthread_testcancel());
  CHECK_RC("pthread_setcancelstate", "enable",
           pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old));
  CHECK_RC("pthread_setcanceltype", "deferred",
           pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &old));
  errno = MARK;
  pthread_cleanup_push(cleanup_fn, NULL);
  report("__pthread_register_cancel", "push", 1, 0, errno);
  errno = MARK;
  pthread_cleanup_pop(0);
  report("__pthread_unregister_cancel", "pop", 1, 0, errno);
  CHECK_RC("pthread_getaffinity_np", "self",
           pthread_getaffinity_np(self, sizeof cpus, &cpus));
  CHECK_RC("pthread_setaffinity_np", "same",
           pthread_setaffinity_np(self, sizeof cpus, &cpus));
  CHECK_RC("pthread_getattr_np", "self", pthread_getattr_np(self, &attr));
  pthread_attr_destroy(&attr);
  CHECK_RC("pthread_getcpuclockid", "self",
           pthread_getcpuclockid(self, &cid));
  CHECK_RC("pthread_setname_np", "self",
           pthread_setname_np(self, "errno_success"));
  CHECK_RC("pthread_getname_np", "self",
           pthread_getname_np(self, name, sizeof name));
  CHECK("prctl", "get_name", prctl(PR_GET_NAME, name, 0, 0, 0) == 0);
  CHECK("prctl", "set_name",
        prctl(PR_SET_NAME, "errno_success", 0, 0, 0) == 0);
  CHECK_RC("pthread_getschedparam", "self",
           pthread_getschedparam(self, &pol, &sp));
  CHECK_RC("pthread_setschedparam", "same",
           pthread_setschedparam(self, pol, &sp));
  CHECK_RC("pthread_setschedprio", "same",
           pthread_setschedprio(self, sp.sched_priority));
  CHECK_RC("pthread_key_create", "now", pthread_key_create(&key, NULL));
  CHECK_RC("pthread_setspecific", "now", pthread_setspecific(key, &key));
  CHECK("pthread_getspecific", "now", pthread_getspecific(key) == &key);
  CHECK_RC("pthread_key_delete", "now", pthread_key_delete(key));
  CHECK_RC("pthread_once", "first", pthread_once(&once, once_fn));
  CHECK_RC("pthread_once", "again", pthread_once(&once, once_fn));
}

#endif
