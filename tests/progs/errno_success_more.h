/* errno_success_more.h: the second pass of errno_success, over paths the
 * first misses: a tty, char devices, EOF, socket timeouts, lists longer
 * than the shim keeps on its stack, datagrams, other kinds of sync
 * objects, threads with attributes, streams, waits that a signal handled
 * with SA_RESTART interrupts, a few cases before any other thread exists,
 * and, run last, the cases that would hang the run. A part of
 * errno_success.c (see errno_success.h).
 */
#ifndef ERRNO_SUCCESS_MORE_H
#define ERRNO_SUCCESS_MORE_H

/* ---- More paths: tty, char devices, EOF, timeouts, long lists ---------- */

/* Reads n bytes from the fd (a helper that drains a big write slowly). */
struct reader {
  int fd;
  size_t n;
};

static void cb_read_all(void *arg) {
  struct reader *r = arg;
  char buf[8192];
  size_t got = 0;
  ssize_t k;

  while (got < r->n && (k = read(r->fd, buf, sizeof buf)) > 0) {
    got += (size_t)k;
    ms_sleep(1);
  }
}

/* A pseudo-terminal pair: *master and *slave (raw, so bytes pass as is). */
static int pty_pair(int *master, int *slave) {
  struct termios t;

  *master = posix_openpt(O_RDWR | O_NOCTTY);
  if (*master < 0 || grantpt(*master) != 0 || unlockpt(*master) != 0)
    return -1;
  *slave = open(ptsname(*master), O_RDWR | O_NOCTTY);
  if (*slave < 0 || tcgetattr(*slave, &t) != 0)
    return -1;
  cfmakeraw(&t);
  return tcsetattr(*slave, TCSANOW, &t);
}

static void ttys_and_devices(void) {
  int m, sl, fd, p[2];
  struct later l;
  struct winsize ws;
  char c, buf[64];

  if (pty_pair(&m, &sl) != 0)
    die("pty");
  CHECK("write", "tty_now", write(sl, "t", 1) == 1);
  CHECK("read", "tty_master_now", read(m, &c, 1) == 1);
  p[0] = sl;
  p[1] = m;
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)m);
  CHECK("read", "tty_wait", read(sl, &c, 1) == 1);
  later_join(&l);
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)sl);
  CHECK("read", "tty_master_wait", read(m, &c, 1) == 1);
  later_join(&l);
  CHECK("ioctl", "tty_winsize", ioctl(sl, TIOCGWINSZ, &ws) == 0);
  poll_cases("poll", pl_poll, p, "tty");
  close(sl);
  close(m);
  fd = open("/dev/null", O_RDWR);
  CHECK("read", "devnull_eof", read(fd, buf, sizeof buf) == 0);
  CHECK("write", "devnull", write(fd, buf, sizeof buf) == sizeof buf);
  CHECK("read", "devnull_again", read(fd, buf, sizeof buf) == 0);
  close(fd);
  fd = open("/dev/zero", O_RDONLY);
  CHECK("read", "devzero", read(fd, buf, sizeof buf) == sizeof buf);
  CHECK("__read_chk", "devzero",
        __read_chk(fd, buf, sizeof buf, sizeof buf) == sizeof buf);
  close(fd);
}

static void eofs_and_timeouts(void) {
  struct timeval tv = { 5, 0 };
  int p[2], sv[2], x;
  struct later l;
  char c;

  make_pipe(p);
  close(p[1]);
  CHECK("read", "pipe_eof", read(p[0], &c, 1) == 0);
  close(p[0]);
  make_pair(sv);
  shutdown(sv[1], SHUT_WR);
  CHECK("recv", "unix_eof", recv(sv[0], &c, 1, 0) == 0);
  close2(sv);
  /* A socket timeout: the data comes before it. */
  make_pair(sv);
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)sv[1]);
  CHECK("recv", "unix_rcvtimeo_wait", recv(sv[0], &c, 1, 0) == 1);
  later_join(&l);
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)sv[1]);
  CHECK("read", "unix_rcvtimeo_wait", read(sv[0], &c, 1) == 1);
  later_join(&l);
  /* ioctl FIONBIO on and off, then reads. */
  x = 1;
  ioctl(sv[0], FIONBIO, &x);
  cb_write_byte((void *)(intptr_t)sv[1]);
  CHECK("read", "unix_fionbio_on", read(sv[0], &c, 1) == 1);
  x = 0;
  ioctl(sv[0], FIONBIO, &x);
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)sv[1]);
  CHECK("read", "unix_fionbio_off_wait", read(sv[0], &c, 1) == 1);
  later_join(&l);
  close2(sv);
}

/* Long lists: more iovecs and poll fds than the shim keeps on its stack,
 * a big write drained slowly (several parks), a dup of a pipe. */
static void long_lists(void) {
  enum { NIOV = 40, NFD = 40, BIG = 1 << 20 };
  static char big[BIG];
  struct iovec iov[NIOV];
  struct pollfd pf[NFD];
  struct reader r;
  struct later l;
  char bytes[NIOV];
  int p[2], sv[2], q[NFD][2], i, d;
  fd_set rs;

  make_pipe(p);
  for (i = 0; i < NIOV; i++)
    iov[i] = (struct iovec){ bytes + i, 1 };
  CHECK("writev", "pipe_many_iov", writev(p[1], iov, NIOV) == NIOV);
  CHECK("readv", "pipe_many_iov", readv(p[0], iov, NIOV) == NIOV);
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)p[1]);
  CHECK("readv", "pipe_many_iov_wait", readv(p[0], iov, NIOV) == 1);
  later_join(&l);
  fill(p[1]);
  later_start(&l, DELAY_MS, cb_drain, (void *)(intptr_t)p[0]);
  CHECK("writev", "pipe_many_iov_wait", writev(p[1], iov, NIOV) == NIOV);
  later_join(&l);
  cb_drain((void *)(intptr_t)p[0]);
  d = dup(p[0]);
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)p[1]);
  CHECK("read", "pipe_dup_wait", read(d, bytes, 1) == 1);
  later_join(&l);
  close(d);
  for (i = 0; i < NFD; i++) {
    make_pipe(q[i]);
    pf[i] = (struct pollfd){ i == 3 ? -1 : q[i][0], POLLIN, 0 };
  }
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)q[NFD - 1][1]);
  CHECK("poll", "many_fds_wait", poll(pf, NFD, 5000) == 1);
  later_join(&l);
  FD_ZERO(&rs);
  for (i = 0; i < NFD; i++)
    FD_SET(q[i][0], &rs);
  CHECK("select", "many_fds_ready", select(FD_SETSIZE, &rs, NULL, NULL,
                                           NULL) == 1);
  if (read(q[NFD - 1][0], bytes, 1) != 1)
    die("read");
  FD_ZERO(&rs);
  for (i = 0; i < NFD; i++)
    FD_SET(q[i][0], &rs);
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)q[0][1]);
  CHECK("select", "many_fds_wait", select(FD_SETSIZE, &rs, NULL, NULL,
                                          NULL) == 1);
  later_join(&l);
  for (i = 0; i < NFD; i++)
    close2(q[i]);
  make_pair(sv);
  r.fd = sv[0];
  r.n = BIG;
  later_start(&l, DELAY_MS, cb_read_all, &r);
  CHECK("write", "unix_big_wait", write(sv[1], big, BIG) == BIG);
  later_join(&l);
  r.n = BIG;
  later_start(&l, DELAY_MS, cb_read_all, &r);
  CHECK("send", "unix_big_wait", send(sv[1], big, BIG, 0) == BIG);
  later_join(&l);
  close2(sv);
  fill(p[1]);
  {
    int fd = data_file("sendfile_wait");
    off_t off = 0;

    later_start(&l, DELAY_MS, cb_drain, (void *)(intptr_t)p[0]);
    CHECK("sendfile", "pipe_wait", sendfile(p[1], fd, &off, 16) == 16);
    later_join(&l);
    close(fd);
  }
  close2(p);
}

/* Waits with a signal mask, and datagrams. */
static void masks_and_dgrams(void) {
  struct sockaddr_in a = { .sin_family = AF_INET };
  socklen_t len = sizeof a;
  struct timespec t = { 5, 0 };
  struct pollfd pf;
  struct later l;
  sigset_t mask;
  fd_set rs;
  int p[2], u, v;
  char c;

  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR2);
  make_pipe(p);
  pf = (struct pollfd){ p[0], POLLIN, 0 };
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)p[1]);
  CHECK("ppoll", "mask_wait", ppoll(&pf, 1, &t, &mask) == 1);
  later_join(&l);
  if (read(p[0], &c, 1) != 1)
    die("read");
  FD_ZERO(&rs);
  FD_SET(p[0], &rs);
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)p[1]);
  CHECK("pselect", "mask_wait",
        pselect(p[0] + 1, &rs, NULL, NULL, &t, &mask) == 1);
  later_join(&l);
  close2(p);
  u = socket(AF_INET, SOCK_DGRAM, 0);
  v = socket(AF_INET, SOCK_DGRAM, 0);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(u, (struct sockaddr *)&a, sizeof a) != 0
      || getsockname(u, (struct sockaddr *)&a, &len) != 0)
    die("udp");
  CHECK("sendto", "udp", sendto(v, "u", 1, 0, (struct sockaddr *)&a,
                                sizeof a) == 1);
  CHECK("recvfrom", "udp_now", recvfrom(u, &c, 1, 0, NULL, NULL) == 1);
  CHECK("connect", "udp", connect(v, (struct sockaddr *)&a, sizeof a) == 0);
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)v);
  CHECK("recvfrom", "udp_wait", recvfrom(u, &c, 1, 0, NULL, NULL) == 1);
  later_join(&l);
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)v);
  CHECK("recvmsg", "udp_wait", rd_recvmsg(u, &c, 1) == 1);
  later_join(&l);
  CHECK("send", "udp_connected", send(v, "u", 1, 0) == 1);
  CHECK("recv", "udp_now", recv(u, &c, 1, 0) == 1);
  close(u);
  close(v);
}

/* Sync objects of other kinds, contended once/call_once, a ready queue. */
static pthread_once_t slow_once = PTHREAD_ONCE_INIT;
static once_flag slow_c11_once = ONCE_FLAG_INIT;
static void cb_slow_once(void) { ms_sleep(DELAY_MS); }
static void *once_runner(void *arg) {
  (void)arg;
  pthread_once(&slow_once, cb_slow_once);
  call_once(&slow_c11_once, cb_slow_once);
  return NULL;
}

static void *yielder(void *arg) {
  int i;

  (void)arg;
  for (i = 0; i < 20; i++)
    sched_yield();
  return NULL;
}

static void sync_kinds(void) {
  pthread_mutexattr_t ma;
  pthread_mutex_t m;
  pthread_condattr_t ca;
  pthread_cond_t cv;
  struct timespec t;
  pthread_t th;
  sem_t s;

  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(&m, &ma);
  CHECK_RC("pthread_mutex_lock", "pshared", pthread_mutex_lock(&m));
  CHECK_RC("pthread_mutex_unlock", "pshared", pthread_mutex_unlock(&m));
  pthread_mutex_destroy(&m);
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
  pthread_mutex_init(&m, &ma);
  CHECK_RC("pthread_mutex_lock", "prio_inherit", pthread_mutex_lock(&m));
  CHECK_RC("pthread_mutex_unlock", "prio_inherit", pthread_mutex_unlock(&m));
  pthread_mutex_destroy(&m);
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&m, &ma);
  CHECK_RC("pthread_mutex_lock", "robust", pthread_mutex_lock(&m));
  CHECK_RC("pthread_mutex_unlock", "robust", pthread_mutex_unlock(&m));
  t = deadline(CLOCK_REALTIME, -1000);
  CHECK_RC("pthread_mutex_timedlock", "past_deadline_free",
           pthread_mutex_timedlock(&m, &t));
  pthread_mutex_unlock(&m);
  pthread_mutex_destroy(&m);
  pthread_mutex_init(&m, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&cv, &ca);
  {
    struct cond_fix c = { PTHREAD_MUTEX_INITIALIZER, cv, 0, 0 };
    struct later l;

    pthread_mutex_lock(&c.mu);
    later_start(&l, DELAY_MS, cb_cond_signal, &c);
    t = deadline(CLOCK_MONOTONIC, 5000);
    CHECK_RC("pthread_cond_timedwait", "monotonic_attr",
             pthread_cond_timedwait(&c.cv, &c.mu, &t));
    while (!c.flag)
      pthread_cond_timedwait(&c.cv, &c.mu, &t);
    pthread_mutex_unlock(&c.mu);
    later_join(&l);
  }
  sem_init(&s, 1, 1);
  CHECK("sem_wait", "pshared_now", sem_wait(&s) == 0);
  CHECK("sem_post", "pshared", sem_post(&s) == 0);
  t = deadline(CLOCK_REALTIME, -1000);
  CHECK("sem_timedwait", "past_deadline_free", sem_timedwait(&s, &t) == 0);
  sem_destroy(&s);
  pthread_create(&th, NULL, once_runner, NULL);
  ms_sleep(DELAY_MS / 4);
  CHECK_RC("pthread_once", "contended",
           pthread_once(&slow_once, cb_slow_once));
  CHECK_VOID("call_once", "contended",
             call_once(&slow_c11_once, cb_slow_once));
  pthread_join(th, NULL);
  pthread_create(&th, NULL, yielder, NULL);
  CHECK("sched_yield", "others_ready", sched_yield() == 0);
  CHECK_VOID("thrd_yield", "others_ready", thrd_yield());
  pthread_join(th, NULL);
}

/* Thread creation with attributes, exits through pthread_exit, keys in a
 * new thread. */
static void *exiter(void *arg) {
  pthread_exit(arg);
}

static void *key_user(void *arg) {
  pthread_key_t *k = arg;
  int p[2];
  char c;
  struct later l;

  CHECK_RC("pthread_setspecific", "new_thread", pthread_setspecific(*k, k));
  CHECK("pthread_getspecific", "new_thread", pthread_getspecific(*k) == k);
  /* The main cases once more, from a thread that is not main. */
  make_pipe(p);
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)p[1]);
  CHECK("read", "pipe_wait_in_thread", read(p[0], &c, 1) == 1);
  later_join(&l);
  close2(p);
  CHECK("usleep", "wait_in_thread", usleep(DELAY_MS * 1000) == 0);
  CHECK("open", "create_wronly_in_thread",
        keep(open(path_of("t1"), O_WRONLY | O_CREAT, 0600)) >= 0);
  return NULL;
}

static void key_destructor(void *v) { (void)v; }

static void thread_kinds(void) {
  pthread_attr_t a;
  pthread_key_t k;
  pthread_t t;
  void *v;

  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  CHECK_RC("pthread_create", "detached_attr",
           pthread_create(&t, &a, slow, NULL));
  pthread_attr_destroy(&a);
  pthread_attr_init(&a);
  pthread_attr_setstacksize(&a, 256 * 1024);
  CHECK_RC("pthread_create", "stacksize_attr",
           pthread_create(&t, &a, quick, NULL));
  pthread_attr_destroy(&a);
  pthread_join(t, NULL);
  pthread_create(&t, NULL, exiter, &a);
  ms_sleep(DELAY_MS);
  CHECK_RC("pthread_join", "pthread_exit_done", pthread_join(t, &v));
  pthread_key_create(&k, NULL);
  CHECK("pthread_getspecific", "unset", pthread_getspecific(k) == NULL);
  pthread_key_delete(k);
  CHECK_RC("pthread_key_create", "destructor",
           pthread_key_create(&k, key_destructor));
  pthread_create(&t, NULL, key_user, &k);
  pthread_join(t, NULL);
  closeall();
  pthread_key_delete(k);
  ms_sleep(2 * DELAY_MS);
}

/* A few cases before any other thread exists: the pass-through path. */
static void alone(void) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  int p[2];
  char c;

  CHECK("open", "create_wronly_alone",
        keep(open(path_of("a1"), O_WRONLY | O_CREAT, 0600)) >= 0);
  CHECK("creat", "new_alone", keep(creat(path_of("a2"), 0600)) >= 0);
  closeall();
  make_pipe(p);
  CHECK("write", "pipe_alone", write(p[1], "a", 1) == 1);
  CHECK("read", "pipe_alone", read(p[0], &c, 1) == 1);
  close2(p);
  CHECK("usleep", "wait_alone", usleep(1000) == 0);
  CHECK_RC("pthread_mutex_lock", "alone", pthread_mutex_lock(&m));
  pthread_mutex_unlock(&m);
}

/* Streams over pipes and sockets: the shim makes them itself (cookie
 * streams whose reads and writes go through its hooks). */
static void streams(void) {
  char line[16];
  struct later l;
  int p[2], sv[2], fd;
  FILE *f, *g;

  make_pair(sv);
  CHECK("fdopen", "socket", (f = fdopen(sv[0], "r+")) != NULL);
  CHECK("fileno", "socket_stream", fileno(f) == sv[0]);
  CHECK("fileno_unlocked", "socket_stream", fileno_unlocked(f) == sv[0]);
  setvbuf(f, NULL, _IONBF, 0);
  later_start(&l, DELAY_MS, cb_write_byte, (void *)(intptr_t)sv[1]);
  CHECK("read", "stdio_fgetc_wait", fgetc(f) == 'x');
  later_join(&l);
  CHECK("write", "stdio_fputc", fputc('y', f) == 'y');
  CHECK("close", "stdio_fclose", fclose(f) == 0);
  close(sv[1]);
  make_pipe(p);
  CHECK("fdopen", "pipe_write", (g = fdopen(p[1], "w")) != NULL);
  CHECK("write", "stdio_fflush", fputs("z\n", g) >= 0 && fflush(g) == 0);
  CHECK("fdopen", "pipe_read", (f = fdopen(p[0], "r")) != NULL);
  CHECK("read", "stdio_fgets", fgets(line, sizeof line, f) != NULL);
  fclose(g);
  fclose(f);
  fd = data_file("stream");
  CHECK("fdopen", "file", (f = fdopen(fd, "r")) != NULL);
  CHECK("fileno", "file_stream", fileno(f) == fd);
  fclose(f);
}

/* ---- Signals during a wait: a handler with SA_RESTART ------------------- */

/* A helper that sends main SIGUSR2 (handled with SA_RESTART) while main
 * waits, then DELAY_MS later does what ends the wait: the wait goes on
 * after the handler, natively through the kernel's restart, and the call
 * succeeds with errno untouched. */
struct kick {
  struct later l;
  void (*fn)(void *);
  void *arg;
};

static volatile sig_atomic_t restart_handled;

static void on_usr2_restart(int sig) {
  (void)sig;
  restart_handled++;
}

static void cb_kick(void *arg) {
  struct kick *k = arg;

  pthread_kill(main_thread, SIGUSR2);
  ms_sleep(DELAY_MS);
  k->fn(k->arg);
}

static void kick_start(struct kick *k, void (*fn)(void *), void *arg) {
  k->fn = fn;
  k->arg = arg;
  later_start(&k->l, DELAY_MS, cb_kick, k);
}

static void kick_join(struct kick *k) { later_join(&k->l); }

static void cb_none(void *arg) { (void)arg; }

/* A holder's give that signals main first (see hold). */
static void mu_kick_give(void *m) {
  pthread_kill(main_thread, SIGUSR2);
  ms_sleep(DELAY_MS);
  pthread_mutex_unlock(m);
}

static void rw_kick_give(void *l) {
  pthread_kill(main_thread, SIGUSR2);
  ms_sleep(DELAY_MS);
  pthread_rwlock_unlock(l);
}

static void *slow3(void *arg) {
  ms_sleep(3 * DELAY_MS);
  return arg;
}

static void restarts(void) {
  struct sigaction sa = { .sa_handler = on_usr2_restart,
                          .sa_flags = SA_RESTART };
  struct cond_fix c = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                        0, 0 };
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
  int p[2], port, lfd, tc[2], s, st;
  struct holder h;
  struct kick k;
  pthread_t t;
  pid_t pid;
  char ch;

  sigaction(SIGUSR2, &sa, NULL);
  make_pipe(p);
  kick_start(&k, cb_write_byte, (void *)(intptr_t)p[1]);
  CHECK("read", "pipe_signal_restart", read(p[0], &ch, 1) == 1);
  kick_join(&k);
  fill(p[1]);
  kick_start(&k, cb_drain, (void *)(intptr_t)p[0]);
  CHECK("write", "pipe_signal_restart", write(p[1], "w", 1) == 1);
  kick_join(&k);
  close2(p);
  lfd = listener(&port);
  kick_start(&k, cb_connect, (void *)(intptr_t)port);
  CHECK("accept", "signal_restart", (s = accept(lfd, NULL, NULL)) >= 0);
  kick_join(&k);
  tc[0] = s;
  tc[1] = late_client;
  kick_start(&k, cb_write_byte, (void *)(intptr_t)tc[1]);
  CHECK("recv", "tcp_signal_restart", recv(tc[0], &ch, 1, 0) == 1);
  kick_join(&k);
  close2(tc);
  close(lfd);
  pid = child(3 * DELAY_MS, 0);
  kick_start(&k, cb_none, NULL);
  CHECK("waitpid", "signal_restart", waitpid(pid, &st, 0) == pid);
  kick_join(&k);
  pthread_create(&t, NULL, slow3, NULL);
  kick_start(&k, cb_none, NULL);
  CHECK_RC("pthread_join", "signal", pthread_join(t, NULL));
  kick_join(&k);
  hold(&h, mu_take, mu_kick_give, &m);
  CHECK_RC("pthread_mutex_lock", "signal_contended", pthread_mutex_lock(&m));
  pthread_mutex_unlock(&m);
  unhold(&h);
  hold(&h, rw_rd, rw_kick_give, &rw);
  CHECK_RC("pthread_rwlock_wrlock", "signal_contended",
           pthread_rwlock_wrlock(&rw));
  pthread_rwlock_unlock(&rw);
  unhold(&h);
  pthread_mutex_lock(&c.mu);
  kick_start(&k, cb_cond_signal, &c);
  CHECK_RC("pthread_cond_wait", "signal", pthread_cond_wait(&c.cv, &c.mu));
  while (!c.flag)
    pthread_cond_wait(&c.cv, &c.mu);
  pthread_mutex_unlock(&c.mu);
  kick_join(&k);
  pthread_barrier_init(&bar, NULL, 2);
  kick_start(&k, cb_barrier, NULL);
  CHECK_RC("pthread_barrier_wait", "signal",
           barrier_ok(pthread_barrier_wait(&bar)));
  kick_join(&k);
  pthread_barrier_destroy(&bar);
  printf("signal_restarts=%d\n", (int)restart_handled);
}

/* Odds and ends: a unix connect, a non-blocking listener and accepted
 * socket, handlers the shim wraps, popen for writing. */
static void odds(void) {
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  struct sigaction sa = { .sa_handler = on_usr2 };
  int l, c, s, port, lfd;
  char ch;
  FILE *f;

  snprintf(a.sun_path, sizeof a.sun_path, "%s", path_of("sock"));
  l = socket(AF_UNIX, SOCK_STREAM, 0);
  if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 4) != 0)
    die("unix listener");
  c = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK("connect", "unix", connect(c, (struct sockaddr *)&a, sizeof a) == 0);
  CHECK("accept", "unix_now", (s = accept(l, NULL, NULL)) >= 0);
  close(s);
  close(c);
  close(l);
  lfd = listener(&port);
  fcntl(lfd, F_SETFL, O_NONBLOCK);
  c = tcp_client(port);
  ms_sleep(DELAY_MS / 4);
  CHECK("accept", "nonblock_listener_now",
        (s = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0);
  cb_write_byte((void *)(intptr_t)c);
  ms_sleep(DELAY_MS / 4);
  CHECK("recv", "nonblock_accepted_now", recv(s, &ch, 1, 0) == 1);
  close(s);
  close(c);
  close(lfd);
  CHECK("sigaction", "sigchld", sigaction(SIGCHLD, &sa, NULL) == 0);
  sa.sa_handler = SIG_DFL;
  sigaction(SIGCHLD, &sa, NULL);
  CHECK("signal", "sigpipe_ign", signal(SIGPIPE, SIG_IGN) != SIG_ERR);
  CHECK("popen", "write", (f = popen("cat >/dev/null", "w")) != NULL);
  if (f != NULL) {
    fputs("x\n", f);
    CHECK("pclose", "write", pclose(f) == 0);
  }
}

/* ---- Thread ids and the calls that take one --------------------------- */

static pid_t tid_of_waiter;

static void *note_tid_and_wait(void *arg) {
  char c;
  tid_of_waiter = gettid();
  while (read((int)(intptr_t)arg, &c, 1) < 0 && errno == EINTR)
    ;
  return NULL;
}

/* Each on the calling thread's id and on another thread's (which, with
 * GPATCH_TLS=private, is a coroutine's own). */
static void tids(void) {
  struct sched_param sp;
  cpu_set_t cpus;
  pthread_t t;
  int p[2], pol, prio;
  pid_t me;

  make_pipe(p);
  pthread_create(&t, NULL, note_tid_and_wait, (void *)(intptr_t)p[0]);
  while (__atomic_load_n(&tid_of_waiter, __ATOMIC_RELAXED) == 0)
    ms_sleep(1);
  CHECK("gettid", "now", (me = gettid()) > 0);
  pid_t ids[2] = {me, tid_of_waiter};
  for (int i = 0; i < 2; i++) {
    const char *path = i == 0 ? "self" : "thread";
    CHECK("tgkill", path, tgkill(getpid(), ids[i], 0) == 0);
    CHECK("sched_getaffinity", path,
          sched_getaffinity(ids[i], sizeof cpus, &cpus) == 0);
    CHECK("sched_setaffinity", path,
          sched_setaffinity(ids[i], sizeof cpus, &cpus) == 0);
    CHECK("sched_getscheduler", path, (pol = sched_getscheduler(ids[i])) >= 0);
    CHECK("sched_getparam", path, sched_getparam(ids[i], &sp) == 0);
    CHECK("sched_setparam", path, sched_setparam(ids[i], &sp) == 0);
    CHECK("sched_setscheduler", path,
          sched_setscheduler(ids[i], pol, &sp) == 0);
    CHECK("getpriority", path,
          (prio = getpriority(PRIO_PROCESS, (id_t)ids[i])) >= -20);
    CHECK("setpriority", path,
          setpriority(PRIO_PROCESS, (id_t)ids[i], prio) == 0);
  }
  if (write(p[1], "q", 1) != 1)
    die("write");
  pthread_join(t, NULL);
  close2(p);
  CHECK("setuid", "same", setuid(getuid()) == 0);
  CHECK("setgid", "same", setgid(getgid()) == 0);
  CHECK("seteuid", "same", seteuid(geteuid()) == 0);
  CHECK("setegid", "same", setegid(getegid()) == 0);
  CHECK("setreuid", "keep", setreuid((uid_t)-1, (uid_t)-1) == 0);
  CHECK("setregid", "keep", setregid((gid_t)-1, (gid_t)-1) == 0);
  CHECK("setresuid", "keep",
        setresuid((uid_t)-1, (uid_t)-1, (uid_t)-1) == 0);
  CHECK("setresgid", "keep",
        setresgid((gid_t)-1, (gid_t)-1, (gid_t)-1) == 0);
}

/* Cases that hang the whole run when the shim blocks the OS thread in them:
 * run last, so that every other case has printed its line. */
static void blocking_last(void) {
  pthread_spinlock_t s;
  struct holder h;
  struct later l;

  static char fifo[128];

  snprintf(fifo, sizeof fifo, "%s", path_of("fifo"));
  later_start(&l, DELAY_MS, cb_open_fifo_writer, fifo);
  CHECK("open", "fifo_wait", keep(open(fifo, O_RDONLY)) >= 0);
  later_join(&l);
  closeall();
  pthread_spin_init(&s, PTHREAD_PROCESS_PRIVATE);
  hold(&h, sp_take, sp_give, (void *)&s);
  CHECK_RC("pthread_spin_lock", "contended", pthread_spin_lock(&s));
  pthread_spin_unlock(&s);
  unhold(&h);
  pthread_spin_destroy(&s);
}

/* ---- Calls that block in the kernel with no cooperative form ---------
 * (semaphores, message queues, file locks): each made where it does not
 * wait, through the path that hands the scheduler to another OS thread
 * (GPATCH_TLS=private) and the straight one. */
#include <mqueue.h>
#include <sys/file.h>
#include <sys/msg.h>
#include <sys/sem.h>

static void ipc_and_locks(void) {
  struct sembuf up = {0, 1, 0}, down = {0, -1, 0}, nowait = {0, 1, IPC_NOWAIT};
  struct timespec ts = {5, 0}, abs;
  struct {
    long type;
    char text[8];
  } msg = {1, "hi"};
  char path[PATH_MAX + 16], buf[64], name[64];
  int sem = semget(IPC_PRIVATE, 1, 0600), q = msgget(IPC_PRIVATE, 0600), fd;
  mqd_t mq;
  struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 32};
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

  if (sem < 0 || q < 0)
    die("semget/msgget");
  CHECK("semop", "up", semop(sem, &up, 1) == 0);
  CHECK("semop", "nowait", semop(sem, &nowait, 1) == 0);
  CHECK("semop", "down", semop(sem, &down, 1) == 0);
  CHECK("semtimedop", "down", semtimedop(sem, &down, 1, &ts) == 0);
  CHECK("msgsnd", "send", msgsnd(q, &msg, sizeof msg.text, 0) == 0);
  CHECK("msgrcv", "recv", msgrcv(q, &msg, sizeof msg.text, 0, 0) > 0);
  semctl(sem, 0, IPC_RMID);
  msgctl(q, IPC_RMID, NULL);
  snprintf(name, sizeof name, "/gp_errno_%d", (int)getpid());
  mq = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
  if (mq == (mqd_t)-1)
    die("mq_open");
  mq_unlink(name);
  clock_gettime(CLOCK_REALTIME, &abs);
  abs.tv_sec += 5;
  CHECK("mq_send", "send", mq_send(mq, "a", 1, 0) == 0);
  CHECK("mq_timedsend", "send", mq_timedsend(mq, "b", 1, 0, &abs) == 0);
  CHECK("mq_receive", "recv", mq_receive(mq, buf, sizeof buf, NULL) == 1);
  CHECK("mq_timedreceive", "recv",
        mq_timedreceive(mq, buf, sizeof buf, NULL, &abs) == 1);
  mq_close(mq);
  snprintf(path, sizeof path, "%s/locks", dir);
  fd = open(path, O_RDWR | O_CREAT, 0600);
  if (fd < 0)
    die("open locks");
  CHECK("flock", "exclusive", flock(fd, LOCK_EX) == 0);
  CHECK("flock", "unlock_nb", flock(fd, LOCK_UN | LOCK_NB) == 0);
  CHECK("lockf", "lock", lockf(fd, F_LOCK, 0) == 0);
  CHECK("lockf", "unlock", lockf(fd, F_ULOCK, 0) == 0);
  CHECK("lockf64", "lock", lockf64(fd, F_LOCK, 0) == 0);
  CHECK("lockf64", "unlock", lockf64(fd, F_ULOCK, 0) == 0);
  CHECK("fcntl", "setlkw", fcntl(fd, F_SETLKW, &fl) == 0);
  close(fd);
}

#endif
