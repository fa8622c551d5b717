/* fuzz_sync2.h: barrier, rwlock and joins scenarios of fuzz_interp
 * (included by fuzz_sync.h), and the timeouts one (fuzz_timeouts.h).
 */
#ifndef FUZZ_SYNC2_H
#define FUZZ_SYNC2_H

enum { FZ_ROUNDS = 64 };

/* Barrier: every role adds itself to a round's tally before the barrier;
 * after it the tally must be complete, and one role per round is the
 * serial one. */
struct fz_br {
  struct fz_group *g;
  pthread_barrier_t b;
  int n, rounds;
  int tally[FZ_ROUNDS];
  int serials, bad;
};

static void fz_br_role(void *arg, int i) {
  struct fz_br *b = arg;
  struct fz_rng r = { b->g->seed ^ (0x3000u + i) };
  int k, rc;

  for (k = 0; k < b->rounds; k++) {
    __atomic_add_fetch(&b->tally[k], 1, __ATOMIC_SEQ_CST);
    if (fz_chance(&r, 10))
      sched_yield();
    rc = pthread_barrier_wait(&b->b);
    if (rc == PTHREAD_BARRIER_SERIAL_THREAD)
      __atomic_add_fetch(&b->serials, 1, __ATOMIC_SEQ_CST);
    else if (rc != 0)
      fz_prc(&b->g->log[i], "barrier_wait", rc);
    if (__atomic_load_n(&b->tally[k], __ATOMIC_SEQ_CST) != b->n)
      __atomic_add_fetch(&b->bad, 1, __ATOMIC_SEQ_CST);
  }
  fz_say(&b->g->log[i], "rounds=%d", k);
}

static void fz_barrier(struct fz_group *g) {
  struct fz_br b = { .g = g };
  struct fz_rng r = { g->seed };

  b.n = (int)fz_range(&r, 1, 6);
  b.rounds = (int)fz_range(&r, 1, FZ_ROUNDS);
  g->nroles = b.n;
  fz_prc(&g->log[0], "barrier_init", pthread_barrier_init(&b.b, NULL, b.n));
  fz_roles(b.n, fz_br_role, &b);
  fz_say(&g->log[0], "barrier n=%d rounds=%d serials=%d bad=%d", b.n,
         b.rounds, b.serials, b.bad);
  pthread_barrier_destroy(&b.b);
}

/* Rwlock: writers keep a == b, readers check it. */
struct fz_rw {
  struct fz_group *g;
  pthread_rwlock_t rw;
  int writers, iters;
  long a, b;
  int bad;
};

static void fz_rw_role(void *arg, int i) {
  struct fz_rw *w = arg;
  struct fz_rng r = { w->g->seed ^ (0x4000u + i) };
  int writer = i < w->writers, k;

  for (k = 0; k < w->iters; k++) {
    struct timespec far = fz_deadline(CLOCK_REALTIME, 10000);
    int how = (int)fz_below(&r, 3);

    if (writer) {
      if (how == 0)
        while (pthread_rwlock_trywrlock(&w->rw) != 0)
          sched_yield();
      else if (how == 1)
        pthread_rwlock_timedwrlock(&w->rw, &far);
      else
        pthread_rwlock_wrlock(&w->rw);
      w->a++;
      if (fz_chance(&r, 5))
        sched_yield();
      w->b++;
    } else {
      if (how == 0)
        while (pthread_rwlock_tryrdlock(&w->rw) != 0)
          sched_yield();
      else if (how == 1)
        pthread_rwlock_timedrdlock(&w->rw, &far);
      else
        pthread_rwlock_rdlock(&w->rw);
      if (__atomic_load_n(&w->a, __ATOMIC_SEQ_CST) !=
          __atomic_load_n(&w->b, __ATOMIC_SEQ_CST))
        __atomic_add_fetch(&w->bad, 1, __ATOMIC_SEQ_CST);
      if (fz_chance(&r, 5))
        sched_yield();
    }
    pthread_rwlock_unlock(&w->rw);
  }
  fz_say(&w->g->log[i], "%s iters=%d", writer ? "writer" : "reader", k);
}

static void fz_rwlock(struct fz_group *g) {
  struct fz_rw w = { .g = g };
  struct fz_rng r = { g->seed };
  pthread_rwlockattr_t ra;
  int n, pref;

  w.writers = (int)fz_range(&r, 1, 3);
  n = w.writers + (int)fz_range(&r, 1, 3);
  w.iters = (int)fz_range(&r, 1, 300);
  pref = fz_chance(&r, 50) ? PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP :
                             PTHREAD_RWLOCK_PREFER_READER_NP;
  g->nroles = n;
  pthread_rwlockattr_init(&ra);
  pthread_rwlockattr_setkind_np(&ra, pref);
  pthread_rwlock_init(&w.rw, &ra);
  pthread_rwlockattr_destroy(&ra);
  fz_roles(n, fz_rw_role, &w);
  fz_say(&g->log[0], "rwlock writers=%d roles=%d iters=%d pref=%d a=%ld "
         "b=%ld bad=%d", w.writers, n, w.iters, pref, w.a, w.b, w.bad);
  pthread_rwlock_destroy(&w.rw);
}

/* Joins: return values, self-join, detached threads, nested creation,
 * tryjoin and timedjoin on a blocked thread, thread names, C11 threads. */
struct fz_jn {
  struct fz_group *g;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int detached_done;
  sem_t hold;
};

static void *fz_jn_value(void *arg) {
  uintptr_t v = (uintptr_t)arg;

  if (v % 3 == 0)
    pthread_exit((void *)(v * 7)); /* From inside: the same value. */
  return (void *)(v * 7);
}

static void *fz_jn_nested(void *arg) {
  void *ret = NULL;
  pthread_t t = fz_start(fz_jn_value, arg);

  pthread_join(t, &ret);
  return (void *)((uintptr_t)ret + 1);
}

static void *fz_jn_detached(void *arg) {
  struct fz_jn *j = arg;

  pthread_mutex_lock(&j->mu);
  j->detached_done++;
  pthread_cond_signal(&j->cv);
  pthread_mutex_unlock(&j->mu);
  return NULL;
}

static void *fz_jn_held(void *arg) {
  struct fz_jn *j = arg;

  while (sem_wait(&j->hold) != 0 && errno == EINTR)
    ;
  return (void *)(uintptr_t)42;
}

static int fz_jn_c11(void *arg) {
  return (int)(uintptr_t)arg + 5;
}

/* The blocked-thread part: tryjoin, timedjoin, names, then the join. */
static void fz_jn_blocked(struct fz_jn *j, struct fz_log *l) {
  struct timespec soon = fz_deadline(CLOCK_REALTIME, 2);
  pthread_t t = fz_start(fz_jn_held, j);
  char name[32] = "", set[16];
  void *ret = NULL;

  fz_prc(l, "tryjoin", pthread_tryjoin_np(t, &ret));
  fz_prc(l, "timedjoin", pthread_timedjoin_np(t, &ret, &soon));
  snprintf(set, sizeof set, "fz-%d", j->g->id);
  fz_prc(l, "setname", pthread_setname_np(t, set));
  fz_prc(l, "setname-long", pthread_setname_np(t, "a-name-too-long-for-it"));
  fz_prc(l, "getname", pthread_getname_np(t, name, sizeof name));
  fz_say(l, "name=%s", name);
  fz_prc(l, "getname-short", pthread_getname_np(t, name, 4));
  sem_post(&j->hold);
  fz_prc(l, "join", pthread_join(t, &ret));
  fz_say(l, "ret=%lu", (unsigned long)(uintptr_t)ret);
}

static void fz_joins(struct fz_group *g) {
  /* On the heap and never freed: a detached thread may still be leaving
   * pthread_mutex_unlock when the leader returns. */
  struct fz_jn *jp = calloc(1, sizeof *jp), j0 = {
    .g = g, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
  struct fz_rng r = { g->seed };
  struct fz_log *l = &g->log[0];
  int k, n = (int)fz_range(&r, 1, 6), nd = (int)fz_range(&r, 0, 3), res = 0;
  pthread_t t[6], d;
  unsigned long sum = 0;
  void *ret;
  thrd_t ct;

  if (jp == NULL)
    abort();
  *jp = j0;
  g->nroles = 1;
  sem_init(&jp->hold, 0, 0);
  for (k = 0; k < n; k++)
    t[k] = fz_start(fz_chance(&r, 30) ? fz_jn_nested : fz_jn_value,
                    (void *)(uintptr_t)(k + 1));
  for (k = 0; k < nd; k++) {
    d = fz_start(fz_jn_detached, jp);
    fz_prc(l, "detach", pthread_detach(d));
  }
  fz_prc(l, "self-join", pthread_join(pthread_self(), &ret));
  for (k = n - 1; k >= 0; k--) {
    ret = NULL;
    pthread_join(t[k], &ret);
    sum += (uintptr_t)ret;
  }
  fz_say(l, "joined=%d sum=%lu", n, sum);
  pthread_mutex_lock(&jp->mu);
  while (jp->detached_done < nd)
    pthread_cond_wait(&jp->cv, &jp->mu);
  pthread_mutex_unlock(&jp->mu);
  fz_say(l, "detached=%d", jp->detached_done);
  if (fz_chance(&r, 60))
    fz_jn_blocked(jp, l);
  k = thrd_create(&ct, fz_jn_c11, (void *)3);
  fz_say(l, "thrd_create=%d", k);
  k = thrd_join(ct, &res);
  fz_say(l, "thrd_join=%d res=%d", k, res);
}

#include "fuzz_timeouts.h"

#endif /* FUZZ_SYNC2_H */
