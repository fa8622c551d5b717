/* Test harness: runs the programs of tests/progs with a deadline, natively
 * or preloaded, and captures their output.  See harness.h for the API.
 *
 * The test process may have threads (Criterion's worker talks to its runner
 * over a socket), so everything the child needs is prepared before the fork
 * and the child only makes async-signal-safe calls until execve.
 */
#include "harness.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

extern char **environ;

/* The most output kept per stream; the rest is read and dropped. */
#define CAPTURE_MAX (64u << 20)

/* How long to wait for the pipes to reach end of file once the child and
 * its process group are gone (a descendant that left the group may still
 * hold them). */
#define DRAIN_S 2.0

/* A growing buffer of captured output. */
struct buf {
  char *p;    /* The bytes, NUL-terminated once finished; may be NULL. */
  size_t n;   /* Bytes stored. */
  size_t cap; /* Bytes allocated. */
};

/* Everything the child needs, built before the fork. */
struct spawn {
  char path[PATH_MAX]; /* The program to execute. */
  char **argv;         /* argv, with argv[0] the path. */
  char **envp;         /* The complete environment of the child. */
  char *preload_kv;    /* The LD_PRELOAD entry, owned here, or NULL. */
  struct rlimit nofile; /* The file limit raised to its hard maximum. */
  pid_t parent;        /* Our pid, to notice a parent that died early. */
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *gp_build(void) {
  const char *b = getenv("GPATCH_TEST_BUILD");
  return b != NULL && *b != '\0' ? b : "build";
}

const char *gp_src(void) {
  static char src[PATH_MAX];
  static const char *const ups[] = {"..", "../.."};
  const char *s = getenv("GPATCH_TEST_SRC");
  char try[PATH_MAX + 16], script[PATH_MAX + 32];

  if (s != NULL && *s != '\0')
    return realpath(s, src);
  for (size_t i = 0; i < sizeof ups / sizeof ups[0]; i++) {
    snprintf(try, sizeof try, "%s/%s", gp_build(), ups[i]);
    snprintf(script, sizeof script, "%s/scripts/gpatch", try);
    if (access(script, X_OK) == 0 && realpath(try, src) != NULL)
      return src;
  }
  return NULL;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

void gp_rm_tree(const char *path) {
  nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *gp_slurp(const char *path) {
  FILE *f = fopen(path, "r");
  char *p = NULL;
  size_t n = 0;

  if (f == NULL)
    return NULL;
  if (getdelim(&p, &n, '\0', f) < 0) {
    free(p);
    p = strdup("");
  }
  fclose(f);
  return p;
}

int gp_preload_wanted(void) {
  const char *v = getenv("GPATCH_TEST_NATIVE_ONLY");
  return v == NULL || *v == '\0';
}

/* Whether an inherited environment entry must not reach the child: the
 * preload and every GPATCH_ setting come only from the test. */
static int env_dropped(const char *kv) {
  return strncmp(kv, "LD_PRELOAD=", 11) == 0 || strncmp(kv, "GPATCH_", 7) == 0;
}

/* GPATCH_TEST_TLS=private (or shared) runs every preloaded program with
 * GPATCH_TLS set so, unless the test sets GPATCH_TLS itself: the whole
 * suite in one TLS mode. The entry, or NULL. */
static char *tls_mode(const char *const *env) {
  static char kv[64];
  const char *v = getenv("GPATCH_TEST_TLS");
  if (v == NULL || v[0] == '\0')
    return NULL;
  for (size_t i = 0; env != NULL && env[i] != NULL; i++)
    if (strncmp(env[i], "GPATCH_TLS=", 11) == 0)
      return NULL;
  snprintf(kv, sizeof kv, "GPATCH_TLS=%s", v);
  return kv;
}

static size_t list_len(const char *const *l) {
  size_t n = 0;
  while (l != NULL && l[n] != NULL)
    n++;
  return n;
}

static void spawn_free(struct spawn *s) {
  free(s->argv);
  free(s->envp);
  free(s->preload_kv);
}

/* Fills s for running prog: resolves the path, builds argv and the
 * environment, and the label of the run in what.  Returns 0, or -1 when the
 * program is not executable or memory ran out. */
static int spawn_prepare(struct spawn *s, int preload,
                         const char *const *env, const char *prog,
                         const char *const *argv, char *what, size_t wlen) {
  size_t na = list_len(argv), ne = list_len(env), ni = 0, i, k = 0, w;
  char *tls;

  memset(s, 0, sizeof *s);
  if (prog[0] == '/')
    snprintf(s->path, sizeof s->path, "%s", prog);
  else
    snprintf(s->path, sizeof s->path, "%s/progs/%s", gp_build(), prog);
  if (access(s->path, X_OK) != 0)
    return -1;
  if (preload) {
    if (asprintf(&s->preload_kv, "LD_PRELOAD=%s/libgpatch.so",
                 gp_build()) < 0) {
      s->preload_kv = NULL;
      return -1;
    }
    if (access(s->preload_kv + 11, R_OK) != 0)
      goto error;
  }
  while (environ[ni] != NULL)
    ni++;
  s->argv = calloc(na + 2, sizeof *s->argv);
  s->envp = calloc(ni + ne + 3, sizeof *s->envp);
  if (s->argv == NULL || s->envp == NULL)
    goto error;
  s->argv[0] = s->path;
  for (i = 0; i < na; i++)
    s->argv[i + 1] = (char *)argv[i];
  for (i = 0; i < ni; i++)
    if (!env_dropped(environ[i]))
      s->envp[k++] = environ[i];
  for (i = 0; i < ne; i++)
    s->envp[k++] = (char *)env[i];
  if (preload && (tls = tls_mode(env)) != NULL)
    s->envp[k++] = tls;
  if (preload)
    s->envp[k++] = s->preload_kv;
  getrlimit(RLIMIT_NOFILE, &s->nofile);
  s->nofile.rlim_cur = s->nofile.rlim_max;
  s->parent = getpid();

  w = snprintf(what, wlen, "%s", prog);
  for (i = 0; i < na && w < wlen; i++)
    w += snprintf(what + w, wlen - w, " %s", argv[i]);
  if (w < wlen)
    w += snprintf(what + w, wlen - w, " (%s)", preload ? "preload" : "native");
  for (i = 0; i < ne && w < wlen; i++)
    w += snprintf(what + w, wlen - w, " %s", env[i]);
  return 0;

error:
  spawn_free(s);
  return -1;
}

/* In the child: becomes a process group leader, dies with the test, takes
 * stdin from /dev/null and the given stdout and stderr, and executes the
 * program.  Only async-signal-safe calls. */
static void child_exec(const struct spawn *s, int in, int out, int err) {
  static const int sigs[] = { SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP };
  struct sigaction sa;
  sigset_t none;
  size_t i;

  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != s->parent)
    _exit(127);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaction(sigs[i], &sa, NULL);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  setrlimit(RLIMIT_NOFILE, &s->nofile);
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
    _exit(127);
  close_range(3, ~0u, 0);
  execve(s->path, s->argv, s->envp);
  _exit(127);
}

/* Forks and executes s with the given descriptors.  Returns the pid, or -1
 * when the fork failed. */
static pid_t spawn_start(const struct spawn *s, int out, int err) {
  int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t pid;

  if (in < 0)
    return -1;
  pid = fork();
  if (pid == 0)
    child_exec(s, in, out, err);
  close(in);
  if (pid > 0)
    setpgid(pid, pid); /* Also in the parent, so no kill(-pid) misses. */
  return pid;
}

static int pidfd_open(pid_t pid) {
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Whether the child has exited, without reaping it (its pid, and so its
 * process group id, stays reserved until waitpid). */
static int exited(pid_t pid) {
  siginfo_t si;

  memset(&si, 0, sizeof si);
  if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
    return errno == ECHILD;
  return si.si_pid == pid;
}

/* Kills what is left of the child's process group and reaps the child. */
static int reap(pid_t pid) {
  int status = 0;

  kill(-pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  return status;
}

/* Reads what the pipe *fd holds into b; closes it and sets *fd to -1 at end
 * of file.  Output past CAPTURE_MAX is dropped. */
static void buf_read(struct buf *b, int *fd) {
  char tmp[65536];
  ssize_t n = read(*fd, tmp, sizeof tmp);

  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    close(*fd);
    *fd = -1;
    return;
  }
  if (b->n + n + 1 > b->cap && b->n + n < CAPTURE_MAX) {
    size_t cap = b->cap ? b->cap : 4096;
    char *p;

    while (cap < b->n + n + 1)
      cap *= 2;
    p = realloc(b->p, cap);
    if (p == NULL)
      return;
    b->p = p;
    b->cap = cap;
  }
  if (b->n + n + 1 <= b->cap) {
    memcpy(b->p + b->n, tmp, n);
    b->n += n;
  }
}

/* Waits until the child exits or the deadline (monotonic seconds) passes,
 * reading the pipes in fds[0..1] (entries may be -1) into bufs meanwhile.
 * Returns 1 when the child exited, 0 at the deadline. */
static int wait_child(pid_t pid, int pidfd, int fds[2], struct buf bufs[2],
                      double deadline) {
  for (;;) {
    struct pollfd pfd[3];
    int n = 0, i, ms;
    double left = deadline - now_s();

    if (exited(pid))
      return 1;
    if (left <= 0)
      return 0;
    ms = (int)(left * 1000) + 1;
    if (pidfd < 0 && ms > 10)
      ms = 10; /* No pidfd: look at the child every 10 ms. */
    for (i = 0; i < 2; i++)
      if (fds[i] >= 0)
        pfd[n++] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
    if (pidfd >= 0)
      pfd[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
    if (poll(pfd, n, ms) < 0 && errno != EINTR)
      return exited(pid);
    for (i = 0; i < 2; i++)
      if (fds[i] >= 0) {
        struct pollfd *q = pfd;

        while (q->fd != fds[i])
          q++;
        if (q->revents)
          buf_read(&bufs[i], &fds[i]);
      }
  }
}

/* Reads the rest of the pipes until end of file or the deadline. */
static void drain(int fds[2], struct buf bufs[2], double deadline) {
  while (fds[0] >= 0 || fds[1] >= 0) {
    struct pollfd pfd[2];
    int n = 0, i;
    double left = deadline - now_s();

    if (left <= 0)
      break;
    for (i = 0; i < 2; i++)
      if (fds[i] >= 0)
        pfd[n++] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
    if (poll(pfd, n, (int)(left * 1000) + 1) < 0 && errno != EINTR)
      break;
    for (i = 0; i < n; i++)
      if (pfd[i].revents) {
        int k = pfd[i].fd == fds[0] ? 0 : 1;

        buf_read(&bufs[k], &fds[k]);
      }
  }
  if (fds[0] >= 0)
    close(fds[0]);
  if (fds[1] >= 0)
    close(fds[1]);
}

/* Turns a buffer into a NUL-terminated string the caller owns. */
static char *buf_finish(struct buf *b) {
  char *p = b->p != NULL ? b->p : malloc(1);

  if (p != NULL)
    p[b->n] = '\0';
  return p;
}

int gp_run(struct gp_run *r, int preload, const char *const *env,
           double timeout_s, const char *prog, const char *const *argv) {
  struct spawn s;
  struct buf bufs[2] = { { 0 }, { 0 } };
  int out[2], err[2], fds[2], pidfd, done;
  double start, deadline;
  pid_t pid;

  memset(r, 0, sizeof *r);
  if (spawn_prepare(&s, preload, env, prog, argv, r->what, sizeof r->what))
    return -1;
  if (pipe2(out, O_CLOEXEC) != 0)
    goto error_spawn;
  if (pipe2(err, O_CLOEXEC) != 0)
    goto error_out;
  signal(SIGCHLD, SIG_DFL); /* An ignored SIGCHLD would reap for us. */
  start = now_s();
  pid = spawn_start(&s, out[1], err[1]);
  if (pid < 0)
    goto error_err;
  close(out[1]);
  close(err[1]);
  spawn_free(&s);
  fds[0] = out[0];
  fds[1] = err[0];
  pidfd = pidfd_open(pid);
  deadline = start + timeout_s;
  done = wait_child(pid, pidfd, fds, bufs, deadline);
  r->elapsed = now_s() - start;
  r->timed_out = !done;
  r->status = reap(pid);
  if (pidfd >= 0)
    close(pidfd);
  drain(fds, bufs, now_s() + DRAIN_S);
  r->out = buf_finish(&bufs[0]);
  r->err = buf_finish(&bufs[1]);
  return 0;

error_err:
  close(err[0]);
  close(err[1]);
error_out:
  close(out[0]);
  close(out[1]);
error_spawn:
  spawn_free(&s);
  return -1;
}

void gp_run_free(struct gp_run *r) {
  free(r->out);
  free(r->err);
  r->out = r->err = NULL;
}

/* Reads the whole memory file fd into a NUL-terminated string the caller
 * owns, and closes fd. */
static char *memfd_take(int fd) {
  struct stat st;
  char *p = NULL;
  size_t n = 0;

  if (fd >= 0 && fstat(fd, &st) == 0) {
    p = malloc(st.st_size + 1);
    if (p != NULL) {
      ssize_t k;

      while (n < (size_t)st.st_size
             && (k = pread(fd, p + n, st.st_size - n, n)) > 0)
        n += k;
    }
  }
  if (fd >= 0)
    close(fd);
  if (p == NULL)
    p = malloc(1);
  if (p != NULL)
    p[n] = '\0';
  return p;
}

int gp_start(struct gp_proc *p, int preload, const char *const *env,
             const char *prog, const char *const *argv) {
  struct spawn s;
  char what[200];

  memset(p, 0, sizeof *p);
  p->out_fd = p->err_fd = -1;
  if (spawn_prepare(&s, preload, env, prog, argv, what, sizeof what))
    return -1;
  p->out_fd = memfd_create("gp-out", MFD_CLOEXEC);
  if (p->out_fd < 0)
    goto error_spawn;
  p->err_fd = memfd_create("gp-err", MFD_CLOEXEC);
  if (p->err_fd < 0)
    goto error_out;
  signal(SIGCHLD, SIG_DFL);
  p->started = now_s();
  p->pid = spawn_start(&s, p->out_fd, p->err_fd);
  if (p->pid < 0)
    goto error_err;
  spawn_free(&s);
  return 0;

error_err:
  close(p->err_fd);
error_out:
  close(p->out_fd);
error_spawn:
  spawn_free(&s);
  p->pid = 0;
  p->out_fd = p->err_fd = -1;
  return -1;
}

int gp_stop(struct gp_proc *p, int sig, double timeout_s, struct gp_run *r) {
  int pidfd, fds[2] = { -1, -1 };

  memset(r, 0, sizeof *r);
  if (p->pid <= 0)
    return -1;
  snprintf(r->what, sizeof r->what, "background pid %d", (int)p->pid);
  if (sig != 0)
    kill(p->pid, sig);
  pidfd = pidfd_open(p->pid);
  r->timed_out = !wait_child(p->pid, pidfd, fds, NULL, now_s() + timeout_s);
  r->elapsed = now_s() - p->started;
  r->status = reap(p->pid);
  if (pidfd >= 0)
    close(pidfd);
  r->out = memfd_take(p->out_fd);
  r->err = memfd_take(p->err_fd);
  p->pid = 0;
  p->out_fd = p->err_fd = -1;
  return 0;
}

/* Counts the sockets of /proc/net/tcp with local port port, on 127.0.0.1
 * or any address, whose state is in the mask (bit n for state n: 1 is
 * ESTABLISHED, 8 CLOSE_WAIT, 10 LISTEN). */
static int tcp_count(int port, unsigned mask) {
  FILE *f = fopen("/proc/net/tcp", "re");
  char line[512];
  int count = 0;

  if (f == NULL)
    return 0;
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned addr, lport, state;

    if (sscanf(line, " %*d: %x:%x %*x:%*x %x", &addr, &lport, &state) == 3
        && (int)lport == port && state < 32 && (mask >> state & 1)
        && (addr == 0 || addr == 0x0100007F))
      count++;
  }
  fclose(f);
  return count;
}

/* Sleeps a few milliseconds between two looks at a condition. */
static void tick(void) {
  struct timespec ts = { 0, 5 * 1000 * 1000 };

  nanosleep(&ts, NULL); /* Polls for readiness; no timing depends on it. */
}

int gp_wait_listen(int port, const struct gp_proc *p, double timeout_s) {
  double deadline = now_s() + timeout_s;

  for (;;) {
    if (tcp_count(port, 1u << 10) > 0)
      return 0;
    if ((p != NULL && exited(p->pid)) || now_s() > deadline)
      return -1;
    tick();
  }
}

int gp_wait_drained(int port, double timeout_s) {
  double deadline = now_s() + timeout_s;

  for (;;) {
    if (tcp_count(port, 1u << 1 | 1u << 8) == 0)
      return 0;
    if (now_s() > deadline)
      return -1;
    tick();
  }
}

/* Binds a TCP socket to addr:port (port 0: the kernel's choice) and
 * returns the port bound, or -1; the socket is closed again. */
static int try_port(in_addr_t addr, int port) {
  struct sockaddr_in a = { .sin_family = AF_INET };
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), got = -1;

  if (fd < 0)
    return -1;
  a.sin_addr.s_addr = htonl(addr);
  a.sin_port = htons((uint16_t)port);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0
      && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    got = ntohs(a.sin_port);
  close(fd);
  return got;
}

int gp_free_port(void) {
  enum { SPAN = 10000 };
  FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
  int low = 0, high = 0, start, i;

  if (f != NULL) {
    if (fscanf(f, "%d %d", &low, &high) != 2)
      low = 0;
    fclose(f);
  }
  if (low < 1024 + SPAN)
    return try_port(INADDR_LOOPBACK, 0);
  start = (int)((getpid() * 7919u + (unsigned)(now_s() * 1e6)) % SPAN);
  for (i = 0; i < SPAN; i++) {
    int port = low - SPAN + (start + i) % SPAN;

    if (try_port(INADDR_ANY, port) == port)
      return port;
  }
  return try_port(INADDR_LOOPBACK, 0);
}

/* Finds the first "key=NUM" token of text.  Returns 1 and sets *v when there
 * is one, 0 otherwise. */
static int kv_find(const char *text, const char *key, long *v) {
  size_t klen = strlen(key);
  const char *p = text;

  while (text != NULL && (p = strstr(p, key)) != NULL) {
    int starts = p == text || isspace((unsigned char)p[-1]);

    if (starts && p[klen] == '=') {
      char *end;

      errno = 0;
      *v = strtol(p + klen + 1, &end, 0);
      if (end != p + klen + 1 && errno == 0)
        return 1;
    }
    p += klen;
  }
  return 0;
}

long gp_kv(const char *text, const char *key) {
  long v;

  return kv_find(text, key, &v) ? v : -1;
}

/* Copies the last max bytes of s (or all of it) into dst. */
static void tail(char *dst, size_t len, const char *s, size_t max) {
  size_t n = s != NULL ? strlen(s) : 0;

  snprintf(dst, len, "%s%s", n > max ? "..." : "",
           s != NULL ? s + (n > max ? n - max : 0) : "");
}

const char *gp_describe(const struct gp_run *r) {
  static char msg[4096];
  char how[64], out[1200], err[1200];

  if (r->timed_out)
    snprintf(how, sizeof how, "timed out after %.1f s", r->elapsed);
  else if (WIFEXITED(r->status))
    snprintf(how, sizeof how, "exit %d after %.3f s", WEXITSTATUS(r->status),
             r->elapsed);
  else if (WIFSIGNALED(r->status))
    snprintf(how, sizeof how, "killed by signal %d (%s) after %.3f s",
             WTERMSIG(r->status), strsignal(WTERMSIG(r->status)), r->elapsed);
  else
    snprintf(how, sizeof how, "status 0x%x", r->status);
  tail(out, sizeof out, r->out, 1000);
  tail(err, sizeof err, r->err, 1000);
  snprintf(msg, sizeof msg, "%s: %s\n--- stdout:\n%s\n--- stderr:\n%s",
           r->what, how, out, err);
  return msg;
}

void gp_expect_exit(const struct gp_run *r, int code) {
  cr_assert(!r->timed_out && WIFEXITED(r->status)
            && WEXITSTATUS(r->status) == code,
            "expected exit %d; %s", code, gp_describe(r));
}

void gp_run_ok(struct gp_run *r, int preload, const char *const *env,
               double timeout_s, const char *prog, const char *const *argv) {
  cr_assert(gp_run(r, preload, env, timeout_s, prog, argv) == 0,
            "cannot start %s/progs/%s%s", gp_build(), prog,
            preload ? " (or libgpatch.so is missing)" : "");
  gp_expect_exit(r, 0);
}

int gp_both(struct gp_run *n, struct gp_run *p, double timeout_s,
            const char *prog, const char *const *argv, long native_threads,
            const char *ignore) {
  char keys[256];

  snprintf(keys, sizeof keys, "threads %s", ignore != NULL ? ignore : "");
  gp_run_ok(n, 0, NULL, timeout_s, prog, argv);
  if (native_threads != 0)
    GP_EXPECT_VAL(n, "threads", ==, native_threads);
  if (!gp_preload_wanted()) {
    memset(p, 0, sizeof *p);
    return 0;
  }
  gp_run_ok(p, 1, NULL, timeout_s, prog, argv);
  if (native_threads != 0)
    GP_EXPECT_VAL(p, "threads", ==, 1);
  gp_expect_same(n, p, keys);
  return 1;
}

void gp_both_check(const char *prog, const char *const *argv,
                   long native_threads, const char *ignore,
                   void (*check)(const struct gp_run *r)) {
  struct gp_run n, p;

  if (gp_both(&n, &p, 30, prog, argv, native_threads, ignore)) {
    check(&p);
    gp_run_free(&p);
  }
  check(&n);
  gp_run_free(&n);
}

long gp_val(const struct gp_run *r, const char *key) {
  long v = 0;

  cr_assert(kv_find(r->out, key, &v), "no %s= in the output; %s", key,
            gp_describe(r));
  return v;
}

void gp_expect_token(const struct gp_run *r, const char *token) {
  size_t n = strlen(token);
  const char *p = r->out;
  int found = 0;

  while (!found && p != NULL && (p = strstr(p, token)) != NULL) {
    found = (p == r->out || isspace((unsigned char)p[-1]))
            && (p[n] == '\0' || isspace((unsigned char)p[n]));
    p += n;
  }
  cr_expect(found, "no %s in the output; %s", token, gp_describe(r));
}

/* The next key=value token of *p with its key not in ignore, or NULL at the
 * end.  *len receives its length; *p moves past it. */
static const char *next_token(const char **p, size_t *len, const char *ignore) {
  for (;;) {
    const char *t = *p, *eq;
    size_t klen;

    while (*t != '\0' && isspace((unsigned char)*t))
      t++;
    if (*t == '\0')
      return NULL;
    *len = strcspn(t, " \t\r\n");
    *p = t + *len;
    eq = memchr(t, '=', *len);
    if (eq == NULL)
      continue;
    klen = eq - t;
    if (ignore != NULL) {
      const char *q = ignore;
      int skip = 0;

      while (!skip && *q != '\0') {
        size_t n = strcspn(q, " ");

        skip = n == klen && memcmp(q, t, n) == 0;
        q += n;
        q += strspn(q, " ");
      }
      if (skip)
        continue;
    }
    return t;
  }
}

void gp_expect_same(const struct gp_run *native, const struct gp_run *preload,
                    const char *ignore) {
  const char *a = native->out, *b = preload->out;

  for (;;) {
    size_t la = 0, lb = 0;
    const char *ta = next_token(&a, &la, ignore);
    const char *tb = next_token(&b, &lb, ignore);

    if (ta == NULL && tb == NULL)
      return;
    if (ta != NULL && tb != NULL && la == lb && memcmp(ta, tb, la) == 0)
      continue;
    cr_expect_fail("native and preloaded runs differ: native %.*s, preload "
                   "%.*s\nnative: %s\npreload: %s",
                   ta ? (int)la : 5, ta ? ta : "(end)", tb ? (int)lb : 5,
                   tb ? tb : "(end)", native->out, preload->out);
    return;
  }
}
