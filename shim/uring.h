/* uring.h: one-shot non-blocking calls through io_uring (uring.c). */
#ifndef GP_URING_H
#define GP_URING_H

#include <sys/socket.h>

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

/* accept4(fd, addr, len, flags) that never waits, whatever fd's flags:
 * returns 1 with the new fd or a -errno (-EAGAIN: nothing queued) in
 * *res, or 0 when the kernel cannot do it (the caller makes the call its
 * own way). Scheduler thread only. */
int gp_uring_accept(int fd, struct sockaddr *addr, socklen_t *len,
                    int flags, int *res);

#pragma GCC visibility pop

#endif
