/* fdkind.c: fd kinds, waiting after EAGAIN, and iovec cursors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "fdkind.h"
#include "guard.h"
#include "intr.h"
#include "real.h"

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
  default: k = GP_KIND_POLL; break; /* ttys, eventfd, timerfd, ... */
  }
  gp__fd_set_kind(fd, k);
  return k;
}

void gp_fd_created(int fd, int kind) {
  if (fd < 0 || !gp__tls.sched)
    return; /* the table belongs to the scheduler thread */
  int inside = gp__tls.inside;
  gp__tls.inside = 1;
  gp__fd_forget(fd); /* a number reused without our close: start afresh */
  gp__fd_set_kind(fd, kind);
  gp__tls.inside = (unsigned char)inside;
}

int gp_fd_nonblock(int fd) {
  int fl = GP_REAL(fcntl)(fd, F_GETFL);
  return fl >= 0 && (fl & O_NONBLOCK);
}

int gp_fd_ready(int fd, short events) {
  struct pollfd p = {.fd = fd, .events = events};
  return GP_REAL(poll)(&p, 1, 0) != 0;
}

static int64_t sock_deadline(int fd, int opt) {
  struct timeval tv = {0, 0};
  socklen_t len = sizeof tv;
  if (opt == 0 || getsockopt(fd, SOL_SOCKET, opt, &tv, &len) != 0 ||
      (tv.tv_sec == 0 && tv.tv_usec == 0))
    return GP_NEVER; /* POSIX: no timeout, and {0, 0} means forever */
  return gp__now() + (int64_t)tv.tv_sec * 1000000000 +
         (int64_t)tv.tv_usec * 1000;
}

int gp_fd_block(int fd, unsigned dir, int opt, int64_t *deadline) {
  if (*deadline == 0) {
    if (gp_fd_nonblock(fd))
      return -EAGAIN;
    *deadline = sock_deadline(fd, opt);
  }
  /* A socket with a timeout is interrupted even with SA_RESTART. */
  struct gp_intr in;
  gp_intr_begin(&in, opt != 0 && *deadline != GP_NEVER);
  int r = gp__wait_fd(fd, dir, *deadline);
  gp_intr_end(&in);
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
