/* sendfile.c: sendfile and sendfile64 into a socket, pipe or terminal.
 *
 * sendfile waits when its target is full, and only the target's own
 * O_NONBLOCK stops that (shared with every process that has the file).
 * So when the target may wait and the source is a regular file (which
 * never does), the hook moves the bytes itself: pread from the file at
 * the offset, then the cooperative write (io.c), which parks until the
 * target takes them or its SO_SNDTIMEO passes. The result, the offset or
 * file position afterwards, SIGPIPE and errno are sendfile's; only the
 * zero-copy is lost (one copy through a 64 KiB buffer). Other calls are
 * the real one.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include "core/fdkind.h"
#include "core/guard.h"
#include "real.h"

#define CHUNK (64 * 1024)
#define MAX_RW 0x7ffff000 /* Linux moves at most this much per call */

/* 1 when sendfile(out, in) may wait and the hook can do it, out being
 * the record of the target (NULL for a negative fd). Inside the
 * runtime. */
static int copies_from_file(gp_fd *out, int in) {
  struct stat st;
  if (out == NULL || gp_fd_kind(out) == GP_KIND_PASS || gp_fd_nonblock(out))
    return 0;
  int saved = errno;
  int regular = fstat(in, &st) == 0 && S_ISREG(st.st_mode);
  errno = saved;
  return regular;
}

/* Moves up to count bytes from in at *pos to out's fd; returns the count
 * moved (short at the end of in, or when out's timeout passed after a
 * part), or -1 with errno when nothing moved. *pos advances by the
 * count. */
static ssize_t copy(gp_fd *out, int in, off_t *pos, size_t count) {
  char *buf = malloc(count < CHUNK ? count : CHUNK);
  if (buf == NULL)
    return gp_ret(-ENOMEM);
  int saved = errno, failed = 0;
  size_t done = 0;
  while (done < count) {
    size_t want = count - done < CHUNK ? count - done : CHUNK;
    ssize_t k = GP_REAL(pread)(in, buf, want, *pos);
    if (k <= 0) {
      failed = k < 0;
      break;
    }
    ssize_t s = gp_write_coop(out, buf, (size_t)k);
    if (s < 0) {
      failed = 1;
      break;
    }
    *pos += s;
    done += (size_t)s;
    if (s < k)
      break; /* the timeout passed */
  }
  free(buf);
  if (done > 0 || !failed) {
    errno = saved;
    return (ssize_t)done;
  }
  return -1;
}

/* With offset: read there and report the new offset, the file position
 * untouched; without: from the file position, which moves. */
static ssize_t coop_sendfile(gp_fd *out, int in, off_t *offset,
                             size_t count) {
  off_t pos = offset ? *offset : lseek(in, 0, SEEK_CUR);
  if (pos < 0)
    return offset ? gp_ret(-EINVAL) : -1;
  ssize_t r = copy(out, in, &pos, count > MAX_RW ? MAX_RW : count);
  if (offset) {
    *offset = pos;
  } else {
    int saved = errno;
    lseek(in, pos, SEEK_SET);
    errno = saved;
  }
  return r;
}

GP_EXPORT ssize_t sendfile(int out, int in, off_t *offset, size_t count) {
  if (!gp_coop(GP_FAM_SOCKET) || gp__live() <= 1 || count == 0)
    return GP_REAL(sendfile)(out, in, offset, count);
  gp_enter();
  gp_fd *f = gp__fd_get(out);
  ssize_t r = copies_from_file(f, in) ? coop_sendfile(f, in, offset, count)
                              : GP_REAL(sendfile)(out, in, offset, count);
  gp_leave();
  return r;
}

/* off64_t is off_t where this library builds (64-bit). */
GP_EXPORT ssize_t sendfile64(int out, int in, off_t *offset, size_t count) {
  return sendfile(out, in, offset, count);
}
