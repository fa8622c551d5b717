/* stdio.c: stdio streams over sockets and pipes.
 *
 * glibc's stdio reads and writes with its internal read and write, which
 * bypass the PLT: fgets on a socket would block the whole process. A
 * stream that fdopen makes over a socket or a pipe (popen's too) is made
 * with fopencookie instead, its I/O functions being the hooked read and
 * write: fgets, fread, getline, fscanf, fprintf, fflush... then park only
 * the calling coroutine, with stdio's own buffering unchanged. fileno
 * answers the fd such a stream was made from. Streams stdio makes by
 * itself (stdin, stdout, fopen) stay as they are.
 *
 * Such a stream's I/O parks inside stdio, holding the stream's lock.
 * With shared TLS every coroutine is that lock's owner, so another one
 * using the stream goes through. With private TLS (GPATCH_TLS=private)
 * each coroutine is a thread to glibc, and the other one would wait for
 * the lock in the kernel, with the whole process: those streams are left
 * to their callers' locking (FSETLOCKING_BYCALLER), which behaves as
 * with shared TLS.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fdkind.h"
#include "core/guard.h"
#include "real.h"

/* The streams made here, each with its fd; any thread may use stdio, so
 * a real lock guards the list (never held across a call that parks). */
struct cstream {
  FILE *fp;
  int fd;
  struct cstream *next;
};

static struct cstream *streams;
static pthread_mutex_t streams_mu = PTHREAD_MUTEX_INITIALIZER;

static void lock(void) { GP_REAL(pthread_mutex_lock)(&streams_mu); }
static void unlock(void) { GP_REAL(pthread_mutex_unlock)(&streams_mu); }

/* The stream's I/O calls the hooked read, write and close on purpose:
 * they are what makes the stream cooperative (and real when they pass). */
static ssize_t c_read(void *cookie, char *buf, size_t n) {
  return read((int)(intptr_t)cookie, buf, n);
}

static ssize_t c_write(void *cookie, const char *buf, size_t n) {
  ssize_t r = write((int)(intptr_t)cookie, buf, n);
  return r < 0 ? 0 : r; /* stdio takes 0 as the error, errno set */
}

static int c_seek(void *cookie, off64_t *off, int whence) {
  (void)cookie, (void)off, (void)whence;
  errno = ESPIPE; /* sockets and pipes cannot seek, as lseek says */
  return -1;
}

static int c_close(void *cookie) {
  int fd = (int)(intptr_t)cookie;
  lock();
  for (struct cstream **p = &streams; *p; p = &(*p)->next)
    if ((*p)->fd == fd) {
      struct cstream *dead = *p;
      *p = dead->next;
      free(dead);
      break;
    }
  unlock();
  return close(fd);
}

/* Whether mode asks what the fd's access mode allows, as fdopen checks:
 * EINVAL otherwise. */
static int mode_fits(int fd, const char *mode, int *fl) {
  *fl = GP_REAL(fcntl)(fd, F_GETFL);
  if (*fl < 0)
    return -EBADF;
  int acc = *fl & O_ACCMODE;
  int rd = mode[0] == 'r' || strchr(mode, '+');
  int wr = mode[0] == 'w' || mode[0] == 'a' || strchr(mode, '+');
  if (mode[0] != 'r' && mode[0] != 'w' && mode[0] != 'a')
    return -EINVAL;
  if ((rd && acc == O_WRONLY) || (wr && acc == O_RDONLY))
    return -EINVAL;
  return 0;
}

GP_EXPORT FILE *fdopen(int fd, const char *mode) {
  gp_fd *f = gp__fd_get(fd);
  int kind = f ? gp_fd_kind(f) : GP_KIND_PASS;
  if (kind != GP_KIND_SOCK && kind != GP_KIND_FIFO)
    return GP_REAL(fdopen)(fd, mode);
  int fl, err = mode_fits(fd, mode, &fl);
  if (err) {
    errno = -err;
    return NULL;
  }
  if (strchr(mode, 'e'))
    GP_REAL(fcntl)(fd, F_SETFD, FD_CLOEXEC);
  struct cstream *s = malloc(sizeof *s);
  if (s == NULL)
    return NULL;
  cookie_io_functions_t io = {c_read, c_write, c_seek, c_close};
  char m[8];
  snprintf(m, sizeof m, "%c%s", mode[0], strchr(mode, '+') ? "+" : "");
  FILE *fp = fopencookie((void *)(intptr_t)fd, m, io);
  if (fp == NULL) {
    free(s);
    return NULL;
  }
  if (gp__tls_asked())
    __fsetlocking(fp, FSETLOCKING_BYCALLER);
  *s = (struct cstream){fp, fd, NULL};
  lock();
  s->next = streams;
  streams = s;
  unlock();
  return fp;
}

/* The fd of a stream made here, or -1. */
static int cookie_fd(FILE *fp) {
  int fd = -1;
  lock();
  for (struct cstream *s = streams; s; s = s->next)
    if (s->fp == fp) {
      fd = s->fd;
      break;
    }
  unlock();
  return fd;
}

GP_EXPORT int fileno(FILE *fp) {
  int fd = streams ? cookie_fd(fp) : -1;
  return fd >= 0 ? fd : GP_REAL(fileno)(fp);
}

GP_EXPORT int fileno_unlocked(FILE *fp) {
  int fd = streams ? cookie_fd(fp) : -1;
  return fd >= 0 ? fd : GP_REAL(fileno_unlocked)(fp);
}
