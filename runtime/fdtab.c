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
 * The table is a directory of fixed chunks, so entries never move (waiter
 * lists point into them) and it grows with the fds the process uses.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "coro.h"
#include "real.h"

#define CHUNK 1024

struct fdent {
  gp_list waiters;        /* gp_fdwait records of parked coroutines */
  uint32_t gen;           /* bumped when the fd is closed: stale events */
  unsigned char added;    /* in the epoll set */
  unsigned char empty;    /* GP_IN/GP_OUT seen empty, no edge since */
  unsigned char hup;      /* a hang-up or error was reported: no hints */
  struct gp_fdinfo info;  /* the shim's, reset on forget */
};

static struct fdent **dir;
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

/* The entry of fd, created when create is set; NULL otherwise. */
static struct fdent *ent(int fd, int create) {
  if (fd < 0)
    return NULL;
  size_t d = (size_t)fd / CHUNK;
  if (d >= dir_len) {
    if (!create)
      return NULL;
    size_t n = dir_len ? dir_len : 16;
    while (n <= d)
      n *= 2;
    struct fdent **nd = realloc(dir, n * sizeof *nd);
    GP_ASSERT(nd != NULL);
    memset(nd + dir_len, 0, (n - dir_len) * sizeof *nd);
    dir = nd;
    dir_len = n;
  }
  if (dir[d] == NULL) {
    if (!create)
      return NULL;
    dir[d] = calloc(CHUNK, sizeof **dir);
    GP_ASSERT(dir[d] != NULL);
    for (size_t i = 0; i < CHUNK; i++)
      gp__list_init(&dir[d][i].waiters);
  }
  return &dir[d][(size_t)fd % CHUNK];
}

struct gp_fdinfo *gp__fd_info(int fd) {
  struct fdent *e = ent(fd, 1);
  return e ? &e->info : NULL;
}

int gp__fd_kind(int fd) {
  struct fdent *e = ent(fd, 0);
  return e ? e->info.kind : 0;
}

void gp__fd_set_kind(int fd, int kind) {
  struct fdent *e = ent(fd, 1);
  if (e)
    e->info.kind = (unsigned char)kind;
}

int gp__fd_maybe_ready(int fd, unsigned dir) {
  struct fdent *e = ent(fd, 0);
  return e == NULL || e->hup || !(e->empty & dir);
}

void gp__fd_seen_empty(int fd, unsigned dir) {
  struct fdent *e = ent(fd, 1);
  if (e)
    e->empty |= (unsigned char)dir;
}

/* Adds fd to the epoll set. -EPERM: fd cannot be polled (regular file);
 * -EBADF: not open. */
static int add(int fd, struct fdent *e) {
  if (e->added)
    return 0;
  struct epoll_event ev = {
    .events = EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP | EPOLLET,
    .data.u64 = (uint64_t)(uint32_t)fd | (uint64_t)e->gen << 32,
  };
  int r = GP_REAL(epoll_ctl)(gp__netpoll_fd(), EPOLL_CTL_ADD, fd, &ev);
  if (r != 0 && errno == EEXIST)
    r = GP_REAL(epoll_ctl)(epfd, EPOLL_CTL_MOD, fd, &ev);
  if (r != 0)
    return -errno;
  e->added = 1;
  return 0;
}

static void unlink_waiter(gp_fdwait *w) {
  if (gp__list_linked(&w->link)) {
    gp__list_del(&w->link);
    nwaiters--;
  }
}

int gp__wait_fds(gp_fdwait *w, int n, int64_t deadline) {
  for (int i = 0; i < n; i++) {
    int err = add(w[i].fd, ent(w[i].fd, 1));
    if (err)
      return err;
  }
  for (int i = 0; i < n; i++) {
    w[i].coro = gp__current;
    gp__list_push(&ent(w[i].fd, 0)->waiters, &w[i].link);
  }
  nwaiters += (size_t)n;
  gp_coro *self = gp__current;
  self->w_fd = n > 0 ? w[0].fd : -1;
  self->w_nfds = n;
  self->w_events = n > 0 ? w[0].events : 0;
  int r = gp__park_intr_as(deadline, GP_PARK_FD);
  self->w_fd = -1;
  self->w_nfds = 0;
  for (int i = 0; i < n; i++)
    unlink_waiter(&w[i]);
  return r;
}

int gp__wait_fd(int fd, unsigned events, int64_t deadline) {
  gp_fdwait w = {.fd = fd, .events = events};
  return gp__wait_fds(&w, 1, deadline);
}

/* Wakes the waiters of e whose events intersect mask with code. */
static void wake(struct fdent *e, unsigned mask, int code) {
  gp_list *l = e->waiters.next;
  while (l != &e->waiters) {
    gp_fdwait *w = GP_CONTAINER(l, gp_fdwait, link);
    l = l->next;
    if (w->events & mask) {
      unlink_waiter(w);
      gp__unpark(w->coro, code);
    }
  }
}

void gp__netpoll_dispatch(void) {
  struct epoll_event evs[128];
  int n;
  do {
    n = GP_REAL(epoll_wait)(epfd, evs, 128, 0);
    for (int i = 0; i < n; i++) {
      int fd = (int)(uint32_t)evs[i].data.u64;
      struct fdent *e = ent(fd, 0);
      if (e == NULL || e->gen != (uint32_t)(evs[i].data.u64 >> 32))
        continue; /* the fd was closed since */
      uint32_t ev = evs[i].events;
      unsigned mask = 0;
      if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        mask |= GP_IN;
      if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        mask |= GP_OUT;
      if (ev & (EPOLLPRI | EPOLLERR))
        mask |= GP_PRI;
      e->empty &= (unsigned char)~mask; /* an edge: worth trying again */
      if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        e->hup = 1;
      wake(e, mask, 0);
    }
  } while (n == 128);
}

void gp__fd_forget_range(int first, int last) {
  if (first < 0)
    first = 0;
  for (size_t d = (size_t)first / CHUNK; d < dir_len; d++) {
    if (dir[d] == NULL)
      continue;
    for (size_t i = 0; i < CHUNK; i++) {
      size_t fd = d * CHUNK + i;
      if (fd < (size_t)first)
        continue;
      if (fd > (size_t)last)
        return;
      struct fdent *e = &dir[d][i];
      if (e->added || e->info.kind || !gp__list_empty(&e->waiters))
        gp__fd_forget((int)fd);
    }
  }
}

void gp__fd_wake(int fd, unsigned events) {
  struct fdent *e = ent(fd, 0);
  if (e == NULL)
    return;
  e->empty = 0;
  wake(e, events, 0);
}

void gp__fd_forget(int fd) {
  struct fdent *e = ent(fd, 0);
  if (e == NULL)
    return;
  wake(e, GP_IN | GP_OUT | GP_PRI, -EBADF);
  if (e->added && epfd >= 0)
    GP_REAL(epoll_ctl)(epfd, EPOLL_CTL_DEL, fd, NULL);
  e->added = 0;
  e->empty = 0;
  e->hup = 0;
  memset(&e->info, 0, sizeof e->info);
  e->gen++;
}
