/* closewake: closing, replacing or shutting down an fd another thread
 * waits on.
 *
 *   closewake MODE
 *
 * A waiter thread blocks on an fd; 60 ms later an actor thread acts on
 * it. MODE says how:
 *   close_read      read() on a pipe; the actor closes the fd, makes a new
 *                   pipe (which takes the same number) and writes to it
 *   close_alone     read() on a pipe; the actor closes the fd and only
 *                   waits (up to 1 s) for the waiter to return: no new fd
 *                   takes the number, so only the close can wake it
 *   close_recv      recv() on a socketpair; close and a new socketpair
 *   close_accept    accept() on a listener; close
 *   close_poll      poll() on a pipe; close
 *   dup2_over       read() on a pipe; dup2 of another pipe over the fd
 *   shutdown_rd     recv() on a socketpair; shutdown(SHUT_RD)
 *   shutdown_wr     send() into a full socketpair; shutdown(SHUT_WR)
 *   shutdown_listen accept() on a listener; shutdown(SHUT_RDWR)
 * Prints rc and err (what the waiter's call returned, errno), rc2 (for
 * shutdown_rd, a second recv after the end of file), revents for
 * poll, reused (1 when the new fd took the old number), fresh (the data
 * written to the new fd, read back by the actor: the waiter never saw
 * it), woke_on_close (close_alone: 1 when the waiter returned before the
 * actor released it, 0 when not within 1 s, -1 in other modes), waited
 * (the waiter's call took 40 ms or more) and threads.
 *
 * Linux itself does not wake a read or accept blocked on an fd that
 * another thread closes (the call holds the file): the close_* and
 * dup2_over modes only end natively because the actor then also writes
 * to (or connects to) the old file through a copy of its fd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "threads_now.h"

static const char *mode;
static int fd, peer, keep = -1;   /* the waited fd, its other end, a copy */
static struct sockaddr_in addr;
static long rc = -2, rc2 = -2, wait_ms;
static int err, revents, reused = -1;
static char fresh[16] = "none";
static int done, woke_on_close = -1; /* the waiter returned; see above */
/* The actor waits here until main has counted the OS threads: natively
 * the waiter can only return after the actor acted, and both could be
 * gone before a late count. */
static pthread_barrier_t gate;

static long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int is(const char *m) { return strcmp(mode, m) == 0; }

static void *waiter(void *arg) {
  char buf[64];
  long t0 = now_ms();

  (void)arg;
  errno = 0;
  if (is("close_read") || is("close_alone") || is("dup2_over"))
    rc = read(fd, buf, sizeof buf);
  else if (is("close_recv") || is("shutdown_rd"))
    rc = recv(fd, buf, sizeof buf, 0);
  if (is("shutdown_rd") && rc == 0)
    rc2 = recv(fd, buf, sizeof buf, 0); /* the end of file again */
  else if (is("close_accept") || is("shutdown_listen"))
    rc = accept(fd, NULL, NULL);
  else if (is("close_poll")) {
    struct pollfd p = { .fd = fd, .events = POLLIN };

    rc = poll(&p, 1, 500);
    revents = p.revents;
  } else if (is("shutdown_wr"))
    rc = send(fd, buf, sizeof buf, MSG_NOSIGNAL);
  err = rc < 0 ? errno : 0;
  wait_ms = now_ms() - t0;
  __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
  return NULL;
}

/* Makes a new pipe or socketpair, checks it took the old number, and
 * moves a message through it. */
static void reuse(int sock) {
  int n[2], old = fd;
  ssize_t k;

  if (sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, n) : pipe(n))
    return;
  reused = n[0] == old || n[1] == old;
  if (write(n[1], "fresh", 5) != 5)
    return;
  k = read(n[0], fresh, sizeof fresh - 1);
  fresh[k > 0 ? k : 0] = '\0';
}

/* Waits up to 1 s for the waiter to return; 1 when it did. */
static int waiter_returned(void) {
  for (int i = 0; i < 1000; i++) {
    if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
      return 1;
    usleep(1000);
  }
  return 0;
}

/* Lets a native waiter, which the close did not wake, finish. */
static void release_native(void) {
  if (keep < 0)
    return;
  if (is("close_accept")) {
    int s = socket(AF_INET, SOCK_STREAM, 0);

    connect(s, (struct sockaddr *)&addr, sizeof addr);
    close(s);
  } else if (write(peer, "old", 3) != 3) {
    perror("release");
  }
}

static void *actor(void *arg) {
  int other[2];

  (void)arg;
  pthread_barrier_wait(&gate); /* main has counted the threads */
  usleep(60000);
  if (is("close_alone")) {
    close(fd);
    woke_on_close = waiter_returned();
  } else if (strncmp(mode, "close_", 6) == 0) {
    close(fd);
    reuse(is("close_recv"));
  } else if (is("dup2_over")) {
    if (pipe(other) == 0 && write(other[1], "over", 4) == 4)
      dup2(other[0], fd);
  } else if (is("shutdown_rd")) {
    shutdown(fd, SHUT_RD);
  } else if (is("shutdown_wr")) {
    shutdown(fd, SHUT_WR);
  } else if (is("shutdown_listen")) {
    shutdown(fd, SHUT_RDWR);
  }
  usleep(100000);
  release_native();
  return NULL;
}

/* A listener on 127.0.0.1; its address goes to addr. */
static int listener(void) {
  socklen_t len = sizeof addr;
  int l = socket(AF_INET, SOCK_STREAM, 0);

  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(l, (struct sockaddr *)&addr, len) != 0 || listen(l, 4) != 0
      || getsockname(l, (struct sockaddr *)&addr, &len) != 0)
    exit(1);
  return l;
}

static void setup(void) {
  int p[2];

  if (is("close_accept") || is("shutdown_listen"))
    fd = listener();
  else if (is("close_recv") || strncmp(mode, "shutdown_", 9) == 0) {
    socketpair(AF_UNIX, SOCK_STREAM, 0, p);
    fd = p[0];
    peer = p[1];
  } else {
    if (pipe(p) != 0)
      exit(1);
    fd = p[0];
    peer = p[1];
  }
  if (is("shutdown_wr")) {
    char buf[4096] = { 0 };

    while (send(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
      ;
  }
  /* A copy keeps the old file open after the close, natively and
   * preloaded alike. */
  if (strncmp(mode, "close_", 6) == 0 || is("dup2_over"))
    keep = dup(fd);
}

int main(int argc, char **argv) {
  pthread_t w, a;
  int threads;

  mode = argc > 1 ? argv[1] : "";
  setup();
  pthread_barrier_init(&gate, NULL, 2);
  pthread_create(&w, NULL, waiter, NULL);
  pthread_create(&a, NULL, actor, NULL);
  threads = threads_now();
  pthread_barrier_wait(&gate);
  pthread_join(w, NULL);
  pthread_join(a, NULL);
  printf("threads=%d\nrc=%ld\nrc2=%ld\nerr=%d\nrevents=%d\nreused=%d\n"
         "fresh=%s\nwoke_on_close=%d\nwaited=%d\n", threads, rc, rc2, err,
         revents, reused, fresh, woke_on_close, wait_ms >= 40);
  return 0;
}
