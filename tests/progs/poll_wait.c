/* poll_wait: timeouts and readiness of poll, ppoll, select, pselect and
 * epoll_wait while other threads keep running.
 *
 *   poll_wait poll|ppoll|select|pselect|epoll
 *
 * With a ticker thread incrementing a counter every 2 ms throughout, and
 * a pipe nobody writes:
 *   zero      a timeout of 0 returns 0 at once (zero_ms)
 *   timeout   a 200 ms timeout returns 0 after about 200 ms (timeout_ms),
 *             and the ticker ran meanwhile (ticked: at all; under load
 *             the process may wait on the run queue for most of it)
 *   ready     three threads wait on three pipes (one with no timeout, two
 *             with 10 s); main writes to them 150 ms later, one by one;
 *             each wakes with its pipe readable (ready_rcs, ready_ins,
 *             ready_ms the longest wait, ready_first_ms the first)
 *   now       a pipe that already holds data is ready at once (now_rc)
 *   badf      a closed descriptor: EBADF from select, pselect and
 *             epoll_ctl, POLLNVAL from poll and ppoll (badf_rc,
 *             badf_errno, badf_revents)
 * Prints key=value lines; threads is the OS thread count while the ticker
 * and the three waiters run.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "threads_now.h"

static const char *mode;
static volatile long ticks;
static volatile int stop_ticker;
static int ready_pipes[3][2];
static int ready_rc[3], ready_in[3];
static long ready_ms[3];

static long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Waits up to ms milliseconds (-1: no limit) for fd to be readable with
 * the call the mode names.  Returns what the call returned; *in is 1 when
 * fd was reported readable, *revents the poll revents (0 for the others). */
static int wait_in(int fd, int ms, int *in, int *revents) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000L };
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
  fd_set set;
  int rc, ep, e;

  *in = *revents = 0;
  FD_ZERO(&set);
  FD_SET(fd, &set);
  if (strcmp(mode, "poll") == 0 || strcmp(mode, "ppoll") == 0) {
    rc = mode[0] == 'p' && mode[1] == 'o'
           ? poll(&pfd, 1, ms)
           : ppoll(&pfd, 1, ms < 0 ? NULL : &ts, NULL);
    *revents = pfd.revents;
    *in = rc > 0 && (pfd.revents & POLLIN);
    return rc;
  }
  if (strcmp(mode, "select") == 0 || strcmp(mode, "pselect") == 0) {
    rc = mode[0] == 's'
           ? select(fd + 1, &set, NULL, NULL, ms < 0 ? NULL : &tv)
           : pselect(fd + 1, &set, NULL, NULL, ms < 0 ? NULL : &ts, NULL);
    *in = rc > 0 && FD_ISSET(fd, &set);
    return rc;
  }
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
    e = errno;
    close(ep);
    errno = e;
    return -1;
  }
  rc = epoll_wait(ep, &ev, 1, ms);
  e = errno;
  *in = rc > 0 && (ev.events & EPOLLIN) && ev.data.fd == fd;
  close(ep);
  errno = e;
  return rc;
}

static void *ticker(void *arg) {
  (void)arg;
  while (!stop_ticker) {
    usleep(2000);
    ticks++;
  }
  return NULL;
}

static void *waiter(void *arg) {
  intptr_t i = (intptr_t)arg;
  long t0 = now_ms();
  int revents;

  ready_rc[i] = wait_in(ready_pipes[i][0], i == 0 ? -1 : 10000, &ready_in[i],
                        &revents);
  ready_ms[i] = now_ms() - t0;
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t tick, w[3];
  int p[2], in, revents, rc, i, threads, bad;
  long t0, before, longest;

  mode = argc > 1 ? argv[1] : "";
  if (strstr(" poll ppoll select pselect epoll ", mode) == NULL
      || strchr(mode, ' ') != NULL || *mode == '\0') {
    fprintf(stderr, "usage: poll_wait poll|ppoll|select|pselect|epoll\n");
    return 64;
  }
  if (pipe(p) != 0)
    return 1;
  pthread_create(&tick, NULL, ticker, NULL);

  t0 = now_ms();
  rc = wait_in(p[0], 0, &in, &revents);
  printf("zero_rc=%d\nzero_ms=%ld\n", rc, now_ms() - t0);

  before = ticks;
  t0 = now_ms();
  rc = wait_in(p[0], 200, &in, &revents);
  printf("timeout_rc=%d\ntimeout_ms=%ld\n", rc, now_ms() - t0);
  printf("ticked=%d\nticks=%ld\n", ticks - before >= 1, ticks - before);

  for (i = 0; i < 3; i++) {
    if (pipe(ready_pipes[i]) != 0)
      return 1;
    pthread_create(&w[i], NULL, waiter, (void *)(intptr_t)i);
  }
  threads = threads_now();
  usleep(150000);
  for (i = 2; i >= 0; i--) {
    if (write(ready_pipes[i][1], "x", 1) != 1)
      return 1;
    usleep(10000);
  }
  for (i = 0; i < 3; i++)
    pthread_join(w[i], NULL);
  printf("threads=%d\nready_rcs=%d,%d,%d\nready_ins=%d,%d,%d\n", threads,
         ready_rc[0], ready_rc[1], ready_rc[2], ready_in[0], ready_in[1],
         ready_in[2]);
  longest = 0;
  for (i = 0; i < 3; i++)
    longest = ready_ms[i] > longest ? ready_ms[i] : longest;
  printf("ready_ms=%ld\nready_first_ms=%ld\n", longest, ready_ms[2]);

  if (write(p[1], "y", 1) != 1)
    return 1;
  t0 = now_ms();
  rc = wait_in(p[0], 10000, &in, &revents);
  printf("now_rc=%d\nnow_in=%d\nnow_ms=%ld\n", rc, in, now_ms() - t0);

  /* A closed descriptor whose number epoll_create1 will not reuse. */
  bad = fcntl(p[0], F_DUPFD_CLOEXEC, 500);
  close(bad);
  close(p[0]);
  close(p[1]);
  rc = wait_in(bad, 100, &in, &revents);
  printf("badf_rc=%d\nbadf_errno=%d\nbadf_revents=%d\n", rc,
         rc < 0 ? errno : 0, revents);

  stop_ticker = 1;
  pthread_join(tick, NULL);
  return 0;
}
