/* file.c: the file family, off unless GPATCH_PATCH names it: calls on
 * regular files (and directories, block devices: every fd the shim
 * passes through) run on a pool thread of the FILE lane while the caller
 * parks, for disks or network file systems slow enough to stall the
 * others. pread, pwrite, preadv, pwritev (and their 64 and fortified
 * names), fsync and fdatasync are here; read, readv, write and writev
 * come through io.c, and open through open.c.
 *
 * Off by default: a read from the page cache takes less than the hop to
 * a pool thread and back.
 */
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/fdkind.h"
#include "core/guard.h"
#include "core/offload.h"
#include "real.h"

enum { PREAD, PWRITE, PREADV, PWRITEV, RV, WV, FSYNC, FDATASYNC };

/* One call: its arguments and result. */
struct fcall {
  int op;
  int fd;
  void *buf;                /* PREAD, PWRITE */
  size_t n;
  const struct iovec *iov;  /* PREADV, PWRITEV, RV, WV */
  int cnt;
  off_t off;
  ssize_t r;
};

static void fcall_fn(void *p) {
  struct fcall *c = p;
  switch (c->op) {
  case PREAD: c->r = GP_REAL(pread)(c->fd, c->buf, c->n, c->off); break;
  case PWRITE: c->r = GP_REAL(pwrite)(c->fd, c->buf, c->n, c->off); break;
  case PREADV: c->r = GP_REAL(preadv)(c->fd, c->iov, c->cnt, c->off); break;
  case PWRITEV:
    c->r = GP_REAL(pwritev)(c->fd, c->iov, c->cnt, c->off);
    break;
  case RV: c->r = GP_REAL(readv)(c->fd, c->iov, c->cnt); break;
  case WV: c->r = GP_REAL(writev)(c->fd, c->iov, c->cnt); break;
  case FSYNC: c->r = GP_REAL(fsync)(c->fd); break;
  case FDATASYNC: c->r = GP_REAL(fdatasync)(c->fd); break;
  }
}

/* Runs c on the pool; 1 when it ran there (result in c->r), 0 when the
 * caller makes the call itself (family off, one coroutine, an fd that
 * may wait, which the socket family drives, or no pool thread). */
static int offloaded(struct fcall *c) {
  if (!gp_coop(GP_FAM_FILE) || gp__live() <= 1)
    return 0;
  gp_enter();
  gp_fd *f = c->op == FSYNC || c->op == FDATASYNC ? NULL : gp__fd_get(c->fd);
  int pass = f == NULL || gp_fd_kind(f) == GP_KIND_PASS;
  gp_leave();
  return pass && gp_offload(GP_LANE_FILE, fcall_fn, c) == 0;
}

ssize_t gp_file_rw(int fd, const struct iovec *iov, int cnt, int write) {
  struct fcall c = {.op = write ? WV : RV, .fd = fd, .iov = iov, .cnt = cnt};
  if (gp_offload(GP_LANE_FILE, fcall_fn, &c) != 0)
    fcall_fn(&c);
  return c.r;
}

GP_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off) {
  struct fcall c = {.op = PREAD, .fd = fd, .buf = buf, .n = n, .off = off};
  return offloaded(&c) ? c.r : GP_REAL(pread)(fd, buf, n, off);
}

GP_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
  struct fcall c = {.op = PWRITE, .fd = fd, .buf = (void *)buf, .n = n,
                    .off = off};
  return offloaded(&c) ? c.r : GP_REAL(pwrite)(fd, buf, n, off);
}

GP_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt,
                         off_t off) {
  struct fcall c = {.op = PREADV, .fd = fd, .iov = iov, .cnt = cnt,
                    .off = off};
  return offloaded(&c) ? c.r : GP_REAL(preadv)(fd, iov, cnt, off);
}

GP_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt,
                          off_t off) {
  struct fcall c = {.op = PWRITEV, .fd = fd, .iov = iov, .cnt = cnt,
                    .off = off};
  return offloaded(&c) ? c.r : GP_REAL(pwritev)(fd, iov, cnt, off);
}

/* The 64 names are the same calls where this library builds (64-bit
 * off_t). */
GP_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off) {
  return pread(fd, buf, n, off);
}

GP_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) {
  return pwrite(fd, buf, n, off);
}

GP_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt,
                           off_t off) {
  return preadv(fd, iov, cnt, off);
}

GP_EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt,
                            off_t off) {
  return pwritev(fd, iov, cnt, off);
}

/* _FORTIFY_SOURCE entry points: check the buffer as glibc does. */
extern void __chk_fail(void) __attribute__((noreturn));

GP_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off,
                              size_t buflen) {
  if (n > buflen)
    __chk_fail();
  return pread(fd, buf, n, off);
}

GP_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off,
                                size_t buflen) {
  if (n > buflen)
    __chk_fail();
  return pread(fd, buf, n, off);
}

GP_EXPORT int fsync(int fd) {
  struct fcall c = {.op = FSYNC, .fd = fd};
  return offloaded(&c) ? (int)c.r : GP_REAL(fsync)(fd);
}

GP_EXPORT int fdatasync(int fd) {
  struct fcall c = {.op = FDATASYNC, .fd = fd};
  return offloaded(&c) ? (int)c.r : GP_REAL(fdatasync)(fd);
}
