/* slice_busy: an event loop that never has to wait, beside threads that
 * do (the time slice: DESIGN.md, "A coroutine that never blocks").
 *
 *   slice_busy epoll|poll [busy_ms [quiet|signals]]
 *
 * The main thread waits with epoll_wait (or poll), no timeout, on an
 * eventfd that is never drained: every call returns one event at once,
 * as a busy proxy's loop does. It loops so for busy_ms (default 1000).
 * Meanwhile four threads each wait in their own way and note how late
 * they ran against when they should have:
 *   sleep  nanosleep 10 ms; late by the time past the 10 ms
 *   pipe   reads time stamps a child process writes every 10 ms; late by
 *          the time from the stamp to the read
 *   dns    getaddrinfo("localhost") (a pool thread under the shim); late
 *          by the time the call took
 *   poll   poll of 5 ms on a pipe nobody writes; late by the time past
 *          the 5 ms
 * Natively the threads run in parallel and are late by little; on one
 * OS thread they wait for the loop to let go.
 * Prints progress=1 when every thread finished a wait while the loop ran
 * (min_busy_rounds: the fewest), worst_ms the latest any ran, each
 * thread's *_late_ms, and calls_per_s of the loop, on one line (for the
 * benchmark, scripts/bench.sh, which reads the first). With quiet, the four
 * threads are replaced by one that waits for the whole run on a pipe
 * nobody writes (the loop's own cost, for the benchmark). With signals,
 * a timer's SIGALRM handler writes a byte to a pipe every ms (the
 * self-pipe habit) while the loop allocates and frees on every call and
 * the threads run as above: a switch inside the handler could leave
 * malloc's lock to another thread (signals=N: the bytes the pipe got).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NWORK 4

static volatile int busy;   /* the loop runs */
static volatile int done;   /* the workers stop */
static long rounds[NWORK];  /* waits finished while busy */
static int64_t late[NWORK]; /* the latest a worker ran, ns */
static int stamps[2];       /* the child's time stamps */
static int self_pipe[2];     /* the SIGALRM handler's */
static int churn;            /* the loop allocates on every call */
static const char *const names[NWORK] = {"sleep", "pipe", "dns", "poll"};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Worker i finished one wait, ran lag ns later than it should have. */
static void note(int i, int64_t lag) {
  if (lag > late[i])
    late[i] = lag;
  if (busy)
    rounds[i]++;
}

static void *sleeper(void *arg) {
  (void)arg;
  struct timespec ts = {0, 10000000};
  while (!done) {
    int64_t due = now_ns() + 10000000;
    nanosleep(&ts, NULL);
    note(0, now_ns() - due);
  }
  return NULL;
}

static void *reader(void *arg) {
  (void)arg;
  int64_t stamp;
  while (!done && read(stamps[0], &stamp, sizeof stamp) == sizeof stamp)
    note(1, now_ns() - stamp);
  return NULL;
}

static void *resolver(void *arg) {
  (void)arg;
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  while (!done) {
    struct addrinfo *res = NULL;
    int64_t t0 = now_ns();
    if (getaddrinfo("localhost", "80", &hints, &res) == 0)
      freeaddrinfo(res);
    note(2, now_ns() - t0);
    usleep(2000);
  }
  return NULL;
}

static void *poller(void *arg) {
  int fd = *(int *)arg;
  while (!done) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int64_t due = now_ns() + 5000000;
    poll(&p, 1, 5);
    note(3, now_ns() - due);
  }
  return NULL;
}

static void on_alarm(int sig) {
  (void)sig;
  int saved = errno;
  (void)write(self_pipe[1], "x", 1);
  errno = saved;
}

/* Starts a 1 ms SIGALRM whose handler writes to self_pipe. */
static void start_alarm(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  fcntl(self_pipe[1], F_SETFL, O_NONBLOCK);
  struct itimerval it = {{0, 1000}, {0, 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

/* The bytes the handler wrote, once the timer is stopped. */
static long stop_alarm(void) {
  struct itimerval it = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &it, NULL);
  fcntl(self_pipe[0], F_SETFL, O_NONBLOCK);
  char buf[256];
  long n = 0;
  ssize_t r;
  while ((r = read(self_pipe[0], buf, sizeof buf)) > 0)
    n += r;
  return n;
}

/* Waits on fd (a pipe nobody writes) until it is closed. */
static void *idler(void *arg) {
  char c;
  (void)read(*(int *)arg, &c, 1);
  return NULL;
}

/* The child: a time stamp into the pipe every 10 ms until the parent
 * closes it (SIGPIPE) or 30 s pass. */
static void stamp_child(void) {
  close(stamps[0]);
  struct timespec ts = {0, 10000000};
  for (int i = 0; i < 3000; i++) {
    int64_t t = now_ns();
    if (write(stamps[1], &t, sizeof t) != sizeof t)
      break;
    nanosleep(&ts, NULL);
  }
  _exit(0);
}

/* The busy loop: ms milliseconds of calls that never wait; returns the
 * count of calls. */
static long busy_loop(int use_epoll, int ms) {
  int ev = eventfd(1, 0); /* readable until read: never read */
  int ep = epoll_create1(0);
  struct epoll_event e = {.events = EPOLLIN, .data.fd = ev}, out[4];
  epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e);
  struct pollfd p = {.fd = ev, .events = POLLIN};
  int64_t end = now_ns() + (int64_t)ms * 1000000;
  long calls = 0;
  busy = 1;
  while (now_ns() < end) {
    int r = use_epoll ? epoll_wait(ep, out, 4, -1) : poll(&p, 1, -1);
    if (r != 1)
      exit(3);
    if (churn)
      free(malloc(64 + (size_t)(calls & 1023)));
    calls++;
  }
  busy = 0;
  close(ep);
  close(ev);
  return calls;
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "epoll") && strcmp(argv[1], "poll"))) {
    fprintf(stderr, "usage: slice_busy epoll|poll [busy_ms [quiet]]\n");
    return 2;
  }
  int ms = argc > 2 ? atoi(argv[2]) : 1000;
  int quiet = argc > 3 && strcmp(argv[3], "quiet") == 0;
  int signals = argc > 3 && strcmp(argv[3], "signals") == 0;
  int never[2];
  pthread_t t[NWORK];
  if (pipe(never) != 0 || pipe(stamps) != 0)
    return 1;
  if (quiet) {
    pthread_create(&t[0], NULL, idler, &never[0]);
    usleep(20000);
    long calls = busy_loop(strcmp(argv[1], "epoll") == 0, ms);
    printf("calls_per_s=%ld\n", calls * 1000 / (ms > 0 ? ms : 1));
    close(never[1]);
    pthread_join(t[0], NULL);
    return 0;
  }
  pid_t child = fork();
  if (child == 0)
    stamp_child();
  close(stamps[1]);
  pthread_create(&t[0], NULL, sleeper, NULL);
  pthread_create(&t[1], NULL, reader, NULL);
  pthread_create(&t[2], NULL, resolver, NULL);
  pthread_create(&t[3], NULL, poller, &never[0]);
  usleep(50000); /* every worker is in its loop */
  if (signals) {
    if (pipe(self_pipe) != 0)
      return 1;
    churn = 1;
    start_alarm();
  }
  long calls = busy_loop(strcmp(argv[1], "epoll") == 0, ms);
  long bytes = signals ? stop_alarm() : 0;
  done = 1;
  for (int i = 0; i < NWORK; i++)
    pthread_join(t[i], NULL);
  close(stamps[0]);
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  long least = rounds[0];
  int64_t worst = 0;
  for (int i = 0; i < NWORK; i++) {
    if (rounds[i] < least)
      least = rounds[i];
    if (late[i] > worst)
      worst = late[i];
    printf("%s_late_ms=%ld %s_rounds=%ld ", names[i],
           (long)(late[i] / 1000000), names[i], rounds[i]);
  }
  printf("progress=%d ", least > 0);
  printf("min_busy_rounds=%ld ", least);
  printf("worst_ms=%ld ", (long)(worst / 1000000));
  if (signals)
    printf("signals=%d ", bytes > 0);
  printf("calls_per_s=%ld\n", calls * 1000 / (ms > 0 ? ms : 1));
  return 0;
}
