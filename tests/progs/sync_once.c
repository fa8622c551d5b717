/* sync_once: pthread_once with a slow routine called by many threads.
 *
 *   sync_once THREADS [nested|exit]
 *
 * Every thread calls pthread_once on one control whose routine sleeps
 * 100 ms (so the others arrive while it runs) and then sets a flag. The
 * routine runs once (runs=1) and every caller returns only after it is
 * done (saw_done=THREADS). A second control is run by main before any
 * thread exists and is then done for everyone (early_runs=1). With
 * "nested", main runs the slow routine itself and the routine creates the
 * threads: they wait for main's call to finish. With "exit", the first
 * run of the routine ends its thread with pthread_exit: the control is
 * then not run, and one of the waiting callers runs it again (runs=2,
 * saw_done=THREADS-1). Prints
 * key=value lines; threads is the OS thread count while they wait.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "threads_now.h"

enum { MAX_THREADS = 256 };

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_once_t early = PTHREAD_ONCE_INIT;
static int runs, early_runs, done, saw_done;

static int exiting;

static void slow_init(void) {
  int run = __atomic_add_fetch(&runs, 1, __ATOMIC_SEQ_CST);
  usleep(100000);
  if (exiting && run == 1)
    pthread_exit(NULL);
  __atomic_store_n(&done, 1, __ATOMIC_SEQ_CST);
}

static void early_init(void) { early_runs++; }

static int nthreads, nested;
static pthread_t t[MAX_THREADS];
/* The plain form's start gate: main counts the OS threads while every
 * worker is held here, alive. */
static pthread_barrier_t gate;
static void *worker(void *arg);

/* The nested form: the routine starts the threads, which call
 * pthread_once on the control whose routine is still running. */
static void creating_init(void) {
  for (int i = 0; i < nthreads; i++)
    pthread_create(&t[i], NULL, worker, NULL);
  slow_init();
}

static void *worker(void *arg) {
  (void)arg;
  if (!nested)
    pthread_barrier_wait(&gate);
  pthread_once(&once, nested ? creating_init : slow_init);
  if (__atomic_load_n(&done, __ATOMIC_SEQ_CST))
    __atomic_fetch_add(&saw_done, 1, __ATOMIC_SEQ_CST);
  pthread_once(&early, early_init);
  return NULL;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  int n = nthreads = argc > 1 ? atoi(argv[1]) : 0;
  nested = argc > 2 && strcmp(argv[2], "nested") == 0;
  exiting = argc > 2 && strcmp(argv[2], "exit") == 0;
  if (n < 1 || n > MAX_THREADS)
    return 2;
  pthread_once(&early, early_init);
  int threads = -1;
  if (nested) {
    pthread_once(&once, creating_init);
  } else {
    pthread_barrier_init(&gate, NULL, (unsigned)n + 1);
    for (int i = 0; i < n; i++)
      pthread_create(&t[i], NULL, worker, NULL);
    threads = threads_now(); /* every worker exists: none is past gate */
    pthread_barrier_wait(&gate);
  }
  for (int i = 0; i < n; i++)
    pthread_join(t[i], NULL);
  if (threads >= 0)
    printf("threads=%d\n", threads);
  printf("runs=%d\nsaw_done=%d\nearly_runs=%d\n", runs,
         saw_done, early_runs);
  return runs == 1 + exiting && saw_done == n - exiting && early_runs == 1
             ? 0
             : 1;
}
