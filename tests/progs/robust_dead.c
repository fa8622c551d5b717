/* robust_dead: a robust mutex whose owner thread ends holding it. The
 * next locker gets EOWNERDEAD, also one already waiting for it; after
 * pthread_mutex_consistent the mutex works again; without it, unlocking
 * makes the mutex unrecoverable. A condvar wait with a robust mutex
 * works too. Prints key=value lines and threads=N; exits 0 when every
 * check held.
 *
 *   waiter_got        what a thread blocked in lock got when the owner ended
 *   consistent_then   lock after pthread_mutex_consistent + unlock
 *   later_got         lock after the next owner ended too
 *   unrecoverable     lock after an unlock without consistent
 *   cond_ok           a condvar hand-off with a robust mutex
 *   outer_ok          a robust mutex main held meanwhile unlocks and
 *                     locks again (the thread's robust list stayed whole)
 *   shared_errcheck   trylock,unlock by main of a process-shared
 *                     error-checking mutex another thread holds
 *   shared_recursive  trylock by main of a process-shared recursive one
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "threads_now.h"

static pthread_mutex_t m1, m2, m3, outer;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int waiter_got = -1, flag;

static const char *name(int r) {
  switch (r) {
  case 0:
    return "0";
  case EOWNERDEAD:
    return "EOWNERDEAD";
  case ENOTRECOVERABLE:
    return "ENOTRECOVERABLE";
  case EBUSY:
    return "EBUSY";
  case EPERM:
    return "EPERM";
  default:
    return strerror(r);
  }
}

/* The first owner of m1 and its waiter meet main here: the owner holds
 * m1 before the waiter tries it, and neither can end before main has
 * counted the OS threads. */
static pthread_barrier_t first;

static void *take_and_end(void *m) {
  pthread_mutex_lock(m);
  if (m == &m1)
    pthread_barrier_wait(&first);
  usleep(50 * 1000); /* the waiter blocks meanwhile */
  return NULL;       /* ends holding it */
}

static void *waiter(void *arg) {
  (void)arg;
  pthread_barrier_wait(&first);
  waiter_got = pthread_mutex_lock(&m1);
  if (waiter_got == EOWNERDEAD)
    pthread_mutex_consistent(&m1);
  pthread_mutex_unlock(&m1);
  return NULL;
}

static void *signaller(void *arg) {
  (void)arg;
  pthread_mutex_lock(&m3);
  flag = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&m3);
  return NULL;
}

static pthread_mutex_t se, sr;
static pthread_barrier_t gate;

static void *hold_shared(void *arg) {
  (void)arg;
  pthread_mutex_lock(&se);
  pthread_mutex_lock(&sr);
  pthread_barrier_wait(&gate); /* main tries them now */
  pthread_barrier_wait(&gate);
  pthread_mutex_unlock(&sr);
  pthread_mutex_unlock(&se);
  return NULL;
}

static void init_shared(pthread_mutex_t *m, int type) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_settype(&a, type);
  pthread_mutex_init(m, &a);
  pthread_mutexattr_destroy(&a);
}

static void init(pthread_mutex_t *m) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(m, &a);
  pthread_mutexattr_destroy(&a);
}

int main(void) {
  init(&m1);
  init(&m2);
  init(&m3);
  init(&outer);
  pthread_t a, b;
  pthread_barrier_init(&first, NULL, 3);
  pthread_create(&a, NULL, take_and_end, &m1);
  pthread_create(&b, NULL, waiter, NULL);
  printf("threads=%d\n", threads_now());
  pthread_barrier_wait(&first);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  int again = pthread_mutex_lock(&m1);
  pthread_mutex_unlock(&m1);

  pthread_mutex_lock(&outer); /* on main's robust list, before m2 */
  pthread_create(&a, NULL, take_and_end, &m2);
  pthread_join(a, NULL);
  int later = pthread_mutex_lock(&m2); /* EOWNERDEAD: not made consistent */
  pthread_mutex_unlock(&m2);
  int unrec = pthread_mutex_lock(&m2);
  int outer_ok = pthread_mutex_unlock(&outer) == 0 &&
                 pthread_mutex_lock(&outer) == 0 &&
                 pthread_mutex_unlock(&outer) == 0;

  init_shared(&se, PTHREAD_MUTEX_ERRORCHECK);
  init_shared(&sr, PTHREAD_MUTEX_RECURSIVE);
  pthread_barrier_init(&gate, NULL, 2);
  pthread_create(&a, NULL, hold_shared, NULL);
  pthread_barrier_wait(&gate);
  int se_try = pthread_mutex_trylock(&se), se_unlock = pthread_mutex_unlock(&se);
  int sr_try = pthread_mutex_trylock(&sr);
  pthread_barrier_wait(&gate);
  pthread_join(a, NULL);

  pthread_mutex_lock(&m3);
  pthread_create(&a, NULL, signaller, NULL);
  int cw = 0;
  while (!flag && cw == 0)
    cw = pthread_cond_wait(&cv, &m3);
  pthread_mutex_unlock(&m3);
  pthread_join(a, NULL);

  printf("waiter_got=%s\nconsistent_then=%s\nlater_got=%s\n"
         "unrecoverable=%s\ncond_ok=%d\nouter_ok=%d\n"
         "shared_errcheck=%s,%s\nshared_recursive=%s\n",
         name(waiter_got), name(again), name(later), name(unrec),
         cw == 0 && flag, outer_ok, name(se_try), name(se_unlock),
         name(sr_try));
  return waiter_got == EOWNERDEAD && again == 0 && later == EOWNERDEAD &&
                 unrec == ENOTRECOVERABLE && cw == 0 && flag && outer_ok &&
                 se_try == EBUSY && se_unlock == EPERM && sr_try == EBUSY
             ? 0
             : 1;
}
