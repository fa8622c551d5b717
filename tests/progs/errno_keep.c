/* errno_keep: errno stays each thread's own across blocking calls.
 *
 *   errno_keep [THREADS [ROUNDS]]
 *
 * Each of THREADS threads (default 8) sets errno to its own value, then
 * sleeps, yields, waits on a contended mutex, polls with a timeout and
 * blocks reading its own pipe (which the next thread writes), and checks
 * after each call that errno still holds its value.  Then each makes
 * calls that fail (read on a closed fd, write to a pipe without reader,
 * connect to a closed port), lets the others run, and checks errno still
 * reports its own failure.  Prints threads, mismatches (errno found
 * changed), badf_ok, epipe_ok and refused_ok (threads whose failure errno
 * survived), as key=value lines.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "threads_now.h"

enum { MAX_THREADS = 64 };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t contended = PTHREAD_MUTEX_INITIALIZER;
static int alive, released, nthreads, rounds, closed_port;
static int pipes[MAX_THREADS][2];
static int mismatches, badf_ok, epipe_ok, refused_ok;

static void count(int *counter, int cond) {
  pthread_mutex_lock(&mu);
  *counter += cond;
  pthread_mutex_unlock(&mu);
}

/* Checks errno against want, counting a mismatch, and leaves it at want. */
static void expect_errno(int want) {
  int e = errno;

  if (e != want)
    count(&mismatches, 1);
  errno = want; /* The count above may itself have touched errno. */
}

/* Lets the other threads run for a moment. */
static void let_others_run(void) {
  int e = errno;

  usleep(2000);
  sched_yield();
  errno = e;
}

static int connect_closed(void) {
  struct sockaddr_in a = { .sin_family = AF_INET };
  int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(closed_port);
  rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  if (rc == 0)
    return 0;
  rc = errno;
  close(fd);
  errno = rc;
  return -1;
}

static void *worker(void *arg) {
  int i = (int)(intptr_t)arg, mine = 1000 + i, r, p[2];
  struct pollfd pfd = { .fd = pipes[i][0], .events = POLLIN };
  char c;

  pthread_mutex_lock(&mu);
  alive++;
  pthread_cond_broadcast(&cv);
  while (!released)
    pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);

  for (r = 0; r < rounds; r++) {
    errno = mine;
    usleep(1000 + 100 * i);
    expect_errno(mine);
    sched_yield();
    expect_errno(mine);
    pthread_mutex_lock(&contended);
    usleep(500);
    expect_errno(mine);
    pthread_mutex_unlock(&contended);
    expect_errno(mine);
    poll(&pfd, 1, 3);
    expect_errno(mine);
    /* A chain: thread i waits for i - 1 (thread 0 for main) to write. */
    if (read(pipes[i][0], &c, 1) != 1)
      count(&mismatches, 1);
    expect_errno(mine);
    if (write(pipes[(i + 1) % (nthreads + 1)][1], "x", 1) != 1)
      count(&mismatches, 1);
    expect_errno(mine);
  }

  r = read(-1, &c, 1) < 0 && errno == EBADF;
  let_others_run();
  count(&badf_ok, r && errno == EBADF);

  if (pipe(p) != 0)
    return NULL;
  close(p[0]);
  r = write(p[1], "x", 1) < 0 && errno == EPIPE;
  let_others_run();
  count(&epipe_ok, r && errno == EPIPE);
  close(p[1]);

  r = connect_closed() < 0 && errno == ECONNREFUSED;
  let_others_run();
  count(&refused_ok, r && errno == ECONNREFUSED);
  return NULL;
}

/* Finds a port nobody listens on: binds one, then closes it. */
static int find_closed_port(void) {
  struct sockaddr_in a = { .sin_family = AF_INET };
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0
      && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

int main(int argc, char **argv) {
  pthread_t t[MAX_THREADS];
  int i, threads, r;
  char c;

  nthreads = argc > 1 ? atoi(argv[1]) : 8;
  rounds = argc > 2 ? atoi(argv[2]) : 20;
  if (nthreads < 1 || nthreads >= MAX_THREADS || rounds < 0) {
    fprintf(stderr, "usage: errno_keep [THREADS [ROUNDS]]\n");
    return 64;
  }
  signal(SIGPIPE, SIG_IGN);
  closed_port = find_closed_port();
  /* pipes[i] feeds thread i; pipes[nthreads] feeds main. */
  for (i = 0; i <= nthreads; i++)
    if (pipe(pipes[i]) != 0)
      return 1;
  for (i = 0; i < nthreads; i++)
    if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) != 0)
      return 1;
  pthread_mutex_lock(&mu);
  while (alive < nthreads)
    pthread_cond_wait(&cv, &mu);
  threads = threads_now();
  released = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);

  /* Pass the token around the ring once per round. */
  errno = 999;
  for (r = 0; r < rounds; r++) {
    if (write(pipes[0][1], "x", 1) != 1
        || read(pipes[nthreads][0], &c, 1) != 1)
      return 1;
    expect_errno(999);
  }
  for (i = 0; i < nthreads; i++)
    pthread_join(t[i], NULL);
  printf("threads=%d\nmismatches=%d\nbadf_ok=%d\nepipe_ok=%d\n", threads,
         mismatches, badf_ok, epipe_ok);
  printf("refused_ok=%d\n", refused_ok);
  return 0;
}
