/* fuzz_solo_ops2.h: the loops (fill, drain), epoll, bad descriptors and
 * yields of a solo script, and the step that draws the next op (included
 * by fuzz_solo_ops.h).
 */
#ifndef FUZZ_SOLO_OPS2_H
#define FUZZ_SOLO_OPS2_H

enum { FZ_LOOP_MAX = 3000 }; /* Calls one fill or drain makes at most. */

/* Makes a non-socket slot's description non-blocking for a loop; returns
 * the flags to restore, or -1 when nothing was changed. */
static int fz_nb_on(struct fz_solo *s, int i, struct fz_desc *d) {
  int fl;

  if (d->nonblock || s->o[d->obj].kind == FK_STREAM ||
      s->o[d->obj].kind == FK_SEQPKT)
    return -1;
  fl = fcntl(s->base + i, F_GETFL);
  if (fl < 0 || fcntl(s->base + i, F_SETFL, fl | O_NONBLOCK) < 0)
    fz_say(s->l, "%d nb-on failed %s", s->step, fz_errname(errno));
  return fl;
}

/* Restores what fz_nb_on changed, and logs what F_GETFL says after. */
static void fz_nb_off(struct fz_solo *s, int i, int fl) {
  int now;

  if (fl < 0)
    return;
  if (fcntl(s->base + i, F_SETFL, fl) < 0)
    fz_say(s->l, "%d nb-off failed %s", s->step, fz_errname(errno));
  now = fcntl(s->base + i, F_GETFL);
  fz_say(s->l, "%d restored flags=%#x", s->step, now);
}

/* Writes chunks without waiting until the buffer is full (EAGAIN), an
 * error, or FZ_LOOP_MAX calls. */
static int op_fill(struct fz_solo *s) {
  static const size_t chunks[] = { 1, 100, 1000, 4096, 5000, 65536 };
  int i = fz_pick(s, 95), calls = 0, err = 0, fl;
  struct fz_desc *d = fz_at(s, i);
  size_t c = chunks[fz_below(&s->r, 6)];
  struct fz_obj *o;
  long rc = 0, total = 0;
  int sock;

  if (d == NULL || (o = &s->o[d->obj])->kind == FK_EVENTFD ||
      o->kind == FK_EPOLL)
    return -1;
  sock = o->kind != FK_PIPE;
  fl = fz_nb_on(s, i, d);
  while (calls < FZ_LOOP_MAX) {
    int to = sock ? 1 - d->side : 0;

    fz_fill(s->buf, c, (uint64_t)d->obj * 2 + to, o->off[to]);
    rc = sock ? send(s->base + i, s->buf, c, MSG_DONTWAIT | MSG_NOSIGNAL) :
                write(s->base + i, s->buf, c);
    err = errno;
    calls++;
    if (rc <= 0)
      break;
    total += rc;
    fz_wrote(s, d, rc);
  }
  fz_nb_off(s, i, fl);
  fz_say(s->l, "%d fill s%d c=%zu calls=%d total=%ld last=%ld %s", s->step,
         i, c, calls, total, rc, rc < 0 ? fz_errname(err) : "-");
  return 0;
}

/* Reads chunks without waiting until EAGAIN, end of file, an error, or
 * FZ_LOOP_MAX calls; logs the total and a hash of the bytes. */
static int op_drain(struct fz_solo *s) {
  static const size_t chunks[] = { 1, 100, 4096, 65536 };
  int i = fz_pick(s, 95), calls = 0, err = 0, fl, sock;
  struct fz_desc *d = fz_at(s, i);
  size_t c = chunks[fz_below(&s->r, 4)];
  uint64_t h = FZ_HASH0;
  struct fz_obj *o;
  long rc = 0, total = 0;

  if (d == NULL || (o = &s->o[d->obj])->kind == FK_EPOLL)
    return -1;
  sock = o->kind == FK_STREAM || o->kind == FK_SEQPKT;
  if (o->kind == FK_EVENTFD)
    c = 8;
  fl = fz_nb_on(s, i, d);
  while (calls < FZ_LOOP_MAX) {
    rc = sock ? recv(s->base + i, s->buf, c, MSG_DONTWAIT) :
                read(s->base + i, s->buf, c);
    err = errno;
    calls++;
    if (rc <= 0)
      break;
    total += rc;
    h = fz_hash(h, s->buf, rc);
    if (o->kind == FK_EVENTFD)
      o->count = o->sem ? o->count - 1 : 0;
    else
      fz_consumed(s, d, rc);
  }
  fz_nb_off(s, i, fl);
  fz_say(s->l, "%d drain s%d c=%zu calls=%d total=%ld data=%016llx last=%ld "
         "%s", s->step, i, c, calls, total, (unsigned long long)h, rc,
         rc < 0 ? fz_errname(err) : "-");
  return 0;
}

/* A slot holding an epoll set (or, sometimes, any slot). */
static int fz_pick_epoll(struct fz_solo *s) {
  int e[FZ_SLOTS], n = 0, i;

  for (i = 0; i < FZ_SLOTS; i++)
    if (s->slot[i] >= 0 && s->o[s->d[s->slot[i]].obj].kind == FK_EPOLL)
      e[n++] = i;
  if (n == 0 || fz_chance(&s->r, 8))
    return fz_pick(s, 80);
  return e[fz_below(&s->r, n)];
}

/* epoll_ctl ADD, MOD or DEL of a slot (its slot number as the data). */
static int op_epoll_ctl(struct fz_solo *s) {
  static const uint32_t evs[] = {
    EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLOUT, EPOLLIN | EPOLLET,
    EPOLLOUT | EPOLLET, EPOLLIN | EPOLLONESHOT, EPOLLIN | EPOLLRDHUP,
  };
  static const int ops[] = { EPOLL_CTL_ADD, EPOLL_CTL_ADD, EPOLL_CTL_MOD,
                             EPOLL_CTL_DEL };
  int e = fz_pick_epoll(s), t = fz_pick(s, 85), rc, err;
  int op = ops[fz_below(&s->r, 4)];
  struct epoll_event ev;
  char what[80];

  memset(&ev, 0, sizeof ev);
  ev.events = evs[fz_below(&s->r, 7)];
  ev.data.u64 = (uint64_t)t;
  rc = epoll_ctl(s->base + e, op, s->base + t, &ev);
  err = errno;
  snprintf(what, sizeof what, "epoll_ctl s%d %d s%d %#x", e, op, t,
           ev.events);
  fz_res(s, what, rc, err);
  return 0;
}

static int fz_cmp_ev(const void *a, const void *b) {
  const struct epoll_event *x = a, *y = b;

  if (x->data.u64 != y->data.u64)
    return x->data.u64 < y->data.u64 ? -1 : 1;
  return (x->events > y->events) - (x->events < y->events);
}

/* epoll_wait or epoll_pwait with a zero or short timeout; the events are
 * logged sorted by slot. */
static int op_epoll_wait(struct fz_solo *s) {
  struct epoll_event ev[8];
  int e = fz_pick_epoll(s), rc, err, k, len;
  int max = fz_chance(&s->r, 75) ? 8 : (int)fz_range(&s->r, 1, 8);
  int t = fz_chance(&s->r, 75) ? 0 : (int)fz_range(&s->r, 1, 3);
  int pw = fz_chance(&s->r, 30);
  char what[300];

  rc = pw ? epoll_pwait(s->base + e, ev, max, t, NULL) :
            epoll_wait(s->base + e, ev, max, t);
  err = errno;
  len = snprintf(what, sizeof what, "%s s%d max=%d t=%d",
                 pw ? "epoll_pwait" : "epoll_wait", e, max, t);
  if (rc > 0)
    qsort(ev, rc, sizeof ev[0], fz_cmp_ev);
  for (k = 0; k < rc; k++)
    len += snprintf(what + len, sizeof what - len, " s%llu:%#x",
                    (unsigned long long)ev[k].data.u64, ev[k].events);
  fz_res(s, what, rc, err);
  return 0;
}

/* Calls on descriptor -1, which every call must refuse with EBADF (poll
 * ignores the entry). */
static int op_bad(struct fz_solo *s) {
  struct pollfd p = { -1, POLLIN, 0x7777 };
  int c = (int)fz_below(&s->r, 6);
  long rc;

  errno = 0;
  switch (c) {
  case 0: rc = read(-1, s->buf, 1); break;
  case 1: rc = write(-1, s->buf, 1); break;
  case 2: rc = fcntl(-1, F_GETFL); break;
  case 3: rc = close(-1); break;
  case 4: rc = dup2(-1, s->base + fz_pick(s, 0)); break;
  default:
    rc = poll(&p, 1, 0);
    fz_say(s->l, "%d poll-neg re=%#x", s->step, p.revents);
    break;
  }
  {
    char what[32];
    int err = errno;

    snprintf(what, sizeof what, "bad%d", c);
    fz_res(s, what, rc, err);
  }
  return 0;
}

/* A yield: sched_yield, usleep or nanosleep of a few microseconds. */
static int op_yield(struct fz_solo *s) {
  int c = (int)fz_below(&s->r, 3), rc;
  struct timespec ts = { 0, 1000L * fz_range(&s->r, 0, 300) };

  rc = c == 0 ? sched_yield() : c == 1 ? usleep(fz_range(&s->r, 0, 300)) :
                nanosleep(&ts, NULL);
  fz_res(s, c == 0 ? "sched_yield" : c == 1 ? "usleep" : "nanosleep", rc,
         errno);
  return 0;
}

/* Draws ops until one runs (the weights favour I/O). */
static void fz_solo_step(struct fz_solo *s) {
  static int (*const ops[])(struct fz_solo *) = {
    op_new, op_new, op_write, op_write, op_write, op_read, op_read, op_read,
    op_poll, op_poll, op_select, op_fcntl, op_fcntl, op_dup, op_close,
    op_ioctl, op_sockopt, op_shutdown, op_fill, op_drain, op_epoll_ctl,
    op_epoll_ctl, op_epoll_wait, op_epoll_wait, op_bad, op_yield,
  };
  int tries;

  for (tries = 0; tries < 50; tries++)
    if (ops[fz_below(&s->r, sizeof ops / sizeof ops[0])](s) == 0)
      return;
  fz_say(s->l, "%d none", s->step);
}

#endif /* FUZZ_SOLO_OPS2_H */
