/* setxid.c: setuid and friends, which glibc applies to every thread it
 * knows (__nptl_setxid: each other thread is signalled to make the same
 * system call). With GPATCH_TLS=private the caller may be a coroutine
 * whose block is not the OS thread's own TCB; the runtime hides that TCB
 * from glibc for the call (runtime/tls.c, gp__tls_xid_begin), since the
 * caller's own system call already changes the OS thread's ids. Real
 * threads (the pool's) are signalled as usual. In shared mode the calls
 * are glibc's alone.
 */
#include <errno.h>
#include <grp.h>
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
GP_EXPORT int setgroups(size_t n, const gid_t *list) {
  XID_CALL(setgroups, n, list);
}
