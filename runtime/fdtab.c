/* fdtab.c: per-fd state, and the epoll set the hub watches ("netpoll").
 *
 * libuv allows one uv_poll_t per fd and sets O_NONBLOCK on every fd it
 * polls, which would change flags the program (and other processes
 * sharing the file) can see. So the runtime keeps its own epoll set, which
 * the loop watches as a single fd, and never touches a program fd's flags.
 * An fd is added once, edge-triggered for every direction, at its first
 * wait, and removed when it is closed: a wait costs no system call. The
 * hooks try the operation first and wait only after it would block, so an
 * edge can never be missed; a stale edge only makes them try once more.
 * Edges also clear the fd's "seen empty" hints: a hook that saw a socket
 * empty (EAGAIN, or a short read) parks at once on its next call instead of
 * asking the kernel again, unless an edge came meanwhile. An edge that
 * arrives before the hook parks is still in the epoll set's ready list, so
 * the park ends as soon as the hub dispatches it. Once an edge reported a
 * hang-up or an error, the hints stay off: data and FIN (or RST) may come
 * in one edge, and after a short read of the data only a try sees the
 * end of file.
 *
 * The table is a directory of fixed chunks of records, so a record never
 * moves (waiter lists and the hooks point into it) and the table grows
 * with the fds the process uses:
 *
 *   dir --> [0] --> | rec 0 | rec 1 | ... | rec CHUNK-1 |   fds 0..1023
 *           [1] --> NULL                                    (none used)
 *           [2] --> | rec 2048 | ...                    |   fds 2048..
 *
 *   one record: | shim's slot (GP_FD_SLOT) | fd | waiters | gen | hints |
 *
 * The shim's slot is zeroed by gp__fd_forget and never read here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "coro.h"
#include "real.h"

#define CHUNK 1024

struct gp_fd {
  struct gp_fd_head head; /* the shim's slot and the fd number */
  gp_list waiters;        /* gp_fdwait records of parked coroutines */
  uint32_t gen;           /* bumped when the fd is closed: stale events */
  unsigned char added;    /* in the epoll set */
  unsigned char empty;    /* GP_IN/GP_OUT seen empty, no edge since */
  unsigned char hup;      /* a hang-up or error was reported: no hints */
};
/* gp__fd_slot and gp__fd_num (rt.h) read the head through the record. */
_Static_assert(offsetof(struct gp_fd, head) == 0, "the head comes first");

static gp_fd **dir;
static size_t dir_len;
static int epfd = -1;
static size_t nwaiters;

int gp__netpoll_fd(void) {
  if (epfd < 0) {
    epfd = GP_REAL(epoll_create1)(EPOLL_CLOEXEC);
    GP_ASSERT(epfd >= 0);
  }
  return epfd;
}

size_t gp__netpoll_waiters(void) { return nwaiters; }

/* In a forked child. The epoll set is a kernel object the child shares
 * with its parent: one EPOLL_CTL_DEL here would remove the parent's
 * registration. So a new, empty set takes the old one's number (which
 * the loop watches), every fd counts as not added, and the waiter lists,
 * whose records lay on the stacks of coroutines that did not survive,
 * start empty. */
void gp__netpoll_fork(void) {
  if (epfd >= 0) {
    int fresh = GP_REAL(epoll_create1)(EPOLL_CLOEXEC);
    GP_ASSERT(fresh >= 0);
    GP_ASSERT(GP_REAL(dup3)(fresh, epfd, O_CLOEXEC) == epfd);
    GP_REAL(close)(fresh);
  }
  for (size_t d = 0; d < dir_len; d++) {
    if (dir[d] == NULL)
      continue;
    for (size_t i = 0; i < CHUNK; i++) {
      gp__list_init(&dir[d][i].waiters);
      dir[d][i].added = 0;
      dir[d][i].empty = 0; /* no edge can be missed: try again first */
      dir[d][i].gen++;
    }
  }
  nwaiters = 0;
}

/* A new chunk for fds d * CHUNK and up: zeroed, numbered, lists empty. */
static gp_fd *chunk_new(size_t d) {
  gp_fd *c = calloc(CHUNK, sizeof *c);
  GP_ASSERT(c != NULL);
  for (size_t i = 0; i < CHUNK; i++) {
    c[i].head.fd = (int)(d * CHUNK + i);
    gp__list_init(&c[i].waiters);
  }
  return c;
}

/* Makes dir long enough for index d. */
static void dir_grow(size_t d) {
  size_t n = dir_len ? dir_len : 16;
  while (n <= d)
    n *= 2;
  gp_fd **nd = realloc(dir, n * sizeof *nd);
  GP_ASSERT(nd != NULL);
  memset(nd + dir_len, 0, (n - dir_len) * sizeof *nd);
  dir = nd;
  dir_len = n;
}

/* The record of fd when its chunk exists, else NULL. */
static inline gp_fd *find(int fd) {
  size_t d = (size_t)fd / CHUNK;
  if (fd < 0 || d >= dir_len || dir[d] == NULL)
    return NULL;
  return &dir[d][(size_t)fd % CHUNK];
}

/* The record of fd >= 0, its chunk (and the directory) made first: apart,
 * so that the lookup every hook makes saves no registers for it. */
static __attribute__((noinline, cold)) gp_fd *make(int fd) {
  size_t d = (size_t)fd / CHUNK;
  if (d >= dir_len)
    dir_grow(d);
  if (dir[d] == NULL)
    dir[d] = chunk_new(d);
  return &dir[d][(size_t)fd % CHUNK];
}

gp_fd *gp__fd_find(int fd) { return find(fd); }

gp_fd *gp__fd_get(int fd) {
  gp_fd *f = find(fd);
  return GP_LIKELY(f != NULL) || fd < 0 ? f : make(fd);
}

int gp__fd_maybe_ready(const gp_fd *f, unsigned dir) {
  return f->hup || !(f->empty & dir);
}

void gp__fd_seen_empty(gp_fd *f, unsigned dir) {
  /* Only an fd in the epoll set gets the edge that clears the hint: for
   * one never waited on, the hint would stay after data came (a read with
   * SO_RCVTIMEO then parked on data already there, fuzz seed 1267). */
  if (f->added)
    f->empty |= (unsigned char)dir;
}

/* Adds f's fd to the epoll set. -EPERM: it cannot be polled (a regular
 * file); -EBADF: not open. */
static int add(gp_fd *f) {
  if (f->added)
    return 0;
  int fd = f->head.fd;
  struct epoll_event ev = {
    .events = EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP | EPOLLET,
    .data.u64 = (uint64_t)(uint32_t)fd | (uint64_t)f->gen << 32,
  };
  int ep = gp__netpoll_fd();
  if (GP_REAL(epoll_ctl)(ep, EPOLL_CTL_ADD, fd, &ev) != 0 &&
      (errno != EEXIST ||
       GP_REAL(epoll_ctl)(ep, EPOLL_CTL_MOD, fd, &ev) != 0))
    return -errno;
  f->added = 1;
  return 0;
}

static void unlink_waiter(gp_fdwait *w) {
  if (gp__list_linked(&w->link)) {
    gp__list_del(&w->link);
    nwaiters--;
  }
}

int gp__fd_wait_many(gp_fdwait *w, int n, int64_t deadline) {
  for (int i = 0; i < n; i++) {
    int err = add(w[i].rec);
    if (err)
      return err;
  }
  for (int i = 0; i < n; i++) {
    w[i].coro = gp__current;
    gp__list_push(&w[i].rec->waiters, &w[i].link);
  }
  nwaiters += (size_t)n;
  gp_coro *self = gp__current;
  self->w_fd = n > 0 ? w[0].rec->head.fd : -1;
  self->w_nfds = n;
  self->w_events = n > 0 ? w[0].events : 0;
  int r = gp__park_intr_as(deadline, GP_PARK_FD);
  self->w_fd = -1;
  self->w_nfds = 0;
  for (int i = 0; i < n; i++)
    unlink_waiter(&w[i]);
  return r;
}

int gp__fd_wait(gp_fd *f, unsigned events, int64_t deadline) {
  if (f == NULL)
    return -EBADF;
  gp_fdwait w = {.rec = f, .events = events};
  return gp__fd_wait_many(&w, 1, deadline);
}

/* Wakes the waiters of f whose events intersect mask with code. */
static void wake(gp_fd *f, unsigned mask, int code) {
  gp_list *l = f->waiters.next;
  while (l != &f->waiters) {
    gp_fdwait *w = GP_CONTAINER(l, gp_fdwait, link);
    l = l->next;
    if (w->events & mask) {
      unlink_waiter(w);
      gp__unpark(w->coro, code);
    }
  }
}

/* What an epoll event means to f: its edge clears the "seen empty" hints
 * of the directions it reports, a hang-up or error turns hints off, and
 * the waiters of those directions wake. */
static void on_event(gp_fd *f, uint32_t ev) {
  unsigned mask = 0;
  if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
    mask |= GP_IN;
  if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
    mask |= GP_OUT;
  if (ev & (EPOLLPRI | EPOLLERR))
    mask |= GP_PRI;
  f->empty &= (unsigned char)~mask; /* an edge: worth trying again */
  if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
    f->hup = 1;
  wake(f, mask, 0);
}

void gp__netpoll_dispatch(void) {
  struct epoll_event evs[128];
  int n;
  do {
    n = GP_REAL(epoll_wait)(epfd, evs, 128, 0);
    for (int i = 0; i < n; i++) {
      gp_fd *f = find((int)(uint32_t)evs[i].data.u64);
      if (f == NULL || f->gen != (uint32_t)(evs[i].data.u64 >> 32))
        continue; /* the fd was closed since */
      on_event(f, evs[i].events);
    }
  } while (n == 128);
}

/* Every record in the range is reset: one the program never used costs a
 * few stores, and the shim's slot is not the runtime's to look at. */
void gp__fd_forget_range(int first, int last) {
  if (first < 0)
    first = 0;
  for (size_t fd = (size_t)first; fd <= (size_t)last;) {
    size_t d = fd / CHUNK;
    if (d >= dir_len)
      return;
    if (dir[d] == NULL) {
      fd = (d + 1) * CHUNK;
      continue;
    }
    gp__fd_forget(&dir[d][fd % CHUNK]);
    fd++;
  }
}

void gp__fd_wake(gp_fd *f, unsigned events) {
  f->empty = 0;
  wake(f, events, 0);
}

/* Forgets f; del: remove it from the epoll set (else the close will). */
static void forget(gp_fd *f, int del) {
  wake(f, GP_IN | GP_OUT | GP_PRI, -EBADF);
  if (f->added && epfd >= 0 && del)
    GP_REAL(epoll_ctl)(epfd, EPOLL_CTL_DEL, f->head.fd, NULL);
  f->added = 0;
  f->empty = 0;
  f->hup = 0;
  memset(f->head.slot, 0, sizeof f->head.slot);
  f->gen++;
}

void gp__fd_forget(gp_fd *f) { forget(f, 1); }

void gp__fd_forget_alone(gp_fd *f) { forget(f, 0); }
