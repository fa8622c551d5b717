/* fault_forkload: fork and exec while serving.
 *
 * Eight client threads do checked round trips through a thread-per-
 * connection echo server in this process for as long as a ninth thread
 * makes children, 20 of each kind: fork and exec /bin/sh -c 'exit 7';
 * fork, then in the child a thread that is joined and a write to a pipe,
 * then _exit(5); and system("exit 3").  Every child must end with its
 * status, the pipe must carry every child's message, and every echoed
 * byte must match.  Prints key=value tokens that are the same natively
 * and under gpatch.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "fault.h"

enum { CLIENTS = 8, EACH = 20 };

static int port, lfd;
static atomic_int stop;
static atomic_long rounds;

static void *serve(void *arg) {
  int fd = (int)(intptr_t)arg;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0 || fault_write_all(fd, buf, (size_t)n, NULL) != 0)
      break;
  }
  close(fd);
  return NULL;
}

static void *acceptor(void *arg) {
  (void)arg;
  for (int i = 0; i < CLIENTS; i++) {
    int fd = accept(lfd, NULL, NULL);
    FAULT_CHECK(fd >= 0);
    pthread_t t;
    FAULT_CHECK(pthread_create(&t, NULL, serve, (void *)(intptr_t)fd) == 0);
    pthread_detach(t);
  }
  return NULL;
}

static void *client(void *arg) {
  unsigned id = (unsigned)(intptr_t)arg;
  unsigned char out[2048], in[2048];
  int fd = fault_connect(port), ok = fd >= 0;
  uint64_t off = 0;
  while (ok && !atomic_load(&stop)) {
    size_t n = 1 + (off * 13 + id) % sizeof out;
    for (size_t i = 0; i < n; i++)
      out[i] = fault_byte(id, off + i);
    ok = fault_write_all(fd, out, n, NULL) == 0
         && fault_read_all(fd, in, n, NULL) == (ssize_t)n
         && memcmp(in, out, n) == 0;
    off += n;
    atomic_fetch_add(&rounds, 1);
  }
  if (fd >= 0)
    close(fd);
  return (void *)(intptr_t)ok;
}

static void *child_thread(void *arg) {
  return arg;
}

/* One child of kind k (0 exec, 1 fork only, 2 system); returns 1 when it
 * ended as it should. */
static int one_child(int k, int pipe_w) {
  if (k == 2)
    return system("exit 3") == 3 << 8;
  pid_t pid = fork();
  FAULT_CHECK(pid >= 0);
  if (pid == 0) {
    if (k == 0) {
      execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
      _exit(99);
    }
    pthread_t t;
    void *r = NULL;
    if (pthread_create(&t, NULL, child_thread, (void *)5) != 0
        || pthread_join(t, &r) != 0 || r != (void *)5)
      _exit(98);
    if (write(pipe_w, "c", 1) != 1)
      _exit(97);
    _exit(5);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    FAULT_CHECK(errno == EINTR);
  return WIFEXITED(st) && WEXITSTATUS(st) == (k == 0 ? 7 : 5);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  alarm(120);
  lfd = fault_listen(&port);
  int p[2];
  FAULT_CHECK(pipe(p) == 0);
  pthread_t acc, cl[CLIENTS];
  FAULT_CHECK(pthread_create(&acc, NULL, acceptor, NULL) == 0);
  for (int i = 0; i < CLIENTS; i++)
    FAULT_CHECK(pthread_create(&cl[i], NULL, client, (void *)(intptr_t)i)
                == 0);
  int good[3] = { 0, 0, 0 };
  for (int i = 0; i < 3 * EACH; i++)
    good[i % 3] += one_child(i % 3, p[1]);
  atomic_store(&stop, 1);
  int ok = 0;
  for (int i = 0; i < CLIENTS; i++) {
    void *r;
    pthread_join(cl[i], &r);
    ok += r == (void *)1;
  }
  pthread_join(acc, NULL);
  close(p[1]);
  char buf[64];
  ssize_t msgs = fault_read_all(p[0], buf, sizeof buf, NULL);
  printf("exec_ok=%d fork_ok=%d system_ok=%d child_messages=%zd "
         "clients_ok=%d served_during=%d\n", good[0], good[1], good[2], msgs,
         ok, atomic_load(&rounds) > 0);
  return 0;
}
