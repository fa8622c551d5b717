/* fdkind.h: how the shim drives an fd, cached per fd in the runtime's
 * table and learnt with fstat on first use.
 *
 * The shim never changes an fd's flags. A socket is driven with the
 * per-call MSG_DONTWAIT flag; a pipe, tty or other pollable fd is tried
 * only after poll() says it is ready, so the plain call cannot block; a
 * regular file, directory or block device is passed through.
 */
#ifndef GP_FDKIND_H
#define GP_FDKIND_H

#include <sys/socket.h>
#include <sys/uio.h>

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

enum {
  GP_KIND_UNKNOWN = 0,
  GP_KIND_SOCK,   /* MSG_DONTWAIT forms */
  GP_KIND_FIFO,   /* poll, then the plain call; writes in PIPE_BUF pieces */
  GP_KIND_POLL,   /* poll, then the plain call */
  GP_KIND_PASS,   /* never waits: the real call */
  GP_KIND_TTY,    /* a terminal: as POLL, but big writes on a pool thread */
};

/* The kind of fd, learnt once; GP_KIND_PASS when fd is not open (the real
 * call then fails as it should). */
int gp_fd_kind(int fd);
/* Records what a hook created (socket, pipe, dup...) at fd. */
void gp_fd_created(int fd, int kind);
/* Forgets fd in the runtime's table (waiters wake with EBADF) before the
 * shim closes it, or lets libc close it (fclose); scheduler thread only,
 * a no-op elsewhere. */
void gp_fd_forget(int fd);
/* 1 when the program itself made fd non-blocking (cached per fd). */
int gp_fd_nonblock(int fd);
/* 1 for a stream socket (cached per fd). */
int gp_fd_stream(int fd);
/* A call may have changed some fd's O_NONBLOCK or socket timeouts: the
 * cached values are read again on next use. */
void gp_fd_flags_changed(void);

/* The result of a would-block attempt: parks the caller on fd for dir
 * (GP_IN/GP_OUT) until ready, the socket timeout opt (SO_RCVTIMEO,
 * SO_SNDTIMEO, or 0 for none) or *deadline. *deadline starts at 0 and is
 * filled in on first use. Returns 0 to try again, -EAGAIN when the
 * program wants non-blocking behaviour or the socket timeout passed,
 * -EBADF when another coroutine closed fd, -EINTR when a signal
 * interrupted the wait, -EPERM when fd cannot be polled, -ECANCELED or
 * -ETIMEDOUT when the coroutine was killed or its Timeout passed. */
int gp_fd_block(int fd, unsigned dir, int opt, int64_t *deadline);

/* accept4 that never blocks and leaves the fd's flags alone (io_uring,
 * see accept_nb.c): the new fd, -EAGAIN when no connection is waiting,
 * another -errno as accept4 gives it, or -ENOSYS when io_uring cannot be
 * used (the caller polls, then accepts). */
int gp_accept_nb(int fd, struct sockaddr *addr, socklen_t *len, int flags);
/* In a forked child: drops the parent's ring. */
void gp_accept_nb_fork(void);

/* 1 when fd, polled for events (POLLIN/POLLOUT), is ready now. */
int gp_fd_ready(int fd, short events);

/* write(fd, buf, n) as the cooperative hook makes it (io.c): parks until
 * everything went, the fd's timeout, or an error. Inside the runtime. */
ssize_t gp_write_coop(int fd, const void *buf, size_t n);

/* A copy of an iovec array the shim may advance as bytes move. */
struct gp_iovs {
  struct iovec *iov;
  int cnt;
  struct iovec inline_[8];
  struct iovec *heap; /* malloc'ed copy, or NULL */
};
int gp_iovs_init(struct gp_iovs *v, const struct iovec *iov, int cnt);
void gp_iovs_advance(struct gp_iovs *v, size_t n);
void gp_iovs_free(struct gp_iovs *v);
size_t gp_iovs_len(const struct iovec *iov, int cnt);

#pragma GCC visibility pop

#endif
