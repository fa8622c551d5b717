/* fdkind.c: the shim's slot of the per-fd record (the fd's kind, the
 * program's O_NONBLOCK and socket timeouts), waiting after EAGAIN, and
 * iovec cursors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
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

/* Pairs made before the runtime started, when there is no fd table yet
 * (gp_fd_pair): one thread then, so a plain array. Each end takes its
 * entry when it is first used after the start (learn_early); a close
 * through the hooks drops it. Past EARLY_MAX pairs, the later ones get no
 * direct wake-up: their readers wait for the epoll set, as any fd's. */
#define EARLY_MAX 32
static struct early {
  int fd, peer;        /* fd's other end is peer */
  unsigned char event; /* GP_EVENT_* for an eventfd */
} early[EARLY_MAX];
static int nearly;

static void early_add(int fd, int peer, int event) {
  if (nearly < EARLY_MAX)
    early[nearly++] = (struct early){fd, peer, (unsigned char)event};
}

/* Drops fd's entry (the latest, if fd was noted twice). */
static void early_drop(int fd) {
  for (int i = nearly - 1; i >= 0; i--)
    if (early[i].fd == fd) {
      early[i] = early[--nearly];
      return;
    }
}

/* The pair f's fd was noted in before the start, if any, is recorded in
 * its slot, and the entry dropped. */
static void learn_early(gp_fd *f) {
  int fd = gp__fd_num(f);
  for (int i = nearly - 1; i >= 0; i--)
    if (early[i].fd == fd) {
      gp_fd_info(f)->peer = early[i].peer + 1;
      gp_fd_info(f)->event = early[i].event;
      early_drop(fd);
      return;
    }
}

/* Records that f's fd makes peer readable when written. */
static void pair_one(gp_fd *f, int peer, int event) {
  if (f != NULL) {
    gp_fd_info(f)->peer = peer + 1;
    gp_fd_info(f)->event = (unsigned char)event;
  }
}

void gp_fd_pair(int a, int b, int event) {
  if (a < 0 || b < 0)
    return;
  if (gp__sched_here()) {
    unsigned char was = gp__inside_enter();
    pair_one(gp__fd_get(a), b, event);
    pair_one(gp__fd_get(b), a, event);
    gp__inside_restore(was);
  } else if (!gp__rt_started()) {
    early_drop(a);
    early_drop(b);
    early_add(a, b, event);
    if (b != a)
      early_add(b, a, event);
  }
}

int gp_fd_learn_kind(gp_fd *f) {
  int fd = gp__fd_num(f), k;
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
  if (GP_UNLIKELY(nearly > 0) && gp__sched_here())
    learn_early(f);
  gp_fd_set_kind(f, k);
  return k;
}

gp_fd *gp_fd_created(int fd, int kind) {
  if (fd < 0 || !gp__sched_here())
    return NULL; /* the table belongs to the scheduler thread */
  unsigned char was = gp__inside_enter();
  gp_fd *f = gp__fd_get(fd);
  gp__fd_forget(f); /* a number reused without our close: start afresh */
  if (GP_UNLIKELY(nearly > 0))
    early_drop(fd);
  gp_fd_set_kind(f, kind);
  gp__inside_restore(was);
  return f;
}

/* The mark of the fds made alone since the last fork or fd passing
 * (fdkind.h, alone); 0 once it would wrap: then none is. */
static unsigned char alone_mark = 1;

void gp_fd_shared_maybe(void) {
  unsigned char m = __atomic_load_n(&alone_mark, __ATOMIC_RELAXED);
  if (m != 0)
    __atomic_store_n(&alone_mark, (unsigned char)(m + 1), __ATOMIC_RELAXED);
}

/* Records that a hook just made f's file, which no other fd shares. */
static void made_alone(struct gp_fdinfo *in) {
  in->alone = __atomic_load_n(&alone_mark, __ATOMIC_RELAXED);
}

/* 1 when no other fd, here or in another process, may share in's file:
 * a change of its flags or timeouts reaches no other record. */
static int is_alone(const struct gp_fdinfo *in) {
  unsigned char a = in->alone;
  return a != 0 && a == __atomic_load_n(&alone_mark, __ATOMIC_RELAXED);
}

void gp_fd_closing(int fd) {
  if (fd >= 0 && nearly > 0 && (gp__sched_here() || !gp__rt_started()))
    early_drop(fd);
  if (fd < 0 || !gp__sched_here())
    return;
  unsigned char was = gp__inside_enter();
  gp_fd *f = gp__fd_find(fd);
  if (f != NULL) {
    if (is_alone(gp_fd_info(f)))
      gp__fd_forget_alone(f);
    else
      gp__fd_forget(f);
  }
  gp__inside_restore(was);
}

/* A change through a dup of the fd, or by another process sharing the
 * file, is caught the same way or at the next epoch. Starts at 1, so that
 * a zeroed slot is never current. */
uint32_t gp_fd_epoch = 1;

void gp_fd_flags_changed(void) {
  __atomic_add_fetch(&gp_fd_epoch, 1, __ATOMIC_RELAXED);
}

/* The record of fd when its file is fd's alone, else NULL; call inside
 * the runtime, on the scheduler thread. */
static struct gp_fdinfo *alone_info(int fd) {
  gp_fd *f = gp__fd_find(fd);
  return f != NULL && is_alone(gp_fd_info(f)) ? gp_fd_info(f) : NULL;
}

/* A daemon that turns O_NONBLOCK on and off around each hand-over of a
 * connection (varnish's waiter, FIONBIO) would otherwise make every
 * other fd read its flags and timeouts again (three system calls each)
 * at its next use. */
void gp_fd_nonblock_now(int fd, int nonblock) {
  if (fd < 0 || !gp__sched_here()) {
    gp_fd_flags_changed();
    return;
  }
  unsigned char was = gp__inside_enter();
  struct gp_fdinfo *in = alone_info(fd);
  if (in != NULL)
    in->nonblock = (unsigned char)(nonblock != 0);
  else
    gp_fd_flags_changed();
  gp__inside_restore(was);
}

static int64_t timeo_ns(int fd, int opt) {
  struct timeval tv = {0, 0};
  socklen_t len = sizeof tv;
  if (getsockopt(fd, SOL_SOCKET, opt, &tv, &len) != 0)
    return 0;
  return (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000;
}

/* Set for good when a socket timeout was set where no record could note
 * it (off the scheduler thread, or before the runtime started): then no
 * socket's timeouts are taken as known to be 0. */
static int timeo_untracked;

/* 1 when f's socket timeouts are known to be 0 without reading them. */
static int timeo_known_zero(const struct gp_fdinfo *in) {
  return in->timeo_zero && !in->touched &&
         !__atomic_load_n(&timeo_untracked, __ATOMIC_RELAXED);
}

void gp_fd_timeo_set(int fd) {
  if (!gp__sched_here()) {
    __atomic_store_n(&timeo_untracked, 1, __ATOMIC_RELAXED);
    gp_fd_flags_changed();
    return;
  }
  unsigned char was = gp__inside_enter();
  gp_fd *f = gp__fd_get(fd);
  if (f != NULL) {
    gp_fd_info(f)->touched = 1;
    gp_fd_info(f)->timeo_zero = 0;
  }
  if (f != NULL && is_alone(gp_fd_info(f)))
    gp_fd_info(f)->cached = 0; /* read again at its next use */
  else
    gp_fd_flags_changed();
  gp__inside_restore(was);
}

/* What the accepted sockets of a listener of this domain, type (without
 * flags) and protocol start with: GP_SPAWN_*. */
static int spawn_kind(int domain, int type, int protocol) {
  if (domain == AF_UNIX)
    return GP_SPAWN_FRESH;
  if ((domain == AF_INET || domain == AF_INET6) && type == SOCK_STREAM &&
      (protocol == 0 || protocol == IPPROTO_TCP))
    return GP_SPAWN_COPY;
  return GP_SPAWN_OTHER;
}

void gp_fd_socket_made(int fd, int domain, int type, int protocol) {
  gp_fd *f = gp_fd_created(fd, GP_KIND_SOCK);
  if (f == NULL)
    return;
  struct gp_fdinfo *in = gp_fd_info(f);
  int base = type & 0xf; /* without SOCK_NONBLOCK and SOCK_CLOEXEC */
  in->typed = 1;
  in->stream = base == SOCK_STREAM;
  in->spawns = (unsigned char)spawn_kind(domain, base, protocol);
  in->timeo_zero = 1; /* the kernel's default */
  in->nonblock = (type & SOCK_NONBLOCK) != 0;
  in->rcvtimeo = in->sndtimeo = 0;
  in->epoch = __atomic_load_n(&gp_fd_epoch, __ATOMIC_RELAXED);
  in->cached = 1;
  made_alone(in);
}

static int sockopt_int(int fd, int opt, int *v) {
  socklen_t len = sizeof *v;
  return getsockopt(fd, SOL_SOCKET, opt, v, &len);
}

/* Learns, once per listener, what its accepted sockets start with (its
 * family), its type, and whether its timeouts are 0 (when no timeout was
 * ever set where the shim could not see it, the listener's are as they
 * are now until a setsockopt the hook sees). errno kept. */
static void learn_listener(gp_fd *l) {
  struct gp_fdinfo *in = gp_fd_info(l);
  int fd = gp__fd_num(l), saved = errno, dom, type, proto;
  if (sockopt_int(fd, SO_DOMAIN, &dom) != 0 ||
      sockopt_int(fd, SO_TYPE, &type) != 0 ||
      sockopt_int(fd, SO_PROTOCOL, &proto) != 0) {
    in->spawns = GP_SPAWN_OTHER;
    errno = saved;
    return;
  }
  in->typed = 1;
  in->stream = type == SOCK_STREAM;
  in->spawns = (unsigned char)spawn_kind(dom, type, proto);
  if (!in->touched && !__atomic_load_n(&timeo_untracked, __ATOMIC_RELAXED))
    in->timeo_zero = timeo_ns(fd, SO_RCVTIMEO) == 0 &&
                     timeo_ns(fd, SO_SNDTIMEO) == 0;
  errno = saved;
}

gp_fd *gp_fd_accepted(int fd, gp_fd *l, int flags) {
  gp_fd *f = gp_fd_created(fd, GP_KIND_SOCK);
  if (f == NULL || l == NULL)
    return f;
  struct gp_fdinfo *lin = gp_fd_info(l), *in = gp_fd_info(f);
  made_alone(in);
  if (!lin->spawns)
    learn_listener(l);
  if (lin->spawns == GP_SPAWN_OTHER)
    return f; /* everything is read on first use */
  in->typed = lin->typed;
  in->stream = lin->stream;
  in->timeo_zero = lin->spawns == GP_SPAWN_FRESH || timeo_known_zero(lin);
  in->nonblock = (flags & SOCK_NONBLOCK) != 0;
  in->rcvtimeo = in->sndtimeo = 0;
  in->epoch = __atomic_load_n(&gp_fd_epoch, __ATOMIC_RELAXED);
  in->cached = timeo_known_zero(in); /* else the timeouts are read */
  return f;
}

const struct gp_fdinfo *gp_fd_flags_read(gp_fd *f) {
  struct gp_fdinfo *in = gp_fd_info(f);
  int fd = gp__fd_num(f);
  uint32_t epoch = __atomic_load_n(&gp_fd_epoch, __ATOMIC_RELAXED);
  int fl = GP_REAL(fcntl)(fd, F_GETFL);
  in->nonblock = fl >= 0 && (fl & O_NONBLOCK);
  in->rcvtimeo = in->sndtimeo = 0;
  int type = 0;
  /* The kind may not be known yet: accept and connect reach this before
   * any read on a socket made before the runtime started. What a hook
   * learnt where the socket was made is not read again. */
  int kind = gp_fd_kind(f);
  if (kind == GP_KIND_SOCK) {
    if (!timeo_known_zero(in)) {
      in->rcvtimeo = timeo_ns(fd, SO_RCVTIMEO);
      in->sndtimeo = timeo_ns(fd, SO_SNDTIMEO);
    }
    if (!in->typed) {
      in->stream = sockopt_int(fd, SO_TYPE, &type) == 0 &&
                   type == SOCK_STREAM;
      in->typed = in->stream || type != 0;
    }
  } else {
    /* A pipe is a byte stream, unless made with O_DIRECT (packets, one
     * per read: a short read then leaves the next one). */
    in->stream = kind == GP_KIND_FIFO && fl >= 0 && !(fl & O_DIRECT);
  }
  in->epoch = epoch;
  in->cached = 1;
  return in;
}

int gp_fd_ready_now(int fd, short events) {
  struct pollfd p = {.fd = fd, .events = events};
  return GP_REAL(poll)(&p, 1, 0) != 0;
}

int gp_fd_block(gp_fd *f, unsigned dir, int opt, int64_t *deadline) {
  if (*deadline == 0) {
    const struct gp_fdinfo *in = gp_fd_flags(f);
    if (in->nonblock)
      return -EAGAIN;
    int64_t t = !opt ? 0 : opt == SO_RCVTIMEO ? in->rcvtimeo : in->sndtimeo;
    /* POSIX: no timeout, and {0, 0} means forever. */
    *deadline = t > 0 ? gp__now() + t : GP_NEVER;
  }
  /* A socket with a timeout is interrupted even with SA_RESTART. */
  struct gp_intr in;
  gp_intr_begin(&in, opt != 0 && *deadline != GP_NEVER);
  int r = gp__fd_wait(f, dir, *deadline);
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
