/* accept_nb.c: accept4 that never blocks, without touching the fd's flags.
 *
 * accept has no per-call non-blocking flag (MSG_DONTWAIT is for data),
 * and "poll, then accept" races when the listening socket is shared with
 * other processes (a pre-forked server): another process may take the
 * connection between the two calls, and the accept then blocks the whole
 * OS thread until the next connection. Setting O_NONBLOCK around the call
 * is no cure: the flag belongs to the open file, which every process
 * shares, so one process's restore can make another's accept blocking.
 *
 * io_uring's accept is per call: submitted inline, it tries once without
 * blocking. Linux 6.10+ has IORING_ACCEPT_DONTWAIT, which then completes
 * with -EAGAIN; on older kernels (5.5+) the request would wait instead,
 * so it is cancelled at once and the cancellation awaited (a connection
 * that raced in is still returned). One small ring per process, made on
 * first use, dropped in a forked child (its memory is shared with the
 * parent's) and whenever a call on it fails (the program closed its fd).
 * Without io_uring (old kernel, seccomp, io_uring_disabled) callers fall
 * back to poll and accept.
 */
#include <errno.h>
#include <linux/io_uring.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "core/fdkind.h"
#include "core/guard.h"
#include "real.h"

#ifndef IORING_ACCEPT_DONTWAIT
#define IORING_ACCEPT_DONTWAIT (1U << 1)
#endif

#define ACCEPT_TAG 1
#define CANCEL_TAG 2

/* The ring; used by the scheduler thread only. */
static struct {
  int fd;                       /* -1: none yet; -2: unavailable */
  void *sq, *cq;                /* the ring mappings (may be the same) */
  size_t sq_len, cq_len;
  struct io_uring_sqe *sqes;
  size_t sqes_len;
  unsigned *sq_tail, *sq_mask, *sq_array;
  unsigned *cq_head, *cq_tail, *cq_mask;
  struct io_uring_cqe *cqes;
  int dontwait;                 /* 0 untried, 1 works, -1 refused */
} ring = {.fd = -1};

static void ring_unmap(void) {
  if (ring.sqes)
    munmap(ring.sqes, ring.sqes_len);
  if (ring.cq && ring.cq != ring.sq)
    munmap(ring.cq, ring.cq_len);
  if (ring.sq)
    munmap(ring.sq, ring.sq_len);
  ring.sq = ring.cq = NULL;
  ring.sqes = NULL;
}

/* Maps the rings of a new io_uring fd. Returns 0 or -1. */
static int ring_map(int fd, const struct io_uring_params *p) {
  ring.sq_len = p->sq_off.array + p->sq_entries * sizeof(unsigned);
  ring.cq_len = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
  int single = p->features & IORING_FEAT_SINGLE_MMAP;
  if (single && ring.cq_len > ring.sq_len)
    ring.sq_len = ring.cq_len;
  ring.sq = mmap(NULL, ring.sq_len, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  if (ring.sq == MAP_FAILED)
    goto error;
  ring.cq = single ? ring.sq
                   : mmap(NULL, ring.cq_len, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
  if (ring.cq == MAP_FAILED)
    goto error;
  ring.sqes_len = p->sq_entries * sizeof(struct io_uring_sqe);
  ring.sqes = mmap(NULL, ring.sqes_len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (ring.sqes == MAP_FAILED)
    goto error;
  char *sq = ring.sq, *cq = ring.cq;
  ring.sq_tail = (unsigned *)(sq + p->sq_off.tail);
  ring.sq_mask = (unsigned *)(sq + p->sq_off.ring_mask);
  ring.sq_array = (unsigned *)(sq + p->sq_off.array);
  ring.cq_head = (unsigned *)(cq + p->cq_off.head);
  ring.cq_tail = (unsigned *)(cq + p->cq_off.tail);
  ring.cq_mask = (unsigned *)(cq + p->cq_off.ring_mask);
  ring.cqes = (struct io_uring_cqe *)(cq + p->cq_off.cqes);
  return 0;
error:
  if (ring.sqes == MAP_FAILED)
    ring.sqes = NULL;
  if (ring.cq == MAP_FAILED)
    ring.cq = NULL;
  if (ring.sq == MAP_FAILED)
    ring.sq = NULL;
  ring_unmap();
  return -1;
}

/* Makes the ring on first use. Returns 0, or -1 when io_uring cannot be
 * had (then never asked again). */
static int ring_get(void) {
  if (ring.fd >= 0)
    return 0;
  if (ring.fd == -2)
    return -1;
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int saved = errno;
  int fd = (int)GP_REAL(syscall)(SYS_io_uring_setup, 4, &p);
  errno = saved;
  if (fd < 0 || ring_map(fd, &p) != 0) {
    if (fd >= 0)
      GP_REAL(close)(fd);
    ring.fd = -2;
    return -1;
  }
  ring.fd = fd;
  return 0;
}

/* The ring failed (its fd closed by the program, say): forget it without
 * closing the number, which may be the program's now. */
static void ring_lost(void) {
  ring_unmap();
  ring.fd = -1;
}

void gp_accept_nb_fork(void) {
  if (ring.fd < 0)
    return;
  ring_unmap();
  GP_REAL(close)(ring.fd);
  ring.fd = -1;
}

static struct io_uring_sqe *next_sqe(void) {
  unsigned tail = *ring.sq_tail, idx = tail & *ring.sq_mask;
  ring.sq_array[idx] = idx;
  struct io_uring_sqe *sqe = &ring.sqes[idx];
  memset(sqe, 0, sizeof *sqe);
  return sqe;
}

static void push_sqe(void) {
  __atomic_store_n(ring.sq_tail, *ring.sq_tail + 1, __ATOMIC_RELEASE);
}

/* Submits what was pushed and waits for want completions. */
static int enter(unsigned submit, unsigned want) {
  for (;;) {
    long r = GP_REAL(syscall)(SYS_io_uring_enter, ring.fd, submit, want,
                              want ? IORING_ENTER_GETEVENTS : 0, NULL, 0);
    if (r >= 0)
      return 0;
    if (errno != EINTR)
      return -1;
    submit = 0; /* the kernel took them before the signal */
  }
}

/* Takes one completion: 1 and its tag and result, or 0 when none. */
static int reap(uint64_t *tag, int *res) {
  unsigned head = *ring.cq_head;
  if (head == __atomic_load_n(ring.cq_tail, __ATOMIC_ACQUIRE))
    return 0;
  struct io_uring_cqe *cqe = &ring.cqes[head & *ring.cq_mask];
  *tag = cqe->user_data;
  *res = cqe->res;
  __atomic_store_n(ring.cq_head, head + 1, __ATOMIC_RELEASE);
  return 1;
}

/* One accept attempt; returns the kernel's result (an fd or -errno), or
 * 1 when the ring failed. */
static int try_once(int fd, struct sockaddr *addr, socklen_t *len,
                    int flags) {
  struct io_uring_sqe *sqe = next_sqe();
  sqe->opcode = IORING_OP_ACCEPT;
  sqe->fd = fd;
  sqe->addr = (uint64_t)(uintptr_t)addr;
  sqe->addr2 = (uint64_t)(uintptr_t)len;
  sqe->accept_flags = (uint32_t)flags;
  sqe->ioprio = ring.dontwait >= 0 ? IORING_ACCEPT_DONTWAIT : 0;
  sqe->user_data = ACCEPT_TAG;
  push_sqe();
  if (enter(1, 0) != 0) /* an inline attempt: its result is posted */
    return 1;
  uint64_t tag;
  int res, got = 0, accepted = 0;
  while (reap(&tag, &res))
    if (tag == ACCEPT_TAG)
      got = 1, accepted = res;
  if (!got) { /* it waits: cancel it, and take whichever comes */
    sqe = next_sqe();
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->addr = ACCEPT_TAG;
    sqe->user_data = CANCEL_TAG;
    push_sqe();
    int done = 0;
    while (!got || !done) {
      if (enter(done ? 0 : 1, 1) != 0)
        return 1;
      while (reap(&tag, &res)) {
        if (tag == ACCEPT_TAG)
          got = 1, accepted = res;
        else
          done = 1;
      }
    }
    if (accepted == -ECANCELED || accepted == -EINTR)
      accepted = -EAGAIN;
  }
  return accepted;
}

int gp_accept_nb_dontwait(void) { return ring.fd >= 0 && ring.dontwait > 0; }

int gp_accept_nb(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  if (ring_get() != 0)
    return -ENOSYS;
  int r = try_once(fd, addr, len, flags);
  if (r == -EINVAL && ring.dontwait == 0) { /* the kernel lacks DONTWAIT */
    ring.dontwait = -1;
    r = try_once(fd, addr, len, flags);
  } else if (r != 1 && ring.dontwait == 0) {
    ring.dontwait = 1;
  }
  if (r == 1) {
    ring_lost();
    return -ENOSYS;
  }
  return r;
}
