/* thread.c: threads become coroutines: pthread_create, join, detach,
 * exit, self, equal, tryjoin, timedjoin, setname/getname.
 *
 * A coroutine's pthread_t is its record's address; the main thread keeps
 * its real pthread_t. A pthread_t that names no coroutine (a real thread,
 * created while the thread family was off) gets the real call.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/config.h"
#include "core/guard.h"
#include "real.h"
#include "core/timeutil.h"

/* May this call create a coroutine? The first one starts the runtime on
 * the calling OS thread. */
static int may_spawn(void) {
  gp_init();
  if (!(gp_conf.families & GP_FAM_THREAD))
    return 0;
  /* On the scheduler thread even inside the runtime: the runtime itself
   * never calls pthread_create through the PLT (its threads are made
   * with the real one), but a library the runtime calls may, such as
   * jemalloc starting its background thread from a malloc inside a hook.
   * That thread must be a coroutine too: as a real thread it would share
   * the program's mutexes with the coroutines. Spawning only adds a
   * ready coroutine, which is safe at any point of runtime code that can
   * call malloc. */
  if (gp__tls.inside && !gp__sched_here())
    return 0;
  return gp__sched_here() || !gp__rt_started();
}

/* The stack size the program asked for, or 0 for the default. glibc
 * reports its default (from RLIMIT_STACK) when none was set: only a
 * size that differs from it is the program's choice. */
static size_t wanted_stack(const pthread_attr_t *attr) {
  size_t sz = 0, def = 0;
  pthread_attr_t d;
  if (attr == NULL || pthread_attr_getstacksize(attr, &sz) != 0)
    return 0;
  if (pthread_getattr_default_np(&d) == 0) {
    pthread_attr_getstacksize(&d, &def);
    pthread_attr_destroy(&d);
  }
  return sz == def ? 0 : sz;
}

/* Whether the program gave its own stack (pthread_attr_setstack). glibc's
 * getstack answers top - size, and the top is NULL when none was set, so
 * then lo + size wraps to 0. */
static int given_stack(const pthread_attr_t *attr) {
  void *lo = NULL;
  size_t size = 0;
  pthread_attr_getstack(attr, &lo, &size);
  return (uintptr_t)lo + size != 0;
}

/* The main thread's name, as the threads it creates inherit it: read
 * from the kernel at the first creation, kept up to date by
 * pthread_setname_np on the main thread. */
static char main_name[16];
static int main_name_known;

/* A new thread is named after its creator, as the kernel names a thread
 * after the one that cloned it (glibc's pthread_getname_np then reads
 * it). */
static void inherit_name(gp_coro *c) {
  gp_coro *self = gp__self();
  if (self != NULL && !gp__coro_is_main(self)) {
    memcpy(gp__coro_name(c), gp__coro_name(self), sizeof main_name);
    return;
  }
  if (!main_name_known &&
      GP_REAL(pthread_getname_np)(GP_REAL(pthread_self)(), main_name,
                                  sizeof main_name) == 0)
    main_name_known = 1;
  memcpy(gp__coro_name(c), main_name, sizeof main_name);
}

GP_EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr,
                             void *(*fn)(void *), void *arg) {
  if (!may_spawn())
    return GP_REAL(pthread_create)(t, attr, fn, arg);
  int detached = 0;
  if (attr)
    pthread_attr_getdetachstate(attr, &detached);
  void *lo = NULL;
  size_t size = 0;
  if (attr && given_stack(attr))
    pthread_attr_getstack(attr, &lo, &size);
  unsigned char was_inside = gp__inside_enter();
  int err = gp__rt_start((uintptr_t)GP_REAL(pthread_self)());
  gp_coro *c = NULL;
  detached = detached == PTHREAD_CREATE_DETACHED;
  if (err == 0 && lo)
    err = gp__spawn_on(fn, arg, lo, size, detached, &c);
  else if (err == 0)
    err = gp__spawn(fn, arg, wanted_stack(attr), detached, &c);
  if (!was_inside)
    gp_leave(); /* else runtime code called us, and goes on as such */
  /* Whatever the runtime lacked (memory for a stack, fds for its loop
   * when the program used them all before its first thread), the caller
   * hears what pthread_create says of missing resources. */
  if (err)
    return err == -EINVAL || err == -EPERM ? -err : EAGAIN;
  inherit_name(c);
  *t = (pthread_t)gp__coro_handle(c);
  return 0;
}

/* The coroutine t names, when the call may take the cooperative path. */
static gp_coro *coop_coro(pthread_t t) {
  if (!gp_coop(GP_FAM_THREAD))
    return NULL;
  return gp__coro_from_handle((uintptr_t)t);
}

/* Joins the coroutine c; deadline GP_TRY_ONLY for a try, GP_NEVER for no
 * limit. */
static int join(gp_coro *c, void **ret, int64_t deadline) {
  gp_enter();
  if (deadline != GP_TRY_ONLY) /* pthread_tryjoin_np is no cancellation point */
    gp_cancel_point();
  int r = gp__join(c, ret, deadline);
  gp_leave();
  return -r;
}

GP_EXPORT int pthread_join(pthread_t t, void **ret) {
  gp_coro *c = coop_coro(t);
  return c ? join(c, ret, GP_NEVER) : GP_REAL(pthread_join)(t, ret);
}

/* glibc answers EBUSY for any thread still running (itself, a detached
 * one) before it looks at anything else. */
GP_EXPORT int pthread_tryjoin_np(pthread_t t, void **ret) {
  gp_coro *c = coop_coro(t);
  if (c == NULL)
    return GP_REAL(pthread_tryjoin_np)(t, ret);
  return gp__coro_ended(c) ? join(c, ret, GP_TRY_ONLY) : EBUSY;
}

GP_EXPORT int pthread_timedjoin_np(pthread_t t, void **ret,
                                   const struct timespec *abs) {
  gp_coro *c = coop_coro(t);
  if (c == NULL)
    return GP_REAL(pthread_timedjoin_np)(t, ret, abs);
  /* glibc: a NULL time waits forever; the clock is CLOCK_REALTIME. */
  int64_t deadline = gp_join_deadline(CLOCK_REALTIME, abs);
  return join(c, ret, deadline);
}

GP_EXPORT int pthread_detach(pthread_t t) {
  gp_coro *c = coop_coro(t);
  if (c == NULL)
    return GP_REAL(pthread_detach)(t);
  gp_enter();
  int r = gp__detach(c);
  gp_leave();
  return -r;
}

GP_EXPORT void pthread_exit(void *ret) {
  if (gp_coop(GP_FAM_THREAD) && gp__self() != NULL &&
      !gp__coro_is_main(gp__self()))
    gp_exit_unwind(ret); /* cleanup handlers and destructors run */
  if (gp_coop(GP_FAM_THREAD) && gp__self() != NULL) {
    gp_enter();
    gp__exit(ret);
  }
  GP_REAL(pthread_exit)(ret);
  __builtin_unreachable();
}

GP_EXPORT pthread_t pthread_self(void) {
  if (gp_coop(GP_FAM_THREAD) && gp__self() != NULL)
    return (pthread_t)gp__coro_handle(gp__self());
  return GP_REAL(pthread_self)();
}

GP_EXPORT int pthread_equal(pthread_t a, pthread_t b) { return a == b; }

/* Names live in the coroutine record (the main thread keeps its real
 * name: the kernel shows it). Errors as glibc's: ERANGE for a name of 16
 * bytes or more, and for a buffer under 16 bytes whatever the name. The
 * main coroutine is known by its record, not by the real pthread_self:
 * with private TLS, that is the calling coroutine's own block. */
GP_EXPORT int pthread_setname_np(pthread_t t, const char *name) {
  gp_coro *c = coop_coro(t);
  if (c == NULL || gp__coro_is_main(c)) {
    int r = GP_REAL(pthread_setname_np)(t, name);
    if (r == 0 && c != NULL && gp__coro_is_main(c)) {
      strcpy(main_name, name);
      main_name_known = 1;
    }
    return r;
  }
  if (strlen(name) >= sizeof main_name)
    return ERANGE;
  strcpy(gp__coro_name(c), name);
  return 0;
}

/* prctl's PR_SET_NAME and PR_GET_NAME name the calling thread: for a
 * coroutine (but main) the name in its record, as pthread_setname_np's,
 * instead of the OS thread's, which the kernel shows as the process's
 * (rsyslogd named its workers so, and ps, pidof and pgrep then knew the
 * daemon as "imudp(w0)"). As the kernel: at most 15 bytes kept, the
 * name read from the caller's memory (an address it cannot read:
 * EFAULT), 16 bytes written back. Every other option is the real call. */
GP_EXPORT int prctl(int option, ...) {
  va_list ap;
  va_start(ap, option);
  unsigned long a2 = va_arg(ap, unsigned long);
  unsigned long a3 = va_arg(ap, unsigned long);
  unsigned long a4 = va_arg(ap, unsigned long);
  unsigned long a5 = va_arg(ap, unsigned long);
  va_end(ap);
  gp_coro *c = NULL;
  if ((option == PR_SET_NAME || option == PR_GET_NAME) &&
      gp_coop(GP_FAM_THREAD))
    c = gp__self();
  if (c == NULL || gp__coro_is_main(c))
    return (int)GP_REAL(syscall)(SYS_prctl, option, a2, a3, a4, a5);
  char name[16] = {0};
  struct iovec mine = {name, 15}, theirs = {(void *)a2, 15};
  if (option == PR_GET_NAME) {
    memcpy(name, gp__coro_name(c), 15);
    mine.iov_len = theirs.iov_len = 16;
    if (GP_REAL(syscall)(SYS_process_vm_writev, getpid(), &mine, 1, &theirs,
                         1, 0) != 16) {
      errno = EFAULT;
      return -1;
    }
    return 0;
  }
  /* The name may end before an unreadable page: shorter reads then
   * (name[15] stays 0 whatever was read). */
  int saved = errno;
  long n = GP_REAL(syscall)(SYS_process_vm_readv, getpid(), &mine, 1,
                            &theirs, 1, 0);
  while (n < 0 && errno == EFAULT && theirs.iov_len > 1) {
    theirs.iov_len = mine.iov_len = theirs.iov_len - 1;
    n = GP_REAL(syscall)(SYS_process_vm_readv, getpid(), &mine, 1, &theirs,
                         1, 0);
  }
  if (n <= 0) {
    errno = EFAULT;
    return -1;
  }
  errno = saved; /* the shorter reads' EFAULT was not the call's */
  strcpy(gp__coro_name(c), name);
  return 0;
}

GP_EXPORT int pthread_getname_np(pthread_t t, char *buf, size_t len) {
  gp_coro *c = coop_coro(t);
  if (c == NULL || gp__coro_is_main(c))
    return GP_REAL(pthread_getname_np)(t, buf, len);
  if (len < sizeof main_name)
    return ERANGE;
  strcpy(buf, gp__coro_name(c));
  return 0;
}
