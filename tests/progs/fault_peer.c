/* fault_peer: a thread-per-connection server (blocking reads and writes,
 * SO_RCVTIMEO of 2 s on every connection) and peers that misbehave.
 *
 *   fault_peer reset      a peer sends half a request and resets (RST);
 *                         another sends a request and resets while the
 *                         32 MiB reply is being written (more than the
 *                         socket buffers hold)
 *   fault_peer halfclose  a peer sends its request and shuts down its
 *                         writing side; the reply must still arrive whole
 *   fault_peer slowloris  a peer sends its request one byte a second while
 *                         50 others do 20 requests each; one more sends a
 *                         byte and stalls (the server's read times out)
 *   fault_peer vanish     a peer disappears without FIN or RST (TCP_REPAIR,
 *                         needs CAP_NET_ADMIN: prints skip=1 without it);
 *                         the server's read times out; with keepalive
 *                         instead of the timeout, the probe meets a RST
 *
 * Protocol: a connection's first line names it; "ka" turns the timeout off
 * and keepalive on (1 s idle, 1 s interval, 2 probes) and is answered
 * "OK\n".  Every later line is a number N, answered with N bytes of the
 * pattern of stream N.  When a connection ends, its thread records how (eof,
 * or the errno of the failed read or write) under its name; after each
 * scenario a good connection must still be served.  Prints key=value tokens
 * that are the same natively and under gpatch.
 */
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "fault.h"

#ifndef TCP_REPAIR
#define TCP_REPAIR 19
#endif

enum { MAX_OUTCOMES = 128, BIG = 32 << 20 };

static int port;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static struct outcome {
  char name[16];
  char how[16];
} outcomes[MAX_OUTCOMES];
static int n_outcomes;

static void record(const char *name, const char *how) {
  pthread_mutex_lock(&lock);
  if (n_outcomes < MAX_OUTCOMES) {
    snprintf(outcomes[n_outcomes].name, 16, "%s", name);
    snprintf(outcomes[n_outcomes].how, 16, "%s", how);
    n_outcomes++;
  }
  pthread_cond_broadcast(&changed);
  pthread_mutex_unlock(&lock);
}

/* How the connection named name ended, waiting up to 20 s for it. */
static const char *outcome(const char *name) {
  struct timespec until;
  const char *how = "none";
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 20;
  pthread_mutex_lock(&lock);
  for (;;) {
    for (int i = 0; i < n_outcomes; i++)
      if (strcmp(outcomes[i].name, name) == 0)
        how = outcomes[i].how;
    if (strcmp(how, "none") != 0
        || pthread_cond_timedwait(&changed, &lock, &until) != 0)
      break;
  }
  pthread_mutex_unlock(&lock);
  return how;
}

/* Reads one line (without its newline) into buf.  Returns its length, 0 at
 * end of file, or -1 with errno. */
static ssize_t read_line(int fd, char *buf, size_t cap) {
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t k = read(fd, buf + n, 1);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return k == 0 && n > 0 ? (errno = EPROTO, -1) : k;
    if (buf[n] == '\n')
      break;
    n++;
  }
  buf[n] = '\0';
  return (ssize_t)n;
}

static void *serve(void *arg) {
  int fd = (int)(intptr_t)arg;
  char name[16] = "?", line[32];
  struct timeval tv = { 2, 0 };
  unsigned char *big = NULL;
  const char *how = "eof";

  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (read_line(fd, name, sizeof name) <= 0) {
    how = fault_errname(errno);
    goto done;
  }
  if (strcmp(name, "ka") == 0) {
    int on = 1, one = 1, two = 2;
    struct timeval zero = { 0, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof zero);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &two, sizeof two);
    if (fault_write_all(fd, "OK\n", 3, NULL) != 0) {
      how = fault_errname(errno);
      goto done;
    }
  }
  for (;;) {
    ssize_t k = read_line(fd, line, sizeof line);
    if (k == 0)
      break;
    if (k < 0) {
      how = fault_errname(errno);
      break;
    }
    size_t n = strtoul(line, NULL, 10);
    if (n > BIG)
      n = BIG;
    free(big);
    big = malloc(n + 1);
    FAULT_CHECK(big != NULL);
    for (size_t i = 0; i < n; i++)
      big[i] = fault_byte((unsigned)n, i);
    if (fault_write_all(fd, big, n, NULL) != 0) {
      /* Which of the two a reset peer causes depends on timing. */
      how = errno == EPIPE || errno == ECONNRESET ? "reset_or_pipe"
                                                  : fault_errname(errno);
      break;
    }
  }
done:
  free(big);
  close(fd);
  record(name, how);
  return NULL;
}

static void *acceptor(void *arg) {
  int lfd = (int)(intptr_t)arg;
  for (;;) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      perror("accept");
      exit(3);
    }
    pthread_t t;
    FAULT_CHECK(pthread_create(&t, NULL, serve, (void *)(intptr_t)fd) == 0);
    pthread_detach(t);
  }
  return NULL;
}

/* A connection named name. */
static int peer(const char *name) {
  int fd = fault_connect(port);
  char line[32];
  FAULT_CHECK(fd >= 0);
  int n = snprintf(line, sizeof line, "%s\n", name);
  FAULT_CHECK(fault_write_all(fd, line, (size_t)n, NULL) == 0);
  return fd;
}

/* Asks fd for n bytes and checks them.  Returns 1 when they all came. */
static int ask(int fd, size_t n) {
  unsigned char *buf = malloc(n + 1);
  char line[32];
  int k = snprintf(line, sizeof line, "%zu\n", n), ok;
  FAULT_CHECK(buf != NULL);
  ok = fault_write_all(fd, line, (size_t)k, NULL) == 0
       && fault_read_all(fd, buf, n, NULL) == (ssize_t)n;
  for (size_t i = 0; ok && i < n; i++)
    ok = buf[i] == fault_byte((unsigned)n, i);
  free(buf);
  return ok;
}

/* A good connection after a scenario: served as usual. */
static int still_serving(const char *name) {
  int fd = peer(name), ok = ask(fd, 100000);
  close(fd);
  return ok;
}

static void reset_now(int fd) {
  struct linger l = { 1, 0 };
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

static void sleep_ms(long ms) {
  struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

static int scenario_reset(void) {
  int fd = peer("resetreq");
  FAULT_CHECK(write(fd, "12", 2) == 2); /* Half a request. */
  sleep_ms(200);
  reset_now(fd);
  printf("half_request_reset=%s\n", outcome("resetreq"));
  fd = peer("resetrep");
  FAULT_CHECK(write(fd, "33554432\n", 9) == 9);
  char some[4096];
  FAULT_CHECK(fault_read_all(fd, some, sizeof some, NULL) == sizeof some);
  reset_now(fd); /* Mid-reply. */
  printf("mid_reply_reset=%s\n", outcome("resetrep"));
  return 1;
}

static int scenario_halfclose(void) {
  int fd = peer("half");
  static unsigned char buf[100001];
  FAULT_CHECK(write(fd, "100000\n", 7) == 7);
  FAULT_CHECK(shutdown(fd, SHUT_WR) == 0);
  ssize_t n = fault_read_all(fd, buf, sizeof buf, NULL);
  int ok = n == 100000;
  for (ssize_t i = 0; ok && i < n; i++)
    ok = buf[i] == fault_byte(100000, (uint64_t)i);
  close(fd);
  printf("halfclose_bytes=%zd halfclose_ok=%d halfclose_server=%s\n", n, ok,
         outcome("half"));
  return ok;
}

static int normal_done; /* Normal peers finished, under lock. */

static void *normal_peer(void *arg) {
  char name[16];
  snprintf(name, sizeof name, "n%d", (int)(intptr_t)arg);
  int fd = peer(name), ok = 1;
  for (int i = 0; i < 20 && ok; i++)
    ok = ask(fd, 1 + (size_t)(i * 997 % 5000));
  close(fd);
  pthread_mutex_lock(&lock);
  normal_done++;
  pthread_cond_broadcast(&changed);
  pthread_mutex_unlock(&lock);
  return (void *)(intptr_t)ok;
}

static int scenario_slowloris(void) {
  int fd = peer("slow"), served = 0;
  pthread_t t[50];
  for (int i = 0; i < 50; i++)
    FAULT_CHECK(pthread_create(&t[i], NULL, normal_peer,
                               (void *)(intptr_t)i) == 0);
  const char *req = "777\n";
  int during = 0;
  for (int i = 0; i < 4; i++) {
    if (i == 3) {
      /* The others are not held up by the slow one: they all finish
       * while its request still lacks its last byte (waited for up to
       * 30 s). */
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_sec += 30;
      pthread_mutex_lock(&lock);
      while (normal_done < 50
             && pthread_cond_timedwait(&changed, &lock, &until) == 0)
        ;
      during = normal_done;
      pthread_mutex_unlock(&lock);
    }
    FAULT_CHECK(write(fd, req + i, 1) == 1);
    sleep_ms(1000);
  }
  for (int i = 0; i < 50; i++) {
    void *ok;
    pthread_join(t[i], &ok);
    served += (int)(intptr_t)ok;
  }
  static unsigned char buf[777];
  int ok = fault_read_all(fd, buf, 777, NULL) == 777;
  for (int i = 0; ok && i < 777; i++)
    ok = buf[i] == fault_byte(777, (uint64_t)i);
  close(fd);
  printf("normal_peers_served=%d done_while_slow_pending=%d "
         "slow_peer_ok=%d\n", served, during, ok);
  fd = peer("stall");
  FAULT_CHECK(write(fd, "1", 1) == 1); /* And nothing more. */
  printf("stall_server=%s", outcome("stall"));
  char c;
  ssize_t k = read(fd, &c, 1);
  printf(" stall_peer_read=%zd\n", k);
  close(fd);
  return 1;
}

static int scenario_vanish(void) {
  int fd = peer("vanish"), on = 1;
  FAULT_CHECK(ask(fd, 100));
  if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof on) != 0) {
    printf("skip=1 why=TCP_REPAIR_needs_CAP_NET_ADMIN\n");
    close(fd);
    return 1;
  }
  close(fd); /* In repair mode: gone without FIN or RST. */
  printf("vanish_server=%s\n", outcome("vanish"));
  fd = peer("ka");
  char ok[3];
  FAULT_CHECK(fault_read_all(fd, ok, 3, NULL) == 3);
  FAULT_CHECK(ask(fd, 100));
  FAULT_CHECK(setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof on) == 0);
  close(fd);
  printf("vanish_keepalive_server=%s\n", outcome("ka"));
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s reset|halfclose|slowloris|vanish\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  alarm(60);
  int lfd = fault_listen(&port);
  pthread_t t;
  FAULT_CHECK(pthread_create(&t, NULL, acceptor, (void *)(intptr_t)lfd) == 0);
  int ok;
  if (strcmp(argv[1], "reset") == 0)
    ok = scenario_reset();
  else if (strcmp(argv[1], "halfclose") == 0)
    ok = scenario_halfclose();
  else if (strcmp(argv[1], "slowloris") == 0)
    ok = scenario_slowloris();
  else if (strcmp(argv[1], "vanish") == 0)
    ok = scenario_vanish();
  else
    return 2;
  int after = still_serving("after");
  printf("served_after=%d after_server=%s\n", after, outcome("after"));
  fflush(stdout);
  _exit(ok && after ? 0 : 1);
}
