/* fuzz_timeouts.h: the timeouts scenario of fuzz_interp (included by
 * fuzz_sync2.h).  A helper (role 1) holds a mutex, a C11 mutex and a read
 * lock; then the leader makes four to twelve waits that nothing can end
 * but their timeout (1 to 4 ms) or an immediate error, and logs each
 * result: a poll on a pipe nobody writes returns 0, a timed lock of the
 * held mutex ETIMEDOUT, a trylock EBUSY, a bad nanosecond field EINVAL.
 */
#ifndef FUZZ_TIMEOUTS_H
#define FUZZ_TIMEOUTS_H

#include <signal.h>

struct fz_to {
  struct fz_group *g;
  pthread_mutex_t held;  /* Held by the helper throughout. */
  mtx_t cheld;           /* Likewise (C11). */
  pthread_rwlock_t rw;   /* Read-locked by the helper throughout. */
  pthread_mutex_t mu;    /* For the condition waits nobody signals. */
  pthread_cond_t cv;
  pthread_cond_t mcv;    /* A condvar on CLOCK_MONOTONIC. */
  cnd_t ccv;
  mtx_t cmu;
  sem_t go, done;        /* Helper: "holding"; leader: "finished". */
  sem_t zero;            /* Never posted. */
  int fds[2];            /* A pipe nobody writes. */
  int sv[2];             /* A socketpair nobody writes. */
};

static void *fz_to_helper(void *arg) {
  struct fz_to *t = arg;

  pthread_mutex_lock(&t->held);
  mtx_lock(&t->cheld);
  pthread_rwlock_rdlock(&t->rw);
  sem_post(&t->go);
  while (sem_wait(&t->done) != 0 && errno == EINTR)
    ;
  pthread_rwlock_unlock(&t->rw);
  mtx_unlock(&t->cheld);
  pthread_mutex_unlock(&t->held);
  return NULL;
}

/* A condition wait until a timeout, past spurious wake-ups. */
static int fz_to_cond(struct fz_to *t, pthread_cond_t *cv, clockid_t clk,
                      long ms, int use_clockwait) {
  struct timespec ts = fz_deadline(clk, ms);
  int rc;

  pthread_mutex_lock(&t->mu);
  do
    rc = use_clockwait ? pthread_cond_clockwait(cv, &t->mu, clk, &ts) :
                         pthread_cond_timedwait(cv, &t->mu, &ts);
  while (rc == 0);
  pthread_mutex_unlock(&t->mu);
  return rc;
}

/* Fills the socket's buffer, then a send with SO_SNDTIMEO must time out. */
static long fz_to_sndtimeo(struct fz_to *t, long ms, int *err) {
  struct timeval tv = { 0, ms * 1000 };
  char buf[4096] = { 0 };
  long rc;
  int k;

  for (k = 0; k < 100000 && send(t->sv[1], buf, sizeof buf, MSG_DONTWAIT) > 0;
       k++)
    ;
  setsockopt(t->sv[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  rc = send(t->sv[1], buf, sizeof buf, 0);
  *err = errno;
  return rc;
}

/* One wait that must end by its timeout; logs it. */
static void fz_to_one(struct fz_to *t, int c, long ms, struct fz_log *l) {
  struct timespec rel = { 0, ms * 1000000L };
  struct timespec dl = fz_deadline(CLOCK_REALTIME, ms);
  struct timespec mdl = fz_deadline(CLOCK_MONOTONIC, ms);
  struct timespec past = { 1, 0 }, bad = dl;
  struct timeval tv = { 0, ms * 1000 };
  struct pollfd p = { t->fds[0], POLLIN, 0 };
  struct epoll_event ev;
  sigset_t set;
  char b[8];
  long rc = 0;
  int err = 0, ep;

  bad.tv_nsec = 2000000000L;
  errno = 0;
  switch (c) {
  case 0: rc = poll(&p, 1, (int)ms); break;
  case 1: rc = poll(NULL, 0, (int)ms); break;
  case 2: rc = select(0, NULL, NULL, NULL, &tv); break;
  case 3:
    ep = epoll_create1(0);
    ev.events = EPOLLIN;
    epoll_ctl(ep, EPOLL_CTL_ADD, t->fds[0], &ev);
    rc = epoll_wait(ep, &ev, 1, (int)ms);
    err = errno;
    close(ep);
    errno = err;
    break;
  case 4:
    setsockopt(t->sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    rc = read(t->sv[0], b, sizeof b);
    break;
  case 5: rc = fz_to_cond(t, &t->cv, CLOCK_REALTIME, ms, 0); break;
  case 6: rc = fz_to_cond(t, &t->cv, CLOCK_MONOTONIC, ms, 1); break;
  case 7: rc = fz_to_cond(t, &t->mcv, CLOCK_MONOTONIC, ms, 0); break;
  case 8: rc = sem_timedwait(&t->zero, &dl); break;
  case 9: rc = sem_clockwait(&t->zero, CLOCK_MONOTONIC, &mdl); break;
  case 10: rc = sem_trywait(&t->zero); break;
  case 11: rc = pthread_mutex_timedlock(&t->held, &dl); break;
  case 12: rc = pthread_mutex_trylock(&t->held); break;
  case 13: rc = pthread_mutex_clocklock(&t->held, CLOCK_MONOTONIC, &mdl);
    break;
  case 14: rc = pthread_mutex_timedlock(&t->held, &past); break;
  case 15: rc = pthread_mutex_timedlock(&t->held, &bad); break;
  case 16: rc = pthread_rwlock_timedwrlock(&t->rw, &dl); break;
  case 17: rc = pthread_rwlock_trywrlock(&t->rw); break;
  case 18:
    rc = pthread_rwlock_tryrdlock(&t->rw);
    if (rc == 0)
      pthread_rwlock_unlock(&t->rw);
    break;
  case 19:
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    rc = sigtimedwait(&set, NULL, &rel);
    break;
  case 20: rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL);
    break;
  case 21: rc = nanosleep(&rel, NULL); break;
  case 22: rc = ppoll(&p, 1, &rel, NULL); break;
  case 23: rc = recv(t->sv[0], b, sizeof b, MSG_DONTWAIT); break;
  case 24: rc = mtx_timedlock(&t->cheld, &dl); break;
  case 25: rc = mtx_trylock(&t->cheld); break;
  case 26:
    mtx_lock(&t->cmu);
    while ((rc = cnd_timedwait(&t->ccv, &t->cmu, &dl)) == thrd_success)
      ;
    mtx_unlock(&t->cmu);
    break;
  case 27: rc = fz_to_sndtimeo(t, ms, &err); errno = err; break;
  default: rc = select(t->fds[0] + 1, &(fd_set){ 0 }, NULL, NULL, &tv); break;
  }
  err = errno;
  {
    char what[32];

    snprintf(what, sizeof what, "timeout%d", c);
    fz_rc(l, what, rc, err);
  }
}

static void fz_timeouts(struct fz_group *g) {
  struct fz_to *t = calloc(1, sizeof *t);
  struct fz_rng r = { g->seed };
  struct fz_log *l = &g->log[0];
  pthread_condattr_t ca;
  pthread_t h;
  int k, n = (int)fz_range(&r, 4, 12);

  if (t == NULL)
    abort();
  g->nroles = 1;
  t->g = g;
  pthread_mutex_init(&t->held, NULL);
  pthread_mutex_init(&t->mu, NULL);
  pthread_rwlock_init(&t->rw, NULL);
  pthread_cond_init(&t->cv, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&t->mcv, &ca);
  pthread_condattr_destroy(&ca);
  mtx_init(&t->cheld, mtx_timed);
  mtx_init(&t->cmu, mtx_plain);
  cnd_init(&t->ccv);
  sem_init(&t->go, 0, 0);
  sem_init(&t->done, 0, 0);
  sem_init(&t->zero, 0, 0);
  if (pipe(t->fds) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, t->sv) != 0)
    fz_say(l, "setup failed %s", fz_errname(errno));
  h = fz_start(fz_to_helper, t);
  while (sem_wait(&t->go) != 0 && errno == EINTR)
    ;
  for (k = 0; k < n; k++)
    fz_to_one(t, (int)fz_below(&r, 29), fz_range(&r, 1, 4), l);
  sem_post(&t->done);
  fz_join(h);
  close(t->fds[0]);
  close(t->fds[1]);
  close(t->sv[0]);
  close(t->sv[1]);
  free(t);
}

#endif /* FUZZ_TIMEOUTS_H */
