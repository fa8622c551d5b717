/* echo_client: the load generator for the echo server demo.
 *
 *   echo_client -p PORT -c CONNS -n ROUNDS [-s SIZE] [-t TIMEOUT_SEC]
 *               [-P SERVER_PID]
 *
 * One thread, one epoll set, non-blocking sockets: it never creates a
 * thread, so it behaves the same whether or not gpatch is preloaded. It
 * opens CONNS connections to 127.0.0.1:PORT, ramping them up so that at
 * most RAMP of them are unconfirmed (connecting, or connected but not yet
 * answered once, which is the only proof that the server accepted them).
 * Each connection then does ROUNDS round trips: write SIZE bytes whose
 * content depends on the connection and the round, read SIZE bytes back,
 * compare them, record the latency. A finished connection stays open until
 * the end, so the server holds every connection at the same time. With -P
 * the server's /proc/PID/status is sampled every 50 ms for its thread count
 * and peak RSS. The run stops at TIMEOUT_SEC; it prints one line of
 * key=value pairs and exits 0 only if every connection was served. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "threads_now.h"

enum {
  RAMP = 128,            /* Most connections unconfirmed at once. */
  MAX_ATTEMPTS = 6,      /* Connect attempts per connection. */
  RETRY_STEP_US = 20000, /* Back-off per failed attempt. */
  SAMPLE_US = 50000,     /* /proc sampling period. */
  MAX_REPORTED = 10      /* Errors described on stderr; the rest counted. */
};

/* A connection's life: IDLE until launched, then CONNECTING, ACTIVE while
 * doing round trips, and DONE or FAILED. A lost connection that never got
 * an answer goes to RETRY and is launched again after a back-off. */
enum conn_state { C_IDLE, C_RETRY, C_CONNECTING, C_ACTIVE, C_DONE, C_FAILED };

struct conn {
  int fd;                /* The socket, or -1. */
  enum conn_state state; /* Where the connection is in its life. */
  int attempts;          /* Connect attempts made so far. */
  bool confirmed;        /* The server has echoed at least one byte. */
  int round;             /* Current round, 0 .. rounds-1. */
  size_t wr_off;         /* Bytes of this round's message written. */
  size_t rd_off;         /* Bytes of this round's echo read and checked. */
  uint64_t t_round;      /* When this round's first write started (us). */
  uint64_t retry_at;     /* When a RETRY connection may be launched (us). */
};

/* The whole run's state; one instance, passed around explicitly. */
struct client {
  int port, nconns, rounds, timeout_s, pid;
  size_t size;               /* Bytes per message. */
  struct conn *conns;        /* nconns entries. */
  int epfd;                  /* The epoll set. */
  int next_new;              /* First connection never launched. */
  int unconfirmed;           /* CONNECTING, or ACTIVE and !confirmed. */
  int retrying;              /* Connections in C_RETRY. */
  int served, failed;        /* Connections DONE and FAILED. */
  uint32_t *lat;             /* Round-trip latencies in us. */
  size_t nlat, lat_cap;      /* Entries used and allocated in lat. */
  long peak_threads;         /* Highest Threads: seen, or -1. */
  long hwm_kb;               /* Last VmHWM: seen, or -1. */
};

static unsigned char scratch[65536];
static unsigned char expect[65536];

static uint64_t now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Fills BUF with LEN bytes of the message for connection CONN, round ROUND,
 * starting at byte OFF of that message. Each byte is a hash of the three, so
 * messages of different connections and rounds differ. */
static size_t line_size; /* -l: messages are text lines of this size */

static void payload(unsigned char *buf, int conn, int round, size_t off,
                    size_t len)
{
  uint32_t base = ((uint32_t) conn * 0x9E3779B1u)
                  ^ ((uint32_t) round * 0x85EBCA77u);

  for (size_t i = 0; i < len; i++) {
    uint32_t x = base ^ ((uint32_t) (off + i) * 0xC2B2AE3Du);
    x ^= x >> 15;
    x *= 0x2C1B3C6Du;
    x ^= x >> 12;
    buf[i] = (unsigned char) (x >> 7);
    if (line_size) /* letters, and a newline that ends the message */
      buf[i] = off + i + 1 == line_size ? '\n' : (unsigned char) ('a' + buf[i] % 26);
  }
}

/* Appends one latency sample; exits the process if memory runs out. */
static void record_latency(struct client *cl, uint64_t us)
{
  if (cl->nlat == cl->lat_cap) {
    cl->lat_cap = cl->lat_cap ? cl->lat_cap * 2 : 65536;
    cl->lat = realloc(cl->lat, cl->lat_cap * sizeof *cl->lat);
    if (cl->lat == NULL) {
      perror("realloc");
      exit(1);
    }
  }
  cl->nlat++;
  cl->lat[cl->nlat - 1] = us > UINT32_MAX ? UINT32_MAX : (uint32_t) us;
}

/* Marks connection C failed for the reason WHAT (ERR is an errno or 0),
 * closes its socket and describes the first few failures on stderr. */
static void conn_fail(struct client *cl, struct conn *c, const char *what,
                      int err)
{
  if (!c->confirmed && (c->state == C_CONNECTING || c->state == C_ACTIVE))
    cl->unconfirmed--;
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  c->state = C_FAILED;
  if (cl->failed++ < MAX_REPORTED)
    fprintf(stderr, "echo_client: conn %d round %d: %s%s%s\n",
            (int) (c - cl->conns), c->round, what, err ? ": " : "",
            err ? strerror(err) : "");
}

/* Handles the loss of connection C (error ERR during WHAT). A connection
 * the server never answered is closed and queued for another attempt after
 * a back-off, up to MAX_ATTEMPTS; any other loss is a failure. */
static void conn_lost(struct client *cl, struct conn *c, const char *what,
                      int err)
{
  if (c->confirmed || c->attempts >= MAX_ATTEMPTS) {
    conn_fail(cl, c, what, err);
    return;
  }
  close(c->fd);
  c->fd = -1;
  cl->unconfirmed--;
  c->state = C_RETRY;
  c->retry_at = now_us() + (uint64_t) RETRY_STEP_US * (uint64_t) c->attempts;
  cl->retrying++;
}

/* Starts round ROUND of connection C: nothing written or read yet. */
static void round_start(struct conn *c, int round)
{
  c->round = round;
  c->wr_off = 0;
  c->rd_off = 0;
  c->t_round = now_us();
}

/* Checks N freshly read bytes in scratch against the message of C's current
 * round at offset c->rd_off. Returns true when they match. */
static bool verify(struct client *cl, struct conn *c, size_t n)
{
  payload(expect, (int) (c - cl->conns), c->round, c->rd_off, n);
  return memcmp(scratch, expect, n) == 0;
}

/* Called when a round's last byte has been read and checked: records the
 * latency and starts the next round, or marks C done. Returns true while
 * C has more rounds to do. */
static bool round_done(struct client *cl, struct conn *c)
{
  record_latency(cl, now_us() - c->t_round);
  if (c->round + 1 < cl->rounds) {
    round_start(c, c->round + 1);
    return true;
  }
  c->state = C_DONE;
  cl->served++;
  return false;
}

/* Drives an ACTIVE connection as far as it can go without blocking: writes
 * what remains of the current message, reads and checks what has been
 * echoed, and moves on to the next round when one completes. The socket is
 * edge-triggered, so it returns only once both directions would block (or
 * the connection is done or lost). */
static void conn_progress(struct client *cl, struct conn *c)
{
  int id = (int) (c - cl->conns);

  for (;;) {
    bool moved = false;
    ssize_t n;

    if (c->wr_off < cl->size) {
      size_t len = cl->size - c->wr_off;
      if (len > sizeof scratch)
        len = sizeof scratch;
      payload(scratch, id, c->round, c->wr_off, len);
      n = write(c->fd, scratch, len);
      if (n > 0) {
        c->wr_off += (size_t) n;
        moved = true;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        conn_lost(cl, c, "write", errno);
        return;
      }
    }

    size_t want = cl->size - c->rd_off;
    if (want > sizeof scratch)
      want = sizeof scratch;
    n = read(c->fd, scratch, want);
    if (n == 0) {
      conn_lost(cl, c, "unexpected EOF from server", 0);
      return;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      conn_lost(cl, c, "read", errno);
      return;
    }
    if (n > 0) {
      if (!verify(cl, c, (size_t) n)) {
        conn_fail(cl, c, "echoed bytes differ from the bytes sent", 0);
        return;
      }
      if (!c->confirmed) {
        c->confirmed = true;
        cl->unconfirmed--;
      }
      c->rd_off += (size_t) n;
      moved = true;
      if (c->rd_off == cl->size && !round_done(cl, c))
        return;
    }
    if (!moved)
      return;
  }
}

/* Launches connection C: a non-blocking socket registered edge-triggered
 * for both directions, then connect(). Failures go through conn_lost (so a
 * refused connect is retried) except running out of descriptors. */
static void conn_launch(struct client *cl, struct conn *c)
{
  struct sockaddr_in addr;
  struct epoll_event ev;
  int one = 1;

  c->attempts++;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  c->state = C_CONNECTING;
  cl->unconfirmed++;
  if (c->fd < 0) {
    conn_fail(cl, c, "socket", errno);
    return;
  }
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
  ev.data.u32 = (uint32_t) (c - cl->conns);
  if (epoll_ctl(cl->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
    conn_fail(cl, c, "epoll_ctl", errno);
    return;
  }
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t) cl->port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(c->fd, (struct sockaddr *) &addr, sizeof addr) == 0) {
    c->state = C_ACTIVE;
    round_start(c, 0);
    conn_progress(cl, c);
  } else if (errno != EINPROGRESS) {
    conn_lost(cl, c, "connect", errno);
  }
}

/* Launches connections while fewer than RAMP are unconfirmed: first those
 * whose retry back-off has expired, then new ones in order. */
static void launch_more(struct client *cl)
{
  uint64_t now = now_us();

  for (int i = 0; cl->retrying > 0 && i < cl->nconns; i++) {
    struct conn *c = &cl->conns[i];
    if (cl->unconfirmed >= RAMP)
      return;
    if (c->state == C_RETRY && c->retry_at <= now) {
      cl->retrying--;
      conn_launch(cl, c);
    }
  }
  while (cl->unconfirmed < RAMP && cl->next_new < cl->nconns)
    conn_launch(cl, &cl->conns[cl->next_new++]);
}

/* Handles readiness EVENTS on connection C: finishes a pending connect,
 * then lets the connection make progress. */
static void conn_event(struct client *cl, struct conn *c, uint32_t events)
{
  if (c->state == C_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
      return;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
      err = errno;
    if (err != 0) {
      conn_lost(cl, c, "connect", err);
      return;
    }
    c->state = C_ACTIVE;
    round_start(c, 0);
  }
  if (c->state == C_ACTIVE)
    conn_progress(cl, c);
}

/* Reads /proc/PID/status and updates the peak thread count and the last
 * VmHWM. Leaves both alone if the process is gone. */
static void sample_server(struct client *cl)
{
  char path[64], line[256];
  FILE *f;

  snprintf(path, sizeof path, "/proc/%d/status", cl->pid);
  f = fopen(path, "r");
  if (f == NULL)
    return;
  while (fgets(line, sizeof line, f) != NULL) {
    long v;
    if (sscanf(line, "Threads: %ld", &v) == 1) {
      snprintf(path, sizeof path, "/proc/%d/task", cl->pid);
      v -= handoff_monitors(path); /* gpatch's, asleep: not the server's */
      if (v > cl->peak_threads)
        cl->peak_threads = v;
    } else if (sscanf(line, "VmHWM: %ld", &v) == 1)
      cl->hwm_kb = v;
  }
  fclose(f);
}

static int cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
  return x < y ? -1 : x > y;
}

/* Returns the nearest-rank percentile P (0..1) of the sorted latencies, or
 * -1 when there are none. */
static long percentile(const struct client *cl, double p)
{
  size_t rank;

  if (cl->nlat == 0)
    return -1;
  rank = (size_t) (p * (double) cl->nlat + 0.999999);
  if (rank < 1)
    rank = 1;
  if (rank > cl->nlat)
    rank = cl->nlat;
  return (long) cl->lat[rank - 1];
}

static void usage(const char *argv0)
{
  fprintf(stderr,
          "usage: %s -p PORT -c CONNS -n ROUNDS [-s SIZE] [-l] [-t TIMEOUT_SEC]"
          " [-P SERVER_PID]\n", argv0);
  exit(2);
}

/* Parses the command line into CL; exits with status 2 on a bad one. */
static void parse_args(struct client *cl, int argc, char **argv)
{
  int opt;

  cl->size = 64;
  cl->timeout_s = 30;
  while ((opt = getopt(argc, argv, "p:c:n:s:t:P:l")) != -1) {
    switch (opt) {
    case 'p': cl->port = atoi(optarg); break;
    case 'c': cl->nconns = atoi(optarg); break;
    case 'n': cl->rounds = atoi(optarg); break;
    case 's': cl->size = (size_t) strtoul(optarg, NULL, 10); break;
    case 'l': line_size = 1; break; /* the size is known after the loop */
    case 't': cl->timeout_s = atoi(optarg); break;
    case 'P': cl->pid = atoi(optarg); break;
    default: usage(argv[0]);
    }
  }
  if (line_size)
    line_size = cl->size;
  if (optind != argc || cl->port <= 0 || cl->port > 65535 || cl->nconns <= 0
      || cl->rounds <= 0 || cl->size == 0 || cl->timeout_s <= 0
      || cl->pid < 0)
    usage(argv[0]);
}

/* Raises the soft descriptor limit to the hard limit. */
static void raise_nofile(void)
{
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* Runs the event loop until every connection is done or failed, or the
 * deadline passes. Returns the time the run ended (us). */
static uint64_t run(struct client *cl, uint64_t start)
{
  static struct epoll_event events[1024];
  uint64_t deadline = start + (uint64_t) cl->timeout_s * 1000000u;
  uint64_t next_sample = start, now = start;

  while (cl->served + cl->failed < cl->nconns && now < deadline) {
    uint64_t wake = deadline;
    int n;

    launch_more(cl);
    if (cl->pid > 0 && next_sample < wake)
      wake = next_sample;
    if (cl->retrying > 0 && now + 5000 < wake)
      wake = now + 5000;
    n = epoll_wait(cl->epfd, events, 1024,
                   wake > now ? (int) ((wake - now + 999) / 1000) : 0);
    if (n < 0 && errno != EINTR) {
      perror("epoll_wait");
      break;
    }
    for (int i = 0; i < n; i++)
      conn_event(cl, &cl->conns[events[i].data.u32], events[i].events);
    now = now_us();
    if (cl->pid > 0 && now >= next_sample) {
      sample_server(cl);
      next_sample = now + SAMPLE_US;
    }
  }
  return now;
}

int main(int argc, char **argv)
{
  struct client cl;
  uint64_t start, end;
  double secs;
  int unfinished;

  memset(&cl, 0, sizeof cl);
  parse_args(&cl, argc, argv);
  signal(SIGPIPE, SIG_IGN);
  raise_nofile();
  cl.peak_threads = -1;
  cl.hwm_kb = -1;
  cl.conns = calloc((size_t) cl.nconns, sizeof *cl.conns);
  cl.epfd = epoll_create1(EPOLL_CLOEXEC);
  if (cl.conns == NULL || cl.epfd < 0) {
    perror("echo_client: setup");
    return 1;
  }
  for (int i = 0; i < cl.nconns; i++)
    cl.conns[i].fd = -1;

  start = now_us();
  end = run(&cl, start);
  secs = (double) (end - start) / 1e6;
  if (cl.pid > 0)
    sample_server(&cl);

  /* Whatever is not done by now counts as an error. */
  unfinished = cl.nconns - cl.served - cl.failed;
  if (unfinished > 0)
    fprintf(stderr, "echo_client: %d connections unfinished after %d s\n",
            unfinished, cl.timeout_s);
  if (cl.failed > MAX_REPORTED)
    fprintf(stderr, "echo_client: %d more failures not described\n",
            cl.failed - MAX_REPORTED);
  for (int i = 0; i < cl.nconns; i++)
    if (cl.conns[i].fd >= 0)
      close(cl.conns[i].fd);
  close(cl.epfd);

  qsort(cl.lat, cl.nlat, sizeof *cl.lat, cmp_u32);
  printf("conns=%d served=%d errors=%d requests=%zu seconds=%.3f rps=%.0f"
         " p50_us=%ld p99_us=%ld peak_threads=%ld peak_rss_kb=%ld\n",
         cl.nconns, cl.served, cl.failed + unfinished, cl.nlat, secs,
         secs > 0 ? (double) cl.nlat / secs : 0.0, percentile(&cl, 0.50),
         percentile(&cl, 0.99), cl.peak_threads, cl.hwm_kb);
  free(cl.lat);
  free(cl.conns);
  return cl.failed + unfinished == 0 && cl.served == cl.nconns ? 0 : 1;
}
