/* fd.c: calls that create, copy or close fds: pipe, pipe2, dup, dup2,
 * dup3, fcntl(F_DUPFD*), close, eventfd, timerfd_create, signalfd,
 * inotify_init, inotify_init1, epoll_create, epoll_create1. They keep the
 * runtime's fd table right: a closed fd wakes its waiters with EBADF and
 * leaves the epoll set, and a new fd number starts with a clean entry
 * (its number may have been closed where no hook saw it: fclose). The
 * ends of a pipe, and an eventfd, are paired (gp_fd_pair), so that a
 * write wakes the reader parked on the other end at once. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "core/fdkind.h"
#include "core/guard.h"
#include "real.h"

/* The runtime's own fds (epoll sets, libuv's wake-up and signal fds) are
 * not the program's: to it they are not open, so closing one fails with
 * EBADF, as it would natively. (A daemon closes every fd it did not
 * open; the runtime must keep its own.) */
GP_EXPORT int close(int fd) {
  if (GP_UNLIKELY(gp__fd_private(fd))) {
    errno = EBADF;
    return -1;
  }
  gp_fd_closing(fd);
  return GP_REAL(close)(fd);
}

/* close_range without the runtime's fds: the real call on each stretch
 * between them. */
static int close_ranges(unsigned first, unsigned last, int flags) {
  if (first > last) {
    errno = EINVAL;
    return -1;
  }
  if (!(flags & CLOSE_RANGE_CLOEXEC) && gp__sched_here()) {
    unsigned char was = gp__inside_enter();
    gp__fd_forget_range((int)first, last > INT_MAX ? INT_MAX : (int)last);
    gp__inside_restore(was);
  }
  int priv[GP_FD_PRIVATE_MAX];
  int n = gp__fd_privates(priv, GP_FD_PRIVATE_MAX);
  for (int i = 1; i < n; i++) /* a few: insertion sort */
    for (int j = i; j > 0 && priv[j - 1] > priv[j]; j--) {
      int t = priv[j];
      priv[j] = priv[j - 1];
      priv[j - 1] = t;
    }
  unsigned from = first;
  for (int i = 0; i < n; i++) {
    unsigned p = (unsigned)priv[i];
    if (p < from || p > last)
      continue;
    if (p > from && GP_REAL(close_range)(from, p - 1, flags) != 0)
      return -1;
    if (p == last)
      return 0;
    from = p + 1;
  }
  return GP_REAL(close_range)(from, last, flags);
}

GP_EXPORT int close_range(unsigned first, unsigned last, int flags) {
  return close_ranges(first, last, flags);
}

GP_EXPORT void closefrom(int lowfd) {
  if (lowfd < 0)
    lowfd = 0;
  close_ranges((unsigned)lowfd, ~0u, 0);
}

GP_EXPORT int pipe(int fds[2]) {
  int r = GP_REAL(pipe)(fds);
  if (r == 0) {
    gp_fd_created(fds[0], GP_KIND_FIFO);
    gp_fd_created(fds[1], GP_KIND_FIFO);
    gp_fd_pair(fds[0], fds[1], 0);
  }
  return r;
}

GP_EXPORT int pipe2(int fds[2], int flags) {
  int r = GP_REAL(pipe2)(fds, flags);
  if (r == 0) {
    int kind = (flags & O_DIRECT) ? GP_KIND_UNKNOWN : GP_KIND_FIFO;
    gp_fd_created(fds[0], kind);
    gp_fd_created(fds[1], kind);
    gp_fd_pair(fds[0], fds[1], 0);
  }
  return r;
}

/* The new fd shares the old one's file: it has the same kind. A socket
 * timeout set through either now changes both, and setsockopt notes it on
 * one record only: neither takes its timeouts as known to be 0 any more
 * (fdkind.h, touched), and neither is alone. */
static int copied(int oldfd, int newfd) {
  if (newfd < 0 || !gp__sched_here())
    return newfd;
  gp_fd *old = gp__fd_find(oldfd);
  gp_fd *f = gp_fd_created(newfd, old ? gp_fd_info(old)->kind
                                      : GP_KIND_UNKNOWN);
  if (old != NULL) {
    gp_fd_info(old)->touched = 1;
    gp_fd_info(old)->alone = 0;
  }
  if (f != NULL)
    gp_fd_info(f)->touched = 1;
  return newfd;
}

GP_EXPORT int dup(int fd) { return copied(fd, GP_REAL(dup)(fd)); }

/* dup2 of an fd onto itself changes nothing (the fd stays open, with its
 * waiters): the real call alone. */
GP_EXPORT int dup2(int oldfd, int newfd) {
  if (oldfd == newfd)
    return GP_REAL(dup2)(oldfd, newfd);
  if (GP_REAL(fcntl)(oldfd, F_GETFD) >= 0)
    gp_fd_closing(newfd); /* dup2 closes newfd first */
  return copied(oldfd, GP_REAL(dup2)(oldfd, newfd));
}

GP_EXPORT int dup3(int oldfd, int newfd, int flags) {
  if (oldfd != newfd && GP_REAL(fcntl)(oldfd, F_GETFD) >= 0)
    gp_fd_closing(newfd);
  return copied(oldfd, GP_REAL(dup3)(oldfd, newfd, flags));
}

/* fcntl's third argument is an int or a pointer; passing it on as a
 * pointer-sized value is what glibc itself does. */
static int do_fcntl(int (*real)(int, int, ...), int fd, int cmd, void *arg) {
  if (cmd == F_SETLKW || cmd == F_OFD_SETLKW) /* a record lock's wait */
    return GP_DETACHED_CALL(real(fd, cmd, arg));
  int r = real(fd, cmd, arg);
  if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
    copied(fd, r);
  else if (r == 0 && cmd == F_SETFL)
    gp_fd_nonblock_now(fd, ((int)(intptr_t)arg & O_NONBLOCK) != 0);
  return r;
}

GP_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  return do_fcntl(GP_REAL(fcntl), fd, cmd, arg);
}

GP_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  return do_fcntl(GP_REAL(fcntl64), fd, cmd, arg);
}

GP_EXPORT int ioctl(int fd, unsigned long req, ...) {
  va_list ap;
  va_start(ap, req);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  int r = GP_REAL(ioctl)(fd, req, arg);
  if (r == 0 && req == FIONBIO)
    gp_fd_nonblock_now(fd, *(const int *)arg != 0);
  return r;
}

/* A new pollable fd (-1 passes through). */
static int made(int fd) {
  gp_fd_created(fd, GP_KIND_POLL);
  return fd;
}

/* An eventfd is its own peer: a write makes it readable. */
GP_EXPORT int eventfd(unsigned int count, int flags) {
  int fd = made(GP_REAL(eventfd)(count, flags));
  gp_fd_pair(fd, fd, (flags & EFD_SEMAPHORE) ? GP_EVENT_SEMAPHORE
                                             : GP_EVENT_COUNTER);
  return fd;
}

GP_EXPORT int timerfd_create(int clock, int flags) {
  return made(GP_REAL(timerfd_create)(clock, flags));
}

/* fd -1 makes a new signalfd; another fd is changed in place. */
GP_EXPORT int signalfd(int fd, const sigset_t *mask, int flags) {
  int r = GP_REAL(signalfd)(fd, mask, flags);
  return fd == -1 ? made(r) : r;
}

GP_EXPORT int inotify_init(void) { return made(GP_REAL(inotify_init)()); }

GP_EXPORT int inotify_init1(int flags) {
  return made(GP_REAL(inotify_init1)(flags));
}

GP_EXPORT int epoll_create(int size) {
  return made(GP_REAL(epoll_create)(size));
}

GP_EXPORT int epoll_create1(int flags) {
  return made(GP_REAL(epoll_create1)(flags));
}
