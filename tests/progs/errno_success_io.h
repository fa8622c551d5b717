/* errno_success_io.h: the fd cases of errno_success: reads, writes,
 * regular files, opens, fd creation and flags, sockets, the poll family.
 * A part of errno_success.c (see errno_success.h).
 */
#ifndef ERRNO_SUCCESS_IO_H
#define ERRNO_SUCCESS_IO_H

/* ---- Reads ------------------------------------------------------------- */

/* One read-like call: reads up to n bytes of fd into buf. */
typedef ssize_t read_fn(int fd, void *buf, size_t n);

static ssize_t rd_read(int fd, void *b, size_t n) { return read(fd, b, n); }
static ssize_t rd_read_chk(int fd, void *b, size_t n) {
  return __read_chk(fd, b, n, n);
}
static ssize_t rd_readv(int fd, void *b, size_t n) {
  struct iovec v = { b, n };
  return readv(fd, &v, 1);
}
static ssize_t rd_recv(int fd, void *b, size_t n) { return recv(fd, b, n, 0); }
static ssize_t rd_recv_chk(int fd, void *b, size_t n) {
  return __recv_chk(fd, b, n, n, 0);
}
static ssize_t rd_recvfrom(int fd, void *b, size_t n) {
  return recvfrom(fd, b, n, 0, NULL, NULL);
}
static ssize_t rd_recvfrom_chk(int fd, void *b, size_t n) {
  return __recvfrom_chk(fd, b, n, n, 0, NULL, NULL);
}
static ssize_t rd_recvmsg(int fd, void *b, size_t n) {
  struct iovec v = { b, n };
  struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
  return recvmsg(fd, &m, 0);
}

/* The read cases of one call on the fd pair p (p[0] read end, p[1] write
 * end, a pipe or a socket): data there, the same fd again, data written
 * later, and data there after F_SETFL O_NONBLOCK then back. */
static void read_cases(const char *name, read_fn *rd, int p[2],
                       const char *kind) {
  char c, path[64];
  struct later l;
  int fl;

  snprintf(path, sizeof path, "%s_now", kind);
  cb_write_byte((void *)(intptr_t)p[1]);
  CHECK(name, path, rd(p[0], &c, 1) == 1);
  snprintf(path, sizeof path, "%s_again", kind);
  cb_write_byte((void *)(intptr_t)p[1]);
  CHECK(name, path, rd(p[0], &c, 1) == 1);
  snprintf(path, sizeof path, "%s_wait", kind);
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)p[1]);
  CHECK(name, path, rd(p[0], &c, 1) == 1);
  later_join(&l);
  fl = fcntl(p[0], F_GETFL);
  fcntl(p[0], F_SETFL, fl | O_NONBLOCK);
  cb_write_byte((void *)(intptr_t)p[1]);
  snprintf(path, sizeof path, "%s_nonblock", kind);
  CHECK(name, path, rd(p[0], &c, 1) == 1);
  fcntl(p[0], F_SETFL, fl);
  snprintf(path, sizeof path, "%s_setfl_wait", kind);
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)p[1]);
  CHECK(name, path, rd(p[0], &c, 1) == 1);
  later_join(&l);
}

static void reads(void) {
  static const struct {
    const char *name;
    read_fn *rd;
    int socket_only;
  } calls[] = {
    { "read", rd_read, 0 },
    { "__read_chk", rd_read_chk, 0 },
    { "readv", rd_readv, 0 },
    { "recv", rd_recv, 1 },
    { "__recv_chk", rd_recv_chk, 1 },
    { "recvfrom", rd_recvfrom, 1 },
    { "__recvfrom_chk", rd_recvfrom_chk, 1 },
    { "recvmsg", rd_recvmsg, 1 },
  };
  int p[2], sv[2], port, lfd, tc[2], fd;
  char buf[16];
  size_t i;

  make_pipe(p);
  make_pair(sv);
  lfd = listener(&port);
  tc[1] = tcp_client(port);
  tc[0] = accept(lfd, NULL, NULL);
  for (i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    if (!calls[i].socket_only)
      read_cases(calls[i].name, calls[i].rd, p, "pipe");
    read_cases(calls[i].name, calls[i].rd, sv, "unix");
    read_cases(calls[i].name, calls[i].rd, tc, "tcp");
  }
  /* A regular file (a pool thread with GPATCH_PATCH=all,file). */
  fd = data_file("read");
  lseek(fd, 0, SEEK_SET);
  CHECK("read", "file", read(fd, buf, sizeof buf) == sizeof buf);
  CHECK("read", "file_again", read(fd, buf, sizeof buf) == sizeof buf);
  CHECK("__read_chk", "file",
        __read_chk(fd, buf, sizeof buf, sizeof buf) == sizeof buf);
  CHECK("readv", "file", rd_readv(fd, buf, sizeof buf) == sizeof buf);
  close(fd);
  close2(p);
  close2(sv);
  close2(tc);
  close(lfd);
}

/* Reads of the fd kinds the shim tracks: eventfd, timerfd, signalfd. */
static void cb_eventfd(void *arg) {
  uint64_t one = 1;

  if (write((int)(intptr_t)arg, &one, sizeof one) != sizeof one)
    perror("errno_success: eventfd write");
}

static void special_reads(void) {
  struct itimerspec its = { .it_value = { 0, DELAY_MS * 1000000L } };
  struct signalfd_siginfo si;
  struct later l;
  uint64_t v;
  sigset_t set;
  int fd;

  fd = eventfd(0, 0);
  cb_eventfd((void *)(intptr_t)fd);
  CHECK("read", "eventfd_now", read(fd, &v, sizeof v) == sizeof v);
  later_start(&l, DELAY_MS, cb_eventfd, (void *)(intptr_t)fd);
  CHECK("read", "eventfd_wait", read(fd, &v, sizeof v) == sizeof v);
  later_join(&l);
  close(fd);
  fd = timerfd_create(CLOCK_MONOTONIC, 0);
  timerfd_settime(fd, 0, &its, NULL);
  CHECK("read", "timerfd_wait", read(fd, &v, sizeof v) == sizeof v);
  close(fd);
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  fd = signalfd(-1, &set, SFD_NONBLOCK); /* never hangs the run */
  pthread_kill(pthread_self(), SIGUSR1);
  CHECK("read", "signalfd_now", read(fd, &si, sizeof si) == sizeof si);
  close(fd);
}

/* ---- Writes ------------------------------------------------------------ */

typedef ssize_t write_fn(int fd, const void *buf, size_t n);

static ssize_t wr_write(int fd, const void *b, size_t n) {
  return write(fd, b, n);
}
static ssize_t wr_writev(int fd, const void *b, size_t n) {
  struct iovec v = { (void *)b, n };
  return writev(fd, &v, 1);
}
static ssize_t wr_send(int fd, const void *b, size_t n) {
  return send(fd, b, n, 0);
}
static ssize_t wr_sendto(int fd, const void *b, size_t n) {
  return sendto(fd, b, n, 0, NULL, 0);
}
static ssize_t wr_sendmsg(int fd, const void *b, size_t n) {
  struct iovec v = { (void *)b, n };
  struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
  return sendmsg(fd, &m, 0);
}

/* Fills fd (a pipe's or socket's write end) until a write would block. */
static void fill(int fd) {
  static char buf[4096];
  int fl = fcntl(fd, F_GETFL);

  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  while (write(fd, buf, sizeof buf) > 0)
    ;
  while (write(fd, buf, 1) > 0)
    ;
  fcntl(fd, F_SETFL, fl);
}

/* The write cases of one call on p (p[1] the fd written, p[0] the peer):
 * room there, again, and a full buffer the peer drains later. */
static void write_cases(const char *name, write_fn *wr, int p[2],
                        const char *kind) {
  char path[64];
  struct later l;

  snprintf(path, sizeof path, "%s_now", kind);
  CHECK(name, path, wr(p[1], "w", 1) == 1);
  snprintf(path, sizeof path, "%s_again", kind);
  CHECK(name, path, wr(p[1], "w", 1) == 1);
  cb_drain((void *)(intptr_t)p[0]);
  fill(p[1]);
  snprintf(path, sizeof path, "%s_wait", kind);
  later_start(&l, DELAY_MS, cb_drain, (void *)(intptr_t)p[0]);
  CHECK(name, path, wr(p[1], "w", 1) == 1);
  later_join(&l);
  cb_drain((void *)(intptr_t)p[0]);
}

static void writes(void) {
  static const struct {
    const char *name;
    write_fn *wr;
    int socket_only;
  } calls[] = {
    { "write", wr_write, 0 },
    { "writev", wr_writev, 0 },
    { "send", wr_send, 1 },
    { "sendto", wr_sendto, 1 },
    { "sendmsg", wr_sendmsg, 1 },
  };
  int p[2], sv[2], port, lfd, tc[2], fd;
  size_t i;

  make_pipe(p);
  make_pair(sv);
  lfd = listener(&port);
  tc[1] = tcp_client(port);
  tc[0] = accept(lfd, NULL, NULL);
  for (i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    if (!calls[i].socket_only)
      write_cases(calls[i].name, calls[i].wr, p, "pipe");
    write_cases(calls[i].name, calls[i].wr, sv, "unix");
    write_cases(calls[i].name, calls[i].wr, tc, "tcp");
  }
  fd = data_file("write");
  CHECK("write", "file", write(fd, "w", 1) == 1);
  CHECK("write", "file_again", write(fd, "w", 1) == 1);
  CHECK("writev", "file", wr_writev(fd, "w", 1) == 1);
  close(fd);
  close2(p);
  close2(sv);
  close2(tc);
  close(lfd);
}

/* ---- Regular files ----------------------------------------------------- */

static void files(void) {
  struct iovec v;
  char buf[64];
  off_t off = 0;
  off64_t off64 = 0;
  int fd, fd2, p[2], sv[2];

  fd = data_file("pfile");
  v.iov_base = buf;
  v.iov_len = sizeof buf;
  CHECK("pread", "file", pread(fd, buf, sizeof buf, 0) == sizeof buf);
  CHECK("pread", "file_again", pread(fd, buf, sizeof buf, 64) == sizeof buf);
  CHECK("pread64", "file", pread64(fd, buf, sizeof buf, 0) == sizeof buf);
  CHECK("__pread_chk", "file",
        __pread_chk(fd, buf, sizeof buf, 0, sizeof buf) == sizeof buf);
  CHECK("__pread64_chk", "file",
        __pread64_chk(fd, buf, sizeof buf, 0, sizeof buf) == sizeof buf);
  CHECK("preadv", "file", preadv(fd, &v, 1, 0) == sizeof buf);
  CHECK("preadv64", "file", preadv64(fd, &v, 1, 0) == sizeof buf);
  CHECK("pwrite", "file", pwrite(fd, buf, sizeof buf, 0) == sizeof buf);
  CHECK("pwrite", "file_again", pwrite(fd, buf, sizeof buf, 8) == sizeof buf);
  CHECK("pwrite64", "file", pwrite64(fd, buf, sizeof buf, 0) == sizeof buf);
  CHECK("pwritev", "file", pwritev(fd, &v, 1, 0) == sizeof buf);
  CHECK("pwritev64", "file", pwritev64(fd, &v, 1, 0) == sizeof buf);
  CHECK("fsync", "file", fsync(fd) == 0);
  CHECK("fsync", "file_again", fsync(fd) == 0);
  CHECK("fdatasync", "file", fdatasync(fd) == 0);
  make_pipe(p);
  CHECK("sendfile", "file_to_pipe", sendfile(p[1], fd, &off, 16) == 16);
  CHECK("sendfile64", "file_to_pipe",
        sendfile64(p[1], fd, &off64, 16) == 16);
  make_pair(sv);
  CHECK("sendfile", "file_to_socket", sendfile(sv[1], fd, &off, 16) == 16);
  CHECK("sendfile64", "file_to_socket",
        sendfile64(sv[1], fd, &off64, 16) == 16);
  close2(p);
  close2(sv);
  fd2 = dup(fd);
  CHECK("fsync", "dup_of_file", fsync(fd2) == 0);
  close(fd2);
  close(fd);
}

/* ---- Opening and creating --------------------------------------------- */

static int dirfd_of_dir(void) {
  int d = open(dir, O_RDONLY | O_DIRECTORY);

  if (d < 0)
    die("open dir");
  return d;
}

/* Records an fd opened by a case, closed by closeall. */
static int opened[64], nopened;

static int keep(int fd) {
  if (fd >= 0 && nopened < 64)
    opened[nopened++] = fd;
  return fd;
}

static void closeall(void) {
  while (nopened > 0)
    close(opened[--nopened]);
}

static void cb_open_fifo_writer(void *arg) {
  int fd = open((const char *)arg, O_WRONLY);

  if (fd >= 0)
    close(fd);
}

static void opens(void) {
  int d = dirfd_of_dir(), fl = O_RDWR | O_CREAT | O_EXCL;
  char fifo[128];

  snprintf(fifo, sizeof fifo, "%s", path_of("fifo"));
  close(data_file("exists"));
  CHECK("open", "create_new", keep(open(path_of("o1"), fl, 0600)) >= 0);
  CHECK("open", "existing", keep(open(path_of("exists"), O_RDONLY)) >= 0);
  CHECK("open", "existing_trunc",
        keep(open(path_of("exists"), O_WRONLY | O_TRUNC)) >= 0);
  CHECK("open", "devnull", keep(open("/dev/null", O_RDWR)) >= 0);
  CHECK("open", "dir", keep(open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
  CHECK("open64", "create_new", keep(open64(path_of("o2"), fl, 0600)) >= 0);
  CHECK("open64", "existing",
        keep(open64(path_of("exists"), O_RDONLY)) >= 0);
  CHECK("openat", "create_new", keep(openat(d, "o3", fl, 0600)) >= 0);
  CHECK("openat", "existing", keep(openat(d, "exists", O_RDONLY)) >= 0);
  CHECK("openat", "cwd_create_new",
        keep(openat(AT_FDCWD, path_of("o4"), fl, 0600)) >= 0);
  CHECK("openat64", "create_new", keep(openat64(d, "o5", fl, 0600)) >= 0);
  CHECK("openat64", "existing",
        keep(openat64(d, "exists", O_RDONLY)) >= 0);
  /* O_RDONLY or O_WRONLY without O_NONBLOCK: the shim first checks for a
   * FIFO, a check that fails on a path not yet there. */
  CHECK("open", "create_wronly",
        keep(open(path_of("w1"), O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
  CHECK("open", "create_rdonly",
        keep(open(path_of("w2"), O_RDONLY | O_CREAT, 0600)) >= 0);
  CHECK("open", "existing_wronly",
        keep(open(path_of("w1"), O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
  CHECK("open64", "create_wronly",
        keep(open64(path_of("w3"), O_WRONLY | O_CREAT, 0600)) >= 0);
  CHECK("openat", "create_wronly",
        keep(openat(d, "w4", O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0);
  CHECK("openat64", "create_wronly",
        keep(openat64(d, "w5", O_WRONLY | O_CREAT, 0600)) >= 0);
  CHECK("open", "create_wronly_nofollow",
        keep(open(path_of("w6"), O_WRONLY | O_CREAT | O_NOFOLLOW, 0600))
        >= 0);
  if (symlink("w7_target", path_of("w7_link")) != 0)
    die("symlink");
  CHECK("open", "create_through_dangling_symlink",
        keep(open(path_of("w7_link"), O_WRONLY | O_CREAT, 0600)) >= 0);
  CHECK("creat", "new", keep(creat(path_of("c1"), 0600)) >= 0);
  CHECK("creat", "existing", keep(creat(path_of("exists"), 0600)) >= 0);
  CHECK("creat64", "new", keep(creat64(path_of("c2"), 0600)) >= 0);
  CHECK("creat64", "existing", keep(creat64(path_of("exists"), 0600)) >= 0);
  CHECK("__open_2", "existing",
        keep(__open_2(path_of("exists"), O_RDONLY)) >= 0);
  CHECK("__open64_2", "existing",
        keep(__open64_2(path_of("exists"), O_RDONLY)) >= 0);
  CHECK("__openat_2", "existing",
        keep(__openat_2(d, "exists", O_RDONLY)) >= 0);
  CHECK("__openat64_2", "existing",
        keep(__openat64_2(d, "exists", O_RDONLY)) >= 0);
  closeall();
  /* A FIFO: non-blocking read end at once; blocking read end waits for a
   * writer that comes later. */
  if (mkfifo(fifo, 0600) != 0)
    die("mkfifo");
  CHECK("open", "fifo_nonblock", keep(open(fifo, O_RDONLY | O_NONBLOCK)) >= 0);
  CHECK("__open_2", "fifo_nonblock",
        keep(__open_2(fifo, O_RDONLY | O_NONBLOCK)) >= 0);
  CHECK("openat", "fifo_nonblock",
        keep(openat(d, "fifo", O_RDONLY | O_NONBLOCK)) >= 0);
  closeall();
  close(d);
}


/* ---- Fd creation, flags and closing ------------------------------------ */

static void fds(void) {
  int p[2], sv[2], fd, x = 0, fl;
  struct timeval tv = { 5, 0 };
  FILE *f;

  CHECK("pipe", "now", pipe(p) == 0);
  close2(p);
  CHECK("pipe2", "cloexec", pipe2(p, O_CLOEXEC) == 0);
  close2(p);
  CHECK("pipe2", "nonblock", pipe2(p, O_NONBLOCK) == 0);
  close2(p);
  CHECK("socketpair", "unix", socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  close2(sv);
  CHECK("socketpair", "nonblock",
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
  close2(sv);
  CHECK("socket", "tcp", (fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
  CHECK("setsockopt", "rcvtimeo",
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
  CHECK("setsockopt", "sndtimeo",
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0);
  x = 1;
  CHECK("setsockopt", "reuseaddr",
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &x, sizeof x) == 0);
  x = 1;
  CHECK("ioctl", "fionbio_on", ioctl(fd, FIONBIO, &x) == 0);
  x = 0;
  CHECK("ioctl", "fionbio_off", ioctl(fd, FIONBIO, &x) == 0);
  CHECK("dup2", "replace_socket", dup2(fd, HIGH_FD) == HIGH_FD);
  CHECK("close", "socket", close(fd) == 0);
  CHECK("close", "socket_dup", close(HIGH_FD) == 0);
  CHECK("socket", "udp_nonblock",
        (fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) >= 0);
  close(fd);
  CHECK("socket", "unix", (fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
  close(fd);
  CHECK("eventfd", "now", (fd = eventfd(0, 0)) >= 0);
  CHECK("close", "eventfd", close(fd) == 0);
  CHECK("timerfd_create", "now",
        (fd = timerfd_create(CLOCK_MONOTONIC, 0)) >= 0);
  close(fd);
  CHECK("epoll_create", "now", (fd = epoll_create(1)) >= 0);
  close(fd);
  CHECK("epoll_create1", "now", (fd = epoll_create1(EPOLL_CLOEXEC)) >= 0);
  CHECK("close", "epoll", close(fd) == 0);
  CHECK("inotify_init", "now", (fd = inotify_init()) >= 0);
  close(fd);
  CHECK("inotify_init1", "now", (fd = inotify_init1(IN_CLOEXEC)) >= 0);
  close(fd);
  {
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK("signalfd", "now", (fd = signalfd(-1, &set, 0)) >= 0);
    close(fd);
  }
  make_pipe(p);
  CHECK("dup", "pipe", (fd = dup(p[0])) >= 0);
  CHECK("dup2", "new", dup2(p[0], HIGH_FD) == HIGH_FD);
  CHECK("dup2", "replace", dup2(p[1], HIGH_FD) == HIGH_FD);
  CHECK("dup2", "same", dup2(HIGH_FD, HIGH_FD) == HIGH_FD);
  CHECK("dup3", "cloexec", dup3(p[0], HIGH_FD, O_CLOEXEC) == HIGH_FD);
  CHECK("close_range", "cloexec",
        close_range(HIGH_FD, HIGH_FD, CLOSE_RANGE_CLOEXEC) == 0);
  CHECK("close_range", "one", close_range(HIGH_FD, HIGH_FD, 0) == 0);
  dup2(p[0], HIGH_FD);
  CHECK_VOID("closefrom", "high", closefrom(HIGH_FD));
  CHECK("close", "pipe_dup", close(fd) == 0);
  CHECK("fcntl", "getfl", (fl = fcntl(p[0], F_GETFL)) >= 0);
  CHECK("fcntl", "setfl_nonblock", fcntl(p[0], F_SETFL, fl | O_NONBLOCK) == 0);
  CHECK("fcntl", "setfl_back", fcntl(p[0], F_SETFL, fl) == 0);
  CHECK("fcntl", "getfd", fcntl(p[0], F_GETFD) >= 0);
  CHECK("fcntl", "dupfd", (fd = fcntl(p[0], F_DUPFD_CLOEXEC, 10)) >= 10);
  close(fd);
  CHECK("fcntl64", "getfl", (fl = fcntl64(p[0], F_GETFL)) >= 0);
  CHECK("fcntl64", "setfl", fcntl64(p[0], F_SETFL, fl) == 0);
  CHECK("fcntl64", "dupfd", (fd = fcntl64(p[0], F_DUPFD, 10)) >= 10);
  close(fd);
  cb_write_byte((void *)(intptr_t)p[1]);
  CHECK("ioctl", "fionread", ioctl(p[0], FIONREAD, &x) == 0 && x == 1);
  CHECK("fdopen", "pipe", (f = fdopen(p[0], "r")) != NULL);
  CHECK("fileno", "pipe", fileno(f) == p[0]);
  CHECK("fileno_unlocked", "pipe", fileno_unlocked(f) == p[0]);
  fclose(f);
  CHECK("close", "pipe", close(p[1]) == 0);
  fd = data_file("closeme");
  CHECK("close", "file", close(fd) == 0);
}

/* ---- Sockets ----------------------------------------------------------- */

static int late_client = -1;

static void cb_connect(void *arg) {
  late_client = tcp_client((int)(intptr_t)arg);
}

static void sockets(void) {
  struct sockaddr_in a = { .sin_family = AF_INET };
  int port, lfd = listener(&port), c, s;
  struct later l;

  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  c = socket(AF_INET, SOCK_STREAM, 0);
  CHECK("connect", "tcp", connect(c, (struct sockaddr *)&a, sizeof a) == 0);
  CHECK("accept", "now", (s = accept(lfd, NULL, NULL)) >= 0);
  CHECK("shutdown", "wr", shutdown(c, SHUT_WR) == 0);
  close(s);
  close(c);
  c = tcp_client(port);
  CHECK("accept4", "now",
        (s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0);
  close(s);
  close(c);
  later_start(&l, DELAY_MS, cb_connect, (void *)(intptr_t)port);
  CHECK("accept", "wait", (s = accept(lfd, NULL, NULL)) >= 0);
  later_join(&l);
  close(s);
  close(late_client);
  later_start(&l, DELAY_MS, cb_connect, (void *)(intptr_t)port);
  CHECK("accept4", "wait",
        (s = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0);
  later_join(&l);
  close(s);
  close(late_client);
  /* A non-blocking connect completes later; poll sees it. */
  c = socket(AF_INET, SOCK_STREAM, 0);
  CHECK("connect", "tcp_again",
        connect(c, (struct sockaddr *)&a, sizeof a) == 0);
  s = accept(lfd, NULL, NULL);
  CHECK("shutdown", "rdwr", shutdown(c, SHUT_RDWR) == 0);
  close(s);
  close(c);
  close(lfd);
}

/* ---- Poll family ------------------------------------------------------- */

/* One readiness wait: waits up to ms (-1: forever) for fd to be readable,
 * returns the call's count of ready fds. */
typedef int poll_fn(int fd, int ms);

static struct timespec ts_of(int ms) {
  struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000 };

  return t;
}

static int pl_poll(int fd, int ms) {
  struct pollfd p = { fd, POLLIN, 0 };
  return poll(&p, 1, ms);
}
static int pl_poll_chk(int fd, int ms) {
  struct pollfd p = { fd, POLLIN, 0 };
  return __poll_chk(&p, 1, ms, sizeof p);
}
static int pl_ppoll(int fd, int ms) {
  struct pollfd p = { fd, POLLIN, 0 };
  struct timespec t = ts_of(ms);
  return ppoll(&p, 1, ms < 0 ? NULL : &t, NULL);
}
static int pl_ppoll_chk(int fd, int ms) {
  struct pollfd p = { fd, POLLIN, 0 };
  struct timespec t = ts_of(ms);
  return __ppoll_chk(&p, 1, ms < 0 ? NULL : &t, NULL, sizeof p);
}
static int pl_select(int fd, int ms) {
  struct timeval t = { ms / 1000, (ms % 1000) * 1000 };
  fd_set r;
  FD_ZERO(&r);
  FD_SET(fd, &r);
  return select(fd + 1, &r, NULL, NULL, ms < 0 ? NULL : &t);
}
static int pl_pselect(int fd, int ms) {
  struct timespec t = ts_of(ms);
  fd_set r;
  FD_ZERO(&r);
  FD_SET(fd, &r);
  return pselect(fd + 1, &r, NULL, NULL, ms < 0 ? NULL : &t, NULL);
}

static int epfd = -1;

static int pl_epoll_wait(int fd, int ms) {
  struct epoll_event ev;
  (void)fd;
  return epoll_wait(epfd, &ev, 1, ms);
}
static int pl_epoll_pwait(int fd, int ms) {
  struct epoll_event ev;
  (void)fd;
  return epoll_pwait(epfd, &ev, 1, ms, NULL);
}
static int pl_epoll_pwait2(int fd, int ms) {
  struct epoll_event ev;
  struct timespec t = ts_of(ms);
  (void)fd;
  return epoll_pwait2(epfd, &ev, 1, ms < 0 ? NULL : &t, NULL);
}

/* The cases of one wait on the read end of p: ready now, zero timeout with
 * nothing ready, ready later (forever and with a timeout), a timeout that
 * passes. */
static void poll_cases(const char *name, poll_fn *pl, int p[2],
                       const char *kind) {
  char c, path[64];
  struct later l;

  snprintf(path, sizeof path, "%s_ready", kind);
  cb_write_byte((void *)(intptr_t)p[1]);
  CHECK(name, path, pl(p[0], -1) == 1);
  snprintf(path, sizeof path, "%s_ready_again", kind);
  CHECK(name, path, pl(p[0], 0) == 1);
  if (read(p[0], &c, 1) != 1)
    die("read");
  snprintf(path, sizeof path, "%s_zero_timeout", kind);
  CHECK(name, path, pl(p[0], 0) == 0);
  snprintf(path, sizeof path, "%s_wait", kind);
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)p[1]);
  CHECK(name, path, pl(p[0], -1) == 1);
  later_join(&l);
  if (read(p[0], &c, 1) != 1)
    die("read");
  snprintf(path, sizeof path, "%s_wait_timeout", kind);
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)p[1]);
  CHECK(name, path, pl(p[0], 5000) == 1);
  later_join(&l);
  if (read(p[0], &c, 1) != 1)
    die("read");
  snprintf(path, sizeof path, "%s_expires", kind);
  CHECK(name, path, pl(p[0], DELAY_MS) == 0);
}

static void polls(void) {
  static const struct {
    const char *name;
    poll_fn *pl;
  } calls[] = {
    { "poll", pl_poll },           { "__poll_chk", pl_poll_chk },
    { "ppoll", pl_ppoll },         { "__ppoll_chk", pl_ppoll_chk },
    { "select", pl_select },       { "pselect", pl_pselect },
    { "epoll_wait", pl_epoll_wait }, { "epoll_pwait", pl_epoll_pwait },
    { "epoll_pwait2", pl_epoll_pwait2 },
  };
  struct epoll_event ev = { .events = EPOLLIN };
  int p[2], sv[2];
  size_t i;

  make_pipe(p);
  make_pair(sv);
  for (i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    epfd = epoll_create1(0);
    ev.data.fd = p[0];
    epoll_ctl(epfd, EPOLL_CTL_ADD, p[0], &ev);
    poll_cases(calls[i].name, calls[i].pl, p, "pipe");
    close(epfd);
    epfd = epoll_create1(0);
    ev.data.fd = sv[0];
    epoll_ctl(epfd, EPOLL_CTL_ADD, sv[0], &ev);
    poll_cases(calls[i].name, calls[i].pl, sv, "unix");
    close(epfd);
  }
  close2(p);
  close2(sv);
}

#endif
