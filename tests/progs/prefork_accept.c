/* prefork_accept: a listening socket shared with pre-forked processes.
 *
 *   prefork_accept CONNECTIONS [noring]
 *
 * The listener (blocking) is made first, then two children are forked
 * (before any thread), each accepting and closing connections in a loop
 * with blocking accept(). Then the parent starts an acceptor thread doing
 * the same with accept4(), a ticker thread, and a client thread that makes
 * CONNECTIONS connections one after another, each read until the end of
 * file (whoever accepted it closed it). Every connection wakes both the
 * parent and a child: when the child takes it, the parent's accept must
 * not block the parent process (its client could then never connect
 * again). Prints served (connections that reached their end of file),
 * shared (1 when both the parent and the children accepted some), ticked
 * (the ticker ran), l_flags (the listener's F_GETFL at the end) and
 * threads. Children die with the parent, and
 * within 30 s. With noring, io_uring_setup fails with ENOSYS (a seccomp
 * filter, as container runtimes install), before anything else.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "threads_now.h"

#define NCHILD 2

static int lfd, count_pipe[2], nconn;
static struct sockaddr_in addr;
static volatile int stop;
static volatile long ticks, parent_accepted, served;

/* Makes io_uring_setup fail with ENOSYS in this process. */
static int deny_io_uring(void) {
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_setup, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { sizeof f / sizeof f[0], f };

  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return -1;
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* A child: accept, close, report one byte; until killed. */
static void child(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  alarm(30);
  close(count_pipe[0]);
  for (;;) {
    int c = accept(lfd, NULL, NULL);

    if (c < 0)
      _exit(1);
    close(c);
    if (write(count_pipe[1], "x", 1) != 1)
      _exit(1);
  }
}

static void *acceptor(void *arg) {
  (void)arg;
  for (;;) {
    int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

    if (c < 0)
      return NULL;
    parent_accepted++;
    close(c);
  }
}

/* The client waits here until main has counted the OS threads: natively
 * its connections could all be done, and the ticker stopped, first. */
static pthread_barrier_t gate;

static void *client(void *arg) {
  char buf[16];
  int i;

  (void)arg;
  pthread_barrier_wait(&gate);
  for (i = 0; i < nconn; i++) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0)
      break;
    if (read(s, buf, sizeof buf) == 0)
      served++;
    close(s);
  }
  stop = 1;
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
  socklen_t len = sizeof addr;
  pid_t kids[NCHILD];
  pthread_t a, c, t;
  long child_accepted = 0;
  char b;
  int i, threads;

  nconn = argc > 1 ? atoi(argv[1]) : 200;
  if (argc > 2 && strcmp(argv[2], "noring") == 0 && deny_io_uring() != 0)
    return 1;
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (bind(lfd, (struct sockaddr *)&addr, len) != 0 || listen(lfd, 64) != 0
      || getsockname(lfd, (struct sockaddr *)&addr, &len) != 0
      || pipe2(count_pipe, O_CLOEXEC) != 0)
    return 1;
  for (i = 0; i < NCHILD; i++)
    if ((kids[i] = fork()) == 0)
      child();
  close(count_pipe[1]);
  pthread_barrier_init(&gate, NULL, 2);
  pthread_create(&t, NULL, ticker, NULL);
  pthread_create(&a, NULL, acceptor, NULL);
  pthread_create(&c, NULL, client, NULL);
  threads = threads_now();
  pthread_barrier_wait(&gate);
  pthread_join(c, NULL);
  pthread_join(t, NULL);
  for (i = 0; i < NCHILD; i++) {
    kill(kids[i], SIGKILL);
    waitpid(kids[i], NULL, 0);
  }
  while (read(count_pipe[0], &b, 1) == 1)
    child_accepted++;
  printf("threads=%d\nserved=%ld\nshared=%d\nticked=%d\nl_flags=%d\n",
         threads, served, parent_accepted > 0 && child_accepted > 0,
         ticks > 0, fcntl(lfd, F_GETFL));
  fflush(stdout);
  _exit(0); /* the acceptor still waits in accept */
}
