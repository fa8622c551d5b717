/* cancel_points: cancellation acts at sem_wait, both while blocked there
 * and when a unit is free, and at a write that would not block: a thread
 * that re-enables cancellation with a request pending is cancelled at its
 * next cancellation point, before the call does anything. Prints
 * key=value lines and threads=N; exits 0 when every check held.
 *
 *   sem_blocked_canceled  join of the thread blocked in sem_wait gave
 *                         PTHREAD_CANCELED
 *   sem_free_canceled     ... of the one that called sem_wait with a
 *                         unit free and a request pending
 *   sem_unit_kept         and that unit is still there
 *   write_canceled        join of the writer gave PTHREAD_CANCELED
 *   pipe_empty            and nothing reached the pipe
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <unistd.h>

#include "threads_now.h"

static sem_t empty_sem, full_sem;
static int pipefd[2];
static pthread_barrier_t gate;

static void *blocked_in_sem(void *arg) {
  (void)arg;
  sem_wait(&empty_sem);
  return "returned";
}

/* Disables cancellation until main has asked for it, then calls f. */
static void *late(void *arg) {
  int old;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  pthread_barrier_wait(&gate); /* main cancels us now */
  pthread_barrier_wait(&gate); /* done */
  pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old);
  if (arg == NULL)
    sem_wait(&full_sem);
  else
    write(pipefd[1], "x", 1);
  return "returned";
}

static int canceled_late(void *arg) {
  pthread_t t;
  void *ret = NULL;
  pthread_create(&t, NULL, late, arg);
  pthread_barrier_wait(&gate);
  pthread_cancel(t);
  pthread_barrier_wait(&gate);
  pthread_join(t, &ret);
  return ret == PTHREAD_CANCELED;
}

int main(void) {
  if (sem_init(&empty_sem, 0, 0) != 0 || sem_init(&full_sem, 0, 1) != 0 ||
      pipe2(pipefd, O_NONBLOCK) != 0 ||
      pthread_barrier_init(&gate, NULL, 2) != 0)
    return 2;

  pthread_t t;
  void *ret = NULL;
  pthread_create(&t, NULL, blocked_in_sem, NULL);
  usleep(50 * 1000); /* it blocks in sem_wait */
  printf("threads=%d\n", threads_now());
  pthread_cancel(t);
  pthread_join(t, &ret);
  int sem_blocked = ret == PTHREAD_CANCELED;

  int sem_free = canceled_late(NULL);
  int value = -1;
  sem_getvalue(&full_sem, &value);
  int wrote = canceled_late("w");
  char c;
  int empty = read(pipefd[0], &c, 1) == -1 && errno == EAGAIN;

  printf("sem_blocked_canceled=%d\nsem_free_canceled=%d\nsem_unit_kept=%d\n"
         "write_canceled=%d\npipe_empty=%d\n",
         sem_blocked, sem_free, value == 1, wrote, empty);
  return sem_blocked && sem_free && value == 1 && wrote && empty ? 0 : 1;
}
