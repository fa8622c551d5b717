/* proc_fork: fork in a process with many threads, from main or from a
 * thread; the child goes on with threads of its own.
 *
 *   proc_fork MODE
 *
 * thread   200 threads wait (100 on a condvar, 50 in read on pipes, 50 in
 *          sleep); one more thread forks. The child (the forking thread
 *          alone) keeps its pthread_self, runs 4 pairs of threads that
 *          ping-pong bytes over pipes (child_threads: the OS threads
 *          meanwhile), joins them and exits 7; first it counts the
 *          kernel objects without a name (epoll sets, eventfds: the
 *          runtime's loop when preloaded) it still shares with the
 *          parent through an fd of the same number (child_shared, by
 *          kcmp; 0 when kcmp is not allowed). The parent
 *          waits for it, then wakes and joins its 200 threads.
 * main     the same, main forking
 * atfork   pthread_atfork handlers run in POSIX order (prepare in reverse,
 *          parent and child in registration order); a child handler
 *          creates and joins a thread
 * vfork    with threads alive: vfork then _exit(3); vfork then exec of
 *          "sh -c 'exit 4'"
 * many     2,000 threads wait on a condvar; 20 threads each fork a child
 *          that starts 5 threads, joins them and exits with its number;
 *          wait() reaps all 20
 *
 * Prints key=value lines (threads: the OS threads while the parent's
 * threads are alive); exits 0 when everything went as expected.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "threads_now.h"

#define NCOND 100
#define NREAD 50
#define NSLEEP 50

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int released, arrived;
static int counted; /* main has counted the OS threads: the sleepers go on */
static int wake_pipe[2];

static void start(pthread_t *t, void *(*fn)(void *), void *arg) {
  if (pthread_create(t, NULL, fn, arg) != 0) {
    perror("pthread_create");
    exit(1);
  }
}

static void arrive(void) {
  pthread_mutex_lock(&mu);
  arrived++;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

static void *cond_waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  arrived++;
  pthread_cond_broadcast(&cv);
  while (!released)
    pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void *pipe_reader(void *arg) {
  char c;
  (void)arg;
  arrive();
  return read(wake_pipe[0], &c, 1) == 1 ? NULL : (void *)1;
}

static void *sleeper(void *arg) {
  (void)arg;
  arrive();
  usleep(300 * 1000);
  return NULL;
}

/* A sleeper that starts its sleep once main has counted the OS threads
 * (natively its sleep could end before the count). */
static void *counted_sleeper(void *arg) {
  (void)arg;
  arrive();
  pthread_mutex_lock(&mu);
  while (!counted)
    pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  usleep(300 * 1000);
  return NULL;
}

static void wait_arrived(int n) {
  pthread_mutex_lock(&mu);
  while (arrived < n)
    pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
}

/* One side of a ping-pong pair: sends 100 bytes one at a time and reads
 * each back (the echo side returns what it reads). */
struct pair {
  int to[2], from[2];
  int count;
};

static int child_threads; /* OS threads seen by the first pinger */

static void *pinger(void *arg) {
  struct pair *p = arg;
  for (int i = 0; i < 100; i++) {
    if (i == 50 && child_threads == 0)
      child_threads = threads_now();
    char c = (char)i, r;
    if (write(p->to[1], &c, 1) != 1 || read(p->from[0], &r, 1) != 1 ||
        r != c)
      return (void *)1;
    p->count++;
  }
  close(p->to[1]);
  return NULL;
}

static void *echoer(void *arg) {
  struct pair *p = arg;
  char c;
  while (read(p->to[0], &c, 1) == 1)
    if (write(p->from[1], &c, 1) != 1)
      return (void *)1;
  return NULL;
}

/* The child's work: 4 ping-pong pairs on threads. Returns the round
 * trips done. */
static int child_pingpong(void) {
  struct pair p[4];
  pthread_t t[8];
  int total = 0;
  memset(p, 0, sizeof p);
  for (int i = 0; i < 4; i++) {
    if (pipe(p[i].to) || pipe(p[i].from))
      return -1;
    start(&t[2 * i], pinger, &p[i]);
    start(&t[2 * i + 1], echoer, &p[i]);
  }
  for (int i = 0; i < 8; i++)
    pthread_join(t[i], NULL);
  for (int i = 0; i < 4; i++)
    total += p[i].count;
  return total;
}

static pthread_t forker_self;

/* In a child: how many of its anonymous-inode fds (epoll, eventfd,
 * signalfd, timerfd) are the very file the parent has under the same
 * number. The runtime's loop must be the child's own (uv_loop_fork): an
 * epoll set or wake-up fd shared with the parent steals its events. */
static int shared_with_parent(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  pid_t parent = getppid(), self = getpid();
  int shared = 0;
  if (d == NULL)
    return -1;
  while ((e = readdir(d)) != NULL) {
    char path[64], link[64];
    int fd = atoi(e->d_name);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t k = readlink(path, link, sizeof link - 1);
    if (e->d_name[0] == '.' || fd == dirfd(d) || k <= 0)
      continue;
    link[k] = '\0';
    if (strncmp(link, "anon_inode:", 11) == 0 &&
        syscall(SYS_kcmp, parent, self, KCMP_FILE, fd, fd) == 0)
      shared++;
  }
  closedir(d);
  return shared;
}

/* Forks; the child checks itself and exits 7, the parent returns the
 * child's exit status. */
static int fork_and_check(void) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    int same = pthread_equal(pthread_self(), forker_self);
    int shared = shared_with_parent();
    int ping = child_pingpong();
    printf("child_self_same=%d child_ping=%d child_threads=%d\n", same,
           ping, child_threads);
    printf("child_shared=%d\n", shared);
    fflush(stdout);
    exit(ping == 400 && same ? 7 : 1);
  }
  int st;
  if (pid < 0 || waitpid(pid, &st, 0) != pid)
    return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static void *forker(void *arg) {
  (void)arg;
  forker_self = pthread_self();
  return (void *)(intptr_t)fork_and_check();
}

static int mode_fork(int from_thread) {
  pthread_t t[NCOND + NREAD + NSLEEP];
  int n = 0;
  if (pipe(wake_pipe))
    return 1;
  for (int i = 0; i < NCOND; i++)
    start(&t[n++], cond_waiter, NULL);
  for (int i = 0; i < NREAD; i++)
    start(&t[n++], pipe_reader, NULL);
  for (int i = 0; i < NSLEEP; i++)
    start(&t[n++], counted_sleeper, NULL);
  wait_arrived(n);
  printf("threads=%d\n", threads_now());
  pthread_mutex_lock(&mu);
  counted = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  int code;
  if (from_thread) {
    pthread_t f;
    void *r;
    start(&f, forker, NULL);
    pthread_join(f, &r);
    code = (int)(intptr_t)r;
  } else {
    forker_self = pthread_self();
    code = fork_and_check();
  }
  printf("child_exit=%d\n", code);
  pthread_mutex_lock(&mu);
  released = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  char ones[NREAD];
  memset(ones, 1, sizeof ones);
  if (write(wake_pipe[1], ones, sizeof ones) != NREAD)
    return 1;
  int joined = 0;
  for (int i = 0; i < n; i++)
    joined += pthread_join(t[i], NULL) == 0;
  printf("parent_joined=%d\n", joined);
  return code == 7 && joined == n ? 0 : 1;
}

/* atfork: the order the handlers ran in, as letters. */
static char order[32];
static int norder;
static void note(char c) { order[norder++] = c; }
static void prep1(void) { note('P'); note('1'); }
static void prep2(void) { note('P'); note('2'); }
static void par1(void) { note('p'); note('1'); }
static void par2(void) { note('p'); note('2'); }
static void *noop(void *arg) { return arg; }
static void child1(void) {
  pthread_t t;
  void *r = NULL;
  note('c');
  note('1');
  if (pthread_create(&t, NULL, noop, (void *)42) == 0)
    pthread_join(t, &r);
  note(r == (void *)42 ? 't' : 'x');
}
static void child2(void) { note('c'); note('2'); }

static int mode_atfork(void) {
  pthread_t t;
  start(&t, sleeper, NULL);
  pthread_atfork(prep1, par1, child1);
  pthread_atfork(prep2, par2, child2);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    printf("child_order=%s\n", order);
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("parent_order=%s child_ok=%d\n", order,
         WIFEXITED(st) && WEXITSTATUS(st) == 0);
  pthread_join(t, NULL);
  return 0;
}

static int mode_vfork(void) {
  pthread_t t;
  int st1, st2;
  start(&t, sleeper, NULL);
  pid_t a = vfork();
  if (a == 0)
    _exit(3);
  waitpid(a, &st1, 0);
  pid_t b = vfork();
  if (b == 0) {
    close(100); /* a hooked call before exec */
    execl("/bin/sh", "sh", "-c", "exit 4", (char *)NULL);
    _exit(127);
  }
  waitpid(b, &st2, 0);
  printf("vfork_exit=%d vfork_exec=%d\n", WEXITSTATUS(st1),
         WEXITSTATUS(st2));
  pthread_join(t, NULL);
  return WEXITSTATUS(st1) == 3 && WEXITSTATUS(st2) == 4 ? 0 : 1;
}

static void *child_spawner(void *arg) {
  intptr_t i = (intptr_t)arg;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    pthread_t t[5];
    for (int k = 0; k < 5; k++)
      start(&t[k], noop, NULL);
    for (int k = 0; k < 5; k++)
      pthread_join(t[k], NULL);
    _exit((int)i);
  }
  return NULL;
}

static int mode_many(void) {
  enum { N = 2000, K = 20 };
  static pthread_t t[N];
  pthread_t s[K];
  for (int i = 0; i < N; i++)
    start(&t[i], cond_waiter, NULL);
  wait_arrived(N);
  printf("threads=%d\n", threads_now());
  for (intptr_t i = 0; i < K; i++)
    start(&s[i], child_spawner, (void *)(i + 1));
  for (int i = 0; i < K; i++)
    pthread_join(s[i], NULL);
  int sum = 0, reaped = 0, st;
  pid_t p;
  while ((p = wait(&st)) > 0) {
    reaped++;
    sum += WIFEXITED(st) ? WEXITSTATUS(st) : 1000;
  }
  printf("reaped=%d sum=%d last_errno_echild=%d\n", reaped, sum,
         errno == ECHILD);
  pthread_mutex_lock(&mu);
  released = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  for (int i = 0; i < N; i++)
    pthread_join(t[i], NULL);
  return reaped == K && sum == K * (K + 1) / 2 ? 0 : 1;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "thread";
  int r;
  if (strcmp(mode, "thread") == 0)
    r = mode_fork(1);
  else if (strcmp(mode, "main") == 0)
    r = mode_fork(0);
  else if (strcmp(mode, "atfork") == 0)
    r = mode_atfork();
  else if (strcmp(mode, "vfork") == 0)
    r = mode_vfork();
  else if (strcmp(mode, "many") == 0)
    r = mode_many();
  else
    r = 2;
  fflush(stdout);
  return r;
}
