/* dump.c: what every coroutine is doing, for GPATCH_DUMP_SIGNAL.
 *
 * One line per coroutine, written with the real write from a buffer on
 * the stack (no allocation, no stdio):
 *
 *   gpatch: dump: 3 coroutines (1 ready)
 *   gpatch:   #0 main 0x7f...  parked  accept: fd 3 (in), no deadline
 *   gpatch:   #2 "worker" 0x55...  parked  object 0x55..., 120 ms left
 *
 * The number after # is the coroutine's creation number (0 for the
 * main one); the hex value is the pthread_t the program sees. The shim
 * names the call with gp__wait_note; otherwise the line says what the
 * runtime knows: fds, a wait-queue address, a join or a plain sleep.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "coro.h"
#include "real.h"

const char *gp__next_call;

static const char *state_name(enum gp_state s) {
  switch (s) {
  case GP_READY: return "ready";
  case GP_RUNNING: return "running";
  case GP_PARKED: return "parked";
  case GP_DEAD: return "ended";
  }
  return "?";
}

/* Appends to buf at *len, never past size. */
static void put(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t size, size_t *len, const char *fmt, ...) {
  if (*len >= size)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf + *len, size - *len, fmt, ap);
  va_end(ap);
  if (n > 0)
    *len += (size_t)n < size - *len ? (size_t)n : size - *len - 1;
}

static void emit(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t w = GP_REAL(write)(fd, buf, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    buf += w;
    len -= (size_t)w;
  }
}

/* What a parked coroutine waits on, appended to the line. */
static void describe_wait(gp_coro *c, char *buf, size_t size, size_t *len) {
  const char *sep = "";
  if (c->w_call) {
    put(buf, size, len, "%s:", c->w_call);
    sep = " ";
  }
  if (c->w_nfds > 0) {
    unsigned e = c->w_events;
    put(buf, size, len, "%sfd %d (%s%s%s)", sep, c->w_fd,
        e & GP_IN ? "in" : "", (e & GP_IN) && (e & GP_OUT) ? "," : "",
        e & GP_OUT ? "out" : "");
    if (c->w_nfds > 1)
      put(buf, size, len, " and %d more", c->w_nfds - 1);
  } else if (c->w_join) {
    put(buf, size, len, "%sjoin #%d", sep, gp__coro_number(c->w_join));
  } else if (c->w_obj) {
    put(buf, size, len, "%sobject %p", sep, c->w_obj);
  } else if (!c->w_call) {
    put(buf, size, len, "sleep");
  }
  if (c->w_deadline == GP_NEVER) {
    put(buf, size, len, ", no deadline");
  } else {
    int64_t left = c->w_deadline - gp__now();
    put(buf, size, len, ", %lld ms left",
        (long long)(left > 0 ? (left + 999999) / 1000000 : 0));
  }
}

void gp__dump(int fd) {
  char buf[512];
  size_t n = 0, total = 0;
  for (gp_list *l = gp__all.next; l != &gp__all; l = l->next)
    total++;
  put(buf, sizeof buf, &n, "gpatch: dump: %zu coroutine%s (%zu ready)\n",
      total, total == 1 ? "" : "s", gp__ready_count());
  emit(fd, buf, n);
  for (gp_list *l = gp__all.next; l != &gp__all; l = l->next) {
    gp_coro *c = GP_CONTAINER(l, gp_coro, all);
    n = 0;
    put(buf, sizeof buf, &n, "gpatch:   #%d ", gp__coro_number(c));
    if (c->is_main)
      put(buf, sizeof buf, &n, "main ");
    if (c->name[0])
      put(buf, sizeof buf, &n, "\"%s\" ", c->name);
    put(buf, sizeof buf, &n, "0x%lx  %s", (unsigned long)c->handle,
        state_name(c->state));
    if (c->state == GP_PARKED) {
      put(buf, sizeof buf, &n, "  ");
      describe_wait(c, buf, sizeof buf, &n);
    }
    int tid = gp__handoff_tid(c);
    if (tid > 0)
      put(buf, sizeof buf, &n, "  (detached: keeps OS thread %d)", tid);
    put(buf, sizeof buf, &n, "\n");
    if (n >= sizeof buf - 1)
      buf[sizeof buf - 2] = '\n';
    emit(fd, buf, n);
  }
}
