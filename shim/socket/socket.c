/* socket.c: creating and connecting sockets: socket, socketpair, accept,
 * accept4, connect. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>

#include "core/fdkind.h"
#include "core/guard.h"
#include "real.h"

GP_EXPORT int socket(int domain, int type, int protocol) {
  int fd = GP_REAL(socket)(domain, type, protocol);
  if (fd >= 0)
    gp_fd_socket_made(fd, domain, type, protocol);
  return fd;
}

GP_EXPORT int socketpair(int domain, int type, int protocol, int sv[2]) {
  int r = GP_REAL(socketpair)(domain, type, protocol, sv);
  if (r == 0) {
    gp_fd_socket_made(sv[0], domain, type, protocol);
    gp_fd_socket_made(sv[1], domain, type, protocol);
    gp_fd_pair(sv[0], sv[1], 0);
  }
  return r;
}

/* One accept that cannot block: the new fd, or -errno (-EAGAIN when no
 * connection waits). The per-call non-blocking accept of io_uring; where
 * the kernel cannot make it say EAGAIN itself (before Linux 6.10) poll
 * first, since a request that waits costs a cancellation. Without
 * io_uring, O_NONBLOCK for this one accept4, the program's flags put back
 * at once: another process sharing the socket that enters accept in that
 * window gets EAGAIN, which is the lesser evil (a plain accept would block
 * this whole process if another one took the connection since the poll). */
static int accept_once(int fd, struct sockaddr *addr, socklen_t *len,
                       int flags) {
  if (!gp_accept_nb_dontwait() && !gp_fd_ready_now(fd, POLLIN))
    return -EAGAIN;
  int r = gp_accept_nb(fd, addr, len, flags);
  if (r != -ENOSYS)
    return r;
  int fl = GP_REAL(fcntl)(fd, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK) &&
      GP_REAL(fcntl)(fd, F_SETFL, fl | O_NONBLOCK) == 0) {
    r = GP_REAL(accept4)(fd, addr, len, flags);
    int err = errno;
    GP_REAL(fcntl)(fd, F_SETFL, fl);
    errno = err;
  } else {
    r = GP_REAL(accept4)(fd, addr, len, flags);
  }
  return r >= 0 ? r : -errno;
}

/* A connection just accepted waits its turn for its first read: it
 * counts as seen empty, so that read parks at once, and adding the socket
 * to the epoll set (which reports what is already there) wakes it in the
 * order the kernel saw data arrive, behind requests that came earlier on
 * other connections, as an event loop serves them. Tried at once, each
 * new connection's first request would overtake those, so that under a
 * load that opens connections as fast as it is answered more connections
 * are active at a time and every round trip waits longer. A program that
 * made the socket non-blocking still tries at once (see io.c).
 *
 * What the new socket is (a socket, its type, O_NONBLOCK as flags made
 * it, its timeouts) is recorded from the listener's facts, learnt once
 * per listener, so that no call has to read it (fdkind.c). */
static int accepted(int fd, gp_fd *l, int flags) {
  gp_fd *f = gp_fd_accepted(fd, l, flags);
  if (f != NULL)
    gp__fd_seen_empty(f, GP_IN);
  return fd;
}

/* Whether the process may open one more fd: 0, or -EMFILE at its limit.
 * A dup of the listening socket (the shim's own, closed at once) asks the
 * kernel exactly what accept4 asks first: Linux allocates the new fd
 * before it looks for a connection, so at the limit a blocking accept
 * fails with EMFILE at once, whether or not a connection waits. */
static int fd_room(int fd) {
  int saved = errno;
  int d = GP_REAL(fcntl)(fd, F_DUPFD_CLOEXEC, 0);
  int err = d < 0 && errno == EMFILE ? -EMFILE : 0;
  if (d >= 0)
    GP_REAL(close)(d);
  errno = saved;
  return err;
}

/* accept4 as the blocking call: try without blocking, and while no
 * connection waits, park until the listening socket is readable (unless
 * no fd is left: then EMFILE, as natively). */
static int coop_accept(int fd, struct sockaddr *addr, socklen_t *len,
                       int flags) {
  gp_fd *f = gp__fd_get(fd);
  if (f == NULL) /* a negative fd: the real call says EBADF */
    return GP_REAL(accept4)(fd, addr, len, flags);
  int saved = errno;
  int64_t deadline = 0;
  for (;;) {
    int r = accept_once(fd, addr, len, flags);
    if (r >= 0) {
      if (deadline == 0) /* a connection was waiting: no park */
        gp__slice_point();
      errno = saved;
      return accepted(r, f, flags);
    }
    if (r != -EAGAIN && r != -EWOULDBLOCK)
      return gp_ret(r);
    if ((r = fd_room(fd)) != 0)
      return gp_ret(r);
    gp__wait_note("accept");
    int err = gp_fd_block(f, GP_IN, SO_RCVTIMEO, &deadline);
    if (err == -EPERM) /* not a socket: let the real call say so */
      return GP_REAL(accept4)(fd, addr, len, flags);
    if (err)
      return gp_ret(err);
  }
}

GP_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len,
                      int flags) {
  if (!gp_coop(GP_FAM_SOCKET) || gp__live() <= 1) {
    int r = GP_REAL(accept4)(fd, addr, len, flags);
    if (r >= 0 && gp__tls.sched) {
      int saved = errno;
      unsigned char was = gp__inside_enter();
      gp_fd_accepted(r, gp__fd_get(fd), flags);
      gp__inside_restore(was);
      errno = saved;
    }
    return r;
  }
  gp_enter();
  gp_cancel_point();
  int r = coop_accept(fd, addr, len, flags);
  gp_leave();
  return r;
}

GP_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len) {
  return accept4(fd, addr, len, 0);
}

/* A blocking connect: start it non-blocking, put the program's flags
 * back at once, wait until the socket is writable (or SO_SNDTIMEO, after
 * which Linux reports EINPROGRESS), then report SO_ERROR. */
static int coop_connect(int fd, const struct sockaddr *addr, socklen_t len) {
  int fl = GP_REAL(fcntl)(fd, F_GETFL);
  if (fl < 0 || (fl & O_NONBLOCK))
    return GP_REAL(connect)(fd, addr, len);
  int saved = errno;
  if (GP_REAL(fcntl)(fd, F_SETFL, fl | O_NONBLOCK) != 0)
    return GP_REAL(connect)(fd, addr, len);
  int r = GP_REAL(connect)(fd, addr, len);
  int err = errno;
  GP_REAL(fcntl)(fd, F_SETFL, fl);
  if (r == 0 || err != EINPROGRESS) {
    gp__slice_point(); /* done at once (a local socket): no park */
    errno = r == 0 ? saved : err;
    return r;
  }
  gp_fd *f = gp__fd_get(fd); /* open: the fcntl above succeeded */
  int64_t deadline = 0;
  for (;;) {
    int w = gp_fd_block(f, GP_OUT, SO_SNDTIMEO, &deadline);
    if (w == -EAGAIN) /* SO_SNDTIMEO passed */
      return gp_ret(-EINPROGRESS);
    if (w && w != -EPERM)
      return gp_ret(w);
    if (!gp_fd_ready_now(fd, POLLOUT))
      continue; /* a stale edge */
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
      return -1;
    if (soerr)
      return gp_ret(-soerr);
    errno = saved;
    return 0;
  }
}

GP_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  if (!gp_coop(GP_FAM_SOCKET) || gp__live() <= 1)
    return GP_REAL(connect)(fd, addr, len);
  gp_enter();
  gp_cancel_point();
  int r = coop_connect(fd, addr, len);
  gp_leave();
  return r;
}

/* A shutdown wakes the calls blocked on the socket in the kernel (a send
 * gets EPIPE, a recv 0, an accept EINVAL), but the epoll set reports no
 * event for some (a send-side shutdown of a full socket): so the hook
 * wakes the socket's waiters itself, to try their calls again. */
GP_EXPORT int shutdown(int fd, int how) {
  int r = GP_REAL(shutdown)(fd, how);
  if (r == 0 && gp__sched_here()) {
    unsigned char was = gp__inside_enter();
    gp_fd *f = gp__fd_find(fd);
    if (f != NULL)
      gp__fd_wake(f, GP_IN | GP_OUT | GP_PRI);
    gp__inside_restore(was);
  }
  return r;
}

/* Socket timeouts are cached per fd (fdkind.c): a change invalidates. */
GP_EXPORT int setsockopt(int fd, int level, int opt, const void *val,
                         socklen_t len) {
  if (level == SOL_SOCKET &&
      (opt == SO_RCVTIMEO_OLD || opt == SO_SNDTIMEO_OLD ||
       opt == SO_RCVTIMEO_NEW || opt == SO_SNDTIMEO_NEW)) {
    gp_fd_timeo_set(fd);
  }
  return GP_REAL(setsockopt)(fd, level, opt, val, len);
}
