/* log.c: messages through the real write, never stdio.
 *
 * The log is stderr, where each line reads "gpatch: message", or the file
 * GPATCH_LOG_FILE names, where each line also carries the time (UTC), the
 * pid and the level, since children inherit the setting and append to the
 * same file. A line is one write() on an O_APPEND file, so lines of
 * different processes never mix. A program may close our fd and reuse the
 * number (daemons close every fd they did not open): each line first
 * checks that the fd still names the file opened, and reopens it if not.
 *
 * Lines are built in a gp_msg from plain pieces (strings, numbers), which
 * a signal handler may do; printf-style messages fill the same buffer
 * with vsnprintf outside handlers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gp.h"
#include "real.h"

unsigned char gp__log_level = GP_LOG_WARN;

static int log_fd = 2;            /* where lines go */
static int to_file;               /* log_fd is GPATCH_LOG_FILE's */
static char path[PATH_MAX];       /* the file, to reopen it */
static dev_t file_dev;            /* what log_fd must still name */
static ino_t file_ino;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* Opens the log file without blocking on a FIFO that has no reader (a
 * FIFO is then refused by the caller), and without following a link. */
static int open_file(void) {
  int fd;
  do
    fd = GP_REAL(openat)(AT_FDCWD, path,
                         O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
                             O_NOFOLLOW | O_NOCTTY | O_NONBLOCK,
                         0600);
  while (fd < 0 && errno == EINTR);
  if (fd >= 0)
    GP_REAL(fcntl)(fd, F_SETFL, O_APPEND);
  return fd;
}

int gp__log_open(const char *p) {
  struct stat st;
  if (strlen(p) >= sizeof path)
    return -ENAMETOOLONG;
  strcpy(path, p);
  int fd = open_file();
  if (fd < 0)
    return -errno;
  int err = fstat(fd, &st) != 0 ? -errno : 0;
  if (err == 0 && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
    err = -EINVAL; /* a FIFO, socket or directory: no place for a log */
  if (err) {
    GP_REAL(close)(fd);
    return err;
  }
  file_dev = st.st_dev;
  file_ino = st.st_ino;
  log_fd = fd;
  to_file = 1;
  return 0;
}

/* The fd to write to: the log file as opened, reopened when the program
 * closed or replaced our fd; stderr when it cannot be. Signal-safe. */
int gp__log_fd(void) {
  int fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
  struct stat st;
  if (!to_file ||
      (fstat(fd, &st) == 0 && st.st_dev == file_dev && st.st_ino == file_ino))
    return fd;
  int nfd = open_file();
  if (nfd < 0 || fstat(nfd, &st) != 0) {
    if (nfd >= 0)
      GP_REAL(close)(nfd);
    return 2;
  }
  if (!__atomic_compare_exchange_n(&log_fd, &fd, nfd, 0, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    GP_REAL(close)(nfd); /* another thread reopened it first */
    return fd;
  }
  file_dev = st.st_dev;
  file_ino = st.st_ino;
  return nfd;
}

void gp__msg_str(gp_msg *m, const char *s) {
  size_t room = sizeof m->buf - 1 - m->len; /* one byte kept for '\n' */
  size_t n = strlen(s);
  if (n > room)
    n = room;
  memcpy(m->buf + m->len, s, n);
  m->len += n;
}

void gp__msg_uint(gp_msg *m, uint64_t v) {
  char tmp[24];
  size_t i = sizeof tmp;
  tmp[--i] = '\0';
  do
    tmp[--i] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  gp__msg_str(m, tmp + i);
}

void gp__msg_hex(gp_msg *m, uintptr_t v) {
  char tmp[2 + 2 * sizeof v + 1];
  size_t i = sizeof tmp;
  tmp[--i] = '\0';
  do
    tmp[--i] = "0123456789abcdef"[v & 15];
  while ((v >>= 4) != 0);
  tmp[--i] = 'x';
  tmp[--i] = '0';
  gp__msg_str(m, tmp + i);
}

/* Appends n as two digits (or more), zero-padded to width. */
static void put_padded(gp_msg *m, uint64_t n, int width) {
  uint64_t lim = 1;
  for (int i = 1; i < width; i++)
    lim *= 10;
  for (; lim > 1 && n < lim; lim /= 10)
    gp__msg_str(m, "0");
  gp__msg_uint(m, n);
}

/* Appends the UTC time as 2026-01-31T12:34:56.789Z, without gmtime (not
 * signal-safe): the civil date from the day count (H. Hinnant's method). */
static void put_time(gp_msg *m) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t days = ts.tv_sec / 86400, secs = ts.tv_sec % 86400;
  int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
  int64_t mo = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (mo <= 2);
  const uint64_t parts[] = {(uint64_t)y, (uint64_t)mo, (uint64_t)d,
                            (uint64_t)secs / 3600, (uint64_t)secs / 60 % 60,
                            (uint64_t)secs % 60};
  static const char seps[] = "--T::.";
  for (int i = 0; i < 6; i++) {
    put_padded(m, parts[i], i == 0 ? 4 : 2);
    char sep[2] = {seps[i], '\0'};
    gp__msg_str(m, sep);
  }
  put_padded(m, (uint64_t)ts.tv_nsec / 1000000, 3);
  gp__msg_str(m, "Z ");
}

void gp__msg_begin(gp_msg *m, int level) {
  m->len = 0;
  if (!to_file) {
    gp__msg_str(m, "gpatch: ");
    return;
  }
  put_time(m);
  gp__msg_str(m, "gpatch[");
  gp__msg_uint(m, (uint64_t)getpid());
  gp__msg_str(m, "] ");
  gp__msg_str(m, level_names[level < 0 ? 0 : level > 3 ? 3 : level]);
  gp__msg_str(m, ": ");
}

void gp__msg_send(gp_msg *m) {
  int saved = errno;
  m->buf[m->len++] = '\n';
  int fd = gp__log_fd();
  for (size_t off = 0; off < m->len;) {
    ssize_t w = gp__real_write(fd, m->buf + off, m->len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break;
    off += (size_t)w;
  }
  errno = saved;
}

static void emit(int level, const char *fmt, va_list ap) {
  gp_msg m;
  int saved = errno;
  gp__msg_begin(&m, level);
  int n = vsnprintf(m.buf + m.len, sizeof m.buf - m.len - 1, fmt, ap);
  if (n > 0)
    m.len += (size_t)n;
  if (m.len > sizeof m.buf - 2)
    m.len = sizeof m.buf - 2;
  errno = saved;
  gp__msg_send(&m);
}

void gp__log(const char *fmt, ...) {
  if (gp__log_level < GP_LOG_WARN)
    return;
  va_list ap;
  va_start(ap, fmt);
  emit(GP_LOG_WARN, fmt, ap);
  va_end(ap);
}

void gp__logl(int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(level, fmt, ap);
  va_end(ap);
}

void gp__die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(GP_LOG_ERROR, fmt, ap);
  va_end(ap);
  abort();
}

void gp__assert_fail(const char *expr, const char *file, int line) {
  gp__die("assertion failed: %s (%s:%d)", expr, file, line);
}

int64_t gp__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t gp__now_coarse(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
