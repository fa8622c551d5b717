/* c11_thrd.c: C11 <threads.h>, its threads (thrd_*) and thread-specific
 * storage (tss_*); the locks, condvars and call_once are the sync
 * family's (sync/c11_mtx.c). glibc implements them inside libc on its
 * internal pthread functions, without the PLT, so a C11 program would get
 * real threads beside the coroutines. Each is defined here on the pthread
 * hooks instead, with glibc's own mapping: the types share the pthread
 * layouts, and error numbers become thrd_* codes (c11.h). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>
#include <time.h>

#include "gp.h"
#include "thread/c11.h"

struct start {
  thrd_start_t fn;
  void *arg;
};

/* A C11 thread's int result travels as the pthread result, as in glibc. */
static void *c11_start(void *p) {
  struct start s = *(struct start *)p;
  free(p);
  return (void *)(intptr_t)s.fn(s.arg);
}

GP_EXPORT int thrd_create(thrd_t *t, thrd_start_t fn, void *arg) {
  struct start *s = malloc(sizeof *s);
  if (s == NULL)
    return thrd_nomem;
  *s = (struct start){fn, arg};
  int r = pthread_create((pthread_t *)t, NULL, c11_start, s);
  if (r != 0)
    free(s);
  return r == EAGAIN ? thrd_nomem : thrd_code(r);
}

GP_EXPORT int thrd_join(thrd_t t, int *res) {
  void *v;
  int r = pthread_join((pthread_t)t, &v);
  if (r == 0 && res)
    *res = (int)(intptr_t)v;
  return thrd_code(r);
}

GP_EXPORT int thrd_detach(thrd_t t) {
  return thrd_code(pthread_detach((pthread_t)t));
}

GP_EXPORT _Noreturn void thrd_exit(int res) {
  pthread_exit((void *)(intptr_t)res);
}

GP_EXPORT thrd_t thrd_current(void) { return (thrd_t)pthread_self(); }
GP_EXPORT int thrd_equal(thrd_t a, thrd_t b) { return a == b; }
GP_EXPORT void thrd_yield(void) { sched_yield(); }

/* 0, -1 when a signal interrupted it, another negative value on error. */
GP_EXPORT int thrd_sleep(const struct timespec *d, struct timespec *rem) {
  if (nanosleep(d, rem) == 0)
    return 0;
  return errno == EINTR ? -1 : -2;
}

GP_EXPORT int tss_create(tss_t *k, tss_dtor_t dtor) {
  return thrd_code(pthread_key_create((pthread_key_t *)k, dtor));
}

GP_EXPORT void *tss_get(tss_t k) { return pthread_getspecific(k); }

GP_EXPORT int tss_set(tss_t k, void *v) {
  return thrd_code(pthread_setspecific(k, v));
}

GP_EXPORT void tss_delete(tss_t k) { pthread_key_delete(k); }
