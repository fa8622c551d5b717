/* log.c: messages on stderr through the real write, never stdio. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>

#include "gp.h"
#include "real.h"

static void emit(const char *fmt, va_list ap) {
  char buf[1024];
  int saved = errno;
  int n = snprintf(buf, sizeof buf, "gpatch: ");
  int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
  size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
  if (len > sizeof buf - 2)
    len = sizeof buf - 2;
  buf[len++] = '\n';
  for (size_t off = 0; off < len;) {
    ssize_t w = gp__real_write(2, buf + off, len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break;
    off += (size_t)w;
  }
  errno = saved;
}

void gp__log(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(fmt, ap);
  va_end(ap);
}

void gp__die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(fmt, ap);
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
