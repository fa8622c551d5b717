/* accept_facts: what an accepted socket is, as the program sees it.
 *
 * The shim records an accepted socket's facts from its listener instead
 * of asking the kernel (shim/core/fdkind.c, gp_fd_accepted); this prints
 * what the program observes, to be compared with a native run. In a
 * thread (another one waits on a pipe, so the calls are cooperative
 * under gpatch). Usage: accept_facts [pre]: with "pre", main sets and
 * clears SO_RCVTIMEO on the TCP listener before any thread exists (the
 * shim cannot note it then). Prints key=value lines:
 *
 *   f<flags>_nb, f<flags>_cloexec  O_NONBLOCK and FD_CLOEXEC of a socket
 *                           from accept4(flags), flags 0, 1 (SOCK_NONBLOCK),
 *                           2 (SOCK_CLOEXEC), 3 (both)
 *   f<flags>_read           a read with nothing there: -errno for a
 *                           non-blocking socket, else what a thread
 *                           writes 30 ms later (5)
 *   nblisten_nb             the listener made O_NONBLOCK by fcntl: the
 *                           accepted socket is not (Linux), and blocks
 *   nblisten_read           ... until the late write: 5
 *   dup_copy_read           the TCP listener had SO_RCVTIMEO 100 ms, set
 *                           through a dup of it, when the connection
 *                           came, none at the accept: the accepted
 *                           socket's read with nothing there: -EAGAIN
 *   tcp_copy_timeo_ms       the same set through the listener itself:
 *                           the socket has 100 ms (a clone of the
 *                           listener)
 *   tcp_copy_read           its read with nothing there: -EAGAIN
 *   unix_timeo_ms           an AF_UNIX listener with SO_RCVTIMEO 50 ms:
 *                           the accepted socket has none (a new socket)
 *   unix_read, unix_type    its read waits past 50 ms for the late write
 *                           (5); SO_TYPE (SOCK_SEQPACKET, 5)
 *   set_after_read          SO_RCVTIMEO 50 ms set after the accept: -EAGAIN
 *   cleared_read            set, then cleared again: the late write (5)
 *   setfl_read              O_NONBLOCK set by fcntl after the accept:
 *                           -EAGAIN at once
 *   threads                 OS threads while the two threads and main run
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "threads_now.h"

static int lfd, gate[2];
static struct sockaddr_in addr;

static void die(const char *what) {
  perror(what);
  _exit(2);
}

/* A connected client socket whose connection waits in l's backlog. */
static int dial(int l) {
  struct sockaddr_storage a;
  socklen_t len = sizeof a;
  if (getsockname(l, (struct sockaddr *)&a, &len) != 0)
    die("accept_facts: getsockname");
  int c = socket(a.ss_family, SOCK_STREAM, 0);
  if (a.ss_family == AF_UNIX) {
    close(c);
    c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  }
  if (c < 0 || connect(c, (struct sockaddr *)&a, len) != 0)
    die("accept_facts: connect");
  return c;
}

static void *late_writer(void *arg) {
  usleep(30 * 1000);
  if (write(*(int *)arg, "hello", 5) != 5)
    die("accept_facts: write");
  return NULL;
}

static void *late_writer_slow(void *arg) {
  usleep(150 * 1000);
  if (write(*(int *)arg, "hello", 5) != 5)
    die("accept_facts: write");
  return NULL;
}

/* Reads from s while a thread writes to c after a while (slow: 150 ms,
 * else 30 ms): the count read, or -errno. */
static long read_late(int s, int c, int slow) {
  pthread_t w;
  pthread_create(&w, NULL, slow ? late_writer_slow : late_writer, &c);
  char buf[100];
  ssize_t r = read(s, buf, sizeof buf);
  long v = r < 0 ? -errno : r;
  pthread_join(w, NULL);
  return v;
}

/* A read of s with nothing there and nothing coming: -errno, or what a
 * read returned (nothing comes: only a timeout or O_NONBLOCK ends it). */
static long read_now(int s) {
  char buf[100];
  ssize_t r = read(s, buf, sizeof buf);
  return r < 0 ? -errno : r;
}

static long timeo_ms(int s) {
  struct timeval tv = {0, 0};
  socklen_t len = sizeof tv;
  getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &len);
  return tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void set_timeo(int s, long ms) {
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
    die("accept_facts: setsockopt");
}

static void flags_case(int i) {
  int flags = (i & 1 ? SOCK_NONBLOCK : 0) | (i & 2 ? SOCK_CLOEXEC : 0);
  int c = dial(lfd);
  int s = accept4(lfd, NULL, NULL, flags);
  if (s < 0)
    die("accept_facts: accept4");
  printf("f%d_nb=%d\n", i, !!(fcntl(s, F_GETFL) & O_NONBLOCK));
  printf("f%d_cloexec=%d\n", i, !!(fcntl(s, F_GETFD) & FD_CLOEXEC));
  printf("f%d_read=%ld\n", i,
         (flags & SOCK_NONBLOCK) ? read_now(s) : read_late(s, c, 0));
  close(s);
  close(c);
}

static void nonblocking_listener(void) {
  int fl = fcntl(lfd, F_GETFL);
  fcntl(lfd, F_SETFL, fl | O_NONBLOCK);
  int c = dial(lfd);
  usleep(20 * 1000); /* the handshake completes */
  int s = accept(lfd, NULL, NULL);
  fcntl(lfd, F_SETFL, fl);
  if (s < 0)
    die("accept_facts: accept (non-blocking listener)");
  printf("nblisten_nb=%d\n", !!(fcntl(s, F_GETFL) & O_NONBLOCK));
  printf("nblisten_read=%ld\n", read_late(s, c, 0));
  close(s);
  close(c);
}

/* The timeout the listener had when the connection came, through the
 * listener itself or a dup of it. */
static void copied_timeout(const char *name, int through_dup) {
  int l = through_dup ? dup(lfd) : lfd;
  set_timeo(l, 100);
  int c = dial(lfd);
  usleep(20 * 1000);
  set_timeo(l, 0);
  int s = accept(lfd, NULL, NULL);
  if (!through_dup)
    printf("%s_timeo_ms=%ld\n", name, timeo_ms(s));
  printf("%s_read=%ld\n", name, read_now(s));
  close(s);
  close(c);
  if (through_dup)
    close(l);
}

static void unix_listener(void) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "accept_facts.%d",
           (int)getpid());
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                              strlen(a.sun_path + 1));
  int l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  if (l < 0 || bind(l, (struct sockaddr *)&a, len) != 0 || listen(l, 4) != 0)
    die("accept_facts: unix listen");
  set_timeo(l, 50);
  int c = dial(l);
  int s = accept(l, NULL, NULL);
  int type = 0;
  socklen_t tl = sizeof type;
  getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &tl);
  printf("unix_timeo_ms=%ld\nunix_type=%d\n", timeo_ms(s), type);
  printf("unix_read=%ld\n", read_late(s, c, 1));
  close(s);
  close(c);
  close(l);
}

static void set_after(void) {
  int c = dial(lfd);
  int s = accept(lfd, NULL, NULL);
  set_timeo(s, 50);
  printf("set_after_read=%ld\n", read_now(s));
  set_timeo(s, 0);
  printf("cleared_read=%ld\n", read_late(s, c, 0));
  fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
  printf("setfl_read=%ld\n", read_now(s));
  close(s);
  close(c);
}

static void *server(void *arg) {
  (void)arg;
  printf("threads=%d\n", threads_now()); /* main, the idler, this one */
  for (int i = 0; i < 4; i++)
    flags_case(i);
  nonblocking_listener();
  set_after();
  copied_timeout("dup_copy", 1); /* first: the listener itself untouched */
  copied_timeout("tcp_copy", 0);
  unix_listener();
  return NULL;
}

static void *idler(void *arg) { /* keeps a second thread alive */
  (void)arg;
  char b;
  while (read(gate[0], &b, 1) < 0 && errno == EINTR)
    ;
  return NULL;
}

int main(int argc, char **argv) {
  socklen_t len = sizeof addr;
  lfd = socket(AF_INET, SOCK_STREAM, 0);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
      listen(lfd, 16) != 0 ||
      getsockname(lfd, (struct sockaddr *)&addr, &len) != 0 ||
      pipe(gate) != 0)
    die("accept_facts: listen");
  if (argc > 1 && strcmp(argv[1], "pre") == 0) {
    set_timeo(lfd, 100); /* before the runtime: no record notes it */
    set_timeo(lfd, 0);
  }
  pthread_t idle, srv;
  pthread_create(&idle, NULL, idler, NULL);
  pthread_create(&srv, NULL, server, NULL);
  pthread_join(srv, NULL);
  close(gate[1]);
  pthread_join(idle, NULL);
  fflush(stdout);
  return 0;
}
