/* open.c: open, open64, openat, openat64, creat, creat64 and the
 * fortified __open_2, __open64_2, __openat_2, __openat64_2.
 *
 * With the file family on, every other open also runs on a pool thread
 * (of the FILE lane): a path on a slow or network file system.
 *
 * Opening a FIFO for reading only or writing only, without O_NONBLOCK,
 * waits until the other end is opened. No flag gives that wait without
 * blocking (O_NONBLOCK returns at once for a reader, ENXIO for a
 * writer), so such an open runs the real call on a pool thread of its
 * own lane while the caller parks: it returns when the peer comes, with
 * the real fd and errno. Every other open is the real call. The new fd
 * starts with a clean entry in the runtime's table either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "core/fdkind.h"
#include "core/guard.h"
#include "core/offload.h"
#include "real.h"

struct open_call {
  int dirfd;
  const char *path;
  int flags;
  mode_t mode;
  int fd;
};

static void open_fn(void *p) {
  struct open_call *c = p;
  c->fd = GP_REAL(openat)(c->dirfd, c->path, c->flags, c->mode);
}

/* 1 when opening path with flags may wait for a FIFO's peer. The look
 * at the path fails for a file the open is to create: errno is kept, since
 * the open goes on and may succeed. */
static int opens_fifo(int dirfd, const char *path, int flags) {
  struct stat st;
  int acc = flags & O_ACCMODE;
  if ((flags & (O_NONBLOCK | O_PATH)) || (acc != O_RDONLY && acc != O_WRONLY))
    return 0;
  if (!gp_coop(GP_FAM_SOCKET) || gp__live() <= 1)
    return 0;
  int saved = errno;
  int fifo = fstatat(dirfd, path, &st,
                     (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0) == 0 &&
             S_ISFIFO(st.st_mode);
  errno = saved;
  return fifo;
}

/* Every open comes here with its mode already read. */
static int do_open(int dirfd, const char *path, int flags, mode_t mode) {
  struct open_call c = {dirfd, path, flags, mode, -1};
  int kind = GP_KIND_UNKNOWN;
  if (opens_fifo(dirfd, path, flags) &&
      gp_offload(GP_LANE_PEER, open_fn, &c) == 0)
    kind = GP_KIND_FIFO;
  else if (!gp_coop(GP_FAM_FILE) || gp__live() <= 1 ||
           gp_offload(GP_LANE_FILE, open_fn, &c) != 0)
    c.fd = GP_REAL(openat)(dirfd, path, flags, mode);
  if (c.fd >= 0) {
    int saved = errno;
    gp_fd_created(c.fd, kind); /* a number reused without our close */
    errno = saved;
  }
  return c.fd;
}

/* The mode argument is there only when the flags need it. */
#define MODE_ARG(flags, mode)                                               \
  do {                                                                      \
    if (__OPEN_NEEDS_MODE(flags)) {                                         \
      va_list ap;                                                           \
      va_start(ap, flags);                                                  \
      mode = (mode_t)va_arg(ap, int);                                       \
      va_end(ap);                                                           \
    }                                                                       \
  } while (0)

GP_EXPORT int open(const char *path, int flags, ...) {
  mode_t mode = 0;
  MODE_ARG(flags, mode);
  return do_open(AT_FDCWD, path, flags, mode);
}

GP_EXPORT int open64(const char *path, int flags, ...) {
  mode_t mode = 0;
  MODE_ARG(flags, mode);
  return do_open(AT_FDCWD, path, flags | O_LARGEFILE, mode);
}

GP_EXPORT int openat(int dirfd, const char *path, int flags, ...) {
  mode_t mode = 0;
  MODE_ARG(flags, mode);
  return do_open(dirfd, path, flags, mode);
}

GP_EXPORT int openat64(int dirfd, const char *path, int flags, ...) {
  mode_t mode = 0;
  MODE_ARG(flags, mode);
  return do_open(dirfd, path, flags | O_LARGEFILE, mode);
}

GP_EXPORT int creat(const char *path, mode_t mode) {
  return do_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

GP_EXPORT int creat64(const char *path, mode_t mode) {
  return do_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC | O_LARGEFILE,
                 mode);
}

/* _FORTIFY_SOURCE entry points: a call whose flags need a mode it did not
 * pass is glibc's to refuse (it aborts), so it gets the real one. */
GP_EXPORT int __open_2(const char *path, int flags) {
  if (__OPEN_NEEDS_MODE(flags))
    return GP_REAL(__open_2)(path, flags);
  return do_open(AT_FDCWD, path, flags, 0);
}

GP_EXPORT int __open64_2(const char *path, int flags) {
  if (__OPEN_NEEDS_MODE(flags))
    return GP_REAL(__open64_2)(path, flags);
  return do_open(AT_FDCWD, path, flags | O_LARGEFILE, 0);
}

GP_EXPORT int __openat_2(int dirfd, const char *path, int flags) {
  if (__OPEN_NEEDS_MODE(flags))
    return GP_REAL(__openat_2)(dirfd, path, flags);
  return do_open(dirfd, path, flags, 0);
}

GP_EXPORT int __openat64_2(int dirfd, const char *path, int flags) {
  if (__OPEN_NEEDS_MODE(flags))
    return GP_REAL(__openat64_2)(dirfd, path, flags);
  return do_open(dirfd, path, flags | O_LARGEFILE, 0);
}
