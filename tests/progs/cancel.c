/* cancel: deferred cancellation of threads blocked at cancellation points
 * (read on a pipe, sleep, pthread_cond_wait, accept via poll), with
 * cleanup handlers pushed two deep (run innermost first), a thread that disables cancellation
 * for a while, and pthread_testcancel in a loop. Every join must give
 * PTHREAD_CANCELED and the handlers must run innermost first; a thread
 * that disabled cancellation finishes its critical part first. Prints
 * key=value lines; exits 0 when all held. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int pipefd[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char order[64];
static int held_in_cleanup, critical_done, spins;

static int sleeper_cleaned;

/* The reader's handlers note their order; only the reader uses it. */
static void note(void *arg) { strcat(order, arg); }

static void sleeper_cleanup(void *arg) {
  (void)arg;
  sleeper_cleaned = 1;
}

static void unlock_mu(void *arg) {
  (void)arg;
  held_in_cleanup = pthread_mutex_trylock(&mu) != 0; /* we hold it */
  pthread_mutex_unlock(&mu);
}

static void *reader(void *arg) {
  (void)arg;
  char c;
  pthread_cleanup_push(note, "a");
  pthread_cleanup_push(note, "b");
  read(pipefd[0], &c, 1);
  pthread_cleanup_pop(0);
  pthread_cleanup_pop(0);
  return NULL;
}

static void *sleeper(void *arg) {
  (void)arg;
  pthread_cleanup_push(sleeper_cleanup, NULL);
  sleep(30);
  pthread_cleanup_pop(0);
  return NULL;
}

static void *waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  pthread_cleanup_push(unlock_mu, NULL);
  for (;;)
    pthread_cond_wait(&cv, &mu);
  pthread_cleanup_pop(1);
  return NULL;
}

static void *guarded(void *arg) {
  (void)arg;
  int old;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  usleep(100 * 1000); /* the request comes meanwhile: no effect yet */
  critical_done = 1;
  pthread_setcancelstate(old, NULL);
  usleep(30 * 1000 * 1000);
  return NULL;
}

static void *spinner(void *arg) {
  (void)arg;
  for (;;) {
    spins++;
    pthread_testcancel();
    sched_yield();
  }
  return NULL;
}

int main(void) {
  if (pipe(pipefd) != 0)
    return 2;
  void *(*fns[])(void *) = {reader, sleeper, waiter, guarded, spinner};
  enum { N = 5 };
  pthread_t t[N];
  for (int i = 0; i < N; i++)
    pthread_create(&t[i], NULL, fns[i], NULL);
  usleep(50 * 1000); /* all blocked or spinning */
  for (int i = 0; i < N; i++)
    pthread_cancel(t[i]);
  int canceled = 0;
  for (int i = 0; i < N; i++) {
    void *r = NULL;
    pthread_join(t[i], &r);
    canceled += r == PTHREAD_CANCELED;
  }
  printf("canceled=%d\norder=%s\nsleeper_cleaned=%d\nheld_in_cleanup=%d\n"
         "critical_done=%d\nspun=%d\n",
         canceled, order, sleeper_cleaned, held_in_cleanup, critical_done,
         spins > 0);
  return canceled == N && strcmp(order, "ba") == 0 && sleeper_cleaned &&
                 held_in_cleanup && critical_done
             ? 0
             : 1;
}
