/* key_robust: a thread ends holding a robust mutex, and the destructor of
 * one of its thread-specific values unlocks it. Key destructors run while
 * the thread still lives (glibc runs them in pthread_exit, before the
 * kernel releases the robust list), so the unlock succeeds and the next
 * locker gets the mutex plainly, not EOWNERDEAD. Prints key=value lines
 * and threads=N; exits 0 when every check held.
 *
 *   dtor_ran      the destructor ran once
 *   dtor_unlock   what its pthread_mutex_unlock returned (0)
 *   next_lock     main's pthread_mutex_lock afterwards (0, not
 *                 EOWNERDEAD = 130)
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "threads_now.h"

static pthread_mutex_t m;
static pthread_key_t key;
static pthread_barrier_t gate;
static int dtor_ran, dtor_unlock = -1;

static void unlock_dtor(void *v) {
  dtor_ran++;
  dtor_unlock = pthread_mutex_unlock(v);
}

static void *holder(void *arg) {
  (void)arg;
  pthread_mutex_lock(&m);
  pthread_setspecific(key, &m);
  pthread_barrier_wait(&gate); /* main counts the threads */
  pthread_barrier_wait(&gate);
  return NULL; /* ends holding m: its destructor unlocks it */
}

int main(void) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&m, &a);
  pthread_mutexattr_destroy(&a);
  pthread_key_create(&key, unlock_dtor);
  pthread_barrier_init(&gate, NULL, 2);
  pthread_t t;
  pthread_create(&t, NULL, holder, NULL);
  pthread_barrier_wait(&gate);
  printf("threads=%d\n", threads_now());
  pthread_barrier_wait(&gate);
  pthread_join(t, NULL);
  int next = pthread_mutex_lock(&m);
  if (next == EOWNERDEAD)
    pthread_mutex_consistent(&m);
  pthread_mutex_unlock(&m);
  printf("dtor_ran=%d\ndtor_unlock=%d\nnext_lock=%d\n", dtor_ran,
         dtor_unlock, next);
  return dtor_ran == 1 && dtor_unlock == 0 && next == 0 ? 0 : 1;
}
