/* api_calls: each call of gpatch.h, its results and its errors.
 *
 *   api_calls results|timeouts|kill|perm
 *
 * results:  a task's state before and after it ran, its value, joins of
 *           every kind, pthread_exit in a task, release of a running task,
 *           and the error cases (EINVAL, ERANGE, EDEADLK, ETIMEDOUT).
 * timeouts: how long each kind of Timeout takes to fire, in ms: a join's
 *           own timeout, a Timeout around gpatch_sleep, read, poll,
 *           nanosleep, waitpid, a nested pair, a socket whose SO_RCVTIMEO
 *           comes first, and a task's opts.timeout_ms.
 * kill:     a task blocked in read() is killed and unwinds; kill before a
 *           task ran; kill is sticky; a task waiting for a mutex is not
 *           cut short.
 * perm:     spawn, Timeout and sleep where coroutines cannot run (run it
 *           with GPATCH_PATCH=-thread,-sync).
 *
 * Prints key=value lines (errors by name: ETIMEDOUT, ...; times as *_ms).
 * Linked with -lgpatch, so it runs the same with or without LD_PRELOAD.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gpatch.h>

static const char *ename(int e) {
  switch (e) {
  case 0: return "0";
  case EINVAL: return "EINVAL";
  case ERANGE: return "ERANGE";
  case EDEADLK: return "EDEADLK";
  case ETIMEDOUT: return "ETIMEDOUT";
  case ECANCELED: return "ECANCELED";
  case EAGAIN: return "EAGAIN";
  case EPERM: return "EPERM";
  default: return "other";
  }
}

static long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void *returns_arg(void *arg) {
  gpatch_sleep(10);
  return arg;
}

static void *exits_early(void *arg) {
  pthread_exit(arg);
}

static gpatch_task *self_task;
static int self_join_rc = -1;

static void *joins_itself(void *arg) {
  (void)arg;
  self_join_rc = gpatch_join(self_task, -1);
  return NULL;
}

static void *sleeps(void *arg) {
  gpatch_sleep((long)arg);
  return arg;
}

/* The state of a task before it ran and after it ended. */
static void results_state(void) {
  gpatch_task *t;
  gpatch_opts o = { .name = "worker" };

  printf("spawn=%s\n", ename(gpatch_spawn(&t, &o, returns_arg, (void *)42)));
  printf("before_started=%d before_ready=%d before_value=%p\n",
         gpatch_started(t), gpatch_ready(t), gpatch_value(t));
  printf("join_poll=%s\n", ename(gpatch_join(t, 0)));
  printf("join=%s\n", ename(gpatch_join(t, -1)));
  printf("started=%d ready=%d successful=%d value=%ld error=%s name=%s\n",
         gpatch_started(t), gpatch_ready(t), gpatch_successful(t),
         (long)gpatch_value(t), ename(gpatch_error(t)), gpatch_name(t));
  printf("join_again=%s\n", ename(gpatch_join(t, 0)));
  gpatch_release(t);

  gpatch_spawn(&t, NULL, exits_early, (void *)7);
  gpatch_join(t, -1);
  printf("pthread_exit_value=%ld pthread_exit_successful=%d\n",
         (long)gpatch_value(t), gpatch_successful(t));
  gpatch_release(t);

  gpatch_spawn(&self_task, NULL, joins_itself, NULL);
  gpatch_join(self_task, -1);
  printf("join_self=%s\n", ename(self_join_rc));
  gpatch_release(self_task);
}

/* Joins with timeouts, joinall, release of a running task, and the
 * error cases of the calls. */
static void results_joins_and_errors(void) {
  gpatch_task *t[2], *bad = NULL;
  gpatch_opts big = { .stack_size = 1000 }, longname = { .name =
                                                "sixteen-chars-xx" },
              negative = { .timeout_ms = -1 };

  int rc;

  gpatch_spawn(&t[0], NULL, sleeps, (void *)20L);
  gpatch_spawn(&t[1], NULL, sleeps, (void *)300L);
  rc = gpatch_joinall(t, 2, 100);
  printf("joinall_short=%s ready0=%d ready1=%d\n", ename(rc),
         gpatch_ready(t[0]), gpatch_ready(t[1]));
  printf("joinall=%s\n", ename(gpatch_joinall(t, 2, -1)));
  gpatch_release(t[0]);
  gpatch_release(t[1]);
  gpatch_spawn(&t[0], NULL, sleeps, (void *)20L);
  gpatch_release(t[0]); /* still running: freed when it ends */
  gpatch_sleep(50);
  printf("released_running=ok\n");

  printf("spawn_null_fn=%s\n", ename(gpatch_spawn(&bad, NULL, NULL, NULL)));
  printf("spawn_small_stack=%s\n",
         ename(gpatch_spawn(&bad, &big, sleeps, NULL)));
  printf("spawn_long_name=%s\n",
         ename(gpatch_spawn(&bad, &longname, sleeps, NULL)));
  printf("spawn_negative_timeout=%s\n",
         ename(gpatch_spawn(&bad, &negative, sleeps, NULL)));
  printf("join_null=%s kill_null=%s sleep_negative=%s\n",
         ename(gpatch_join(NULL, -1)), ename(gpatch_kill(NULL)),
         ename(gpatch_sleep(-1)));
  printf("joinall_null=%s joinall_empty=%s\n",
         ename(gpatch_joinall(NULL, 1, -1)),
         ename(gpatch_joinall(NULL, 0, -1)));
  gpatch_timeout to;
  printf("timeout_negative=%s timeout_cancel_unstarted=%d\n",
         ename(gpatch_timeout_start(&to, -1)), gpatch_timeout_cancel(&to));
}

/* ---- timeouts ---- */

static void timed_join(void) {
  gpatch_task *t;
  long t0;

  int rc;

  gpatch_spawn(&t, NULL, sleeps, (void *)1000L);
  t0 = now_ms();
  rc = gpatch_join(t, 100);
  printf("join_timeout=%s join_timeout_ms=%ld\n", ename(rc), now_ms() - t0);
  gpatch_kill(t);
  gpatch_join(t, -1);
  gpatch_release(t);
}

/* A Timeout of ms around each blocking call a pipe can be given. */
static void timed_calls(int fd) {
  gpatch_timeout to;
  char c;
  long t0 = now_ms();
  int rc;

  gpatch_timeout_start(&to, 100);
  rc = gpatch_sleep(1000);
  long ms = now_ms() - t0;
  printf("sleep_rc=%s sleep_ms=%ld cancel=%d\n", ename(rc), ms,
         gpatch_timeout_cancel(&to));
  t0 = now_ms();
  GPATCH_WITH_TIMEOUT(t, 100) {
    rc = read(fd, &c, 1) < 0 ? errno : 0;
    printf("read_errno=%s read_ms=%ld expired=%d\n", ename(rc),
           now_ms() - t0, gpatch_timeout_expired(&t));
  }
  t0 = now_ms();
  GPATCH_WITH_TIMEOUT(t, 100) {
    struct pollfd p = { .fd = fd, .events = POLLIN };

    rc = poll(&p, 1, -1) < 0 ? errno : 0;
    printf("poll_errno=%s poll_ms=%ld\n", ename(rc), now_ms() - t0);
  }
  t0 = now_ms();
  GPATCH_WITH_TIMEOUT(t, 100) {
    struct timespec ts = { 1, 0 };

    rc = nanosleep(&ts, NULL) < 0 ? errno : 0;
    printf("nanosleep_errno=%s nanosleep_ms=%ld\n", ename(rc),
           now_ms() - t0);
  }
}

/* A Timeout around waitpid for a child that takes a second. */
static void timed_waitpid(void) {
  long t0 = now_ms();
  pid_t pid = fork();
  int rc;

  if (pid == 0) {
    sleep(1);
    _exit(0);
  }
  GPATCH_WITH_TIMEOUT(t, 100) {
    rc = waitpid(pid, NULL, 0) < 0 ? errno : 0;
    printf("waitpid_errno=%s waitpid_ms=%ld\n", ename(rc), now_ms() - t0);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

/* Nested Timeouts: the earlier fires first; after the inner one is
 * cancelled, the outer one still fires; cancelling in any order. */
static void nested(void) {
  gpatch_timeout outer, inner;
  long t0 = now_ms();
  int rc;

  gpatch_timeout_start(&outer, 200);
  gpatch_timeout_start(&inner, 100);
  rc = gpatch_sleep(1000);
  long ms = now_ms() - t0;
  printf("inner_rc=%s inner_ms=%ld inner_cancel=%d\n", ename(rc), ms,
         gpatch_timeout_cancel(&inner));
  rc = gpatch_sleep(1000);
  ms = now_ms() - t0;
  printf("outer_rc=%s outer_ms=%ld outer_cancel=%d\n", ename(rc), ms,
         gpatch_timeout_cancel(&outer));
  t0 = now_ms();
  gpatch_timeout_start(&outer, 100);
  gpatch_timeout_start(&inner, 1000);
  gpatch_timeout_cancel(&outer); /* out of order: inner stays */
  rc = gpatch_sleep(150);
  printf("out_of_order_rc=%s out_of_order_ms=%ld\n", ename(rc),
         now_ms() - t0);
  gpatch_timeout_cancel(&inner);
  printf("after_cancel_rc=%s\n", ename(gpatch_sleep(10)));
}

/* A socket's own SO_RCVTIMEO (50 ms) inside a Timeout of 200 ms: the
 * socket's comes first and gives EAGAIN, as without the Timeout. */
static void socket_timeout(void) {
  int sv[2];
  struct timeval tv = { 0, 50000 };
  char c;
  long t0;

  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
    return;
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  t0 = now_ms();
  GPATCH_WITH_TIMEOUT(t, 200) {
    int rc = recv(sv[0], &c, 1, 0) < 0 ? errno : 0;

    printf("so_rcvtimeo_errno=%s so_rcvtimeo_ms=%ld\n", ename(rc),
           now_ms() - t0);
  }
  close(sv[0]);
  close(sv[1]);
}

/* A task with opts.timeout_ms: it fails with ETIMEDOUT. */
static void task_timeout(void) {
  gpatch_opts o = { .timeout_ms = 100 };
  gpatch_task *t;
  long t0 = now_ms();

  gpatch_spawn(&t, &o, sleeps, (void *)1000L);
  gpatch_join(t, -1);
  long ms = now_ms() - t0;
  printf("task_timeout_ms=%ld task_error=%s task_successful=%d "
         "task_value=%p\n", ms, ename(gpatch_error(t)),
         gpatch_successful(t), gpatch_value(t));
  gpatch_release(t);
}

/* ---- kill ---- */

static int pipe_fds[2];
static int read_errno = -1, sleep_after_kill = -1, unwound;

static void *reader(void *arg) {
  char c;

  (void)arg;
  if (read(pipe_fds[0], &c, 1) < 0) {
    read_errno = errno;
    sleep_after_kill = gpatch_sleep(1000); /* sticky: fails at once */
    unwound = 1;
    return NULL;
  }
  return (void *)1;
}

static void kill_reader(void) {
  gpatch_task *t;
  long t0;

  pipe(pipe_fds);
  gpatch_spawn(&t, NULL, reader, NULL);
  gpatch_sleep(50);
  t0 = now_ms();
  printf("kill=%s\n", ename(gpatch_kill(t)));
  int rc = gpatch_join(t, 1000);
  printf("join=%s join_ms=%ld\n", ename(rc), now_ms() - t0);
  printf("read_errno=%s sleep_after_kill=%s unwound=%d\n", ename(read_errno),
         ename(sleep_after_kill), unwound);
  printf("started=%d ready=%d successful=%d error=%s value=%p\n",
         gpatch_started(t), gpatch_ready(t), gpatch_successful(t),
         ename(gpatch_error(t)), gpatch_value(t));
  printf("kill_ended=%s\n", ename(gpatch_kill(t)));
  gpatch_release(t);
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int got_mutex, sleep_rc = -1;

static void *locker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  got_mutex = 1;
  pthread_mutex_unlock(&mu);
  sleep_rc = gpatch_sleep(1000);
  return NULL;
}

static void kill_before_run_and_in_mutex(void) {
  gpatch_task *t;

  gpatch_spawn(&t, NULL, returns_arg, (void *)5);
  gpatch_kill(t);
  gpatch_join(t, -1);
  printf("early_started=%d early_ready=%d early_error=%s\n",
         gpatch_started(t), gpatch_ready(t), ename(gpatch_error(t)));
  gpatch_release(t);

  pthread_mutex_lock(&mu);
  gpatch_spawn(&t, NULL, locker, NULL);
  gpatch_sleep(20);
  gpatch_kill(t);
  gpatch_sleep(20);
  printf("mutex_waiting=%d\n", !gpatch_ready(t) && !got_mutex);
  pthread_mutex_unlock(&mu);
  gpatch_join(t, -1);
  printf("mutex_got=%d mutex_sleep_rc=%s mutex_error=%s\n", got_mutex,
         ename(sleep_rc), ename(gpatch_error(t)));
  gpatch_release(t);
}

int main(int argc, char **argv) {
  int fds[2];

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2)
    return 2;
  if (strcmp(argv[1], "results") == 0) {
    results_state();
    results_joins_and_errors();
  } else if (strcmp(argv[1], "timeouts") == 0) {
    if (pipe(fds) != 0)
      return 1;
    timed_join();
    timed_calls(fds[0]);
    timed_waitpid();
    nested();
    socket_timeout();
    task_timeout();
  } else if (strcmp(argv[1], "kill") == 0) {
    kill_reader();
    kill_before_run_and_in_mutex();
  } else if (strcmp(argv[1], "perm") == 0) {
    gpatch_task *t;
    gpatch_timeout to;

    printf("spawn=%s\n", ename(gpatch_spawn(&t, NULL, sleeps, NULL)));
    printf("timeout=%s\n", ename(gpatch_timeout_start(&to, 10)));
    printf("sleep=%s\n", ename(gpatch_sleep(10)));
  } else {
    return 2;
  }
  return 0;
}
