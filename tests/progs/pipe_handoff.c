/* pipe_handoff: threads waking each other through pipes, socketpairs and
 * eventfds, where gpatch hands a written byte straight to the reader
 * parked on the other end.
 *
 *   pipe_handoff writers pipe|socketpair early|late
 *       8 writer threads send 400 messages of 64 bytes each (writer, seq,
 *       pattern) into one pipe or socketpair, 2 reader threads read them;
 *       the writers' end is closed once they are done and the readers
 *       read to the end of file. early: the fds are made before the first
 *       thread, late: after. Prints msgs, torn (messages whose bytes do
 *       not belong together), order_ok (each reader saw every writer's
 *       messages in order), complete (every message arrived once), eofs.
 *   pipe_handoff eof pipe|socketpair early|late
 *       a reader thread waits; "hello" is written and the writing end
 *       closed: rd1 and rd2 are what its two reads returned.
 *   pipe_handoff epipe
 *       write_errno (a write to a pipe whose read end is closed),
 *       partial_ok (1 when a 1 MiB write blocked on a full pipe returned
 *       a part once a reader thread read 10 bytes and closed the read
 *       end), next_errno (the write after it), sock_errno (a send to a
 *       socketpair whose other end is closed). SIGPIPE is ignored.
 *   pipe_handoff child early|late
 *       a reader thread and a forked child both read one pipe, byte by
 *       byte, to the end of file, while the main thread writes 2000
 *       bytes one at a time: total (bytes the two got together),
 *       r_eof and child_eof; r_got and child_got (how they split).
 *   pipe_handoff event_child
 *       a reader thread sums what it reads from an eventfd until 200,
 *       while a forked child writes 1 two hundred times: sum.
 *   pipe_handoff nonblock
 *       the O_NONBLOCK the program set stays in force and visible:
 *       pipe2(O_NONBLOCK) gives EAGAIN (rd_errno) and fills to fill bytes
 *       (fill_errno); a read end left blocking while its write end is
 *       non-blocking still waits (waited, got); an EFD_NONBLOCK eventfd
 *       gives ev_errno, then ev_read after a write of 3, then
 *       ev_errno2; a blocking eventfd's reader thread waits for a write
 *       of 2 (ev_waited, ev_got). Prints the flags too.
 *   pipe_handoff close
 *       a read end closed while a thread waits on it, its number taken
 *       by a new pipe with a reader of its own (see close_mode): reused,
 *       r1_rc, r1_errno, r1_c (the first reader), wa_rc (the write to
 *       the old pipe), r2_early (the second reader returned before its
 *       own pipe was written), r2_rc and r2_c.
 * Every mode prints threads (OS threads while its threads run).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "threads_now.h"

#define WRITERS 8
#define READERS 2
#define PER_WRITER 400
#define MSG 64

static int rd, wr; /* the reading and the writing end */
static int sock;   /* they are a socketpair */

/* A gate where the threads wait until main has counted them. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_in, gate_open;

static void gate_arrive(void) {
  pthread_mutex_lock(&gate_mu);
  gate_in++;
  pthread_cond_broadcast(&gate_cv);
  while (!gate_open)
    pthread_cond_wait(&gate_cv, &gate_mu);
  pthread_mutex_unlock(&gate_mu);
}

/* Waits for n threads at the gate, counts the OS threads, opens it. */
static int gate_release(int n) {
  pthread_mutex_lock(&gate_mu);
  while (gate_in < n)
    pthread_cond_wait(&gate_cv, &gate_mu);
  int t = threads_now(); /* less the hand-off's monitor */
  gate_open = 1;
  pthread_cond_broadcast(&gate_cv);
  pthread_mutex_unlock(&gate_mu);
  return t;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* Makes rd and wr: a pipe, or the two ends of a socketpair. */
static void make_ends(const char *kind) {
  int fds[2];
  sock = strcmp(kind, "socketpair") == 0;
  if (sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds))
    die("pipe");
  rd = sock ? fds[1] : fds[0];
  wr = sock ? fds[0] : fds[1];
}

/* A thread that only exists before the fds are made (late mode): the
 * program is threaded from then on. */
static void *nothing(void *arg) { return arg; }

static void become_threaded(void) {
  pthread_t t;
  pthread_create(&t, NULL, nothing, NULL);
  pthread_join(t, NULL);
}

/* ---- writers ---- */

static unsigned char seen[READERS][WRITERS * PER_WRITER];
static long msgs, torn, disorder, eofs;
static pthread_mutex_t count_mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned char body(int w, int seq, int i) {
  return (unsigned char)(w * 31 + seq * 7 + i);
}

static void *writer(void *arg) {
  int w = (int)(long)arg;
  gate_arrive();
  for (int seq = 0; seq < PER_WRITER; seq++) {
    unsigned char m[MSG];
    m[0] = (unsigned char)w;
    m[1] = (unsigned char)(seq >> 8);
    m[2] = (unsigned char)seq;
    for (int i = 3; i < MSG; i++)
      m[i] = body(w, seq, i);
    if (write(wr, m, MSG) != MSG)
      die("write");
    if (seq % 50 == w)
      sched_yield();
  }
  return NULL;
}

static void *reader(void *arg) {
  int me = (int)(long)arg, last[WRITERS];
  for (int w = 0; w < WRITERS; w++)
    last[w] = -1;
  gate_arrive();
  for (;;) {
    unsigned char m[MSG];
    size_t have = 0;
    ssize_t n = 1;
    while (have < MSG && (n = read(rd, m + have, MSG - have)) > 0)
      have += (size_t)n;
    if (n < 0)
      die("read");
    if (have < MSG) {
      pthread_mutex_lock(&count_mu);
      eofs += have == 0;
      torn += have != 0;
      pthread_mutex_unlock(&count_mu);
      return NULL;
    }
    int w = m[0], seq = m[1] << 8 | m[2], bad = w >= WRITERS ||
                                               seq >= PER_WRITER;
    for (int i = 3; i < MSG && !bad; i++)
      bad = m[i] != body(w, seq, i);
    pthread_mutex_lock(&count_mu);
    msgs++;
    if (bad) {
      torn++;
    } else {
      disorder += seq <= last[w];
      last[w] = seq;
      seen[me][w * PER_WRITER + seq]++;
    }
    pthread_mutex_unlock(&count_mu);
  }
}

static int writers_mode(const char *kind, int late) {
  pthread_t w[WRITERS], r[READERS];
  if (late)
    become_threaded();
  make_ends(kind);
  for (long i = 0; i < READERS; i++)
    pthread_create(&r[i], NULL, reader, (void *)i);
  for (long i = 0; i < WRITERS; i++)
    pthread_create(&w[i], NULL, writer, (void *)i);
  int threads = gate_release(WRITERS + READERS);
  for (int i = 0; i < WRITERS; i++)
    pthread_join(w[i], NULL);
  close(wr); /* the readers see the end of file */
  for (int i = 0; i < READERS; i++)
    pthread_join(r[i], NULL);
  int complete = 1;
  for (int i = 0; i < WRITERS * PER_WRITER; i++)
    complete &= seen[0][i] + seen[1][i] == 1;
  printf("threads=%d msgs=%ld torn=%ld order_ok=%d complete=%d eofs=%ld\n",
         threads, msgs, torn, disorder == 0, complete, eofs);
  return 0;
}

/* ---- eof ---- */

static ssize_t rd1 = -2, rd2 = -2;

static void *eof_reader(void *arg) {
  char buf[16];
  gate_arrive();
  rd1 = read(rd, buf, sizeof buf);
  rd2 = read(rd, buf, sizeof buf);
  return arg;
}

static int eof_mode(const char *kind, int late) {
  pthread_t t;
  if (late)
    become_threaded();
  make_ends(kind);
  pthread_create(&t, NULL, eof_reader, NULL);
  int threads = gate_release(1);
  usleep(30000); /* the reader waits by now */
  if (write(wr, "hello", 5) != 5)
    die("write");
  close(wr);
  pthread_join(t, NULL);
  printf("threads=%d rd1=%zd rd2=%zd\n", threads, rd1, rd2);
  return 0;
}

/* ---- epipe ---- */

static ssize_t big_r;
static int big_errno;

static void *big_writer(void *arg) {
  size_t n = 1 << 20;
  char *buf = calloc(1, n);
  gate_arrive();
  big_r = write(wr, buf, n);
  big_errno = errno;
  free(buf);
  return arg;
}

static int epipe_mode(void) {
  int p[2], s[2];
  pthread_t t;
  signal(SIGPIPE, SIG_IGN);
  become_threaded();
  if (pipe(p) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0)
    die("pipe");
  close(p[0]);
  int w1 = (int)write(p[1], "x", 1), write_errno = errno;
  close(p[1]);
  close(s[1]);
  int s1 = (int)send(s[0], "x", 1, 0), sock_errno = errno;
  close(s[0]);

  make_ends("pipe");
  pthread_create(&t, NULL, big_writer, NULL);
  int threads = gate_release(1);
  usleep(50000); /* the writer has filled the pipe and waits */
  char buf[10];
  if (read(rd, buf, sizeof buf) != sizeof buf)
    die("read");
  close(rd);
  pthread_join(t, NULL);
  int w2 = (int)write(wr, "x", 1), next_errno = errno;
  printf("threads=%d write_rc=%d write_errno=%d partial_ok=%d next_rc=%d "
         "next_errno=%d sock_rc=%d sock_errno=%d\n",
         threads, w1, write_errno, big_r > 0 && big_r < (1 << 20), w2,
         next_errno, s1, sock_errno);
  (void)big_errno;
  return 0;
}

/* ---- a pipe shared with a child ---- */

#define CHILD_BYTES 2000
static long r_got;
static int r_eof;

static void *byte_reader(void *arg) {
  char c;
  ssize_t n;
  gate_arrive();
  while ((n = read(rd, &c, 1)) == 1)
    r_got++;
  r_eof = n == 0;
  return arg;
}

static int child_mode(int late) {
  int res[2];
  pthread_t t;
  if (late)
    become_threaded();
  make_ends("pipe");
  if (pipe(res) != 0)
    die("pipe");
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) { /* reads as the thread does, then reports */
    long got = 0;
    char c;
    ssize_t n;
    close(wr);
    close(res[0]);
    alarm(60);
    while ((n = read(rd, &c, 1)) == 1)
      got++;
    long out[2] = {got, n == 0};
    if (write(res[1], out, sizeof out) != sizeof out)
      _exit(1);
    _exit(0);
  }
  close(res[1]);
  pthread_create(&t, NULL, byte_reader, NULL);
  int threads = gate_release(1);
  for (int i = 0; i < CHILD_BYTES; i++) {
    if (write(wr, "b", 1) != 1)
      die("write");
    if (i % 20 == 19)
      usleep(200); /* both readers get their turns */
  }
  close(wr);
  pthread_join(t, NULL);
  long out[2] = {0, 0};
  if (read(res[0], out, sizeof out) != sizeof out)
    die("read child");
  int status;
  waitpid(pid, &status, 0);
  printf("threads=%d total=%ld r_eof=%d child_eof=%ld r_got=%ld "
         "child_got=%ld\n",
         threads, r_got + out[0], r_eof, out[1], r_got, out[0]);
  return 0;
}

/* ---- an eventfd written by a child ---- */

#define EVENTS 200
static int efd;
static uint64_t ev_sum;

static void *event_reader(void *arg) {
  gate_arrive();
  while (ev_sum < EVENTS) {
    uint64_t v;
    if (read(efd, &v, 8) != 8)
      die("read eventfd");
    ev_sum += v;
  }
  return arg;
}

static int event_child_mode(void) {
  pthread_t t;
  become_threaded();
  efd = eventfd(0, 0);
  if (efd < 0)
    die("eventfd");
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    uint64_t one = 1;
    for (int i = 0; i < EVENTS; i++) {
      if (write(efd, &one, 8) != 8)
        _exit(1);
      usleep(500);
    }
    _exit(0);
  }
  pthread_create(&t, NULL, event_reader, NULL);
  int threads = gate_release(1);
  pthread_join(t, NULL);
  int status;
  waitpid(pid, &status, 0);
  printf("threads=%d sum=%llu child_status=%d\n", threads,
         (unsigned long long)ev_sum, status);
  return 0;
}

/* ---- close while parked ---- */

static char r1_c, r2_c;
static ssize_t r1_rc = -2, r2_rc = -2;
static int r1_errno, rb_fd;

static void *close_reader1(void *arg) {
  gate_arrive();
  r1_rc = read(rd, &r1_c, 1);
  r1_errno = errno;
  return arg;
}

static void *close_reader2(void *arg) {
  r2_rc = read(rb_fd, &r2_c, 1);
  return arg;
}

/* A reader waits on pipe A, made before the first thread; its read end
 * is closed, and pipe B takes that number, with a second reader waiting
 * on it. A write to A's write end must not reach B's reader; a write to
 * B's does. (Linux does not wake a read blocked on an fd another thread
 * closes: natively the first reader gets A's byte; under gpatch it wakes
 * with EBADF at the close, and A, with no reader left, gives EPIPE.) */
static int close_mode(void) {
  int b[2];
  pthread_t t1, t2;
  signal(SIGPIPE, SIG_IGN);
  make_ends("pipe");
  int old_rd = rd;
  pthread_create(&t1, NULL, close_reader1, NULL);
  int threads = gate_release(1);
  usleep(30000);
  close(rd);
  if (pipe(b) != 0)
    die("pipe");
  rb_fd = b[0];
  pthread_create(&t2, NULL, close_reader2, NULL);
  usleep(30000);
  int wa = (int)write(wr, "a", 1);
  usleep(30000);
  int r2_early = r2_rc != -2; /* B's reader returned before B's write */
  if (write(b[1], "b", 1) != 1)
    die("write");
  pthread_join(t2, NULL);
  pthread_join(t1, NULL);
  printf("threads=%d reused=%d r1_rc=%zd r1_errno=%d r1_c=%c wa_rc=%d "
         "r2_early=%d r2_rc=%zd r2_c=%c\n",
         threads, b[0] == old_rd, r1_rc, r1_rc < 0 ? r1_errno : 0,
         r1_rc == 1 ? r1_c : '-', wa, r2_early, r2_rc, r2_c);
  return 0;
}

/* ---- O_NONBLOCK as the program set it ---- */

static double waited_s;
static long got;

/* Reads one value from the fd at arg: a pipe's byte or an eventfd's
 * count, into got; times the wait. */
static void *timed_reader(void *arg) {
  int fd = *(int *)arg;
  uint64_t v = 0;
  gate_arrive();
  double t0 = now();
  ssize_t n = read(fd, &v, sizeof v);
  got = n == 8 ? (long)v : n == 1 ? (long)(v & 0xff) : -1;
  waited_s = now() - t0;
  return NULL;
}

/* Keeps the program threaded: waits for a byte on the fd at arg. */
static void *holder(void *arg) {
  char c;
  if (read(*(int *)arg, &c, 1) != 1)
    die("holder");
  return NULL;
}

static int nonblock_mode(void) {
  int p[2], q[2];
  char buf[4096] = {0};
  int hold[2];
  pthread_t t;
  if (pipe(hold) != 0)
    die("pipe");
  pthread_create(&t, NULL, holder, &hold[0]); /* alive until the end */

  if (pipe2(p, O_NONBLOCK) != 0)
    die("pipe2");
  int rd_rc = (int)read(p[0], buf, 1), rd_errno = errno;
  long fill = 0;
  ssize_t n;
  while ((n = write(p[1], buf, sizeof buf)) > 0)
    fill += n;
  int fill_errno = errno;
  int p0_fl = fcntl(p[0], F_GETFL), p1_fl = fcntl(p[1], F_GETFL);

  if (pipe(q) != 0 || fcntl(q[1], F_SETFL, O_NONBLOCK) != 0)
    die("pipe");
  pthread_t r;
  pthread_create(&r, NULL, timed_reader, &q[0]);
  int threads = gate_release(1);
  usleep(50000);
  if (write(q[1], "\x07", 1) != 1)
    die("write");
  pthread_join(r, NULL);
  int waited = waited_s >= 0.04;
  long q_got = got;
  int q0_fl = fcntl(q[0], F_GETFL), q1_fl = fcntl(q[1], F_GETFL);

  int e = eventfd(0, EFD_NONBLOCK);
  uint64_t v = 0, three = 3, two = 2;
  int ev_rc = (int)read(e, &v, 8), ev_errno = errno;
  if (write(e, &three, 8) != 8)
    die("write eventfd");
  int ev_read = read(e, &v, 8) == 8 ? (int)v : -1;
  int ev_rc2 = (int)read(e, &v, 8), ev_errno2 = errno;
  int e_fl = fcntl(e, F_GETFL);

  int b = eventfd(0, 0);
  gate_open = 0, gate_in = 0;
  pthread_create(&r, NULL, timed_reader, &b);
  gate_release(1);
  usleep(50000);
  if (write(b, &two, 8) != 8)
    die("write eventfd");
  pthread_join(r, NULL);
  if (write(hold[1], "", 1) != 1)
    die("write");
  pthread_join(t, NULL);
  printf("threads=%d rd_rc=%d rd_errno=%d fill=%ld fill_errno=%d "
         "p0_flags=%d p1_flags=%d waited=%d got=%ld q0_flags=%d "
         "q1_flags=%d ev_rc=%d ev_errno=%d ev_read=%d ev_rc2=%d "
         "ev_errno2=%d ev_flags=%d ev_waited=%d ev_got=%ld\n",
         threads, rd_rc, rd_errno, fill, fill_errno, p0_fl, p1_fl, waited,
         q_got, q0_fl, q1_fl, ev_rc, ev_errno, ev_read, ev_rc2, ev_errno2,
         e_fl, waited_s >= 0.04, got);
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  int late = argc > 3 ? strcmp(argv[3], "late") == 0
                      : argc > 2 && strcmp(argv[2], "late") == 0;
  alarm(60);
  if (strcmp(mode, "writers") == 0 && argc > 3)
    return writers_mode(argv[2], late);
  if (strcmp(mode, "eof") == 0 && argc > 3)
    return eof_mode(argv[2], late);
  if (strcmp(mode, "epipe") == 0)
    return epipe_mode();
  if (strcmp(mode, "child") == 0 && argc > 2)
    return child_mode(late);
  if (strcmp(mode, "event_child") == 0)
    return event_child_mode();
  if (strcmp(mode, "nonblock") == 0)
    return nonblock_mode();
  if (strcmp(mode, "close") == 0)
    return close_mode();
  fprintf(stderr, "usage: pipe_handoff writers|eof pipe|socketpair "
                  "early|late | epipe | child early|late | event_child | "
                  "nonblock | close\n");
  return 2;
}
