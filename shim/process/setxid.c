/* setxid.c: setuid and friends, which glibc applies to every thread it
 * knows (__nptl_setxid: each other thread is signalled to make the same
 * system call). With GPATCH_TLS=private the caller may be a coroutine
 * whose block is not the OS thread's own TCB; the runtime hides that TCB
 * from glibc for the call (runtime/tls.c, gp__tls_xid_begin), since the
 * caller's own system call already changes the OS thread's ids. Real
 * threads (the pool's) are signalled as usual. In shared mode the calls
 * are glibc's alone. initgroups is glibc's getgrouplist and setgroups,
 * but it calls its own setgroups, which no hook sees: it is made of the
 * two here.
 */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/guard.h"
#include "real.h"

#define XID_CALL(name, ...)                                                 \
  do {                                                                      \
    void *marked_ = gp__tls_xid_begin();                                    \
    int r_ = GP_REAL(name)(__VA_ARGS__);                                    \
    int errno_ = errno;                                                     \
    gp__tls_xid_end(marked_);                                               \
    errno = errno_;                                                         \
    return r_;                                                              \
  } while (0)

GP_EXPORT int setuid(uid_t u) { XID_CALL(setuid, u); }
GP_EXPORT int setgid(gid_t g) { XID_CALL(setgid, g); }
GP_EXPORT int seteuid(uid_t u) { XID_CALL(seteuid, u); }
GP_EXPORT int setegid(gid_t g) { XID_CALL(setegid, g); }
GP_EXPORT int setreuid(uid_t r, uid_t e) { XID_CALL(setreuid, r, e); }
GP_EXPORT int setregid(gid_t r, gid_t e) { XID_CALL(setregid, r, e); }
GP_EXPORT int setresuid(uid_t r, uid_t e, uid_t s) {
  XID_CALL(setresuid, r, e, s);
}
GP_EXPORT int setresgid(gid_t r, gid_t e, gid_t s) {
  XID_CALL(setresgid, r, e, s);
}
/* setgroups, for the hook and for initgroups below (no hooked name is
 * called from the shim). */
static int set_groups(size_t n, const gid_t *list) {
  XID_CALL(setgroups, n, list);
}

GP_EXPORT int setgroups(size_t n, const gid_t *list) {
  return set_groups(n, list);
}

/* glibc's initgroups calls its internal setgroups, past the hook above:
 * a coroutine's initgroups (squid's leave_suid at exit, on the main
 * coroutine after a hand-off moved it to a spare OS thread) signalled
 * the OS thread's own TCB and waited for ever. In private mode the
 * groups are read here with getgrouplist, which may park (NSS over a
 * socket), and set through the hook with nothing parked in between, as
 * glibc's initgroups does: at most NGROUPS_MAX, and one fewer while the
 * kernel says EINVAL. Returns 0, or -1 with errno; errno is kept on
 * success. */
GP_EXPORT int initgroups(const char *user, gid_t group) {
  if (!gp__tls_is_private())
    return GP_REAL(initgroups)(user, group);
  int saved = errno, n = 64, r;
  gid_t *list = NULL;
  for (;;) {
    gid_t *grown = realloc(list, (size_t)n * sizeof *list);
    if (grown == NULL)
      goto fail_list;
    list = grown;
    int want = n;
    if (getgrouplist(user, group, list, &want) >= 0) {
      n = want;
      break;
    }
    if (want <= n) /* no room found for its own copy: out of memory */
      goto fail_list;
    n = want;
  }
  long limit = sysconf(_SC_NGROUPS_MAX);
  if (limit > 0 && n > limit)
    n = (int)limit;
  while ((r = set_groups((size_t)n, list)) == -1 && errno == EINVAL && n > 1)
    n--;
  if (r == 0)
    errno = saved;
  free(list);
  return r;
fail_list:
  free(list);
  errno = ENOMEM;
  return -1;
}
