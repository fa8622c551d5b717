/* fault_sigstorm: a storm of signals while serving.
 *
 *   fault_sigstorm restart   SIGUSR1's handler has SA_RESTART
 *   fault_sigstorm intr      it has not
 *
 * A child process sends SIGUSR1 to this one 100,000 times a second (the
 * kernel merges those that find one pending: far fewer are handled).
 * Once 100 have been handled, 16 client threads each send 8 MiB in chunks
 * of 1 to 16 KiB through a thread-per-connection echo server in this
 * process (blocking accept, connect, read, write), each chunk read back
 * and compared before the next.  Then the bytes the server echoed are
 * compared with those sent: nothing lost, nothing doubled.  Beside them
 * two threads hand 100,000 items over through a mutex and a condvar:
 * every item taken once and in order, and no pthread call (mutex, condvar,
 * join) returns an error (they never return EINTR).  EINTR is
 * counted on every call.  Per signal(7), with SA_RESTART a socket call
 * without a timeout is restarted, so restart mode prints eintr=N, which
 * must be 0; without it EINTR is allowed and retried, and intr mode
 * prints eintr_seen=N, which the test does not compare (nor signals=N,
 * the signals handled).  Prints key=value tokens otherwise the same
 * natively and under gpatch.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#include "fault.h"

enum { CLIENTS = 16, TOTAL = 8 << 20, CHUNK = 16384 };

static int port, lfd;
static volatile sig_atomic_t handled; /* Signals handled (about). */
static atomic_long eintr, server_bytes, served;

static void on_usr1(int sig) {
  (void)sig;
  handled++;
}

static void *serve(void *arg) {
  int fd = (int)(intptr_t)arg;
  char buf[CHUNK];
  long e = 0, total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      e++;
      continue;
    }
    if (n <= 0)
      break;
    if (fault_write_all(fd, buf, (size_t)n, &e) != 0)
      break;
    total += n;
  }
  close(fd);
  atomic_fetch_add(&eintr, e);
  atomic_fetch_add(&server_bytes, total);
  atomic_fetch_add(&served, 1);
  return NULL;
}

static void *acceptor(void *arg) {
  (void)arg;
  for (int i = 0; i < CLIENTS;) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR)
        atomic_fetch_add(&eintr, 1);
      else
        perror("accept");
      continue;
    }
    pthread_t t;
    FAULT_CHECK(pthread_create(&t, NULL, serve, (void *)(intptr_t)fd) == 0);
    pthread_detach(t);
    i++;
  }
  return NULL;
}

static void *client(void *arg) {
  unsigned id = (unsigned)(intptr_t)arg;
  unsigned char out[CHUNK], in[CHUNK];
  long e = 0;
  int fd;
  while ((fd = fault_connect(port)) < 0 && errno == EINTR)
    e++;
  FAULT_CHECK(fd >= 0);
  size_t off = 0;
  int ok = 1;
  while (ok && off < TOTAL) {
    size_t n = 1 + (off * 7 + id * 131) % CHUNK;
    if (n > TOTAL - off)
      n = TOTAL - off;
    for (size_t i = 0; i < n; i++)
      out[i] = fault_byte(id, off + i);
    ok = fault_write_all(fd, out, n, &e) == 0
         && fault_read_all(fd, in, n, &e) == (ssize_t)n
         && memcmp(in, out, n) == 0;
    off += n;
  }
  close(fd);
  atomic_fetch_add(&eintr, e);
  return (void *)(intptr_t)ok;
}

/* A mutex and condvar hand-off of HANDOFFS items, one slot, beside the
 * echo traffic: never EINTR (signal(7)), every item taken once, in order. */
enum { HANDOFFS = 100000 };
static pthread_mutex_t hm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hc = PTHREAD_COND_INITIALIZER;
static long slot = -1;            /* The item on offer, or -1. */
static atomic_long sync_errors;   /* Non-zero returns of the sync calls. */

static void check0(int r) {
  if (r != 0)
    atomic_fetch_add(&sync_errors, 1);
}

static void *producer(void *arg) {
  (void)arg;
  for (long i = 0; i < HANDOFFS; i++) {
    check0(pthread_mutex_lock(&hm));
    while (slot != -1)
      check0(pthread_cond_wait(&hc, &hm));
    slot = i;
    check0(pthread_cond_broadcast(&hc));
    check0(pthread_mutex_unlock(&hm));
  }
  return NULL;
}

static void *consumer(void *arg) {
  (void)arg;
  long in_order = 0;
  for (long i = 0; i < HANDOFFS; i++) {
    check0(pthread_mutex_lock(&hm));
    while (slot == -1)
      check0(pthread_cond_wait(&hc, &hm));
    in_order += slot == i;
    slot = -1;
    check0(pthread_cond_broadcast(&hc));
    check0(pthread_mutex_unlock(&hm));
  }
  return (void *)in_order;
}

/* The storm: SIGUSR1 to parent at 100,000 a second until killed or 60 s. */
static void storm(pid_t parent) {
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long sent = 0;; sent++) {
    if (sent % 1000 == 0) {
      clock_gettime(CLOCK_MONOTONIC, &now);
      double el = (double)(now.tv_sec - t0.tv_sec)
                  + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
      if (el > 60 || getppid() != parent)
        _exit(0);
      double ahead = (double)sent / 100000.0 - el;
      if (ahead > 0) {
        struct timespec ts = { 0, (long)(ahead * 1e9) };
        nanosleep(&ts, NULL);
      }
    }
    if (kill(parent, SIGUSR1) != 0)
      _exit(0);
  }
}

int main(int argc, char **argv) {
  int restart = argc == 2 && strcmp(argv[1], "restart") == 0;
  if (argc != 2 || (!restart && strcmp(argv[1], "intr") != 0)) {
    fprintf(stderr, "usage: %s restart|intr\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  alarm(120);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigemptyset(&sa.sa_mask);
  FAULT_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  lfd = fault_listen(&port);

  pid_t parent = getpid(), kid = fork();
  FAULT_CHECK(kid >= 0);
  if (kid == 0) {
    signal(SIGUSR1, SIG_IGN);
    storm(parent);
  }
  while (handled < 100) /* The storm has begun. */
    sched_yield();
  pthread_t acc, cl[CLIENTS], prod, cons;
  FAULT_CHECK(pthread_create(&prod, NULL, producer, NULL) == 0);
  FAULT_CHECK(pthread_create(&cons, NULL, consumer, NULL) == 0);
  FAULT_CHECK(pthread_create(&acc, NULL, acceptor, NULL) == 0);
  for (int i = 0; i < CLIENTS; i++)
    FAULT_CHECK(pthread_create(&cl[i], NULL, client, (void *)(intptr_t)i)
                == 0);
  int ok = 0;
  void *in_order = NULL;
  for (int i = 0; i < CLIENTS; i++) {
    void *r;
    int e = pthread_join(cl[i], &r); /* (never EINTR) */
    check0(e);
    ok += e == 0 && r == (void *)1;
  }
  check0(pthread_join(acc, NULL));
  check0(pthread_join(prod, NULL));
  check0(pthread_join(cons, &in_order));
  kill(kid, SIGKILL);
  while (waitpid(kid, NULL, 0) < 0 && errno == EINTR)
    ;
  while (atomic_load(&served) < CLIENTS) /* the last server threads end */
    sched_yield();
  printf("clients_ok=%d echoed_bytes=%ld signals=%ld\n", ok,
         atomic_load(&server_bytes), (long)handled);
  printf("handoffs_in_order=%ld sync_errors=%ld\n", (long)in_order,
         atomic_load(&sync_errors));
  if (restart)
    printf("eintr=%ld\n", atomic_load(&eintr));
  else
    printf("eintr_seen=%ld\n", atomic_load(&eintr));
  return ok == CLIENTS && atomic_load(&server_bytes) == (long)CLIENTS * TOTAL
             ? 0 : 1;
}
