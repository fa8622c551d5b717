/* errno_success.h: what the cases of errno_success share: the marker, the
 * CHECK macros that print one line per case, helper threads that act
 * DELAY_MS later, and fixtures (pipes, sockets, files, a listener).
 *
 * errno_success.c is one program cut into parts: this header, then
 * errno_success_io.h, _sync.h, _proc.h and _more.h, included by it alone
 * and in that order (each part uses the ones before it).
 */
#ifndef ERRNO_SUCCESS_H
#define ERRNO_SUCCESS_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>

#include "threads_now.h"

/* The fortified names: called directly, as a _FORTIFY_SOURCE build would. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off,
                      size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                       struct sockaddr *addr, socklen_t *addrlen);
int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *ts,
                const sigset_t *ss, size_t fdslen);

enum {
  MARK = 12345,   /* The errno marker: no call returns it. */
  DELAY_MS = 20,  /* How long a helper thread waits before it acts. */
  HIGH_FD = 900   /* A free fd number for the close_range cases. */
};

static int ncases, nbad;
static char dir[64];

/* Prints the line of one case: ok when the call succeeded and err is the
 * marker, changed:err when it succeeded with another errno, failed:fail
 * when it did not succeed. */
static void report(const char *name, const char *path, int ok, int fail,
                   int err) {
  ncases++;
  if (!ok) {
    nbad++;
    printf("%s.%s=failed:%d\n", name, path, fail);
  } else if (err != MARK) {
    nbad++;
    printf("%s.%s=changed:%d\n", name, path, err);
  } else {
    printf("%s.%s=ok\n", name, path);
  }
}

/* A case whose call is an expression true on success (errno on failure). */
#define CHECK(name, path, cond)                                           \
  do {                                                                    \
    int ok_, e_;                                                          \
    errno = MARK;                                                         \
    ok_ = (cond) ? 1 : 0;                                                 \
    e_ = errno;                                                           \
    report(name, path, ok_, e_, e_);                                      \
  } while (0)

/* A case whose call returns 0 or an error number (pthread style). */
#define CHECK_RC(name, path, call)                                        \
  do {                                                                    \
    int rc_, e_;                                                          \
    errno = MARK;                                                         \
    rc_ = (call);                                                         \
    e_ = errno;                                                           \
    report(name, path, rc_ == 0, rc_, e_);                                \
  } while (0)

/* A case whose call returns nothing: it cannot fail. */
#define CHECK_VOID(name, path, stmt)                                      \
  do {                                                                    \
    int e_;                                                               \
    errno = MARK;                                                         \
    stmt;                                                                 \
    e_ = errno;                                                           \
    report(name, path, 1, 0, e_);                                         \
  } while (0)

static void die(const char *what) {
  fprintf(stderr, "errno_success: setup failed: %s: %s\n", what,
          strerror(errno));
  exit(2);
}

static void ms_sleep(int ms) {
  struct timespec d = { ms / 1000, (long)(ms % 1000) * 1000000 };

  while (nanosleep(&d, &d) != 0 && errno == EINTR)
    ;
}

static struct timespec deadline(clockid_t clock, int ms) {
  struct timespec t;

  clock_gettime(clock, &t);
  t.tv_sec += ms / 1000;
  t.tv_nsec += (long)(ms % 1000) * 1000000;
  if (t.tv_nsec >= 1000000000) {
    t.tv_sec++;
    t.tv_nsec -= 1000000000;
  }
  return t;
}

/* ---- Helper threads ---------------------------------------------------- */

/* A thread that waits ms, then calls fn(arg): the "later" of a wait path. */
struct later {
  pthread_t t;
  int ms;
  void (*fn)(void *);
  void *arg;
};

static void *later_main(void *p) {
  struct later *l = p;

  ms_sleep(l->ms);
  l->fn(l->arg);
  return NULL;
}

static void later_start(struct later *l, int ms, void (*fn)(void *),
                        void *arg) {
  l->ms = ms;
  l->fn = fn;
  l->arg = arg;
  if (pthread_create(&l->t, NULL, later_main, l) != 0)
    die("pthread_create");
}

static void later_join(struct later *l) { pthread_join(l->t, NULL); }

static void cb_write_byte(void *arg) {
  if (write((int)(intptr_t)arg, "x", 1) != 1)
    perror("errno_success: helper write");
}

/* Reads everything buffered in the fd (made non-blocking per call). */
static void cb_drain(void *arg) {
  char buf[65536];
  int fd = (int)(intptr_t)arg, fl = fcntl(fd, F_GETFL);

  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  while (read(fd, buf, sizeof buf) > 0)
    ;
  fcntl(fd, F_SETFL, fl);
}

/* The keeper: alive from the start to the end, blocked on its pipe. */
static int keeper_pipe[2];
static pthread_t keeper;

static void *keeper_main(void *arg) {
  char c;

  (void)arg;
  while (read(keeper_pipe[0], &c, 1) < 0 && errno == EINTR)
    ;
  return NULL;
}

/* ---- Fixtures ---------------------------------------------------------- */

static void make_pipe(int p[2]) {
  if (pipe(p) != 0)
    die("pipe");
}

static void close2(int p[2]) {
  close(p[0]);
  close(p[1]);
}

static void make_pair(int sv[2]) {
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    die("socketpair");
}

/* A path in the test directory. */
static const char *path_of(const char *name) {
  static char buf[4][320];
  static int i;

  i = (i + 1) % 4;
  snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
  return buf[i];
}

/* A regular file holding 4096 bytes, opened read-write. */
static int data_file(const char *name) {
  char buf[4096];
  int fd = open(path_of(name), O_RDWR | O_CREAT | O_TRUNC, 0600);

  memset(buf, 'd', sizeof buf);
  if (fd < 0 || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
    die("data file");
  return fd;
}

/* A TCP listener on 127.0.0.1; *port receives its port. */
static int listener(int *port) {
  struct sockaddr_in a = { .sin_family = AF_INET };
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0
      || listen(fd, 16) != 0
      || getsockname(fd, (struct sockaddr *)&a, &len) != 0)
    die("listener");
  *port = ntohs(a.sin_port);
  return fd;
}

static int tcp_client(int port) {
  struct sockaddr_in a = { .sin_family = AF_INET };
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
    die("connect");
  return fd;
}

#endif
