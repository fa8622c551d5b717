/* proc_daemon: how daemons start and stop.
 *
 *   proc_daemon serve PORT intr|restart
 *       A server on 127.0.0.1:PORT: main accepts and answers each
 *       connection's line with "pong\n"; 15 workers wait meanwhile (5 in
 *       read on a pipe, 5 in sleep, 5 on a condvar). A SIGTERM handler
 *       sets a flag. intr: without SA_RESTART, accept fails with EINTR
 *       and main ends the process cleanly. restart: with SA_RESTART,
 *       accept goes on; main stops after the next connection it served.
 *       Prints clean=1 served=N when it stops.
 *   proc_daemon daemonize
 *       The classic dance: fork, setsid, fork, chdir("/"), close every fd
 *       but a report pipe, stdio to /dev/null, then threads: 4 pairs ping
 *       bytes over pipes while 4 others sleep. The daemon writes what it
 *       saw into the report pipe; the original process, which has a
 *       thread of its own meanwhile, prints it.
 *   proc_daemon inherit
 *       Prints the LD_PRELOAD that a child shell sees (preload=...), with
 *       this test's own library path replaced by GPATCH, and whether the
 *       child is preloaded (child_patched: libgpatch.so in its maps).
 *
 * Prints key=value lines; exits 0 when all went as expected.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "threads_now.h"

static volatile sig_atomic_t stop;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int pipefd[2];

static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static void *reader(void *arg) {
  char c;
  (void)arg;
  read(pipefd[0], &c, 1);
  return NULL;
}

static void *sleeper(void *arg) {
  (void)arg;
  sleep(30);
  return NULL;
}

static void *waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static int listener(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((unsigned short)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      listen(fd, 16) != 0)
    return -1;
  return fd;
}

/* Reads a line and answers "pong\n". */
static void serve_one(int c) {
  char buf[64];
  ssize_t n = read(c, buf, sizeof buf);
  if (n > 0)
    write(c, "pong\n", 5);
  close(c);
}

static int mode_serve(int port, int restart) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigaction(SIGTERM, &sa, NULL);
  int lfd = listener(port);
  if (lfd < 0 || pipe(pipefd) != 0) {
    perror("setup");
    return 2;
  }
  void *(*fns[])(void *) = {reader, sleeper, waiter};
  for (int i = 0; i < 15; i++) {
    pthread_t t;
    pthread_create(&t, NULL, fns[i % 3], NULL);
    pthread_detach(t);
  }
  int served = 0, eintr = 0;
  while (!stop) {
    int c = accept(lfd, NULL, NULL);
    if (c < 0) {
      eintr += errno == EINTR;
      if (errno != EINTR)
        perror("accept");
      continue;
    }
    serve_one(c);
    served++;
  }
  printf("clean=1 served=%d accept_eintr=%d\n", served, eintr);
  fflush(stdout);
  return restart ? (served == 1 && eintr == 0 ? 0 : 1)
                 : (eintr == 1 ? 0 : 1);
}

/* The daemon's own work once detached. */
struct pair {
  int to[2], from[2];
  int count;
};

static int seen_threads;

static void *pinger(void *arg) {
  struct pair *p = arg;
  for (int i = 0; i < 100; i++) {
    char c = (char)i, r;
    if (i == 50 && seen_threads == 0)
      seen_threads = threads_now();
    if (write(p->to[1], &c, 1) != 1 || read(p->from[0], &r, 1) != 1)
      return NULL;
    p->count++;
  }
  close(p->to[1]);
  return NULL;
}

static void *echoer(void *arg) {
  struct pair *p = arg;
  char c;
  while (read(p->to[0], &c, 1) == 1)
    write(p->from[1], &c, 1);
  return NULL;
}

static void *short_sleeper(void *arg) {
  (void)arg;
  usleep(100 * 1000);
  return NULL;
}

static void daemon_work(int report, pid_t parent_sid) {
  char cwd[64] = "";
  struct pair p[4];
  pthread_t t[12];
  int n = 0, total = 0;
  memset(p, 0, sizeof p);
  for (int i = 0; i < 4; i++) {
    if (pipe(p[i].to) || pipe(p[i].from))
      _exit(3);
    pthread_create(&t[n++], NULL, pinger, &p[i]);
    pthread_create(&t[n++], NULL, echoer, &p[i]);
  }
  for (int i = 0; i < 4; i++)
    pthread_create(&t[n++], NULL, short_sleeper, NULL);
  for (int i = 0; i < n; i++)
    pthread_join(t[i], NULL);
  for (int i = 0; i < 4; i++)
    total += p[i].count;
  if (getcwd(cwd, sizeof cwd) == NULL)
    cwd[0] = '\0';
  char line[256];
  int len = snprintf(line, sizeof line,
                     "daemon_ping=%d daemon_root=%d daemon_new_session=%d "
                     "daemon_not_leader=%d daemon_stdin_null=%d "
                     "daemon_threads=%d\n",
                     total, strcmp(cwd, "/") == 0, getsid(0) != parent_sid,
                     getsid(0) != getpid(), fcntl(0, F_GETFD) >= 0,
                     seen_threads);
  write(report, line, (size_t)len);
}

static int mode_daemonize(void) {
  int rep[2];
  pid_t sid = getsid(0);
  pthread_t t; /* threads before the dance: the runtime runs already */
  pthread_create(&t, NULL, short_sleeper, NULL);
  if (pipe(rep) != 0)
    return 2;
  fflush(stdout);
  pid_t first = fork();
  if (first == 0) {
    close(rep[0]);
    if (setsid() < 0)
      _exit(4);
    if (fork() != 0)
      _exit(0);
    if (chdir("/") != 0)
      _exit(5);
    umask(0);
    for (int fd = 0; fd < 1024; fd++)
      if (fd != rep[1])
        close(fd);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 1);
    dup2(null, 2);
    daemon_work(rep[1], sid);
    _exit(0);
  }
  close(rep[1]);
  int st;
  waitpid(first, &st, 0);
  printf("first_child_exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  char buf[512];
  size_t got = 0;
  ssize_t r;
  while (got < sizeof buf - 1 &&
         (r = read(rep[0], buf + got, sizeof buf - 1 - got)) > 0)
    got += (size_t)r;
  buf[got] = '\0';
  fputs(buf, stdout);
  pthread_join(t, NULL);
  return strstr(buf, "daemon_ping=400 daemon_root=1 daemon_new_session=1 "
                     "daemon_not_leader=1 daemon_stdin_null=1")
             ? 0
             : 1;
}

static int mode_inherit(void) {
  /* A thread, so that the process runs coroutines when preloaded. */
  pthread_t t;
  pthread_create(&t, NULL, short_sleeper, NULL);
  const char *lib = getenv("GPATCH_TEST_LIB");
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "echo \"preload=${LD_PRELOAD:-none}\"; "
           "if grep -q libgpatch.so /proc/$$/maps; then echo child_patched=1; "
           "else echo child_patched=0; fi");
  fflush(stdout);
  FILE *f = popen(cmd, "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    char *at = lib && *lib ? strstr(line, lib) : NULL;
    if (at) { /* print the library's path as GPATCH */
      char out[512];
      snprintf(out, sizeof out, "%.*sGPATCH%s", (int)(at - line), line,
               at + strlen(lib));
      fputs(out, stdout);
    } else {
      fputs(line, stdout);
    }
  }
  int st = f ? pclose(f) : -1;
  pthread_join(t, NULL);
  return st == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "serve") == 0 && argc > 3)
    return mode_serve(atoi(argv[2]), strcmp(argv[3], "restart") == 0);
  if (strcmp(mode, "daemonize") == 0)
    return mode_daemonize();
  if (strcmp(mode, "inherit") == 0)
    return mode_inherit();
  fprintf(stderr, "usage: proc_daemon serve PORT intr|restart | daemonize "
                  "| inherit\n");
  return 2;
}
