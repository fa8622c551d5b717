/* fuzz_wake.h: the wake scenario of fuzz_interp (included by fuzz_io.h).
 * One to four waiters (roles 1..n) block in the same kind of call; the
 * leader (role 0) wakes them all after a short random delay, maybe before
 * they even start to wait: a level-triggered result must not care.
 */
#ifndef FUZZ_WAKE_H
#define FUZZ_WAKE_H

enum {
  FW_READ, FW_RECV, FW_POLL, FW_SELECT, FW_EPOLL, FW_EVENTFD, FW_COND,
  FW_SEM, FW_JOIN, FW_ACCEPT, FW_PPOLL, FW_RCVTIMEO, FW_MUTEX, FW_SLEEP,
  FW_EOF, FW_HUP, FW_COUNT
};

enum { FZ_WAITERS = 4 };

struct fz_wk {
  struct fz_group *g;
  int how;             /* FW_*. */
  int nw;              /* Waiters. */
  int delay;           /* The leader's delay before waking, ms. */
  int fds[2];          /* Pipe or socketpair; fds[0] is waited on. */
  int ep;              /* Epoll set holding fds[0]. */
  int lfd;             /* Listening socket (FW_ACCEPT). */
  struct sockaddr_in addr; /* Its address. */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int flag;            /* FW_COND: set by the leader. */
  int count;           /* FW_MUTEX: waiters that got the lock. */
  sem_t sem;
  pthread_t sleeper;   /* FW_JOIN: the thread the waiter joins. */
  long sum;            /* Bytes received by all waiters, summed. */
};

struct fz_waiter {
  struct fz_wk *w;
  int i;
};

static void *fz_sleeper(void *arg) {
  struct fz_wk *w = arg;

  fz_sleep_ms(w->delay);
  return (void *)(uintptr_t)(w->g->seed % 1000);
}

/* Blocks once the way w->how says; logs what it got. */
static void fz_wait_once(struct fz_wk *w, struct fz_log *l) {
  struct pollfd p = { w->fds[0], POLLIN, 0 };
  struct epoll_event ev;
  unsigned char c[8] = { 0 };
  fd_set rd;
  long rc;
  void *ret = NULL;
  int fd;

  errno = 0;
  switch (w->how) {
  case FW_READ: case FW_EOF: case FW_RCVTIMEO:
    rc = read(w->fds[0], c, 1);
    break;
  case FW_RECV: rc = recv(w->fds[0], c, 1, 0); break;
  case FW_POLL: case FW_HUP: rc = poll(&p, 1, -1); break;
  case FW_PPOLL: rc = ppoll(&p, 1, NULL, NULL); break;
  case FW_SELECT:
    FD_ZERO(&rd);
    FD_SET(w->fds[0], &rd);
    rc = select(w->fds[0] + 1, &rd, NULL, NULL, NULL);
    p.revents = FD_ISSET(w->fds[0], &rd);
    break;
  case FW_EPOLL:
    rc = epoll_wait(w->ep, &ev, 1, -1);
    p.revents = rc == 1 ? (short)ev.events : 0;
    break;
  case FW_EVENTFD: rc = read(w->fds[0], c, 8); break;
  case FW_COND:
    pthread_mutex_lock(&w->mu);
    for (rc = 0; !w->flag && rc == 0;)
      rc = pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    break;
  case FW_SEM:
    while ((rc = sem_wait(&w->sem)) != 0 && errno == EINTR)
      ;
    break;
  case FW_JOIN:
    rc = pthread_join(w->sleeper, &ret);
    c[0] = (unsigned char)(uintptr_t)ret;
    break;
  case FW_ACCEPT:
    rc = fd = accept(w->lfd, NULL, NULL);
    if (fd >= 0) {
      rc = read(fd, c, 4) == 4 ? 0 : -2;
      close(fd);
    }
    break;
  case FW_MUTEX:
    rc = pthread_mutex_lock(&w->mu);
    w->count++;
    pthread_mutex_unlock(&w->mu);
    break;
  default:
    rc = nanosleep(&(struct timespec){ 0, w->delay * 1000000L }, NULL);
    break;
  }
  fz_rc(l, "waited", rc, errno);
  fz_say(l, "revents=%#x", p.revents);
  if (w->how == FW_JOIN || w->how == FW_ACCEPT || w->how == FW_EVENTFD)
    fz_say(l, "value=%u,%u,%u,%u", c[0], c[1], c[2], c[3]);
  __atomic_add_fetch(&w->sum, c[0], __ATOMIC_SEQ_CST);
}

static void *fz_waiter(void *arg) {
  struct fz_waiter *wt = arg;

  fz_wait_once(wt->w, &wt->w->g->log[1 + wt->i]);
  return NULL;
}

/* Prepares the objects the waiters block on; returns 0 or -1. */
static int fz_wake_setup(struct fz_wk *w, struct fz_log *l) {
  struct epoll_event ev = { .events = EPOLLIN };
  socklen_t len = sizeof w->addr;
  int sock = w->how == FW_RECV || w->how == FW_RCVTIMEO;
  struct timeval tv = { 10, 0 };

  w->fds[0] = w->fds[1] = w->ep = w->lfd = -1;
  if (w->how == FW_EVENTFD)
    w->fds[0] = w->fds[1] = eventfd(0, EFD_SEMAPHORE);
  else if (sock && socketpair(AF_UNIX, SOCK_STREAM, 0, w->fds) != 0)
    return -1;
  else if (!sock && pipe(w->fds) != 0)
    return -1;
  if (w->how == FW_RCVTIMEO)
    setsockopt(w->fds[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (w->how == FW_EPOLL) {
    w->ep = epoll_create1(0);
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->fds[0], &ev) != 0)
      return -1;
  }
  if (w->how == FW_ACCEPT) {
    w->lfd = socket(AF_INET, SOCK_STREAM, 0);
    w->addr.sin_family = AF_INET;
    w->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(w->lfd, (struct sockaddr *)&w->addr, sizeof w->addr) != 0 ||
        listen(w->lfd, 8) != 0 ||
        getsockname(w->lfd, (struct sockaddr *)&w->addr, &len) != 0) {
      fz_say(l, "listen failed %s", fz_errname(errno));
      return -1;
    }
  }
  if (w->how == FW_SEM)
    sem_init(&w->sem, 0, 0);
  if (w->how == FW_MUTEX)
    pthread_mutex_lock(&w->mu);
  if (w->how == FW_JOIN)
    w->sleeper = fz_start(fz_sleeper, w);
  return 0;
}

/* The leader's wake-up, after the delay. */
static void fz_wake_all(struct fz_wk *w, struct fz_log *l) {
  char bytes[FZ_WAITERS] = { 1, 2, 3, 4 };
  uint64_t v = (uint64_t)w->nw;
  long rc = 0;
  int k, fd;

  fz_sleep_ms(w->delay);
  errno = 0;
  switch (w->how) {
  case FW_READ: case FW_RECV: case FW_RCVTIMEO:
    rc = write(w->fds[1], bytes, w->nw);
    break;
  case FW_POLL: case FW_PPOLL: case FW_SELECT: case FW_EPOLL:
    rc = write(w->fds[1], bytes, 1);
    break;
  case FW_EOF: case FW_HUP:
    rc = close(w->fds[1]);
    w->fds[1] = -1;
    break;
  case FW_EVENTFD: rc = write(w->fds[1], &v, 8); break;
  case FW_COND:
    pthread_mutex_lock(&w->mu);
    w->flag = 1;
    rc = pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    break;
  case FW_SEM:
    for (k = 0; k < w->nw; k++)
      rc |= sem_post(&w->sem);
    break;
  case FW_MUTEX: rc = pthread_mutex_unlock(&w->mu); break;
  case FW_ACCEPT:
    fd = socket(AF_INET, SOCK_STREAM, 0);
    rc = connect(fd, (struct sockaddr *)&w->addr, sizeof w->addr);
    if (rc == 0)
      rc = write(fd, "wake", 4);
    close(fd);
    break;
  default:
    break;
  }
  fz_rc(l, "woke", rc, errno);
}

static void fz_wake(struct fz_group *g) {
  struct fz_wk w = { .g = g, .mu = PTHREAD_MUTEX_INITIALIZER,
                     .cv = PTHREAD_COND_INITIALIZER };
  struct fz_rng r = { g->seed };
  struct fz_waiter wt[FZ_WAITERS];
  pthread_t t[FZ_WAITERS];
  struct fz_log *l = &g->log[0];
  int k, single;

  w.how = (int)fz_below(&r, FW_COUNT);
  single = w.how == FW_EPOLL || w.how == FW_JOIN || w.how == FW_ACCEPT ||
           w.how == FW_SLEEP || w.how == FW_RECV || w.how == FW_RCVTIMEO;
  w.nw = single ? 1 : (int)fz_range(&r, 1, FZ_WAITERS);
  w.delay = (int)fz_range(&r, 0, 3);
  g->nroles = 1 + w.nw;
  fz_say(l, "wake how=%d waiters=%d", w.how, w.nw);
  if (fz_wake_setup(&w, l) != 0) {
    fz_say(l, "setup failed %s", fz_errname(errno));
    return;
  }
  for (k = 0; k < w.nw; k++) {
    wt[k].w = &w;
    wt[k].i = k;
    t[k] = fz_start(fz_waiter, &wt[k]);
  }
  fz_wake_all(&w, l);
  for (k = 0; k < w.nw; k++)
    fz_join(t[k]);
  fz_say(l, "sum=%ld count=%d", w.sum, w.count);
  if (w.how == FW_SEM)
    sem_destroy(&w.sem);
  for (k = 0; k < 2; k++)
    if (w.fds[k] >= 0 && (k == 0 || w.fds[1] != w.fds[0]))
      close(w.fds[k]);
  if (w.ep >= 0)
    close(w.ep);
  if (w.lfd >= 0)
    close(w.lfd);
}

#endif /* FUZZ_WAKE_H */
