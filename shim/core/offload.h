/* offload.h: running a libc call on a pool thread (runtime/work.c) as if
 * it ran on the calling thread.
 */
#ifndef GP_OFFLOAD_H
#define GP_OFFLOAD_H

#include <sys/uio.h>

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

/* The shim's pools: one per kind of wait, so that one never starves
 * another (their sizes are in the hooks table, core/hooks.c). */
enum {
  GP_LANE_DNS = 0,  /* name look-ups: may wait for a name server */
  GP_LANE_PEER = 1, /* calls that wait for another party: a FIFO's
                       open, a terminal's reader */
  GP_LANE_FILE = 2, /* regular file I/O (the file family) */
};

/* The most a GPATCH_*_THREADS setting may ask for: far beyond any useful
 * pool, low enough that a typo (an extra digit or three) is refused. */
#define GP_POOL_THREADS_MAX 1024

/* Runs fn(arg) on a thread of lane while the calling coroutine parks.
 * The pool thread starts with the caller's errno, h_errno and locale
 * (uselocale), and the caller gets the pool thread's errno and h_errno
 * back, as if fn had run here. Call on the scheduler thread from a
 * coroutine, inside the runtime or not. Returns 0, or -1
 * when no pool thread could be started: fn did not run, and the caller
 * makes the call itself. */
int gp_offload(unsigned lane, void (*fn)(void *), void *arg);

/* readv (write 0) or writev (write 1) on fd from a pool thread of the
 * FILE lane (file.c): for regular files when the file family is on.
 * Returns what the call returned, with errno. */
ssize_t gp_file_rw(int fd, const struct iovec *iov, int cnt, int write);

#pragma GCC visibility pop

#endif
