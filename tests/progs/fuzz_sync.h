/* fuzz_sync.h: the synchronisation scenarios of fuzz_interp: counter,
 * queue, barrier, rwlock, joins (see fuzz_interp.c), and timeouts
 * (fuzz_timeouts.h).  Roles log only totals that the script fixes (a
 * counter's final value, the sum of what a queue carried), and results that
 * a role's own calls decide (EBUSY on a lock a role holds, EDEADLK).
 */
#ifndef FUZZ_SYNC_H
#define FUZZ_SYNC_H

#include <semaphore.h>
#include <threads.h>

#include "fuzz_io.h"

/* Runs fn(arg, i) for roles 1..n-1 in threads and as role 0 in the caller,
 * then joins them. */
struct fz_role {
  void (*fn)(void *arg, int i);
  void *arg;
  int i;
};

static void *fz_role_main(void *p) {
  struct fz_role *r = p;

  r->fn(r->arg, r->i);
  return NULL;
}

static void fz_roles(int n, void (*fn)(void *, int), void *arg) {
  struct fz_role r[FZ_ROLES];
  pthread_t t[FZ_ROLES];
  int k;

  for (k = 1; k < n; k++) {
    r[k] = (struct fz_role){ fn, arg, k };
    t[k] = fz_start(fz_role_main, &r[k]);
  }
  fn(arg, 0);
  for (k = 1; k < n; k++)
    fz_join(t[k]);
}

/* Counter: n roles add iters times each under one lock of a given kind. */
struct fz_ct {
  struct fz_group *g;
  int kind;            /* 0 normal, 1 recursive, 2 errorcheck, 3 adaptive,
                          4 spinlock, 5 C11 mtx_plain, 6 C11 recursive. */
  int iters;
  pthread_mutex_t mu;
  pthread_spinlock_t spin;
  mtx_t mtx;
  long value;
};

static void fz_ct_lock(struct fz_ct *c, struct fz_rng *r) {
  struct timespec far = fz_deadline(CLOCK_REALTIME, 10000);

  switch (c->kind) {
  case 4: pthread_spin_lock(&c->spin); return;
  case 5: case 6: mtx_lock(&c->mtx); return;
  }
  switch (fz_below(r, 4)) {
  case 0:
    while (pthread_mutex_trylock(&c->mu) != 0)
      sched_yield();
    break;
  case 1:
    pthread_mutex_timedlock(&c->mu, &far);
    break;
  default:
    pthread_mutex_lock(&c->mu);
  }
  if (c->kind == 1)
    pthread_mutex_lock(&c->mu); /* Twice: the count must hold it. */
}

static void fz_ct_unlock(struct fz_ct *c) {
  switch (c->kind) {
  case 4: pthread_spin_unlock(&c->spin); return;
  case 5: case 6: mtx_unlock(&c->mtx); return;
  }
  if (c->kind == 1)
    pthread_mutex_unlock(&c->mu);
  pthread_mutex_unlock(&c->mu);
}

static void fz_ct_role(void *arg, int i) {
  struct fz_ct *c = arg;
  struct fz_rng r = { c->g->seed ^ (0x2000u + i) };
  struct fz_log *l = &c->g->log[i];
  int k;

  for (k = 0; k < c->iters; k++) {
    long v;

    fz_ct_lock(c, &r);
    v = c->value;
    if (fz_chance(&r, 5))
      sched_yield(); /* Inside: nobody else may get in meanwhile. */
    c->value = v + 1;
    fz_ct_unlock(c);
  }
  if (c->kind == 2 && i == 0) { /* Errorcheck answers the owner. */
    pthread_mutex_lock(&c->mu);
    fz_prc(l, "relock", pthread_mutex_lock(&c->mu));
    fz_prc(l, "trylock-own", pthread_mutex_trylock(&c->mu));
    pthread_mutex_unlock(&c->mu);
    fz_prc(l, "unlock-free", pthread_mutex_unlock(&c->mu));
  }
  fz_say(l, "added=%d", k);
}

static void fz_counter(struct fz_group *g) {
  static const int types[] = { PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_RECURSIVE,
                               PTHREAD_MUTEX_ERRORCHECK,
                               PTHREAD_MUTEX_ADAPTIVE_NP };
  struct fz_ct c = { .g = g };
  struct fz_rng r = { g->seed };
  pthread_mutexattr_t ma;
  int n;

  c.kind = (int)fz_below(&r, 7);
  c.iters = (int)fz_range(&r, 1, 500);
  n = (int)fz_range(&r, 2, 6);
  g->nroles = n;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_settype(&ma, types[c.kind < 4 ? c.kind : 0]);
  pthread_mutex_init(&c.mu, &ma);
  pthread_mutexattr_destroy(&ma);
  pthread_spin_init(&c.spin, PTHREAD_PROCESS_PRIVATE);
  mtx_init(&c.mtx, c.kind == 6 ? mtx_recursive : mtx_plain);
  fz_roles(n, fz_ct_role, &c);
  fz_say(&g->log[0], "counter kind=%d roles=%d iters=%d value=%ld", c.kind,
         n, c.iters, c.value);
  pthread_mutex_destroy(&c.mu);
  pthread_spin_destroy(&c.spin);
  mtx_destroy(&c.mtx);
}

/* Queue: producers put values into a bounded ring, consumers take until
 * each gets a stop value (0); the leader sums what was taken. */
enum { FZ_QCAP = 4 };

struct fz_q {
  struct fz_group *g;
  int cap, prods, items, bcast;
  pthread_mutex_t mu;
  pthread_cond_t not_full, not_empty;
  long ring[FZ_QCAP];
  int head, fill;
  long taken, sum;
};

static void fz_q_put(struct fz_q *q, long v) {
  pthread_mutex_lock(&q->mu);
  while (q->fill == q->cap)
    pthread_cond_wait(&q->not_full, &q->mu);
  q->ring[(q->head + q->fill++) % q->cap] = v;
  if (q->bcast)
    pthread_cond_broadcast(&q->not_empty);
  else
    pthread_cond_signal(&q->not_empty);
  pthread_mutex_unlock(&q->mu);
}

static long fz_q_take(struct fz_q *q) {
  long v;

  pthread_mutex_lock(&q->mu);
  while (q->fill == 0)
    pthread_cond_wait(&q->not_empty, &q->mu);
  v = q->ring[q->head];
  q->head = (q->head + 1) % q->cap;
  q->fill--;
  if (q->bcast)
    pthread_cond_broadcast(&q->not_full);
  else
    pthread_cond_signal(&q->not_full);
  if (v != 0) {
    q->taken++;
    q->sum += v;
  }
  pthread_mutex_unlock(&q->mu);
  return v;
}

/* Roles 1..prods produce; the others (and role 0's helpers) consume. */
static void fz_q_role(void *arg, int i) {
  struct fz_q *q = arg;
  int k;

  if (i == 0)
    return;
  if (i <= q->prods) {
    for (k = 0; k < q->items; k++)
      fz_q_put(q, (long)i * 100000 + k + 1);
    fz_say(&q->g->log[i], "put=%d", k);
    return;
  }
  for (k = 0; fz_q_take(q) != 0; k++)
    ;
}

struct fz_q_run {
  struct fz_q *q;
  int n;
};

static void *fz_q_runner(void *arg) {
  struct fz_q_run *qr = arg;

  fz_roles(qr->n, fz_q_role, qr->q);
  return NULL;
}

static void fz_queue(struct fz_group *g) {
  struct fz_q q = { .g = g, .mu = PTHREAD_MUTEX_INITIALIZER,
                    .not_full = PTHREAD_COND_INITIALIZER,
                    .not_empty = PTHREAD_COND_INITIALIZER };
  struct fz_rng r = { g->seed };
  struct fz_q_run qr = { &q, 0 };
  int cons, k;
  long start;
  pthread_t t;

  q.cap = (int)fz_range(&r, 1, FZ_QCAP);
  q.prods = (int)fz_range(&r, 1, 3);
  q.items = (int)fz_range(&r, 1, 300);
  q.bcast = fz_chance(&r, 30);
  cons = (int)fz_range(&r, 1, 3);
  qr.n = 1 + q.prods + cons;
  g->nroles = 1 + q.prods;
  /* The roles run in a thread of their own, so that the leader can put
   * the stop values once every producer has said it is done. */
  t = fz_start(fz_q_runner, &qr);
  for (start = fz_now_ms(); fz_now_ms() - start < 20000;) {
    long expect = (long)q.prods * q.items;
    int done;

    pthread_mutex_lock(&q.mu);
    done = q.taken == expect;
    pthread_mutex_unlock(&q.mu);
    if (done)
      break;
    fz_sleep_ms(1);
  }
  for (k = 0; k < cons; k++)
    fz_q_put(&q, 0);
  fz_join(t);
  fz_say(&g->log[0], "queue cap=%d producers=%d consumers=%d items=%d "
         "taken=%ld sum=%ld left=%d", q.cap, q.prods, cons, q.items, q.taken,
         q.sum, q.fill);
}

#include "fuzz_sync2.h"

#endif /* FUZZ_SYNC_H */
