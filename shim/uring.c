/* uring.c: a per-call non-blocking accept, through io_uring.
 *
 * accept4 has no per-call non-blocking flag: it waits unless the
 * listening socket's file is O_NONBLOCK, and that flag is shared with
 * every process that has the socket. io_uring's accept with
 * IORING_ACCEPT_DONTWAIT (Linux 6.10) makes one attempt with O_NONBLOCK
 * for that call only and completes with -EAGAIN when no connection is
 * queued, so a process that lost the connection to another one never
 * waits. One ring of one entry serves the scheduler thread; a submit and
 * its completion take one io_uring_enter, as accept4 takes one syscall.
 * Where io_uring or the flag is missing (older kernels, seccomp), the
 * caller falls back to its own method.
 */
#include <errno.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gp.h"
#include "real.h"
#include "uring.h"

#ifndef IORING_ACCEPT_DONTWAIT
#define IORING_ACCEPT_DONTWAIT (1U << 1)
#endif

static struct {
  int state;               /* 0 not tried, 1 ready, -1 unavailable */
  int fd;
  unsigned *sq_tail, *sq_mask, *sq_array;
  unsigned *cq_head, *cq_tail, *cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
} ring;

/* Submits the prepared SQE 0 and returns its result (a -errno), or 1
 * when the ring itself failed (the program closed or reused its fd, say):
 * then nothing ran, and the ring is not used again. */
static int run(void) {
  unsigned tail = *ring.sq_tail;
  ring.sq_array[tail & *ring.sq_mask] = 0;
  __atomic_store_n(ring.sq_tail, tail + 1, __ATOMIC_RELEASE);
  unsigned todo = 1;
  for (;;) {
    long r = GP_REAL(syscall)(SYS_io_uring_enter, ring.fd, todo, 1,
                     IORING_ENTER_GETEVENTS, NULL, 0);
    if (r >= 0)
      todo -= (unsigned)r < todo ? (unsigned)r : todo;
    else if (errno != EINTR) {
      ring.state = -1;
      return 1;
    }
    unsigned head = *ring.cq_head;
    if (head != __atomic_load_n(ring.cq_tail, __ATOMIC_ACQUIRE)) {
      int res = ring.cqes[head & *ring.cq_mask].res;
      __atomic_store_n(ring.cq_head, head + 1, __ATOMIC_RELEASE);
      return res;
    }
  }
}

static void prep_accept(int fd, struct sockaddr *addr, socklen_t *len,
                        int flags) {
  struct io_uring_sqe *s = &ring.sqes[0];
  memset(s, 0, sizeof *s);
  s->opcode = IORING_OP_ACCEPT;
  s->fd = fd;
  s->addr = (uint64_t)(uintptr_t)addr;
  s->addr2 = (uint64_t)(uintptr_t)len;
  s->accept_flags = (uint32_t)flags;
  s->ioprio = IORING_ACCEPT_DONTWAIT;
}

/* Maps the rings of a new io_uring; 0 or -1. */
static int setup(void) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int fd = (int)GP_REAL(syscall)(SYS_io_uring_setup, 1, &p);
  if (fd < 0)
    return -1;
  size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (!(p.features & IORING_FEAT_SINGLE_MMAP))
    goto error_fd; /* before 5.4: not worth a second mapping */
  size_t len = sq_len > cq_len ? sq_len : cq_len;
  char *sq = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                  fd, IORING_OFF_SQ_RING);
  if (sq == MAP_FAILED)
    goto error_fd;
  ring.sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
                   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                   IORING_OFF_SQES);
  if (ring.sqes == MAP_FAILED)
    goto error_sq;
  ring.fd = fd;
  ring.sq_tail = (unsigned *)(sq + p.sq_off.tail);
  ring.sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  ring.sq_array = (unsigned *)(sq + p.sq_off.array);
  ring.cq_head = (unsigned *)(sq + p.cq_off.head);
  ring.cq_tail = (unsigned *)(sq + p.cq_off.tail);
  ring.cq_mask = (unsigned *)(sq + p.cq_off.ring_mask);
  ring.cqes = (struct io_uring_cqe *)(sq + p.cq_off.cqes);
  return 0;
error_sq:
  munmap(sq, len);
error_fd:
  close(fd);
  return -1;
}

/* Sets the ring up once and checks the kernel knows the flag: an accept
 * on fd -1 fails in preparation (-EINVAL) when it does not, and only when
 * its file is looked up (-EBADF) when it does. */
static int available(void) {
  if (ring.state == 0) {
    ring.state = -1;
    if (setup() != 0)
      return 0;
    prep_accept(-1, NULL, NULL, 0);
    if (run() == -EBADF)
      ring.state = 1;
    else
      close(ring.fd); /* the mappings stay: a few pages */
  }
  return ring.state == 1;
}

int gp_uring_accept(int fd, struct sockaddr *addr, socklen_t *len,
                    int flags, int *res) {
  if (!available())
    return 0;
  prep_accept(fd, addr, len, flags);
  *res = run();
  return *res != 1;
}
