/* c11_mtx.c: C11 <threads.h>, its mutexes (mtx_*), condition variables
 * (cnd_*) and call_once. glibc implements them inside libc on its
 * internal pthread functions, without the PLT, so a C11 program would get
 * real locks beside the coroutines. Each is defined here on the pthread
 * hooks instead, with glibc's own mapping: the types share the pthread
 * layouts, and error numbers become thrd_* codes (thread/c11.h). */
#include <pthread.h>
#include <threads.h>
#include <time.h>

#include "gp.h"
#include "thread/c11.h"

GP_EXPORT int mtx_init(mtx_t *m, int type) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  if (type & mtx_recursive)
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  int r = pthread_mutex_init((pthread_mutex_t *)m, &a);
  pthread_mutexattr_destroy(&a);
  return thrd_code(r);
}

GP_EXPORT int mtx_lock(mtx_t *m) {
  return thrd_code(pthread_mutex_lock((pthread_mutex_t *)m));
}

GP_EXPORT int mtx_trylock(mtx_t *m) {
  return thrd_code(pthread_mutex_trylock((pthread_mutex_t *)m));
}

GP_EXPORT int mtx_timedlock(mtx_t *restrict m,
                            const struct timespec *restrict ts) {
  return thrd_code(pthread_mutex_timedlock((pthread_mutex_t *)m, ts));
}

GP_EXPORT int mtx_unlock(mtx_t *m) {
  return thrd_code(pthread_mutex_unlock((pthread_mutex_t *)m));
}

GP_EXPORT void mtx_destroy(mtx_t *m) {
  pthread_mutex_destroy((pthread_mutex_t *)m);
}

GP_EXPORT int cnd_init(cnd_t *c) {
  return thrd_code(pthread_cond_init((pthread_cond_t *)c, NULL));
}

GP_EXPORT int cnd_signal(cnd_t *c) {
  return thrd_code(pthread_cond_signal((pthread_cond_t *)c));
}

GP_EXPORT int cnd_broadcast(cnd_t *c) {
  return thrd_code(pthread_cond_broadcast((pthread_cond_t *)c));
}

GP_EXPORT int cnd_wait(cnd_t *c, mtx_t *m) {
  return thrd_code(pthread_cond_wait((pthread_cond_t *)c,
                                     (pthread_mutex_t *)m));
}

GP_EXPORT int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m,
                            const struct timespec *restrict ts) {
  return thrd_code(pthread_cond_timedwait((pthread_cond_t *)c,
                                          (pthread_mutex_t *)m, ts));
}

GP_EXPORT void cnd_destroy(cnd_t *c) {
  pthread_cond_destroy((pthread_cond_t *)c);
}

GP_EXPORT void call_once(once_flag *flag, void (*fn)(void)) {
  pthread_once((pthread_once_t *)flag, fn);
}
