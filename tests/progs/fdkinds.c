/* fdkinds: blocking reads and writes on every kind of waitable fd.
 *
 *   fdkinds MODE
 *
 * MODE is eventfd, eventfd_full, timerfd, signalfd, inotify, fifo, pty,
 * pty_bulk, unix_stream, unix_dgram, unix_seqpacket, udp or tcp6. In each,
 * a reader thread makes a blocking call that can only return once a
 * writer thread, which first sleeps 60 ms (once main has counted the OS
 * threads), has acted (written, armed, signalled, created a file, opened
 * the other end...); a ticker thread counts 1 ms sleeps meanwhile. Prints
 * what the reader got (got=...), waited (1 when its call took 40 ms or
 * more), ticked (1 when the ticker ran during that call: preloaded, a
 * call that blocked the one OS thread would not let it run once; a count
 * is no measure, as under load the process may wait on the run queue for
 * most of the call), threads (OS threads while all run) and per-mode
 * details. Exits 1 when the reader got something wrong.
 * Prints skip=1 (status 0) for tcp6 on a machine without ::1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "threads_now.h"

#define DELAY_US 60000
#define BULK (256 * 1024)

static const char *mode;
static int fds[4];            /* the mode's fds */
static char path[64];         /* a FIFO or a directory */
static volatile int stop;
static volatile long ticks;
static long wait_ms, wait_ticks;
static char got[128] = "none";
static int bad;

static long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void fail(const char *what) {
  fprintf(stderr, "fdkinds %s: %s: %s\n", mode, what, strerror(errno));
  bad = 1;
}

/* Brackets the reader's blocking call. */
static long t0, k0;
static void begin(void) {
  t0 = now_ms();
  k0 = ticks;
}
static void end(void) {
  wait_ms = now_ms() - t0;
  wait_ticks = ticks - k0;
}

/* Sends one byte and, as SCM_RIGHTS, fd pass over the Unix socket s. */
static void send_fd(int s, int pass, const char *data, size_t len) {
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct iovec iov = { (void *)data, len };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                      .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);

  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &pass, sizeof pass);
  if (sendmsg(s, &m, 0) != (ssize_t)len)
    fail("sendmsg");
}

/* Receives a message with one passed fd; returns the fd or -1. */
static int recv_fd(int s, char *data, size_t len, ssize_t *n) {
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct iovec iov = { data, len };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                      .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *c;
  int fd = -1;

  *n = recvmsg(s, &m, 0);
  c = *n > 0 ? CMSG_FIRSTHDR(&m) : NULL;
  if (c != NULL && c->cmsg_type == SCM_RIGHTS)
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

static void writer_unix(void) {
  int p[2];

  if (pipe(p) != 0 || write(p[1], "xyz", 3) != 3)
    fail("pipe");
  close(p[1]);
  send_fd(fds[1], p[0], "A", 1);
  close(p[0]);
  if (strcmp(mode, "unix_stream") != 0) {
    /* Message boundaries: two more of different sizes. */
    if (send(fds[1], "BB", 2, 0) != 2 || send(fds[1], "CCC", 3, 0) != 3)
      fail("send");
  }
}

static void reader_unix(void) {
  char buf[16], in[8] = "";
  ssize_t n, n2 = 0, n3 = 0;
  int fd;

  begin();
  fd = recv_fd(fds[0], buf, sizeof buf, &n);
  end();
  if (fd < 0 || read(fd, in, sizeof in - 1) != 3)
    fail("passed fd");
  if (strcmp(mode, "unix_stream") != 0) {
    n2 = recv(fds[0], buf, sizeof buf, 0);
    n3 = recv(fds[0], buf, sizeof buf, 0);
  }
  snprintf(got, sizeof got, "%zd:%s:%zd:%zd", n, in, n2, n3);
  if (fd >= 0)
    close(fd);
}

/* UDP between two sockets of 127.0.0.1; fds[2] is the receiver's port. */
static void writer_udp(void) {
  struct sockaddr_in to = { .sin_family = AF_INET };

  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons((uint16_t)fds[2]);
  if (sendto(fds[1], "datagram", 8, 0, (struct sockaddr *)&to, sizeof to)
      != 8)
    fail("sendto");
}

static void reader_udp(void) {
  struct sockaddr_in from, me;
  socklen_t fl = sizeof from, ml = sizeof me;
  char buf[64] = "";
  ssize_t n;

  begin();
  n = recvfrom(fds[0], buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &fl);
  end();
  getsockname(fds[1], (struct sockaddr *)&me, &ml);
  snprintf(got, sizeof got, "%zd:%s:%d", n, n > 0 ? buf : "",
           from.sin_port == me.sin_port);
}

/* TCP over ::1: the reader accepts and reads, the writer connects. */
static void writer_tcp6(void) {
  struct sockaddr_in6 a = { .sin6_family = AF_INET6,
                            .sin6_addr = IN6ADDR_LOOPBACK_INIT };
  int s = socket(AF_INET6, SOCK_STREAM, 0);

  a.sin6_port = htons((uint16_t)fds[2]);
  if (connect(s, (struct sockaddr *)&a, sizeof a) != 0
      || write(s, "over ipv6", 9) != 9)
    fail("connect ::1");
  close(s);
}

static void reader_tcp6(void) {
  char buf[64] = "";
  size_t off = 0;
  ssize_t n;
  int c;

  begin();
  c = accept(fds[0], NULL, NULL);
  end();
  while (c >= 0 && (n = read(c, buf + off, sizeof buf - 1 - off)) > 0)
    off += (size_t)n;
  snprintf(got, sizeof got, "%zu:%s", off, buf);
  if (c >= 0)
    close(c);
}

/* eventfd: the reader waits for the counter; eventfd_full: the writer's
 * add cannot fit until the reader empties the counter. */
static void writer_eventfd(void) {
  uint64_t v = 5;

  if (strcmp(mode, "eventfd_full") == 0) {
    if (read(fds[0], &v, sizeof v) != sizeof v)
      fail("eventfd read");
    return;
  }
  if (write(fds[0], &v, sizeof v) != sizeof v)
    fail("eventfd write");
}

static void reader_eventfd(void) {
  uint64_t v = 0, after = 0;

  if (strcmp(mode, "eventfd_full") == 0) {
    uint64_t big = 0xfffffffffffffffeULL, one = 1;

    if (write(fds[0], &big, sizeof big) != sizeof big)
      fail("eventfd fill");
    begin();
    if (write(fds[0], &one, sizeof one) != sizeof one) /* waits for room */
      fail("eventfd add");
    end();
    if (read(fds[0], &after, sizeof after) != sizeof after)
      fail("eventfd read");
    snprintf(got, sizeof got, "added:%llu", (unsigned long long)after);
    return;
  }
  begin();
  if (read(fds[0], &v, sizeof v) != sizeof v)
    fail("eventfd read");
  end();
  snprintf(got, sizeof got, "%llu", (unsigned long long)v);
}

static void writer_timerfd(void) {
  struct itimerspec it = { .it_value = { 0, 1000000 } };

  if (timerfd_settime(fds[0], 0, &it, NULL) != 0)
    fail("timerfd_settime");
}

static void writer_signalfd(void) {
  if (kill(getpid(), SIGUSR1) != 0)
    fail("kill");
}

static void reader_counter(void) {
  uint64_t v = 0;
  struct signalfd_siginfo si;
  ssize_t n;

  begin();
  if (strcmp(mode, "signalfd") == 0) {
    n = read(fds[0], &si, sizeof si);
    end();
    snprintf(got, sizeof got, "%zd:%u", n, n > 0 ? si.ssi_signo : 0);
    return;
  }
  n = read(fds[0], &v, sizeof v);
  end();
  snprintf(got, sizeof got, "%zd:%llu", n, (unsigned long long)v);
}

static void writer_inotify(void) {
  char f[96];
  int fd;

  snprintf(f, sizeof f, "%s/created", path);
  fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    fail("create");
  else
    close(fd);
}

static void reader_inotify(void) {
  char buf[4096] __attribute__((aligned(8)));
  struct inotify_event *e = (struct inotify_event *)buf;
  ssize_t n;

  begin();
  n = read(fds[0], buf, sizeof buf);
  end();
  snprintf(got, sizeof got, "%d:%.32s", n > 0 && (e->mask & IN_CREATE),
           n > 0 && e->len ? e->name : "");
}

/* A FIFO opened with open(): each side waits for the other to open. */
static void writer_fifo(void) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);

  if (fd < 0 || write(fd, "through fifo", 12) != 12)
    fail("fifo writer");
  if (fd >= 0)
    close(fd);
}

static void reader_fifo(void) {
  char buf[64] = "";
  size_t off = 0;
  ssize_t n;
  int fd;

  begin();
  fd = open(path, O_RDONLY | O_CLOEXEC);
  end();
  while (fd >= 0 && (n = read(fd, buf + off, sizeof buf - 1 - off)) > 0)
    off += (size_t)n;
  snprintf(got, sizeof got, "%zu:%s:%d", off, buf,
           fd >= 0 ? fcntl(fd, F_GETFL) & O_ACCMODE : -1);
  if (fd >= 0)
    close(fd);
}

/* pty: the writer types into the slave side, the reader reads the master;
 * pty_bulk: the writer sends BULK bytes into the master (more than a tty
 * buffers) while the reader reads them from the slave. */
static void writer_pty(void) {
  if (strcmp(mode, "pty_bulk") == 0) {
    char *buf = malloc(BULK);
    size_t i;
    ssize_t n;

    for (i = 0; i < BULK; i++)
      buf[i] = (char)('a' + i % 26);
    n = write(fds[0], buf, BULK);
    if (n != BULK)
      fail("pty bulk write");
    free(buf);
    return;
  }
  if (write(fds[1], "typed", 5) != 5)
    fail("pty write");
}

static void reader_pty(void) {
  char buf[4096];
  long total = 0, sum = 0;
  ssize_t n, i;

  begin();
  if (strcmp(mode, "pty_bulk") != 0) {
    n = read(fds[0], buf, sizeof buf - 1);
    end();
    buf[n > 0 ? n : 0] = '\0';
    snprintf(got, sizeof got, "%zd:%.32s", n, buf);
    return;
  }
  while (total < BULK && (n = read(fds[1], buf, sizeof buf)) > 0) {
    if (total == 0)
      end();
    for (i = 0; i < n; i++)
      sum += buf[i] == (char)('a' + (total + i) % 26);
    total += n;
  }
  snprintf(got, sizeof got, "%ld:%d", total, sum == BULK);
}

struct kind {
  const char *name;
  void (*reader)(void);
  void (*writer)(void);
};

static const struct kind kinds[] = {
  { "eventfd", reader_eventfd, writer_eventfd },
  { "eventfd_full", reader_eventfd, writer_eventfd },
  { "timerfd", reader_counter, writer_timerfd },
  { "signalfd", reader_counter, writer_signalfd },
  { "inotify", reader_inotify, writer_inotify },
  { "fifo", reader_fifo, writer_fifo },
  { "pty", reader_pty, writer_pty },
  { "pty_bulk", reader_pty, writer_pty },
  { "unix_stream", reader_unix, writer_unix },
  { "unix_dgram", reader_unix, writer_unix },
  { "unix_seqpacket", reader_unix, writer_unix },
  { "udp", reader_udp, writer_udp },
  { "tcp6", reader_tcp6, writer_tcp6 },
};

/* A socket bound to the loopback (port 0); its port goes to *port. */
static int bound(int family, int type, int *port) {
  struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
                             .sin6_addr = IN6ADDR_LOOPBACK_INIT };
  struct sockaddr_in a4 = { .sin_family = AF_INET };
  struct sockaddr *a = family == AF_INET6 ? (struct sockaddr *)&a6
                                          : (struct sockaddr *)&a4;
  socklen_t len = family == AF_INET6 ? sizeof a6 : sizeof a4;
  int s = socket(family, type | SOCK_CLOEXEC, 0);

  a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (s < 0 || bind(s, a, len) != 0 || getsockname(s, a, &len) != 0)
    return -1;
  *port = ntohs(family == AF_INET6 ? a6.sin6_port : a4.sin_port);
  return s;
}

/* Opens the fds of the mode (before any thread starts). */
static int setup(void) {
  sigset_t set;

  if (strncmp(mode, "eventfd", 7) == 0)
    fds[0] = eventfd(0, EFD_CLOEXEC);
  else if (strcmp(mode, "timerfd") == 0)
    fds[0] = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  else if (strcmp(mode, "signalfd") == 0) {
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL); /* inherited by every thread */
    fds[0] = signalfd(-1, &set, SFD_CLOEXEC);
  } else if (strcmp(mode, "inotify") == 0) {
    snprintf(path, sizeof path, "/tmp/gpatch-fdkinds-XXXXXX");
    fds[0] = inotify_init1(IN_CLOEXEC);
    if (mkdtemp(path) == NULL
        || inotify_add_watch(fds[0], path, IN_CREATE) < 0)
      return -1;
  } else if (strcmp(mode, "fifo") == 0) {
    snprintf(path, sizeof path, "/tmp/gpatch-fifo-%d", (int)getpid());
    unlink(path);
    return mkfifo(path, 0600);
  } else if (strncmp(mode, "pty", 3) == 0) {
    struct termios t;

    fds[0] = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fds[0] < 0 || grantpt(fds[0]) != 0 || unlockpt(fds[0]) != 0)
      return -1;
    fds[1] = open(ptsname(fds[0]), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fds[1] < 0 || tcgetattr(fds[1], &t) != 0)
      return -1;
    cfmakeraw(&t);
    return tcsetattr(fds[1], TCSANOW, &t);
  } else if (strncmp(mode, "unix_", 5) == 0) {
    int type = strcmp(mode, "unix_stream") == 0 ? SOCK_STREAM
               : strcmp(mode, "unix_dgram") == 0 ? SOCK_DGRAM
                                                   : SOCK_SEQPACKET;
    return socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds);
  } else if (strcmp(mode, "udp") == 0) {
    fds[0] = bound(AF_INET, SOCK_DGRAM, &fds[2]);
    fds[1] = bound(AF_INET, SOCK_DGRAM, &fds[3]);
  } else if (strcmp(mode, "tcp6") == 0) {
    fds[0] = bound(AF_INET6, SOCK_STREAM, &fds[2]);
    if (fds[0] < 0 || listen(fds[0], 4) != 0)
      return -1;
  }
  return fds[0] < 0 ? -1 : 0;
}

static void cleanup(void) {
  char f[96];

  if (strcmp(mode, "fifo") == 0)
    unlink(path);
  if (strcmp(mode, "inotify") == 0) {
    snprintf(f, sizeof f, "%s/created", path);
    unlink(f);
    rmdir(path);
  }
}

static const struct kind *kind;

static void *reader(void *arg) {
  (void)arg;
  kind->reader();
  return NULL;
}

/* The writer waits here until main has counted the OS threads: natively
 * the reader can only return after the writer acted, and both could be
 * gone before a late count. */
static pthread_barrier_t gate;

static void *writer(void *arg) {
  (void)arg;
  pthread_barrier_wait(&gate);
  usleep(DELAY_US);
  /* And one tick more: natively under load the ticker thread could be
   * kept off the CPU for the whole wait (ticked=0 after 87 ms); with the
   * reader in its call by now, the tick falls into the call. */
  long k = ticks;
  while (ticks == k)
    usleep(1000);
  kind->writer();
  return NULL;
}

static void *ticker(void *arg) {
  (void)arg;
  while (!stop) {
    usleep(1000);
    ticks++;
  }
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t t[3];
  size_t i;
  int threads;

  mode = argc > 1 ? argv[1] : "";
  for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(kinds[i].name, mode) == 0)
      kind = &kinds[i];
  if (kind == NULL) {
    fprintf(stderr, "usage: fdkinds MODE (eventfd, fifo, pty, ...)\n");
    return 64;
  }
  if (setup() != 0) {
    if (strcmp(mode, "tcp6") == 0
        && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
      printf("skip=1\n"); /* no IPv6 loopback here */
      return 0;
    }
    fail("setup");
    cleanup();
    return 1;
  }
  pthread_barrier_init(&gate, NULL, 2);
  pthread_create(&t[0], NULL, ticker, NULL);
  pthread_create(&t[1], NULL, reader, NULL);
  pthread_create(&t[2], NULL, writer, NULL);
  usleep(20000); /* the reader is in its call (preloaded: a pool thread's) */
  threads = threads_now();
  pthread_barrier_wait(&gate);
  pthread_join(t[1], NULL);
  pthread_join(t[2], NULL);
  stop = 1;
  pthread_join(t[0], NULL);
  cleanup();
  printf("threads=%d\ngot=%s\nwaited=%d\nticked=%d\nwait_ms=%ld\n", threads,
         got, wait_ms >= 40, wait_ticks >= 1, wait_ms);
  return bad;
}
