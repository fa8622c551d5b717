/* offload.c: a libc call on a pool thread, with the caller's per-thread
 * state carried over and back.
 *
 * errno and h_errno are per thread, and so is the locale a program sets
 * with uselocale (getaddrinfo's AI_IDN, getnameinfo's NI_IDN read it):
 * the pool thread takes the caller's before the call, and the caller
 * takes the pool thread's errno and h_errno after it.
 */
#include <errno.h>
#include <locale.h>
#include <netdb.h>

#include "core/guard.h"
#include "core/offload.h"

struct call {
  void (*fn)(void *);
  void *arg;
  int err;      /* errno: the caller's, then the pool thread's */
  int herr;     /* h_errno, likewise */
  locale_t loc; /* the caller's locale (LC_GLOBAL_LOCALE for the global) */
};

/* On the pool thread. */
static void run(void *p) {
  struct call *c = p;
  locale_t old = uselocale(c->loc);
  errno = c->err;
  h_errno = c->herr;
  c->fn(c->arg);
  c->err = errno;
  c->herr = h_errno;
  uselocale(old);
}

int gp_offload(unsigned lane, void (*fn)(void *), void *arg) {
  struct call c = {fn, arg, errno, h_errno, uselocale((locale_t)0)};
  unsigned char was = gp__inside_enter();
  int r = gp__work_run(lane, run, &c);
  gp__inside_restore(was);
  if (r != 0)
    return -1;
  errno = c.err;
  h_errno = c.herr;
  return 0;
}
