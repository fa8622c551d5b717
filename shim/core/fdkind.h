/* fdkind.h: how the shim drives an fd, cached in the shim's slot of the
 * runtime's per-fd record and learnt with fstat on first use.
 *
 * The shim never changes an fd's flags. A socket is driven with the
 * per-call MSG_DONTWAIT flag, a pipe with RWF_NOWAIT (preadv2, pwritev2);
 * a named FIFO (which refuses it), tty or other pollable fd is tried only
 * after poll() says it is ready, so the plain call cannot block; a
 * regular file, directory or block device is passed through.
 *
 * A hook looks its fd up once (gp__fd_get, rt.h) and passes the record
 * to the functions here and to the runtime's: the kind, the cached flags
 * and the wait all start from the record, never from the number again.
 */
#ifndef GP_FDKIND_H
#define GP_FDKIND_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "rt.h"

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

enum {
  GP_KIND_UNKNOWN = 0,
  GP_KIND_SOCK,   /* MSG_DONTWAIT forms */
  GP_KIND_FIFO,   /* RWF_NOWAIT; where refused, poll, then the plain
                   * call, writes in PIPE_BUF pieces */
  GP_KIND_POLL,   /* poll, then the plain call */
  GP_KIND_PASS,   /* never waits: the real call */
  GP_KIND_TTY,    /* a terminal: as POLL, but big writes on a pool thread */
};

/* What the shim caches about an fd, kept in the shim's slot of the fd's
 * record (gp__fd_slot): all zero when the record is made, and again when
 * the runtime forgets the fd (a close). */
struct gp_fdinfo {
  unsigned char kind;     /* GP_KIND_* (0: not known yet) */
  unsigned char cached;   /* the fields below are known */
  unsigned char nonblock; /* the program made the fd non-blocking */
  unsigned char stream;   /* a stream socket: a short read empties it */
  uint32_t epoch;         /* gp_fd_epoch when the fields below were read */
  int64_t rcvtimeo;       /* SO_RCVTIMEO in ns, 0 for none */
  int64_t sndtimeo;       /* SO_SNDTIMEO in ns, 0 for none */
  /* Facts a hook learnt where the socket was made, kept across epochs: */
  unsigned char typed;      /* stream is known (a socket's type never
                             * changes): no SO_TYPE to read */
  unsigned char timeo_zero; /* both socket timeouts are 0 as the socket
                             * was made, and no setsockopt seen since set
                             * one (gp_fd_timeo_set): none to read */
  unsigned char touched;    /* a setsockopt of a timeout was seen on the
                             * fd, or it was duplicated: its timeouts are
                             * never taken as 0 without reading them */
  unsigned char alone;      /* gp_fd_alone_mark when a hook made the file
                             * (socket, accept) and no dup, fork or fd
                             * passing may have shared it since: a close
                             * needs no epoll_ctl (gp__fd_forget_alone) */
  unsigned char spawns;     /* a listener: what its accepted sockets'
                             * timeouts start as, GP_SPAWN_* (0: not
                             * known yet) */
  int peer;               /* the other end of a pipe or socketpair made
                           * in this process, or the eventfd itself, as
                           * fd number + 1 (0: none known): a write here
                           * makes it readable (gp_fd_poke_peer) */
  unsigned char event;    /* an eventfd made here: GP_EVENT_* (0: not) */
  unsigned char no_nowait; /* RWF_NOWAIT was refused (an old kernel):
                            * poll first, then the plain call */
};

/* What the kernel gives an accepted socket of a listener (Linux; checked
 * by tests/progs/accept_facts.c). O_NONBLOCK is never inherited: the new
 * file has it exactly when accept4 had SOCK_NONBLOCK. The type is the
 * listener's. The socket timeouts depend on the family. */
enum {
  GP_SPAWN_COPY = 1, /* TCP: the new socket is a clone of the listener,
                      * made when the handshake completed: it has the
                      * timeouts the listener had then */
  GP_SPAWN_FRESH,    /* AF_UNIX: a new socket, timeouts 0 */
  GP_SPAWN_OTHER,    /* another family: read the new socket's own */
};
enum {
  GP_EVENT_COUNTER = 1, /* a read takes the whole count: it empties it */
  GP_EVENT_SEMAPHORE,   /* EFD_SEMAPHORE: a read takes 1 */
};
/* The runtime reserves GP_FD_SLOT bytes, aligned for 8, in each record. */
_Static_assert(sizeof(struct gp_fdinfo) <= GP_FD_SLOT,
               "struct gp_fdinfo outgrew the runtime's GP_FD_SLOT");
_Static_assert(_Alignof(struct gp_fdinfo) <= 8,
               "struct gp_fdinfo needs more alignment than the slot has");

/* The shim's slot of f, as the struct it holds. */
static inline struct gp_fdinfo *gp_fd_info(gp_fd *f) {
  return gp__fd_slot(f);
}

/* Learns the kind of f's fd with fstat, and records it; GP_KIND_PASS when
 * the fd is not open (the real call then fails as it should). */
int gp_fd_learn_kind(gp_fd *f);
/* The kind of f's fd: the cached one, learnt on first use. */
static inline int gp_fd_kind(gp_fd *f) {
  int k = gp_fd_info(f)->kind;
  return GP_LIKELY(k != GP_KIND_UNKNOWN) ? k : gp_fd_learn_kind(f);
}
/* Records the kind of f's fd (GP_KIND_UNKNOWN: learn it again). */
static inline void gp_fd_set_kind(gp_fd *f, int kind) {
  gp_fd_info(f)->kind = (unsigned char)kind;
}

/* Records what a hook created (socket, pipe, dup...) at fd, afresh (its
 * number may have been closed where no hook saw it: fclose). Returns the
 * record, or NULL off the scheduler thread (the table is the scheduler
 * thread's; a no-op there) or for a negative fd. */
gp_fd *gp_fd_created(int fd, int kind);
/* The fd is about to be closed by the shim, or by libc where no hook
 * sees it (fclose): the runtime forgets it (its waiters wake with EBADF)
 * and the shim's slot is zeroed. Scheduler thread only, a no-op
 * elsewhere. */
void gp_fd_closing(int fd);

/* A pipe, socketpair (a, b) or eventfd (a == b; event: GP_EVENT_*) was
 * just made and its fds recorded (gp_fd_created): each end learns the
 * other, so that a write to one wakes a coroutine parked reading the
 * other at once (gp_fd_poke_peer). Made before the runtime started (no
 * fd table yet), the pair is noted in a small list each end reads when
 * first used (gp_fd_learn_kind); a close forgets it. */
void gp_fd_pair(int a, int b, int event);

/* Bytes just went into f's fd: when its other end (gp_fd_pair) has
 * coroutines of this process parked reading it, they become ready now
 * (the first runs next), instead of waiting for the hub's next look at
 * the epoll set. Only a hint: each tries its read again at the kernel,
 * without blocking, and parks again if another reader (a forked child)
 * took the bytes. A record whose peer does not name it back (a number
 * closed and reused) wakes nobody. */
static inline void gp_fd_poke_peer(gp_fd *f) {
  int p = gp_fd_info(f)->peer;
  if (GP_LIKELY(p == 0))
    return;
  gp_fd *pf = gp__fd_find(p - 1);
  if (pf != NULL && gp_fd_info(pf)->peer == gp__fd_num(f) + 1)
    gp__fd_wake(pf, GP_IN);
}

/* 1 when a read (dir GP_IN) or write (GP_OUT) on f's fd of kind can be
 * made non-blocking by the kernel itself, per call (RWF_NOWAIT of
 * preadv2 and pwritev2): pipes and FIFOs both ways, the eventfds made
 * here for reads; unless the kernel refused it for this fd. */
static inline int gp_fd_nowait(gp_fd *f, int kind, unsigned dir) {
  const struct gp_fdinfo *in = gp_fd_info(f);
  return !in->no_nowait &&
         (kind == GP_KIND_FIFO || (in->event && dir == GP_IN));
}

/* Records what socket() or socketpair() made at fd (domain, type and
 * protocol as given): its kind, type, O_NONBLOCK (SOCK_NONBLOCK) and
 * timeouts (0), so that no call has to read them. */
void gp_fd_socket_made(int fd, int domain, int type, int protocol);
/* Records the socket fd that an accept4 with flags returned from the
 * listener l: its kind, and the facts the kernel guarantees (see
 * GP_SPAWN_*), learnt from the listener's, which are learnt once per
 * listener. Returns fd's record, or NULL where gp_fd_created gives none. */
gp_fd *gp_fd_accepted(int fd, gp_fd *l, int flags);
/* Some fd's file may be shared from now on with another process (a fork,
 * fds passed with SCM_RIGHTS): no fd made so far counts as alone. */
void gp_fd_shared_maybe(void);
/* setsockopt is about to set a socket timeout of fd: its timeouts are no
 * longer known to be 0 (nor those of sockets it may accept later), and
 * are read again at its next use: only fd's when its file is its alone
 * (alone), else every fd's (gp_fd_flags_changed). */
void gp_fd_timeo_set(int fd);

/* Bumped by every call that may change the O_NONBLOCK or socket
 * timeouts of an fd whose file another fd may share (gp_fd_flags_changed):
 * the cached values are then read again. A change on an fd whose file is
 * its alone touches its own record only (gp_fd_nonblock_now,
 * gp_fd_timeo_set). */
extern uint32_t gp_fd_epoch;
/* A call may have changed some fd's O_NONBLOCK or socket timeouts: the
 * cached values are read again on next use. */
void gp_fd_flags_changed(void);
/* A successful F_SETFL or FIONBIO just left fd's O_NONBLOCK as nonblock:
 * recorded in fd's record when its file is its alone, else as
 * gp_fd_flags_changed. */
void gp_fd_nonblock_now(int fd, int nonblock);
/* Reads f's flags and socket timeouts into its slot (learning the kind
 * first if no call did yet); returns the slot. */
const struct gp_fdinfo *gp_fd_flags_read(gp_fd *f);
/* f's cached flags and socket timeouts, read again when the epoch moved
 * since. */
static inline const struct gp_fdinfo *gp_fd_flags(gp_fd *f) {
  const struct gp_fdinfo *in = gp_fd_info(f);
  if (GP_LIKELY(in->cached &&
                in->epoch == __atomic_load_n(&gp_fd_epoch, __ATOMIC_RELAXED)))
    return in;
  return gp_fd_flags_read(f);
}
/* 1 when the program itself made the fd non-blocking. */
static inline int gp_fd_nonblock(gp_fd *f) { return gp_fd_flags(f)->nonblock; }
/* 1 for a stream socket. */
static inline int gp_fd_stream(gp_fd *f) { return gp_fd_flags(f)->stream; }

/* The result of a would-block attempt: parks the caller on f for dir
 * (GP_IN/GP_OUT) until ready, the socket timeout opt (SO_RCVTIMEO,
 * SO_SNDTIMEO, or 0 for none) or *deadline. *deadline starts at 0 and is
 * filled in on first use. Returns 0 to try again, -EAGAIN when the
 * program wants non-blocking behaviour or the socket timeout passed,
 * -EBADF when another coroutine closed the fd, -EINTR when a signal
 * interrupted the wait, -EPERM when the fd cannot be polled, -ECANCELED
 * or -ETIMEDOUT when the coroutine was killed or its Timeout passed. */
int gp_fd_block(gp_fd *f, unsigned dir, int opt, int64_t *deadline);

/* accept4 that never blocks and leaves the fd's flags alone (io_uring,
 * see accept_nb.c): the new fd, -EAGAIN when no connection is waiting,
 * another -errno as accept4 gives it, or -ENOSYS when io_uring cannot be
 * used (the caller polls, then accepts). */
int gp_accept_nb(int fd, struct sockaddr *addr, socklen_t *len, int flags);
/* 1 when gp_accept_nb is known to say EAGAIN itself when no connection
 * waits (io_uring's IORING_ACCEPT_DONTWAIT, Linux 6.10+): no poll is
 * needed before it. */
int gp_accept_nb_dontwait(void);
/* In a forked child: drops the parent's ring. */
void gp_accept_nb_fork(void);

/* 1 when fd, polled for events (POLLIN/POLLOUT), is ready now: the
 * kernel asked (gp__fd_maybe_ready is the runtime's hint). */
int gp_fd_ready_now(int fd, short events);

/* write() of the n bytes at buf to f's fd, as the cooperative hook makes
 * it (io.c): parks until everything went, the fd's timeout, or an error.
 * Inside the runtime. */
ssize_t gp_write_coop(gp_fd *f, const void *buf, size_t n);

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
