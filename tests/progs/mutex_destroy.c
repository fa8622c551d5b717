/* mutex_destroy: pthread_mutex_destroy right after patterns real thread
 * libraries use, which glibc answers with 0.
 *
 *   early   a default mutex locked by main before the first thread
 *           exists, unlocked after one was created, then destroyed
 *   handoff a thread unlocks a mutex another thread waits for and
 *           destroys it at once (the waiter has not run yet)
 *   cond    a mutex held across a condvar wait is in use: destroying it
 *           from the signalling thread while the waiter waits gives EBUSY
 *           natively (glibc counts the waiter as a user), then 0 once the
 *           waiter returned and unlocked it
 *   held    a mutex held by another thread: EBUSY, then 0 once released
 *
 * Prints threads=N and one key=value line per case (the destroy's return
 * value), and exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "threads_now.h"

static pthread_mutex_t early = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t handoff = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static int waiting, go, threads;

static void *noop(void *arg) { return arg; }

static void *locker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&handoff); /* waits: main holds it */
  return NULL;
}

static void *cond_waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&cmu);
  waiting = 1;
  while (!go)
    pthread_cond_wait(&cv, &cmu);
  pthread_mutex_unlock(&cmu);
  return NULL;
}

static void *holder(void *arg) {
  (void)arg;
  pthread_mutex_lock(&held);
  usleep(100000);
  pthread_mutex_unlock(&held);
  return NULL;
}

int main(void) {
  pthread_t t;
  pthread_mutex_lock(&early);
  pthread_create(&t, NULL, noop, NULL);
  pthread_join(t, NULL);
  pthread_mutex_unlock(&early);
  printf("early=%d\n", pthread_mutex_destroy(&early));

  pthread_mutex_lock(&handoff);
  pthread_create(&t, NULL, locker, NULL);
  usleep(100000); /* the locker waits now */
  threads = threads_now();
  pthread_mutex_unlock(&handoff);
  printf("handoff=%d\n", pthread_mutex_destroy(&handoff));
  pthread_join(t, NULL);

  pthread_create(&t, NULL, cond_waiter, NULL);
  for (;;) {
    pthread_mutex_lock(&cmu);
    int w = waiting;
    pthread_mutex_unlock(&cmu);
    if (w)
      break;
    usleep(1000);
  }
  printf("cond_waiting=%d\n", pthread_mutex_destroy(&cmu));
  pthread_mutex_lock(&cmu);
  go = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&cmu);
  pthread_join(t, NULL);
  printf("cond_done=%d\n", pthread_mutex_destroy(&cmu));

  pthread_create(&t, NULL, holder, NULL);
  usleep(20000);
  printf("held=%d\n", pthread_mutex_destroy(&held));
  pthread_join(t, NULL);
  printf("released=%d\n", pthread_mutex_destroy(&held));
  printf("threads=%d\n", threads);
  return 0;
}
