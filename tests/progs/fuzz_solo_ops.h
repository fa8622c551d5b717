/* fuzz_solo_ops.h: the calls of a solo script (included by fuzz_solo.h).
 * Each op_* makes one call (or one short loop of calls) and logs it as
 * "<step> <call> <arguments> rc=<result> [ERRNO] [data]", returning 0, or
 * returns -1 without a call when the state does not allow it (the step
 * then draws another op).  Arguments are logged as slot numbers ("s3"),
 * never as descriptor numbers.
 */
#ifndef FUZZ_SOLO_OPS_H
#define FUZZ_SOLO_OPS_H

#define FZ_SAY(s, ...) fz_say((s)->l, __VA_ARGS__)

/* Logs "<step> what" with rc and errno. */
static void fz_res(struct fz_solo *s, const char *what, long rc, int err) {
  char line[300];

  snprintf(line, sizeof line, "%d %s", s->step, what);
  fz_rc(s->l, line, rc, err);
}

/* Moves a fresh descriptor fd (the kernel's number, not logged) to a
 * free slot as description di, by dup2, dup3(O_CLOEXEC) or F_DUPFD,
 * then closes fd.  Logs both calls. */
static void fz_place(struct fz_solo *s, int fd, int di) {
  int t = fz_free_slot(s), how = (int)fz_below(&s->r, 4), rc, err, want;
  char what[64];

  want = s->base + t;
  if (how == 0)
    rc = dup2(fd, want);
  else if (how == 1)
    rc = dup3(fd, want, O_CLOEXEC);
  else
    rc = fcntl(fd, how == 2 ? F_DUPFD : F_DUPFD_CLOEXEC, want);
  err = errno;
  snprintf(what, sizeof what, "place%d s%d at=%d", how, t,
           rc < 0 ? -1 : rc - s->base);
  fz_res(s, what, rc < 0 ? rc : 0, err);
  if (rc == want)
    fz_ref(s, t, di, how == 1 || how == 3);
  rc = close(fd);
  fz_res(s, "close-orig", rc, errno);
}

/* Adds a description of object oi on side side. */
static int fz_new_desc(struct fz_solo *s, int oi, int side, int nonblock) {
  struct fz_desc *d = &s->d[s->nd];

  memset(d, 0, sizeof *d);
  d->obj = oi;
  d->side = side;
  d->nonblock = nonblock;
  s->o[oi].desc[side] = s->nd;
  return s->nd++;
}

/* Creates a pipe, socketpair, eventfd or epoll set in free slots. */
static int op_new(struct fz_solo *s) {
  int kind = (int)fz_below(&s->r, 5), fds[2] = { -1, -1 }, rc, err, nb = 0;
  int flags = 0, two = kind <= FK_SEQPKT, oi = s->no, i;
  struct fz_obj *o = &s->o[oi];
  char what[80];

  if (s->no >= FZ_OBJS || s->nd + 2 > FZ_DESCS || fz_nfree(s) < 1 + two)
    return -1;
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->desc[0] = o->desc[1] = -1;
  switch (kind) {
  case FK_PIPE:
    flags = (fz_chance(&s->r, 30) ? O_NONBLOCK : 0) |
            (fz_chance(&s->r, 30) ? O_CLOEXEC : 0);
    rc = flags == 0 && fz_chance(&s->r, 50) ? pipe(fds) : pipe2(fds, flags);
    nb = !!(flags & O_NONBLOCK);
    break;
  case FK_STREAM:
  case FK_SEQPKT:
    flags = (fz_chance(&s->r, 30) ? SOCK_NONBLOCK : 0) |
            (fz_chance(&s->r, 30) ? SOCK_CLOEXEC : 0);
    rc = socketpair(AF_UNIX, (kind == FK_STREAM ? SOCK_STREAM :
                    SOCK_SEQPACKET) | flags, 0, fds);
    nb = !!(flags & SOCK_NONBLOCK);
    break;
  case FK_EVENTFD:
    flags = (fz_chance(&s->r, 30) ? EFD_NONBLOCK : 0) |
            (fz_chance(&s->r, 30) ? EFD_SEMAPHORE : 0) |
            (fz_chance(&s->r, 20) ? EFD_CLOEXEC : 0);
    o->count = fz_below(&s->r, 3);
    o->sem = !!(flags & EFD_SEMAPHORE);
    rc = fds[0] = eventfd((unsigned)o->count, flags);
    nb = !!(flags & EFD_NONBLOCK);
    break;
  default:
    flags = fz_chance(&s->r, 30) ? EPOLL_CLOEXEC : 0;
    rc = fds[0] = flags == 0 && fz_chance(&s->r, 50) ? epoll_create(4) :
                  epoll_create1(flags);
    break;
  }
  err = errno;
  snprintf(what, sizeof what, "new %s flags=%#x", fz_kind_name[kind], flags);
  fz_res(s, what, rc < 0 ? rc : 0, err);
  if (rc < 0)
    return 0;
  s->no++;
  if (kind == FK_SEQPKT) {
    o->ring[0] = calloc(FZ_RING, sizeof(int));
    o->ring[1] = calloc(FZ_RING, sizeof(int));
    if (o->ring[0] == NULL || o->ring[1] == NULL)
      abort();
  }
  for (i = 0; i < 1 + two; i++)
    fz_place(s, fds[i], fz_new_desc(s, oi, i, nb));
  return 0;
}

/* A transfer size: mostly small, sometimes above a page or PIPE_BUF. */
static size_t fz_size(struct fz_solo *s) {
  switch (fz_below(&s->r, 8)) {
  case 0:
    return fz_below(&s->r, 2);
  case 1: case 2: case 3:
    return fz_range(&s->r, 1, 64);
  case 4: case 5:
    return fz_range(&s->r, 65, 4096);
  case 6:
    return fz_range(&s->r, 4097, 9000);
  default:
    return fz_range(&s->r, 9001, 66000);
  }
}

/* One write call through slot i: write, writev, send or sendto; an
 * eventfd gets an 8-byte value (sometimes a bad length or value). */
static int op_write(struct fz_solo *s) {
  int i = fz_pick(s, 90), via = (int)fz_below(&s->r, 4), err;
  struct fz_desc *d = fz_at(s, i);
  struct fz_obj *o = d ? &s->o[d->obj] : NULL;
  size_t n = fz_size(s);
  int fl = fz_chance(&s->r, 50) ? MSG_NOSIGNAL : 0;
  struct iovec iov[2];
  uint64_t v = fz_range(&s->r, 1, 5);
  char what[96];
  long rc;

  if (o != NULL && o->kind == FK_EVENTFD) {
    n = fz_chance(&s->r, 90) ? 8 : 4;
    if (fz_chance(&s->r, 5))
      v = UINT64_MAX;
    memcpy(s->buf, &v, sizeof v);
  } else if (o != NULL) {
    if (o->kind == FK_SEQPKT && n == 0)
      n = 1;
    /* A blocking pipe write above PIPE_BUF goes in PIPE_BUF pieces under
     * the shim (it must not block the process): the same bytes, but
     * packed into other pages, so a later fill would find another
     * capacity.  Not a difference a program may rely on. */
    if (o->kind == FK_PIPE && !d->nonblock && n > 4096)
      n = 4096;
    fz_fill(s->buf, n, (uint64_t)d->obj * 2 + (o->kind == FK_PIPE ? 0 :
            1 - d->side), o->off[o->kind == FK_PIPE ? 0 : 1 - d->side]);
  }
  if (d != NULL && !fz_write_safe(s, d, n)) {
    if (o->kind != FK_STREAM && o->kind != FK_SEQPKT)
      return -1;
    via = 2;
    fl |= MSG_DONTWAIT;
  }
  if (via == 1 && n > 1) {
    iov[0].iov_base = s->buf;
    iov[0].iov_len = n / 3;
    iov[1].iov_base = s->buf + n / 3;
    iov[1].iov_len = n - n / 3;
    rc = writev(s->base + i, iov, 2);
  } else if (via == 2) {
    rc = send(s->base + i, s->buf, n, fl);
  } else if (via == 3) {
    rc = sendto(s->base + i, s->buf, n, fl, NULL, 0);
  } else {
    via = 0;
    rc = write(s->base + i, s->buf, n);
  }
  err = errno;
  snprintf(what, sizeof what, "write%d s%d n=%zu fl=%#x", via, i, n,
           via >= 2 ? fl : 0);
  fz_res(s, what, rc, err);
  if (rc > 0 && o != NULL && o->kind == FK_EVENTFD)
    o->count += v;
  else if (rc > 0 && o != NULL)
    fz_wrote(s, d, rc);
  return 0;
}

/* One read call through slot i: read, readv, recv (sometimes peeking or
 * not waiting) or recvmsg; logs the count and a hash of the bytes. */
static int op_read(struct fz_solo *s) {
  int i = fz_pick(s, 90), via = (int)fz_below(&s->r, 4), err, fl = 0;
  struct fz_desc *d = fz_at(s, i);
  struct fz_obj *o = d ? &s->o[d->obj] : NULL;
  size_t n = fz_range(&s->r, 1, 9000);
  struct iovec iov[2];
  struct msghdr mh;
  char what[96];
  long rc;

  if (o != NULL && o->kind == FK_EVENTFD)
    n = fz_chance(&s->r, 90) ? 8 : 4;
  if (via == 2)
    fl = (fz_chance(&s->r, 30) ? MSG_PEEK : 0) |
         (fz_chance(&s->r, 50) ? MSG_DONTWAIT : 0);
  if (d != NULL && !fz_read_safe(s, d)) {
    if (o->kind != FK_STREAM && o->kind != FK_SEQPKT)
      return -1;
    via = 2;
    fl |= MSG_DONTWAIT;
  }
  memset(s->buf, 0, n);
  iov[0].iov_base = s->buf;
  iov[0].iov_len = n / 2;
  iov[1].iov_base = s->buf + n / 2;
  iov[1].iov_len = n - n / 2;
  if (via == 1) {
    rc = readv(s->base + i, iov, 2);
  } else if (via == 2) {
    rc = recv(s->base + i, s->buf, n, fl);
  } else if (via == 3) {
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = iov;
    mh.msg_iovlen = 2;
    rc = recvmsg(s->base + i, &mh, 0);
    if (rc >= 0)
      fz_say(s->l, "%d recvmsg-flags=%#x", s->step, mh.msg_flags);
  } else {
    rc = read(s->base + i, s->buf, n);
  }
  err = errno;
  snprintf(what, sizeof what, "read%d s%d n=%zu fl=%#x", via, i, n, fl);
  fz_res(s, what, rc, err);
  if (rc > 0)
    fz_say(s->l, "%d data=%016llx", s->step,
           (unsigned long long)fz_hash(FZ_HASH0, s->buf, rc));
  if (rc > 0 && o != NULL && o->kind == FK_EVENTFD)
    o->count = o->sem ? o->count - 1 : 0;
  else if (rc > 0 && o != NULL && !(fl & MSG_PEEK))
    fz_consumed(s, d, rc);
  return 0;
}

/* A poll or ppoll over one to three slots (and sometimes a -1 entry),
 * with a zero or short timeout. */
static int op_poll(struct fz_solo *s) {
  static const short evs[] = { POLLIN, POLLOUT, POLLIN | POLLOUT, 0,
                               POLLIN | POLLRDHUP, POLLPRI };
  struct pollfd p[4];
  int n = (int)fz_range(&s->r, 1, 4), k, rc, err, len;
  int t = fz_chance(&s->r, 75) ? 0 : (int)fz_range(&s->r, 1, 3);
  int pp = fz_chance(&s->r, 30);
  char what[200];
  struct timespec ts = { 0, t * 1000000L };

  len = snprintf(what, sizeof what, "%s t=%d", pp ? "ppoll" : "poll", t);
  for (k = 0; k < n; k++) {
    int i = fz_pick(s, 85);

    p[k].fd = fz_chance(&s->r, 8) ? -1 : s->base + i;
    p[k].events = evs[fz_below(&s->r, 6)];
    p[k].revents = 0x7777;
    len += snprintf(what + len, sizeof what - len, " %s%d:%#x",
                    p[k].fd < 0 ? "x" : "s", i, p[k].events);
  }
  rc = pp ? ppoll(p, n, &ts, NULL) : poll(p, n, t);
  err = errno;
  for (k = 0; rc >= 0 && k < n; k++)
    len += snprintf(what + len, sizeof what - len, "%s%#x", k ? "," : " re=",
                    p[k].revents);
  fz_res(s, what, rc, err);
  return 0;
}

/* A select or pselect over one to three slots for reading and writing. */
static int op_select(struct fz_solo *s) {
  fd_set rd, wr;
  int n = (int)fz_range(&s->r, 1, 3), k, rc, err, len, maxfd = 0, i;
  int t = fz_chance(&s->r, 75) ? 0 : (int)fz_range(&s->r, 1, 3);
  int ps = fz_chance(&s->r, 30);
  struct timeval tv = { 0, t * 1000L };
  struct timespec ts = { 0, t * 1000000L };
  char what[300];

  FD_ZERO(&rd);
  FD_ZERO(&wr);
  len = snprintf(what, sizeof what, "%s t=%d", ps ? "pselect" : "select", t);
  for (k = 0; k < n; k++) {
    int w = (int)fz_below(&s->r, 3);

    i = fz_pick(s, 90);
    if (w != 1)
      FD_SET(s->base + i, &rd);
    if (w != 0)
      FD_SET(s->base + i, &wr);
    if (s->base + i + 1 > maxfd)
      maxfd = s->base + i + 1;
    len += snprintf(what + len, sizeof what - len, " s%d:%d", i, w);
  }
  rc = ps ? pselect(maxfd, &rd, &wr, NULL, &ts, NULL) :
            select(maxfd, &rd, &wr, NULL, &tv);
  err = errno;
  if (rc >= 0) {
    len += snprintf(what + len, sizeof what - len, " ready=");
    for (i = 0; i < FZ_SLOTS; i++) {
      if (FD_ISSET(s->base + i, &rd))
        len += snprintf(what + len, sizeof what - len, "r%d,", i);
      if (FD_ISSET(s->base + i, &wr))
        len += snprintf(what + len, sizeof what - len, "w%d,", i);
    }
  }
  fz_res(s, what, rc, err);
  return 0;
}

/* fcntl: F_GETFL, F_SETFL (O_NONBLOCK on or off), F_GETFD, F_SETFD,
 * F_DUPFD(_CLOEXEC) into a free slot, F_GETPIPE_SZ. */
static int op_fcntl(struct fz_solo *s) {
  int i = fz_pick(s, 90), c = (int)fz_below(&s->r, 6), rc, err, v = 0, t;
  struct fz_desc *d = fz_at(s, i);
  char what[64];

  switch (c) {
  case 0:
    rc = fcntl(s->base + i, F_GETFL);
    err = errno;
    snprintf(what, sizeof what, "getfl s%d", i);
    fz_res(s, what, rc < 0 ? rc : 0, err);
    if (rc >= 0)
      fz_say(s->l, "%d flags=%#x", s->step, rc);
    return 0;
  case 1:
    v = fz_chance(&s->r, 50) ? O_NONBLOCK : 0;
    rc = fcntl(s->base + i, F_SETFL, v);
    snprintf(what, sizeof what, "setfl s%d %#x", i, v);
    if (rc == 0 && d != NULL)
      d->nonblock = !!v;
    break;
  case 2:
    rc = fcntl(s->base + i, F_GETFD);
    snprintf(what, sizeof what, "getfd s%d", i);
    break;
  case 3:
    v = fz_chance(&s->r, 50) ? FD_CLOEXEC : 0;
    rc = fcntl(s->base + i, F_SETFD, v);
    snprintf(what, sizeof what, "setfd s%d %d", i, v);
    if (rc == 0 && d != NULL)
      s->cloexec[i] = v;
    break;
  case 4:
    t = fz_free_slot(s);
    if (t < 0)
      return -1;
    v = fz_chance(&s->r, 50) ? F_DUPFD_CLOEXEC : F_DUPFD;
    rc = fcntl(s->base + i, v, s->base + t);
    err = errno;
    snprintf(what, sizeof what, "dupfd%s s%d min=s%d",
             v == F_DUPFD ? "" : "-cloexec", i, t);
    fz_res(s, what, rc < 0 ? rc : rc - s->base, err);
    if (rc == s->base + t)
      fz_ref(s, t, s->slot[i], v == F_DUPFD_CLOEXEC);
    else if (rc >= 0)
      close(rc); /* Out of the range: the transcript shows it. */
    return 0;
  default:
    rc = fcntl(s->base + i, F_GETPIPE_SZ);
    snprintf(what, sizeof what, "getpipesz s%d", i);
    break;
  }
  fz_res(s, what, rc, errno);
  return 0;
}

/* dup2 or dup3 from one slot to another (maybe the same, maybe in use),
 * or dup then a move to a free slot. */
static int op_dup(struct fz_solo *s) {
  int a = fz_pick(s, 90), b = fz_pick(s, 50), how = (int)fz_below(&s->r, 4);
  int rc, err, fl = how == 2 ? O_CLOEXEC : 0, src = s->slot[a];
  char what[64];

  if (how == 3) { /* dup: the kernel's number, then a move. */
    rc = dup(s->base + a);
    err = errno;
    snprintf(what, sizeof what, "dup s%d", a);
    fz_res(s, what, rc < 0 ? rc : 0, err);
    if (rc >= 0 && fz_nfree(s) > 0)
      fz_place(s, rc, src);
    else if (rc >= 0)
      close(rc);
    return 0;
  }
  rc = how == 0 ? dup2(s->base + a, s->base + b) :
                  dup3(s->base + a, s->base + b, fl);
  err = errno;
  snprintf(what, sizeof what, "dup%d s%d s%d fl=%#x", how == 0 ? 2 : 3, a, b,
           fl);
  fz_res(s, what, rc < 0 ? rc : rc - s->base, err);
  if (rc >= 0 && a != b) {
    fz_unref(s, b);
    fz_ref(s, b, src, !!fl);
  }
  return 0;
}

/* close one slot, or close_range over a few. */
static int op_close(struct fz_solo *s) {
  int i = fz_pick(s, 85), rc, err, j, k;
  char what[64];

  if (fz_chance(&s->r, 10)) {
    j = i + (int)fz_below(&s->r, 3);
    if (j >= FZ_SLOTS)
      j = FZ_SLOTS - 1;
    rc = close_range(s->base + i, s->base + j, 0);
    err = errno;
    snprintf(what, sizeof what, "close_range s%d s%d", i, j);
    fz_res(s, what, rc, err);
    for (k = i; rc == 0 && k <= j; k++)
      fz_unref(s, k);
    return 0;
  }
  rc = close(s->base + i);
  err = errno;
  snprintf(what, sizeof what, "close s%d", i);
  fz_res(s, what, rc, err);
  if (rc == 0)
    fz_unref(s, i);
  return 0;
}

/* ioctl FIONREAD, or FIONBIO on or off. */
static int op_ioctl(struct fz_solo *s) {
  int i = fz_pick(s, 90), v = -1, rc, err;
  struct fz_desc *d = fz_at(s, i);
  char what[64];

  if (fz_chance(&s->r, 50)) {
    rc = ioctl(s->base + i, FIONREAD, &v);
    err = errno;
    snprintf(what, sizeof what, "fionread s%d", i);
    fz_res(s, what, rc, err);
    if (rc == 0)
      fz_say(s->l, "%d nread=%d", s->step, v);
    return 0;
  }
  v = fz_chance(&s->r, 50);
  rc = ioctl(s->base + i, FIONBIO, &v);
  err = errno;
  snprintf(what, sizeof what, "fionbio s%d %d", i, v);
  fz_res(s, what, rc, err);
  if (rc == 0 && d != NULL)
    d->nonblock = v;
  return 0;
}

/* SO_RCVTIMEO or SO_SNDTIMEO set (0 clears it) and read back, SO_TYPE or
 * SO_ERROR read. */
static int op_sockopt(struct fz_solo *s) {
  int i = fz_pick(s, 90), c = (int)fz_below(&s->r, 4), rc, err, v = -1;
  struct fz_desc *d = fz_at(s, i);
  struct timeval tv = { 0, 0 };
  socklen_t len = sizeof tv;
  char what[64];

  if (c >= 2) {
    len = sizeof v;
    rc = getsockopt(s->base + i, SOL_SOCKET, c == 2 ? SO_TYPE : SO_ERROR, &v,
                    &len);
    err = errno;
    snprintf(what, sizeof what, "getsockopt s%d %s", i,
             c == 2 ? "type" : "error");
    fz_res(s, what, rc, err);
    if (rc == 0)
      fz_say(s->l, "%d value=%d", s->step, v);
    return 0;
  }
  tv.tv_usec = fz_chance(&s->r, 25) ? 0 : fz_range(&s->r, 1, 3) * 1000;
  rc = setsockopt(s->base + i, SOL_SOCKET, c ? SO_SNDTIMEO : SO_RCVTIMEO,
                  &tv, sizeof tv);
  err = errno;
  snprintf(what, sizeof what, "setsockopt s%d %s %ld", i, c ? "snd" : "rcv",
           (long)tv.tv_usec);
  fz_res(s, what, rc, err);
  if (rc == 0 && d != NULL) {
    if (c)
      d->sndtimeo = tv.tv_usec != 0;
    else
      d->rcvtimeo = tv.tv_usec != 0;
  }
  memset(&tv, 0, sizeof tv);
  len = sizeof tv;
  rc = getsockopt(s->base + i, SOL_SOCKET, c ? SO_SNDTIMEO : SO_RCVTIMEO,
                  &tv, &len);
  err = errno;
  fz_res(s, "getsockopt", rc, err);
  if (rc == 0)
    fz_say(s->l, "%d timeo=%ld.%06ld", s->step, (long)tv.tv_sec,
           (long)tv.tv_usec);
  return 0;
}

/* shutdown SHUT_RD, SHUT_WR or SHUT_RDWR. */
static int op_shutdown(struct fz_solo *s) {
  int i = fz_pick(s, 90), how = (int)fz_below(&s->r, 3), rc, err;
  struct fz_desc *d = fz_at(s, i);
  char what[64];

  rc = shutdown(s->base + i, how);
  err = errno;
  snprintf(what, sizeof what, "shutdown s%d %d", i, how);
  fz_res(s, what, rc, err);
  if (rc == 0 && d != NULL)
    d->shut |= how == SHUT_RD ? FZ_SHUT_RD :
               how == SHUT_WR ? FZ_SHUT_WR : FZ_SHUT_RD | FZ_SHUT_WR;
  return 0;
}

#include "fuzz_solo_ops2.h"

#endif /* FUZZ_SOLO_OPS_H */
