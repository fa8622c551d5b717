/* file_ops: regular-file calls from a thread, with their results.
 *
 *   file_ops
 *
 * In a thread (a ticker runs beside it): open (O_CREAT) a new file,
 * write 100000 bytes, pwrite and pwritev at offsets, pread, preadv, read
 * after lseek, fsync, fdatasync, a read at the end of the file; and the
 * failures: open of a missing path (ENOENT), pread on a write-only fd
 * (EBADF), pread at a negative offset (EINVAL), fsync(-1) (EBADF). Prints
 * NAME=rc/errno for each, sum (a checksum of what was read), threads, and
 * threads_after (the OS threads once done: 1 unless calls ran on pool
 * threads).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "threads_now.h"

static volatile int stop;

static void show(const char *name, long rc) {
  int err = rc < 0 ? errno : 0;

  printf("%s=%ld/%d\n", name, rc, err);
}

static unsigned long sum(const char *b, long n) {
  unsigned long s = 0;
  long i;

  for (i = 0; i < n; i++)
    s = s * 31 + (unsigned char)b[i];
  return s;
}

static void *worker(void *arg) {
  static char big[100000], in[100000];
  char path[] = "/tmp/gpatch-file-XXXXXX", a[8] = "AAAA", b[8] = "BBBB";
  struct iovec iov[2] = { { a, 4 }, { b, 4 } };
  unsigned long s = 0;
  int fd, wo;
  long i;

  (void)arg;
  printf("threads=%d\n", threads_now());
  for (i = 0; i < (long)sizeof big; i++)
    big[i] = (char)(i * 7);
  close(mkstemp(path));
  unlink(path);
  fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  show("open", fd >= 0 ? 0 : -1);
  show("write", write(fd, big, sizeof big));
  show("pwrite", pwrite(fd, "xyz", 3, 500));
  show("pwritev", pwritev(fd, iov, 2, 99990));
  show("pread", pread(fd, in, 1000, 0));
  s = sum(in, 1000);
  show("preadv", preadv(fd, iov, 2, 99996));
  s = s * 31 + sum(a, 4) * 7 + sum(b, 4);
  show("lseek", lseek(fd, 0, SEEK_SET));
  show("read", read(fd, in, sizeof in));
  s = s * 31 + sum(in, sizeof in);
  show("read_end", read(fd, in, sizeof in));
  show("fsync", fsync(fd));
  show("fdatasync", fdatasync(fd));
  show("missing", open("/nonexistent/gpatch", O_RDONLY));
  wo = open(path, O_WRONLY | O_CLOEXEC);
  show("pread_wo", pread(wo, in, 10, 0));
  show("pread_neg", pread(fd, in, 10, -1));
  show("fsync_bad", fsync(-1));
  close(wo);
  close(fd);
  unlink(path);
  printf("sum=%lu\nthreads_after=%d\n", s, threads_now());
  return NULL;
}

static void *ticker(void *arg) {
  (void)arg;
  while (!stop)
    usleep(1000);
  return NULL;
}

int main(void) {
  pthread_t w, t;

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_create(&t, NULL, ticker, NULL);
  pthread_create(&w, NULL, worker, NULL);
  pthread_join(w, NULL);
  stop = 1;
  pthread_join(t, NULL);
  return 0;
}
