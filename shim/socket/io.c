/* io.c: moving bytes: read/write and the send/recv family.
 *
 * Every hook reduces its call to a message (struct msghdr) and hands it to
 * xfer_in or xfer_out, which follow the State Threads pattern: try the
 * operation without blocking; when it would block, park the coroutine on
 * the fd (with the socket's timeout) and try again. A program that made
 * the fd non-blocking itself gets EAGAIN as it would natively.
 *
 * A call looks its fd up once (gp__fd_get): the record then gives the
 * kind and cached flags (the shim's slot), the readiness hints and the
 * wait, on every attempt.
 *
 * Pipes and eventfds, the self-pipe and worker-pipe wake-ups of threaded
 * programs: a pipe is tried with preadv2/pwritev2's RWF_NOWAIT, which
 * cannot block, so no poll comes first (an eventfd's read likewise; its
 * write still polls first, no flag makes it non-blocking). A write to a
 * pipe, socketpair or eventfd made in this process wakes the coroutine
 * parked reading the other end at once (gp_fd_poke_peer): it runs next,
 * with no pass of the hub through the epoll set. It tries its read at the
 * kernel, and parks again on EAGAIN: another reader (a forked child) may
 * have taken the bytes. A read right after such a write lets the woken
 * reader run first (handoff_yield), so that its answer is there.
 *
 * A transfer that never parked (the data or the room was there) ends at
 * the time slice's check: a loop that always finds data gives way there
 * once its slice is spent (rt.h, gp__slice_point).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/fdkind.h"
#include "core/guard.h"
#include "core/offload.h"
#include "real.h"

/* A terminal write of up to this many bytes is made after poll() says
 * the terminal is writable; a longer one may have to wait for the reader
 * half-way (no per-call flag avoids that, and O_NONBLOCK would show in
 * every process sharing the terminal), so it runs on a pool thread. */
#define TTY_INLINE 512

/* 1 for the fds whose readiness hints the hooks keep (known_empty,
 * note_in): sockets, pipes and FIFOs, the eventfds made here. */
static int hinted(gp_fd *f, int kind) {
  return kind == GP_KIND_SOCK || kind == GP_KIND_FIFO ||
         gp_fd_info(f)->event;
}

/* Whether f's fd is known to have nothing for dir (GP_IN: no data,
 * GP_OUT: no room) since the program's last try, with no edge since: a try
 * would only fail with EAGAIN, so the caller parks at once (errno is set
 * to EAGAIN). Never for a program that asked not to block. */
static int known_empty(gp_fd *f, int kind, unsigned dir, int flags) {
  if (!hinted(f, kind) || (flags & MSG_DONTWAIT) ||
      gp__fd_maybe_ready(f, dir) || gp_fd_nonblock(f))
    return 0;
  errno = EAGAIN;
  return 1;
}

/* Records what a read showed: EAGAIN, or a short read on a stream socket
 * or pipe (not a peek), means no data is left; so does any read of an
 * eventfd counter made here, which takes the whole count. (A read of 0 is
 * the end of file: the next read returns 0 at once too.) */
static void note_in(gp_fd *f, ssize_t r, size_t want, int flags) {
  if (r < 0 ? errno == EAGAIN
            : (r > 0 && (size_t)r < want && !(flags & MSG_PEEK) &&
               gp_fd_stream(f)) ||
                  gp_fd_info(f)->event == GP_EVENT_COUNTER)
    gp__fd_seen_empty(f, GP_IN);
}

/* The coroutine whose last write went to a pipe, socketpair or eventfd
 * made here (gp_fd_pair), until its next read, and the fd number + 1 of
 * that write's other end: see handoff_yield. */
static gp_coro *wrote_paired;
static int wrote_peer;

/* Request and answer: a coroutine that has just written to a pipe,
 * socketpair or eventfd made here, and now reads one, most likely waits
 * for the answer of the coroutine its write woke (gp_fd_poke_peer). A
 * try now would only find nothing (a system call for EAGAIN) and park;
 * so the ready coroutines run first, once, and the read is tried when
 * this one's turn comes again. Never for a program that asked not to
 * block, for an fd already known empty (the read parks at once), nor for
 * the other end of that write (the bytes are there: a reader woken by
 * them would run first and may take them). */
static void handoff_yield(gp_fd *f, int flags) {
  if (GP_LIKELY(wrote_paired != gp__self()))
    return;
  wrote_paired = NULL;
  if (gp_fd_info(f)->peer != 0 && gp__fd_num(f) + 1 != wrote_peer &&
      !(flags & MSG_DONTWAIT) &&
      gp__fd_maybe_ready(f, GP_IN) && !gp_fd_nonblock(f))
    gp__yield();
}

/* Whether errno says the kernel cannot make this fd's read or write
 * non-blocking per call (RWF_NOWAIT: before Linux 4.14 for any fd, and
 * for pipes before 6.4; ENOSYS before preadv2 itself). */
static int nowait_refused(void) {
  return errno == EOPNOTSUPP || errno == ENOSYS;
}

/* A receive on a socket that cannot block. A single buffer without
 * ancillary data goes through recvfrom when the caller reads no msg_flags
 * back (flat: not recvmsg): the kernel then copies in no message header
 * and iovec, which is measurably cheaper for the small messages a server
 * under the shim spends most of its time on. */
static ssize_t sock_in(int fd, struct msghdr *m, int flags, int flat) {
  if (flat && m->msg_iovlen == 1 && m->msg_controllen == 0)
    return GP_REAL(recvfrom)(fd, m->msg_iov[0].iov_base,
                             m->msg_iov[0].iov_len, flags | MSG_DONTWAIT,
                             m->msg_name,
                             m->msg_name ? &m->msg_namelen : NULL);
  return GP_REAL(recvmsg)(fd, m, flags | MSG_DONTWAIT);
}

/* Whether the real call on a non-socket fd that poll() just found not
 * ready for dir would fail at once instead of blocking, so that it must be
 * made rather than waited for (a wait would never end for a blocking fd,
 * and a non-blocking one would see EAGAIN instead of the kernel's error):
 * a send or recv on a non-socket (ENOTSOCK), a read of a write-only fd or
 * a write of a read-only one, such as the wrong end of a pipe (EBADF), a
 * read or write of an epoll set, a read or write of less than 8 bytes on
 * an eventfd, a read of less than 8 on a timerfd (EINVAL), a transfer of
 * no bytes on a pipe (0 at once, even when it is full).  Only reached
 * on the way to a wait; errno is kept. */
static int refused_at_once(int fd, int kind, unsigned dir, int sock,
                           size_t len) {
  int saved = errno, fl, r = 0;
  char path[40], link[64];
  ssize_t n;

  if (sock || len == 0) /* ENOTSOCK; a read or write of 0 returns 0 */
    return 1;
  fl = GP_REAL(fcntl)(fd, F_GETFL);
  if (fl >= 0 && ((fl & O_PATH) ||
                  (fl & O_ACCMODE) == (dir == GP_IN ? O_WRONLY : O_RDONLY)))
    r = 1;
  else if (kind == GP_KIND_POLL) {
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = '\0';
    r = strcmp(link, "anon_inode:[eventpoll]") == 0 ||
        (len < 8 && strcmp(link, "anon_inode:[eventfd]") == 0) ||
        (len < 8 && dir == GP_IN &&
         strcmp(link, "anon_inode:[timerfd]") == 0);
  }
  errno = saved;
  return r;
}

/* One attempt on f's fd that cannot block, or a real call for fds that
 * never wait. sock: the call was one of the recv family; flat: see
 * sock_in. */
static ssize_t try_in(gp_fd *f, int kind, struct msghdr *m, int flags,
                      int sock, int flat) {
  int fd = gp__fd_num(f);
  if (kind == GP_KIND_SOCK)
    return sock_in(fd, m, flags, flat);
  if (!sock && gp_fd_nowait(f, kind, GP_IN)) { /* no poll needed first */
    ssize_t r = GP_REAL(preadv2)(fd, m->msg_iov, (int)m->msg_iovlen, -1,
                                 RWF_NOWAIT);
    if (r >= 0 || !nowait_refused())
      return r;
    gp_fd_info(f)->no_nowait = 1;
  }
  if (kind != GP_KIND_PASS && !gp_fd_nonblock(f) &&
      !gp_fd_ready_now(fd, POLLIN) &&
      !refused_at_once(fd, kind, GP_IN, sock,
                       gp_iovs_len(m->msg_iov, (int)m->msg_iovlen))) {
    errno = EAGAIN;
    return -1;
  }
  if (sock)
    return GP_REAL(recvmsg)(fd, m, flags);
  if (kind == GP_KIND_PASS && (gp_conf.families & GP_FAM_FILE))
    return gp_file_rw(fd, m->msg_iov, (int)m->msg_iovlen, 0);
  return GP_REAL(readv)(fd, m->msg_iov, (int)m->msg_iovlen);
}

/* x.deadline once the socket's timeout passed: the next try is the last. */
#define TIMED_OUT INT64_MIN

/* After an attempt on f's fd for dir failed (errno says why): 1 to try
 * again, after parking while the fd would block (until the socket's
 * timeout, kept in *deadline); 0 to give up with the error in errno.
 * sock: the call was of the send/recv family. */
static int again(gp_fd *f, int kind, unsigned dir, int flags, int sock,
                 int64_t *deadline) {
  if (errno == ENOTSOCK && kind == GP_KIND_SOCK) {
    gp_fd_set_kind(f, GP_KIND_UNKNOWN); /* stale: learn it again */
    return 1;
  }
  if ((errno != EAGAIN && errno != EWOULDBLOCK) || (flags & MSG_DONTWAIT))
    return 0;
  int opt = 0;
  if (sock || kind == GP_KIND_SOCK)
    opt = dir == GP_IN ? SO_RCVTIMEO : SO_SNDTIMEO;
  if (*deadline == TIMED_OUT)
    return 0; /* the last try after the timeout failed too */
  int err = gp_fd_block(f, dir, opt, deadline);
  if (err == -EPERM) { /* cannot be polled: the plain call from now on */
    gp_fd_set_kind(f, GP_KIND_PASS);
    return 1;
  }
  if (err == -EAGAIN && opt && *deadline != 0) { /* 0: non-blocking fd */
    /* The socket's timeout passed: one last try, since data or room that
     * came in time counts (the loop may run the timer before the event
     * when the process was late, fuzz seed 1267). */
    *deadline = TIMED_OUT;
    return 1;
  }
  if (err) {
    errno = -err;
    return 0;
  }
  return 1;
}

/* A transfer in progress: a copy of the caller's iovec that advances as
 * bytes move, the rest of the message pointing into it, and what moved. */
struct xfer {
  struct gp_iovs v;
  struct msghdr cur; /* the rest of the message */
  size_t done;       /* bytes moved */
  int64_t deadline;  /* 0 until a wait set it (gp_fd_block) */
  int saved;         /* errno as the caller had it */
  int failed;        /* nothing moved at the end and errno says why */
};

/* Starts a transfer of m on f's fd (f NULL: a negative fd). Returns 0, or
 * -1 with errno (EBADF, ENOMEM). */
static int xfer_begin(struct xfer *x, gp_fd *f, const struct msghdr *m) {
  if (f == NULL) /* a negative fd is never open */
    return gp_ret(-EBADF);
  x->saved = errno;
  x->done = 0;
  x->deadline = 0;
  x->failed = 0;
  int err = gp_iovs_init(&x->v, m->msg_iov, (int)m->msg_iovlen);
  if (err)
    return gp_ret(err);
  x->cur = *m;
  x->cur.msg_iov = x->v.iov;
  return 0;
}

/* n more bytes moved: the rest of the message starts after them, without
 * the ancillary data, which went with the first part. */
static void xfer_moved(struct xfer *x, size_t n) {
  x->done += n;
  gp_iovs_advance(&x->v, n);
  x->cur.msg_iov = x->v.iov;
  x->cur.msg_iovlen = (size_t)x->v.cnt;
  x->cur.msg_control = NULL;
  x->cur.msg_controllen = 0;
}

/* Ends a transfer: a hook that never parked gives way here when its time
 * slice is spent (a loop that always finds data); returns what moved
 * (errno as the caller had it), or -1 with errno when nothing did and the
 * last attempt failed. */
static ssize_t xfer_end(struct xfer *x) {
  if (x->deadline == 0) /* never parked: gp_fd_block sets it first */
    gp__slice_point();
  gp_iovs_free(&x->v);
  if (x->done > 0 || !x->failed) {
    errno = x->saved;
    return (ssize_t)x->done;
  }
  return -1;
}

/* Receives from f's fd as the blocking call would: one successful
 * attempt is enough, except with MSG_WAITALL, which waits for the whole
 * buffer. sock: the call was one of the recv family (a non-socket gets
 * ENOTSOCK); flat: the caller does not read m->msg_flags back (every call
 * but recvmsg). f NULL: a negative fd. */
static ssize_t xfer_in(gp_fd *f, struct msghdr *m, int flags, int sock,
                       int flat) {
  struct xfer x;
  if (xfer_begin(&x, f, m) != 0)
    return -1;
  handoff_yield(f, flags);
  for (;;) {
    int kind = gp_fd_kind(f);
    /* The hint may skip the first try only: after a wait, always try. */
    ssize_t r = x.deadline == 0 && known_empty(f, kind, GP_IN, flags)
                    ? -1
                    : try_in(f, kind, &x.cur, flags, sock, flat);
    if (hinted(f, kind))
      note_in(f, r, gp_iovs_len(x.cur.msg_iov, (int)x.cur.msg_iovlen),
              flags);
    if (r >= 0) {
      m->msg_namelen = x.cur.msg_namelen;
      m->msg_controllen = x.cur.msg_controllen;
      m->msg_flags = x.cur.msg_flags;
      xfer_moved(&x, (size_t)r);
      if (!(flags & MSG_WAITALL) || r == 0 || x.v.cnt == 0 ||
          kind != GP_KIND_SOCK)
        break;
    } else if (!again(f, kind, GP_IN, flags, sock, &x.deadline)) {
      x.failed = 1;
      break;
    }
  }
  return xfer_end(&x);
}

struct tty_call {
  int fd;
  const struct iovec *iov;
  int cnt;
  ssize_t r;
};

static void tty_fn(void *p) {
  struct tty_call *c = p;
  c->r = GP_REAL(writev)(c->fd, c->iov, c->cnt);
}

/* The whole blocking write on a pool thread (or here, when no pool
 * thread can start). */
static ssize_t tty_write(int fd, const struct iovec *iov, int cnt) {
  struct tty_call c = {fd, iov, cnt, -1};
  if (gp_offload(GP_LANE_PEER, tty_fn, &c) != 0)
    return GP_REAL(writev)(fd, iov, cnt);
  return c.r;
}

/* A send on a socket that cannot block: a single buffer without
 * ancillary data through sendto, which copies in no message header (see
 * sock_in; sendmsg gives nothing back in the header). */
static ssize_t sock_out(int fd, const struct msghdr *m, int flags) {
  if (m->msg_iovlen == 1 && m->msg_controllen == 0)
    return GP_REAL(sendto)(fd, m->msg_iov[0].iov_base, m->msg_iov[0].iov_len,
                           flags | MSG_DONTWAIT, m->msg_name,
                           m->msg_namelen);
  return GP_REAL(sendmsg)(fd, m, flags | MSG_DONTWAIT);
}

/* One attempt at sending on f's fd; pipes take what fits with
 * RWF_NOWAIT (the kernel keeps writes of up to PIPE_BUF whole), or, where
 * the kernel refuses it, at most PIPE_BUF bytes after poll says they are
 * writable, which cannot block.  An fd the program made non-blocking gets
 * the plain call at once, as natively: a poll first would refuse a small
 * write that the kernel still packs into a full pipe's last page (POLLOUT
 * needs a free page), and PIPE_BUF pieces would fill the pages
 * differently. */
static ssize_t try_out(gp_fd *f, int kind, struct msghdr *m, int flags,
                       int sock) {
  int fd = gp__fd_num(f);
  if (kind == GP_KIND_SOCK)
    return sock_out(fd, m, flags);
  if (!sock && gp_fd_nowait(f, kind, GP_OUT)) {
    ssize_t r = GP_REAL(pwritev2)(fd, m->msg_iov, (int)m->msg_iovlen, -1,
                                  RWF_NOWAIT);
    if (r >= 0 || !nowait_refused())
      return r;
    gp_fd_info(f)->no_nowait = 1;
  }
  if (kind == GP_KIND_TTY && !sock &&
      gp_iovs_len(m->msg_iov, (int)m->msg_iovlen) > TTY_INLINE &&
      !gp_fd_nonblock(f))
    return tty_write(fd, m->msg_iov, (int)m->msg_iovlen);
  if (kind != GP_KIND_PASS && !gp_fd_nonblock(f) &&
      !gp_fd_ready_now(fd, POLLOUT) &&
      !refused_at_once(fd, kind, GP_OUT, sock,
                       gp_iovs_len(m->msg_iov, (int)m->msg_iovlen))) {
    errno = EAGAIN;
    return -1;
  }
  if (sock)
    return GP_REAL(sendmsg)(fd, m, flags);
  if (kind == GP_KIND_PASS && (gp_conf.families & GP_FAM_FILE))
    return gp_file_rw(fd, m->msg_iov, (int)m->msg_iovlen, 1);
  if (kind != GP_KIND_FIFO || gp_fd_nonblock(f) ||
      gp_iovs_len(m->msg_iov, (int)m->msg_iovlen) <= PIPE_BUF)
    return GP_REAL(writev)(fd, m->msg_iov, (int)m->msg_iovlen);
  /* Non-atomic anyway (over PIPE_BUF): send the first PIPE_BUF bytes. */
  struct iovec one[1];
  size_t want = PIPE_BUF;
  int i = 0;
  while (m->msg_iov[i].iov_len == 0)
    i++;
  one[0].iov_base = m->msg_iov[i].iov_base;
  one[0].iov_len = m->msg_iov[i].iov_len < want ? m->msg_iov[i].iov_len
                                                 : want;
  return GP_REAL(writev)(fd, one, 1);
}

/* Sends the whole message to f's fd as a blocking call would, unless the
 * program made the fd non-blocking (then one attempt, as natively).
 * Returns the bytes sent, or -1 with errno; a timeout or error after
 * some bytes went out returns what was sent. f NULL: a negative fd. */
static ssize_t xfer_out(gp_fd *f, struct msghdr *m, int flags, int sock) {
  struct xfer x;
  if (xfer_begin(&x, f, m) != 0)
    return -1;
  size_t total = gp_iovs_len(x.v.iov, x.v.cnt);
  for (;;) {
    int kind = gp_fd_kind(f);
    /* Always a real try, never known_empty: a socket seen full can fail
     * with no edge in between (EPIPE once an AF_UNIX peer called
     * shutdown(SHUT_RD), which wakes this end with no event to report),
     * and natively that send fails at once (fd_misuse, fuzz seed 28). */
    ssize_t r = try_out(f, kind, &x.cur, flags, sock);
    if (r >= 0) {
      if (r > 0 && gp_fd_info(f)->peer != 0) {
        gp_fd_poke_peer(f); /* a reader parked on the other end */
        wrote_paired = gp__self();
        wrote_peer = gp_fd_info(f)->peer;
      }
      xfer_moved(&x, (size_t)r);
      if (x.done >= total)
        break;
      if (r > 0 && gp_fd_nonblock(f))
        break; /* a non-blocking program takes the partial write */
    } else if (!again(f, kind, GP_OUT, flags, sock, &x.deadline)) {
      x.failed = 1;
      break;
    }
  }
  return xfer_end(&x);
}

/* The common prologue: real call unless a coroutine may park here. */
#define GP_IO_HOOK(real_call, coop_call)                                    \
  do {                                                                      \
    if (!gp_coop(GP_FAM_SOCKET) || gp__live() <= 1)                         \
      return real_call;                                                     \
    gp_enter();                                                             \
    gp_cancel_point();                                                      \
    ssize_t r_ = coop_call;                                                 \
    gp_leave();                                                             \
    return r_;                                                              \
  } while (0)

static ssize_t in1(int fd, void *buf, size_t n, int flags, int sock,
                   struct sockaddr *from, socklen_t *fromlen) {
  struct iovec iov = {buf, n};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  if (from && fromlen) {
    m.msg_name = from;
    m.msg_namelen = *fromlen;
  }
  ssize_t r = xfer_in(gp__fd_get(fd), &m, flags, sock, 1);
  if (r >= 0 && from && fromlen)
    *fromlen = m.msg_namelen;
  return r;
}

static ssize_t out1(int fd, const void *buf, size_t n, int flags, int sock,
                    const struct sockaddr *to, socklen_t tolen) {
  struct iovec iov = {(void *)buf, n};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1,
                     .msg_name = (void *)to, .msg_namelen = to ? tolen : 0};
  return xfer_out(gp__fd_get(fd), &m, flags, sock);
}

ssize_t gp_write_coop(gp_fd *f, const void *buf, size_t n) {
  struct iovec iov = {(void *)buf, n};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  return xfer_out(f, &m, 0, 0);
}

static ssize_t inv(int fd, const struct iovec *iov, int cnt) {
  if (cnt < 0 || cnt > IOV_MAX)
    return gp_ret(-EINVAL);
  struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt};
  return xfer_in(gp__fd_get(fd), &m, 0, 0, 1);
}

static ssize_t outv(int fd, const struct iovec *iov, int cnt) {
  if (cnt < 0 || cnt > IOV_MAX)
    return gp_ret(-EINVAL);
  struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt};
  return xfer_out(gp__fd_get(fd), &m, 0, 0);
}

static ssize_t do_read(int fd, void *buf, size_t n) {
  GP_IO_HOOK(GP_REAL(read)(fd, buf, n), in1(fd, buf, n, 0, 0, NULL, NULL));
}

GP_EXPORT ssize_t read(int fd, void *buf, size_t n) {
  return do_read(fd, buf, n);
}

GP_EXPORT ssize_t write(int fd, const void *buf, size_t n) {
  GP_IO_HOOK(GP_REAL(write)(fd, buf, n), out1(fd, buf, n, 0, 0, NULL, 0));
}

GP_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt) {
  GP_IO_HOOK(GP_REAL(readv)(fd, iov, cnt), inv(fd, iov, cnt));
}

GP_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt) {
  GP_IO_HOOK(GP_REAL(writev)(fd, iov, cnt), outv(fd, iov, cnt));
}

static ssize_t do_recv(int fd, void *buf, size_t n, int flags) {
  GP_IO_HOOK(GP_REAL(recv)(fd, buf, n, flags),
             in1(fd, buf, n, flags, 1, NULL, NULL));
}

GP_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags) {
  return do_recv(fd, buf, n, flags);
}

static ssize_t do_recvfrom(int fd, void *buf, size_t n, int flags,
                           struct sockaddr *from, socklen_t *fromlen) {
  GP_IO_HOOK(GP_REAL(recvfrom)(fd, buf, n, flags, from, fromlen),
             in1(fd, buf, n, flags, 1, from, fromlen));
}

GP_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
                           struct sockaddr *from, socklen_t *fromlen) {
  return do_recvfrom(fd, buf, n, flags, from, fromlen);
}

/* The _FORTIFY_SOURCE entry points Debian's binaries call: check the
 * buffer as glibc does, then the same hook. */
extern void __chk_fail(void) __attribute__((noreturn));

GP_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen) {
  if (n > buflen)
    __chk_fail();
  return do_read(fd, buf, n);
}

GP_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen,
                             int flags) {
  if (n > buflen)
    __chk_fail();
  return do_recv(fd, buf, n, flags);
}

GP_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
                                 int flags, struct sockaddr *from,
                                 socklen_t *fromlen) {
  if (n > buflen)
    __chk_fail();
  return do_recvfrom(fd, buf, n, flags, from, fromlen);
}

GP_EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags) {
  GP_IO_HOOK(GP_REAL(recvmsg)(fd, m, flags),
             xfer_in(gp__fd_get(fd), m, flags, 1, 0));
}

GP_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags) {
  GP_IO_HOOK(GP_REAL(send)(fd, buf, n, flags),
             out1(fd, buf, n, flags, 1, NULL, 0));
}

GP_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
                         const struct sockaddr *to, socklen_t tolen) {
  GP_IO_HOOK(GP_REAL(sendto)(fd, buf, n, flags, to, tolen),
             out1(fd, buf, n, flags, 1, to, tolen));
}

GP_EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags) {
  if (m != NULL && m->msg_controllen > 0)
    gp_fd_shared_maybe(); /* it may pass fds (SCM_RIGHTS) */
  GP_IO_HOOK(GP_REAL(sendmsg)(fd, m, flags),
             xfer_out(gp__fd_get(fd), (struct msghdr *)m, flags, 1));
}
