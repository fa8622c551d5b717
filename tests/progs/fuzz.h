/* fuzz.h: the machinery shared by the parts of fuzz_interp (see
 * fuzz_interp.c): a seeded random source, the per-role transcript buffer,
 * result lines, data patterns and hashes, and the reserved descriptor
 * range of a group.
 *
 * Every line a role writes must be the same in every run of the same seed,
 * natively and under the shim, whatever the scheduling: a role logs only
 * results that its own script decides (never an fd number the kernel
 * picked while other groups ran, never a time, never an order between
 * roles), and the transcripts are printed by main after every role ended,
 * group by group, role by role.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
  FZ_ROLES = 8,       /* Most roles (threads) in one group. */
  FZ_SLOTS = 16,      /* Descriptor numbers reserved for each group. */
  FZ_SLOT_BASE = 200, /* The first reserved number; the kernel's lowest-
                         free choice never reaches it in these runs. */
};

/* A splitmix64 random source: the whole script derives from the seed. */
struct fz_rng {
  uint64_t s;
};

static inline uint64_t fz_next(struct fz_rng *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* A value in [0, n); 0 when n is 0. */
static inline unsigned fz_below(struct fz_rng *r, unsigned n) {
  return n == 0 ? 0 : (unsigned)(fz_next(r) % n);
}

/* A value in [lo, hi]. */
static inline long fz_range(struct fz_rng *r, long lo, long hi) {
  return lo + (long)fz_below(r, (unsigned)(hi - lo + 1));
}

/* 1 with probability pct percent. */
static inline int fz_chance(struct fz_rng *r, unsigned pct) {
  return fz_below(r, 100) < pct;
}

/* One role's transcript: lines appended in the role's own order. */
struct fz_log {
  char *buf;  /* The text, NUL-terminated, or NULL when empty. */
  size_t len; /* Bytes used, without the NUL. */
  size_t cap; /* Bytes allocated. */
  int gid;    /* Group and role, for FUZZ_TRACE lines. */
  int role;
};

/* Set by FUZZ_TRACE=1: every line also goes to stderr as it is made, to
 * see where a replayed run hangs. */
static int fz_trace;

/* Appends one formatted line (the newline is added). */
static inline void fz_say(struct fz_log *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void fz_say(struct fz_log *l, const char *fmt, ...) {
  char line[512];
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n > sizeof line - 2)
    n = sizeof line - 2;
  line[n++] = '\n';
  if (fz_trace)
    fprintf(stderr, "g%d.%d %.*s", l->gid, l->role, n, line);
  if (l->len + n + 1 > l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 4096;
    char *b;

    while (cap < l->len + n + 1)
      cap *= 2;
    b = realloc(l->buf, cap);
    if (b == NULL)
      abort();
    l->buf = b;
    l->cap = cap;
  }
  memcpy(l->buf + l->len, line, n);
  l->len += n;
  l->buf[l->len] = '\0';
}

/* The symbolic name of an errno value ("EAGAIN"). */
static inline const char *fz_errname(int err) {
  const char *s = strerrorname_np(err);

  return s != NULL ? s : "E?";
}

/* Logs "what rc=N" for a call's result, or "what rc=-1 ENAME" when it
 * failed (err is the errno saved right after the call). */
static inline void fz_rc(struct fz_log *l, const char *what, long rc, int err) {
  if (rc < 0)
    fz_say(l, "%s rc=%ld %s", what, rc, fz_errname(err));
  else
    fz_say(l, "%s rc=%ld", what, rc);
}

/* Like fz_rc for the pthread calls, which return an error number. */
static inline void fz_prc(struct fz_log *l, const char *what, int rc) {
  fz_say(l, "%s %s", what, rc == 0 ? "ok" : fz_errname(rc));
}

/* The byte at offset off of stream key (the same bytes every run). */
static inline unsigned char fz_byte(uint64_t key, uint64_t off) {
  uint64_t z = (key ^ off) * 0x9e3779b97f4a7c15ull;

  return (unsigned char)(z >> 56);
}

/* Fills buf with n bytes of stream key from offset off. */
static inline void fz_fill(char *buf, size_t n, uint64_t key, uint64_t off) {
  size_t i;

  for (i = 0; i < n; i++)
    buf[i] = (char)fz_byte(key, off + i);
}

/* FNV-1a over n bytes, continuing from h (start with FZ_HASH0). */
#define FZ_HASH0 0xcbf29ce484222325ull
static inline uint64_t fz_hash(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  size_t i;

  for (i = 0; i < n; i++)
    h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

/* Monotonic milliseconds, for deadlines only (never printed). */
static inline long fz_now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The absolute time ms milliseconds from now on clock clk. */
static inline struct timespec fz_deadline(clockid_t clk, long ms) {
  struct timespec ts;

  clock_gettime(clk, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

/* Sleeps ms milliseconds (0 yields through nanosleep all the same). */
static inline void fz_sleep_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* Starts a thread or dies: a program whose threads cannot start has no
 * transcript worth comparing. */
static inline pthread_t fz_start(void *(*fn)(void *), void *arg) {
  pthread_t t;
  int rc = pthread_create(&t, NULL, fn, arg);

  if (rc != 0) {
    fprintf(stderr, "fuzz_interp: pthread_create: %s\n", strerror(rc));
    exit(3);
  }
  return t;
}

/* Joins a thread or dies. */
static inline void fz_join(pthread_t t) {
  int rc = pthread_join(t, NULL);

  if (rc != 0) {
    fprintf(stderr, "fuzz_interp: pthread_join: %s\n", strerror(rc));
    exit(3);
  }
}

/* One scenario instance: its roles run as threads, its transcript is
 * printed as "g<id>.<role> line". */
struct fz_group {
  int id;                     /* Group number in the run (0, 1, ...). */
  int kind;                   /* Index into the scenario table. */
  uint64_t seed;              /* This group's own random seed. */
  int slot;                   /* The first of its FZ_SLOTS reserved fds. */
  int nroles;                 /* Roles whose logs are printed. */
  struct fz_log log[FZ_ROLES]; /* One transcript per role. */
};

#endif /* FUZZ_H */
