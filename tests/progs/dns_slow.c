/* dns_slow: look-ups against a name server that answers late, while a
 * thread ticks.
 *
 *   dns_slow DELAY_MS [exit | burst N]
 *
 * Before any thread starts, the program moves into mount and network
 * namespaces of its own (unshare; with a user namespace too when it is
 * not root), brings up their loopback and bind-mounts a resolv.conf naming
 * 127.0.0.1 over /etc/resolv.conf: nothing outside the process changes.
 * When that is not permitted it prints skip=1 and why, and exits 0.
 *
 * A server thread answers DNS queries on 127.0.0.1:53: for a name
 * hI-J.slow.gpatch.test after DELAY_MS (A record 192.0.2.N, with N =
 * 10 I + J + 1), for gone.gpatch.test (or any other) at once with
 * NXDOMAIN, and for AAAA under slow.gpatch.test with no record. Three look-up threads each resolve a slow name with
 * getaddrinfo, gethostbyname_r and getaddrinfo again, all at once; then
 * one resolves gone.gpatch.test with getaddrinfo, gethostbyname and
 * gethostbyname_r. A ticker thread counts 2 ms sleeps meanwhile. Prints
 * the results and rc/h_errno codes, slow_ok (each slow look-up found its
 * address and took DELAY_MS or more), parallel (the three ran at once:
 * all done within 6 x DELAY_MS, where one after another takes 9), ticked
 * (the ticker ran at least a quarter of the ticks it could while they
 * ran), and threads.
 *
 * With exit, one thread starts a slow look-up and main calls exit(0)
 * 100 ms later, while it still waits: the process must end at once.
 *
 * With burst N (up to 200), N threads each resolve a slow name of their
 * own with getaddrinfo, all at once (released together from a gate,
 * where main also counts the OS threads), while a sampler thread reads
 * the process's thread count every millisecond. Prints burst_ok (every
 * look-up found its own address), burst_ms (from the first start to the
 * last return), peak_threads (the most OS threads seen, the N callers
 * included when they are OS threads), hwm_kb (the peak resident set,
 * VmHWM) and vm_peak_kb (the peak address space, VmPeak: each thread
 * reserves a stack). The measurement behind the DNS pool's default size
 * (scripts/bench/dns_pool.sh).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "threads_now.h"

#define NSLOW 3
#define MAXQ 256
#define BURST_MAX 200

static long delay_ms;
static volatile int stop;
static volatile long ticks;
static int srv_fd;

static long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));

  if (fd >= 0)
    close(fd);
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Private namespaces, loopback up, our resolv.conf. 0, or -1 with why. */
static int isolate(const char **why) {
  char path[] = "/tmp/gpatch-resolv-XXXXXX", map[64];
  const char *conf = "nameserver 127.0.0.1\noptions timeout:2 attempts:1\n";
  uid_t uid = getuid();
  gid_t gid = getgid();
  struct ifreq ifr;
  int fd, s;

  if (unshare(CLONE_NEWNS | CLONE_NEWNET) != 0) {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET) != 0)
      return *why = "unshare refused (no root, no user namespaces)", -1;
    snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
    write_file("/proc/self/setgroups", "deny");
    if (write_file("/proc/self/uid_map", map) != 0)
      return *why = "cannot map the user namespace", -1;
    snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
    write_file("/proc/self/gid_map", map);
  }
  s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
  if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
    return *why = "cannot bring up the loopback", -1;
  close(s);
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    return *why = "cannot make the mounts private", -1;
  fd = mkstemp(path);
  if (fd < 0 || write(fd, conf, strlen(conf)) != (ssize_t)strlen(conf))
    return *why = "cannot write a resolv.conf", -1;
  close(fd);
  if (mount(path, "/etc/resolv.conf", NULL, MS_BIND, NULL) != 0)
    return unlink(path), *why = "cannot bind-mount /etc/resolv.conf", -1;
  unlink(path); /* the mount keeps the file */
  return 0;
}

/* An answer to send at due (ms). */
struct answer {
  long due;
  struct sockaddr_in to;
  unsigned char msg[512];
  size_t len;
};

/* Builds the answer to query q of n bytes into a; returns 0, or -1 for a
 * query it cannot parse. */
static int answer(const unsigned char *q, size_t n, struct answer *a,
                  int *slow) {
  char name[256] = "";
  int x = 0, y = 0;
  size_t i = 12, nl = 0;
  int qtype;

  while (i < n && q[i] != 0 && nl + q[i] + 1 < sizeof name) {
    memcpy(name + nl, q + i + 1, q[i]);
    nl += q[i];
    name[nl++] = '.';
    i += q[i] + 1;
  }
  if (i + 5 > n)
    return -1;
  qtype = q[i + 1] << 8 | q[i + 2];
  memcpy(a->msg, q, i + 5);
  a->len = i + 5;
  a->msg[2] = 0x81 | (q[2] & 0x01); /* QR, RD copied */
  a->msg[3] = 0x80;                 /* RA, NOERROR */
  memset(a->msg + 6, 0, 6);         /* no answer, authority, additional */
  *slow = strstr(name, "slow.gpatch.test.") != NULL;
  if (strstr(name, "gone.gpatch.test.") != NULL || !*slow)
    a->msg[3] = 0x83; /* NXDOMAIN */
  else if (qtype == 1) {
    static const unsigned char rr[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60,
                                        0, 4, 192, 0, 2 };
    memcpy(a->msg + a->len, rr, sizeof rr);
    sscanf(name, "h%d-%d.", &x, &y);
    a->msg[a->len + sizeof rr] = (unsigned char)(10 * x + y + 1);
    a->len += sizeof rr + 1;
    a->msg[7] = 1;
  }
  return 0;
}

/* The name server: answers each query when it is due. */
static void *server(void *arg) {
  struct answer q[MAXQ];
  int nq = 0;

  (void)arg;
  while (!stop) {
    unsigned char buf[512];
    socklen_t alen = sizeof q[0].to;
    long wait = 20, now = now_ms();
    struct pollfd p = { .fd = srv_fd, .events = POLLIN };
    int i, slow;
    ssize_t n;

    for (i = 0; i < nq; i++)
      if (q[i].due - now < wait)
        wait = q[i].due - now > 0 ? q[i].due - now : 0;
    if (poll(&p, 1, (int)wait) == 1 && nq < MAXQ) {
      n = recvfrom(srv_fd, buf, sizeof buf, 0, (struct sockaddr *)&q[nq].to,
                   &alen);
      if (n > 12 && answer(buf, (size_t)n, &q[nq], &slow) == 0) {
        q[nq].due = now_ms() + (slow ? delay_ms : 0);
        nq++;
      }
    }
    for (i = 0, now = now_ms(); i < nq; i++)
      if (q[i].due <= now) {
        sendto(srv_fd, q[i].msg, q[i].len, 0, (struct sockaddr *)&q[i].to,
               sizeof q[i].to);
        q[i--] = q[--nq];
      }
  }
  return NULL;
}

struct slow {
  int id;
  int gated; /* waits at gate until main has counted the OS threads */
  char out[3][64];
  int ok;
  long ms;
};

static void gai_addr(const char *name, char *out, size_t len) {
  struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
  struct addrinfo *res;
  int rc = getaddrinfo(name, NULL, &hints, &res);

  snprintf(out, len, "rc%d", rc);
  if (rc == 0) {
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, out,
              (socklen_t)len);
    freeaddrinfo(res);
  }
}

/* The slow look-up threads wait here until main has counted the OS
 * threads (natively they could otherwise be done before a late count). */
static pthread_barrier_t gate;

static void *slow_lookups(void *arg) {
  struct slow *s = arg;
  struct hostent he, *res;
  char buf[1024], name[64];
  int herr = 0, i;
  long t0;

  if (s->gated)
    pthread_barrier_wait(&gate);
  for (i = 0; i < 3; i++) {
    snprintf(name, sizeof name, "h%d-%d.slow.gpatch.test", s->id, i);
    t0 = now_ms();
    if (i == 1) {
      int rc = gethostbyname_r(name, &he, buf, sizeof buf, &res, &herr);

      snprintf(s->out[i], sizeof s->out[i], "rc%d/%d", rc, herr);
      if (rc == 0 && res != NULL)
        inet_ntop(AF_INET, res->h_addr_list[0], s->out[i], sizeof s->out[i]);
    } else {
      gai_addr(name, s->out[i], sizeof s->out[i]);
    }
    s->ms += now_ms() - t0;
    s->ok += strncmp(s->out[i], "192.0.2.", 8) == 0
             && now_ms() - t0 >= delay_ms;
  }
  return NULL;
}

static void *ticker(void *arg) {
  (void)arg;
  while (!stop) {
    usleep(2000);
    ticks++;
  }
  return NULL;
}

/* The failures, at once: NXDOMAIN. */
static void gone_lookups(void) {
  struct addrinfo hints = { .ai_family = AF_INET }, *res;
  struct hostent he, *r, *h;
  char buf[1024];
  int herr = 0, rc;

  rc = getaddrinfo("gone.gpatch.test", NULL, &hints, &res);
  printf("gone_gai=%d\n", rc);
  h = gethostbyname("gone.gpatch.test");
  printf("gone_ghbn_null=%d gone_ghbn_herrno=%d\n", h == NULL, h_errno);
  rc = gethostbyname_r("gone.gpatch.test", &he, buf, sizeof buf, &r, &herr);
  printf("gone_ghbn_r=%d gone_ghbn_r_null=%d gone_ghbn_r_herr=%d\n", rc,
         r == NULL, herr);
}

static volatile int peak, burst_done;

static void *sampler(void *arg) {
  (void)arg;
  while (!burst_done) {
    int n = threads_now();

    if (n > peak)
      peak = n;
    usleep(1000);
  }
  return NULL;
}

struct burst {
  int id;
  int ok;
};

/* The burst's callers start their look-ups together, once main has
 * counted them alive: natively the first ones could otherwise be done
 * before the last ones started, and the sampler never see them all. */
static pthread_barrier_t burst_gate;

static void *burst_lookup(void *arg) {
  struct burst *b = arg;
  char name[64], out[64], want[64];

  pthread_barrier_wait(&burst_gate);
  snprintf(name, sizeof name, "h%d-%d.slow.gpatch.test", b->id / 10,
           b->id % 10);
  snprintf(want, sizeof want, "192.0.2.%d", b->id + 1);
  gai_addr(name, out, sizeof out);
  b->ok = strcmp(out, want) == 0;
  return NULL;
}

/* N look-ups at once; see the header. */
static void burst(int n) {
  static struct burst b[BURST_MAX];
  pthread_t t[BURST_MAX], smp;
  long t0;
  int i, ok = 0, at_gate;

  pthread_barrier_init(&burst_gate, NULL, (unsigned)n + 1);
  pthread_create(&smp, NULL, sampler, NULL);
  t0 = now_ms();
  for (i = 0; i < n; i++) {
    b[i] = (struct burst){ .id = i };
    pthread_create(&t[i], NULL, burst_lookup, &b[i]);
  }
  at_gate = threads_now(); /* every caller is alive, none has started */
  pthread_barrier_wait(&burst_gate);
  for (i = 0; i < n; i++) {
    pthread_join(t[i], NULL);
    ok += b[i].ok;
  }
  printf("burst_ms=%ld\n", now_ms() - t0);
  burst_done = 1;
  pthread_join(smp, NULL);
  printf("burst_ok=%d\nburst_found=%d\npeak_threads=%d\nhwm_kb=%ld\n"
         "vm_peak_kb=%ld\n", ok == n, ok, peak > at_gate ? peak : at_gate,
         status_value("VmHWM:"),
         status_value("VmPeak:"));
}

int main(int argc, char **argv) {
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(53) };
  struct slow s[NSLOW];
  pthread_t srv, tick, t[NSLOW];
  const char *why = "";
  long t0, all_ms, ticks0;
  int i, ok = 0;

  setvbuf(stdout, NULL, _IOLBF, 0);
  delay_ms = argc > 1 ? atol(argv[1]) : 300;
  if (isolate(&why) != 0) {
    printf("skip=1 reason=\"%s: %s\"\n", why, strerror(errno));
    return 0;
  }
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  srv_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (bind(srv_fd, (struct sockaddr *)&a, sizeof a) != 0) {
    printf("skip=1 reason=\"cannot bind 127.0.0.1:53: %s\"\n",
           strerror(errno));
    return 0;
  }
  pthread_create(&srv, NULL, server, NULL);
  if (argc > 2 && strcmp(argv[2], "exit") == 0) {
    s[0] = (struct slow){ .id = 9 };
    pthread_create(&t[0], NULL, slow_lookups, &s[0]);
    usleep(100000);
    printf("exiting=1\n");
    exit(0);
  }
  if (argc > 3 && strcmp(argv[2], "burst") == 0) {
    int n = atoi(argv[3]);

    burst(n < 1 ? 1 : n > BURST_MAX ? BURST_MAX : n);
    stop = 1;
    pthread_join(srv, NULL);
    return 0;
  }
  pthread_create(&tick, NULL, ticker, NULL);
  t0 = now_ms();
  ticks0 = ticks;
  pthread_barrier_init(&gate, NULL, NSLOW + 1);
  for (i = 0; i < NSLOW; i++) {
    s[i] = (struct slow){ .id = i, .gated = 1 };
    pthread_create(&t[i], NULL, slow_lookups, &s[i]);
  }
  printf("threads=%d\n", threads_now());
  pthread_barrier_wait(&gate);
  for (i = 0; i < NSLOW; i++) {
    pthread_join(t[i], NULL);
    ok += s[i].ok;
  }
  all_ms = now_ms() - t0;
  printf("slow_ok=%d\nparallel=%d\n", ok == 3 * NSLOW,
         all_ms < 3 * 2 * delay_ms);
  printf("ticked=%d\nticks=%ld\nall_ms=%ld\n",
         (ticks - ticks0) * 2 * 4 >= all_ms, ticks - ticks0, all_ms);
  for (i = 0; i < NSLOW; i++)
    printf("slow%d=%s,%s,%s\n", i, s[i].out[0], s[i].out[1], s[i].out[2]);
  gone_lookups();
  stop = 1;
  pthread_join(tick, NULL);
  pthread_join(srv, NULL);
  return 0;
}
