/* soak_client: the checking client of the soak runs (scripts/soak.sh).
 *
 *   soak_client -m redis|memcache -p PORT -c CONNS -d SECONDS [-t IO_S]
 *               [-k TAG]
 *   soak_client -m echo -p PORT -c HOLD -r CHURN_PER_S -d SECONDS
 *               [-i INTERVAL_MS] [-t IO_S]
 *
 * One thread, one epoll set, non-blocking sockets (it never creates a
 * thread, so it behaves the same whether or not gpatch is preloaded), all
 * on 127.0.0.1.  Every exchange is a request and the exact reply expected
 * for it; every byte read is compared with that reply.
 *
 * redis, memcache: CONNS connections, each in a closed loop on its own keys
 *   (gpsoak:<TAG>:<conn>:<slot>, 8 slots; TAG
 *   defaults to 0; a run may find keys an earlier run left, so the first
 *   delete of each key accepts either reply), in cycles of six commands on one key:
 *   delete, get (a miss), set, get, append, get.  Values differ in content
 *   and length (8 to 1,007 bytes, a suffix of 1 to 32) from one cycle to
 *   the next.  When SECONDS have passed, every connection finishes its
 *   cycle, reads back every key it wrote, compares each with what its last
 *   cycle left there, and closes.  A key-value connection that fails is
 *   not replaced (what its keys hold is no longer known).
 * echo: HOLD connections stay open the whole run, each doing one round trip
 *   (1 to 2,048 bytes) every INTERVAL_MS (default 1,000); a held connection
 *   that fails is replaced.  Beside them CHURN_PER_S connections a second
 *   are opened, do one round trip and are closed (churn at a steady rate).
 *
 * A failure (refused, reset, end of file, a wrong byte, no progress for
 * IO_S seconds, default 20) counts one error.  At most RAMP connections are
 * connecting at once.  The run is bounded: SECONDS, then at most IO_S + 10
 * seconds to finish; an alarm kills it at SECONDS + 2 * IO_S + 30.  It
 * prints one line:
 *   requests=N errors=N mismatches=N opened=N closed=N bytes=N readback=N
 * (opened: connections established; closed: connections it closed cleanly
 * after their last exchange; bytes: payload bytes echoed, echo mode;
 * readback: keys read back and matched at the end) and exits 0 when
 * errors=0. */

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ABSENT UINT64_MAX       /* The key is known not to exist. */
#define UNKNOWN (UINT64_MAX - 1) /* It may or may not exist. */

enum {
  RAMP = 256,        /* Most connections connecting at once. */
  SLOTS = 8,         /* Keys per redis connection. */
  MAX_REPORTED = 10, /* Errors described on stderr; the rest counted. */
  BUF = 4096         /* Largest request or expected reply. */
};

/* Where a connection is in its life. */
enum state {
  S_FREE,       /* No socket; may be (re)launched. */
  S_CONNECTING, /* connect() in progress. */
  S_BUSY,       /* A request is being written or its reply read. */
  S_IDLE,       /* Held echo connection waiting for its next round. */
  S_DONE        /* Finished; never used again. */
};

/* What a connection is for. */
enum kind { K_KV, K_HELD, K_CHURN };

struct conn {
  int fd;            /* The socket, or -1. */
  enum state state;
  enum kind kind;
  uint32_t id;       /* Stable number, part of every key and payload. */
  uint64_t iter;     /* Exchanges done on this record (all sockets). */
  int final;         /* redis: reading back slot final-1; 0 while looping. */
  uint64_t last[SLOTS]; /* Key-value: the cycle whose value each slot
                           holds, or ABSENT, or UNKNOWN (an earlier run
                           may have left it). */
  uint64_t next_at;  /* S_IDLE: when the next round starts (us). */
  uint64_t progress; /* Last time bytes moved (us). */
  size_t req_len, req_off, exp_len, exp_off;
  char alt[16];      /* Another reply accepted instead of exp, or "". */
  char req[BUF], exp[BUF];
};

enum mode { M_REDIS, M_MEMCACHE, M_ECHO };
static enum mode mode;
static int port, conns_n, churn_rate, interval_ms = 1000;
static int io_timeout = 20, epfd, connecting;
static double seconds;
static const char *tag = "0"; /* -k: part of every key, one per run. */
static unsigned long long requests, errors, mismatches, opened, closed_ok,
    bytes, readback;
static struct conn *conns;      /* K_KV or K_HELD records, conns_n of them. */
static struct conn *churn;      /* Churn records, reused. */
static int churn_cap;

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint32_t mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

/* Fills buf with n printable bytes that depend on (id, iter). */
static void payload(char *buf, size_t n, uint32_t id, uint64_t iter) {
  uint32_t base = mix(id * 0x9E3779B1u ^ (uint32_t)iter * 0x85EBCA77u
                      ^ (uint32_t)(iter >> 32));
  for (size_t i = 0; i < n; i++)
    buf[i] = (char)('!' + mix(base + (uint32_t)i) % 94);
}

static size_t value_len(uint32_t id, uint64_t iter) {
  return 8 + mix(id ^ (uint32_t)iter * 2654435761u) % 1000;
}

static void fail(struct conn *c, const char *what, int err) {
  if (errors++ < MAX_REPORTED)
    fprintf(stderr, "soak_client: conn %u iter %llu: %s%s%s\n", c->id,
            (unsigned long long)c->iter, what, err ? ": " : "",
            err ? strerror(err) : "");
  if (c->state == S_CONNECTING)
    connecting--;
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  /* A held echo connection is replaced; a key-value one is not (what its
   * keys hold is no longer known). */
  c->state = c->kind == K_HELD ? S_FREE : S_DONE;
  c->final = 0;
}

/* Key-value modes: builds the request and the exact expected reply of c's
 * next exchange.  Exchanges come in cycles of six on one key (the slot
 * cycle % SLOTS): delete it, get it (a miss), set it to a value, get it,
 * append a suffix, get it (value and suffix), so a cycle leaves the key
 * holding a value that depends on the cycle.  In the final pass (c->final
 * is slot + 1) the key is read back and compared with what its last cycle
 * left there. */
static void kv_next(struct conn *c) {
  char key[48], val[1100];
  uint64_t cyc = c->iter / 6;
  int op = (int)(c->iter % 6);
  int slot = c->final ? c->final - 1 : (int)(cyc % SLOTS);
  int kl = snprintf(key, sizeof key, "gpsoak:%s:%u:%d", tag, c->id, slot);
  uint64_t vcyc = c->final ? c->last[slot] : cyc;
  size_t vl = value_len(c->id, vcyc), sl = 1 + vcyc % 32, n;
  char *r = c->req, *e = c->exp;

  payload(val, vl, c->id, vcyc);
  payload(val + vl, sl, c->id ^ 0x5a5a5a5au, vcyc);
  if (c->final)
    op = 5;
  n = op < 4 ? vl : vl + sl; /* Bytes a get returns. */
  c->alt[0] = '\0';
  switch (op) {
  case 0: /* delete; the first of a key that may exist accepts both */
    if (mode == M_REDIS) {
      c->req_len = (size_t)sprintf(r, "*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n", kl,
                                   key);
      c->exp_len = (size_t)sprintf(e, ":%d\r\n", c->last[slot] != ABSENT);
      if (c->last[slot] == UNKNOWN)
        strcpy(c->alt, ":0\r\n");
    } else {
      c->req_len = (size_t)sprintf(r, "delete %s\r\n", key);
      c->exp_len = (size_t)sprintf(e, "%s\r\n", c->last[slot] != ABSENT
                                   ? "DELETED" : "NOT_FOUND");
      if (c->last[slot] == UNKNOWN)
        strcpy(c->alt, "NOT_FOUND\r\n");
    }
    c->last[slot] = ABSENT;
    return;
  case 2: /* set */
  case 4: /* append */
    if (mode == M_REDIS)
      c->req_len = (size_t)sprintf(r, "*3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%zu\r\n",
                                   op == 2 ? 3 : 6, op == 2 ? "SET" : "APPEND",
                                   kl, key, op == 2 ? vl : sl);
    else
      c->req_len = (size_t)sprintf(r, "%s %s 0 0 %zu\r\n",
                                   op == 2 ? "set" : "append", key,
                                   op == 2 ? vl : sl);
    memcpy(r + c->req_len, op == 2 ? val : val + vl, op == 2 ? vl : sl);
    c->req_len += op == 2 ? vl : sl;
    memcpy(r + c->req_len, "\r\n", 2);
    c->req_len += 2;
    if (mode == M_MEMCACHE)
      c->exp_len = (size_t)sprintf(e, "STORED\r\n");
    else if (op == 2)
      c->exp_len = (size_t)sprintf(e, "+OK\r\n");
    else
      c->exp_len = (size_t)sprintf(e, ":%zu\r\n", vl + sl);
    if (op == 4)
      c->last[slot] = cyc;
    return;
  default: /* get: a miss after the delete, else the value */
    if (mode == M_REDIS) {
      c->req_len = (size_t)sprintf(r, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", kl,
                                   key);
      if (op == 1)
        c->exp_len = (size_t)sprintf(e, "$-1\r\n");
      else
        c->exp_len = (size_t)sprintf(e, "$%zu\r\n", n);
    } else {
      c->req_len = (size_t)sprintf(r, "get %s\r\n", key);
      if (op == 1)
        c->exp_len = (size_t)sprintf(e, "END\r\n");
      else
        c->exp_len = (size_t)sprintf(e, "VALUE %s 0 %zu\r\n", key, n);
    }
    if (op != 1) {
      memcpy(e + c->exp_len, val, n);
      c->exp_len += n;
      c->exp_len += (size_t)sprintf(e + c->exp_len, "\r\n%s",
                                    mode == M_MEMCACHE ? "END\r\n" : "");
    }
  }
}

/* echo: one round trip of 1 to 2,048 bytes. */
static void echo_next(struct conn *c) {
  size_t n = 1 + mix(c->id * 31u ^ (uint32_t)c->iter) % 2048;
  payload(c->req, n, c->id, c->iter);
  memcpy(c->exp, c->req, n);
  c->req_len = c->exp_len = n;
}

static void arm(struct conn *c, int want_out) {
  struct epoll_event ev = { .events = EPOLLIN | (want_out ? EPOLLOUT : 0),
                            .data.ptr = c };
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Starts c's next exchange. */
static void start(struct conn *c) {
  if (mode != M_ECHO)
    kv_next(c);
  else
    echo_next(c);
  c->req_off = c->exp_off = 0;
  c->state = S_BUSY;
  c->progress = now_us();
  arm(c, 1);
}

static void launch(struct conn *c) {
  struct sockaddr_in a = { .sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    fail(c, "socket", errno);
    return;
  }
  c->state = S_CONNECTING;
  connecting++;
  c->progress = now_us();
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0
      && errno != EINPROGRESS) {
    fail(c, "connect", errno);
    return;
  }
  epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

static void finish_close(struct conn *c) {
  close(c->fd);
  c->fd = -1;
  c->state = S_DONE;
  closed_ok++;
}

/* An exchange of c completed: counts it and decides what comes next. */
static void exchange_done(struct conn *c, int ending) {
  requests++;
  if (mode == M_ECHO)
    bytes += c->exp_len;
  if (c->final)
    readback++;
  c->iter++;
  if (c->kind == K_CHURN) {
    finish_close(c);
    return;
  }
  if (c->kind == K_HELD) {
    if (ending) {
      finish_close(c);
      return;
    }
    c->state = S_IDLE;
    c->next_at = now_us() + (uint64_t)interval_ms * 1000u;
    arm(c, 0);
    return;
  }
  if (ending && c->final == 0 && c->iter % 6 == 0)
    c->final = 1; /* The loop ends after a cycle; read back from slot 0. */
  else if (c->final)
    c->final++;
  while (c->final && c->final <= SLOTS && c->last[c->final - 1] >= UNKNOWN)
    c->final++;
  if (c->final > SLOTS) {
    finish_close(c);
    return;
  }
  start(c);
}

/* Moves c's exchange as far as it goes without blocking. */
static void pump(struct conn *c, int ending) {
  char tmp[BUF];

  while (c->req_off < c->req_len) {
    ssize_t n = send(c->fd, c->req + c->req_off, c->req_len - c->req_off,
                     MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        return;
      fail(c, "send", errno);
      return;
    }
    c->req_off += (size_t)n;
    c->progress = now_us();
    if (c->req_off == c->req_len)
      arm(c, 0);
  }
  for (;;) {
    ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        return;
      fail(c, "recv", errno);
      return;
    }
    if (n == 0) {
      fail(c, "end of file before the reply", 0);
      return;
    }
    c->progress = now_us();
    if (c->exp_off == 0 && c->alt[0] != '\0') {
      /* The other accepted reply, when the bytes read so far are its and
       * not those of exp (":0" and ":1" share their first byte). */
      size_t al = strlen(c->alt), m = (size_t)n < al ? (size_t)n : al;
      size_t me = (size_t)n < c->exp_len ? (size_t)n : c->exp_len;
      if (memcmp(tmp, c->alt, m) == 0 && memcmp(tmp, c->exp, me) != 0) {
        c->exp_len = al;
        memcpy(c->exp, c->alt, al);
      }
    }
    if ((size_t)n > c->exp_len - c->exp_off
        || memcmp(tmp, c->exp + c->exp_off, (size_t)n) != 0) {
      mismatches++;
      fail(c, "reply differs from what was written", 0);
      return;
    }
    c->exp_off += (size_t)n;
    if (c->exp_off == c->exp_len) {
      exchange_done(c, ending);
      return;
    }
  }
}

static void on_event(struct conn *c, uint32_t ev, int ending) {
  if (c->state == S_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (ev & (EPOLLERR | EPOLLHUP))) {
      fail(c, "connect", err);
      return;
    }
    connecting--;
    opened++;
    start(c);
    return;
  }
  if (c->state == S_BUSY)
    pump(c, ending);
  else if (c->state == S_IDLE && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
    fail(c, "held connection: data or close while idle", 0);
}

/* Timers: deadlines of stalled connections, held rounds due, launches. */
static void tick(uint64_t now, int ending) {
  uint64_t limit = (uint64_t)io_timeout * 1000000u;
  for (int i = 0; i < conns_n; i++) {
    struct conn *c = &conns[i];
    if ((c->state == S_BUSY || c->state == S_CONNECTING)
        && now > c->progress && now - c->progress > limit)
      fail(c, "no progress: timed out", 0);
    if (c->state == S_IDLE && (ending || now >= c->next_at))
      start(c);
    if (c->state == S_FREE && !ending && connecting < RAMP)
      launch(c);
  }
  for (int i = 0; i < churn_cap; i++) {
    struct conn *c = &churn[i];
    if ((c->state == S_BUSY || c->state == S_CONNECTING)
        && now > c->progress && now - c->progress > limit)
      fail(c, "no progress: timed out", 0);
  }
}

/* Launches the churn connections due by now (a steady rate from t0). */
static void churn_due(uint64_t t0, uint64_t now, unsigned long long *launched) {
  unsigned long long due = (now - t0) * (uint64_t)churn_rate / 1000000u;
  for (int i = 0; i < churn_cap && *launched < due && connecting < RAMP; i++) {
    struct conn *c = &churn[i];
    if (c->state != S_DONE && c->state != S_FREE)
      continue;
    memset(c, 0, offsetof(struct conn, req));
    c->fd = -1;
    c->kind = K_CHURN;
    c->id = (uint32_t)(1000000 + *launched);
    launch(c);
    ++*launched;
  }
}

static int alive(void) {
  for (int i = 0; i < conns_n; i++)
    if (conns[i].state != S_DONE && conns[i].state != S_FREE)
      return 1;
  for (int i = 0; i < churn_cap; i++)
    if (churn[i].state != S_DONE && churn[i].state != S_FREE)
      return 1;
  return 0;
}

static void usage(const char *me) {
  fprintf(stderr, "usage: %s -m redis|echo -p PORT -c CONNS -d SECONDS "
          "[-r CHURN_PER_S] [-i INTERVAL_MS] [-t IO_S] [-k TAG]\n", me);
  exit(2);
}

int main(int argc, char **argv) {
  int opt;
  const char *mname = NULL;

  while ((opt = getopt(argc, argv, "m:p:c:d:r:i:t:k:")) != -1) {
    switch (opt) {
    case 'm': mname = optarg; break;
    case 'p': port = atoi(optarg); break;
    case 'c': conns_n = atoi(optarg); break;
    case 'd': seconds = atof(optarg); break;
    case 'r': churn_rate = atoi(optarg); break;
    case 'i': interval_ms = atoi(optarg); break;
    case 't': io_timeout = atoi(optarg); break;
    case 'k': tag = optarg; break;
    default: usage(argv[0]);
    }
  }
  if (mname == NULL || port <= 0 || conns_n < 0 || seconds <= 0
      || io_timeout <= 0 || interval_ms <= 0)
    usage(argv[0]);
  if (strcmp(mname, "redis") == 0)
    mode = M_REDIS;
  else if (strcmp(mname, "memcache") == 0)
    mode = M_MEMCACHE;
  else if (strcmp(mname, "echo") == 0)
    mode = M_ECHO;
  else
    usage(argv[0]);
  signal(SIGPIPE, SIG_IGN);
  alarm((unsigned)(seconds + 2 * io_timeout + 30));

  conns = calloc((size_t)conns_n + 1, sizeof *conns);
  /* Churn records: enough for the connections of IO_TIMEOUT_S seconds. */
  churn_cap = mode != M_ECHO ? 0 : churn_rate * (io_timeout + 1) + 16;
  churn = calloc((size_t)churn_cap + 1, sizeof *churn);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (conns == NULL || churn == NULL || epfd < 0) {
    perror("soak_client");
    return 1;
  }
  for (int i = 0; i < conns_n; i++) {
    conns[i].fd = -1;
    conns[i].id = (uint32_t)i;
    conns[i].kind = mode != M_ECHO ? K_KV : K_HELD;
    for (int s = 0; s < SLOTS; s++)
      conns[i].last[s] = UNKNOWN;
  }
  for (int i = 0; i < churn_cap; i++)
    churn[i].state = S_DONE, churn[i].fd = -1;

  uint64_t t0 = now_us(), end = t0 + (uint64_t)(seconds * 1e6);
  uint64_t hard = end + (uint64_t)(io_timeout + 10) * 1000000u;
  unsigned long long launched = 0;
  struct epoll_event evs[512];
  for (;;) {
    uint64_t now = now_us();
    int ending = now >= end;
    if (ending && !alive())
      break;
    if (now >= hard) {
      for (int i = 0; i < conns_n; i++)
        if (conns[i].state != S_DONE && conns[i].state != S_FREE)
          fail(&conns[i], "unfinished at the end", 0);
      break;
    }
    if (!ending && churn_rate > 0)
      churn_due(t0, now, &launched);
    tick(now, ending);
    int n = epoll_wait(epfd, evs, 512, 5);
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      if (c->fd >= 0)
        on_event(c, evs[i].events, ending);
    }
  }
  printf("requests=%llu errors=%llu mismatches=%llu opened=%llu closed=%llu "
         "bytes=%llu readback=%llu\n", requests, errors, mismatches, opened,
         closed_ok, bytes, readback);
  return errors == 0 ? 0 : 1;
}
