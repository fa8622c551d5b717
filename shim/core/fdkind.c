/* fdkind.c: fd kinds, waiting after EAGAIN, and iovec cursors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <stdint.h>

#include "core/fdkind.h"
#include "core/guard.h"
#include "process/intr.h"
#include "real.h"

/* 1 for a terminal; errno kept. */
static int tty(int fd) {
  int saved = errno, r = isatty(fd);
  errno = saved;
  return r;
}

int gp_fd_kind(int fd) {
  int k = gp__fd_kind(fd);
  if (k != GP_KIND_UNKNOWN)
    return k;
  struct stat st;
  if (fstat(fd, &st) != 0)
    return GP_KIND_PASS;
  switch (st.st_mode & S_IFMT) {
  case S_IFSOCK: k = GP_KIND_SOCK; break;
  case S_IFIFO: k = GP_KIND_FIFO; break;
  case S_IFREG: case S_IFDIR: case S_IFBLK: k = GP_KIND_PASS; break;
  case S_IFCHR: k = tty(fd) ? GP_KIND_TTY : GP_KIND_POLL; break;
  default: k = GP_KIND_POLL; break; /* eventfd, timerfd, signalfd, ... */
  }
  gp__fd_set_kind(fd, k);
  return k;
}

void gp_fd_created(int fd, int kind) {
  if (fd < 0 || !gp__tls.sched)
    return; /* the table belongs to the scheduler thread */
  unsigned char was = gp__inside_enter();
  gp__fd_forget(fd); /* a number reused without our close: start afresh */
  gp__fd_set_kind(fd, kind);
  gp__inside_restore(was);
}

void gp_fd_forget(int fd) {
  if (fd < 0 || !gp__tls.sched)
    return;
  unsigned char was = gp__inside_enter();
  gp__fd_forget(fd);
  gp__inside_restore(was);
}

/* Bumped by every call that may change an fd's O_NONBLOCK or socket
 * timeouts (fcntl F_SETFL, ioctl FIONBIO, setsockopt): the per-fd caches
 * are then read again. A change through a dup of the fd, or by another
 * process sharing the file, is caught the same way or at the next epoch. */
static uint32_t flags_epoch = 1;

void gp_fd_flags_changed(void) {
  __atomic_add_fetch(&flags_epoch, 1, __ATOMIC_RELAXED);
}

static int64_t timeo_ns(int fd, int opt) {
  struct timeval tv = {0, 0};
  socklen_t len = sizeof tv;
  if (getsockopt(fd, SOL_SOCKET, opt, &tv, &len) != 0)
    return 0;
  return (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
}

/* The fd's cached flags, read again when the epoch moved. */
static struct gp_fdinfo *flags_of(int fd) {
  struct gp_fdinfo *in = gp__fd_info(fd);
  uint32_t epoch = __atomic_load_n(&flags_epoch, __ATOMIC_RELAXED);
  if (in == NULL || (in->cached && in->epoch == epoch))
    return in;
  int fl = GP_REAL(fcntl)(fd, F_GETFL);
  in->nonblock = fl >= 0 && (fl & O_NONBLOCK);
  in->rcvtimeo = in->sndtimeo = 0;
  int type = 0;
  socklen_t len = sizeof type;
  if (in->kind == GP_KIND_SOCK) {
    in->rcvtimeo = timeo_ns(fd, SO_RCVTIMEO);
    in->sndtimeo = timeo_ns(fd, SO_SNDTIMEO);
    in->stream = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
                 type == SOCK_STREAM;
  }
  in->epoch = epoch;
  in->cached = 1;
  return in;
}

int gp_fd_nonblock(int fd) {
  struct gp_fdinfo *in = flags_of(fd);
  return in && in->nonblock;
}

int gp_fd_stream(int fd) {
  struct gp_fdinfo *in = flags_of(fd);
  return in && in->stream;
}

int gp_fd_ready(int fd, short events) {
  struct pollfd p = {.fd = fd, .events = events};
  return GP_REAL(poll)(&p, 1, 0) != 0;
}

int gp_fd_block(int fd, unsigned dir, int opt, int64_t *deadline) {
  if (*deadline == 0) {
    struct gp_fdinfo *in = flags_of(fd);
    if (in && in->nonblock)
      return -EAGAIN;
    int64_t t = !in || !opt ? 0 : opt == SO_RCVTIMEO ? in->rcvtimeo
                                                      : in->sndtimeo;
    /* POSIX: no timeout, and {0, 0} means forever. */
    *deadline = t > 0 ? gp__now() + t : GP_NEVER;
  }
  /* A socket with a timeout is interrupted even with SA_RESTART. */
  struct gp_intr in;
  gp_intr_begin(&in, opt != 0 && *deadline != GP_NEVER);
  int r = gp__wait_fd(fd, dir, *deadline);
  gp_intr_end(&in);
  /* The socket's own timeout is EAGAIN; the coroutine's Timeout is
   * ETIMEDOUT (gpatch.h). */
  if (gp_stopped(r))
    return gp_stopped(r);
  return r == -ETIMEDOUT ? -EAGAIN : r;
}

size_t gp_iovs_len(const struct iovec *iov, int cnt) {
  size_t n = 0;
  for (int i = 0; i < cnt; i++)
    n += iov[i].iov_len;
  return n;
}

int gp_iovs_init(struct gp_iovs *v, const struct iovec *iov, int cnt) {
  if (cnt < 0)
    return -EINVAL;
  v->iov = v->inline_;
  v->heap = NULL;
  if ((size_t)cnt > sizeof v->inline_ / sizeof v->inline_[0]) {
    v->iov = v->heap = malloc((size_t)cnt * sizeof *iov);
    if (v->iov == NULL)
      return -ENOMEM;
  }
  if (cnt > 0)
    memcpy(v->iov, iov, (size_t)cnt * sizeof *iov);
  v->cnt = cnt;
  return 0;
}

void gp_iovs_advance(struct gp_iovs *v, size_t n) {
  while (v->cnt > 0 && n >= v->iov[0].iov_len) {
    n -= v->iov[0].iov_len;
    v->iov++;
    v->cnt--;
  }
  if (v->cnt > 0) {
    v->iov[0].iov_base = (char *)v->iov[0].iov_base + n;
    v->iov[0].iov_len -= n;
  }
}

void gp_iovs_free(struct gp_iovs *v) { free(v->heap); }
