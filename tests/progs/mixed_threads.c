/* mixed_threads: a thread made behind pthread_create's back (through
 * libc's own symbol, as a library that resolves it with dlsym may do)
 * shares a mutex and a counter with ordinary threads. Under the shim the
 * ordinary ones are coroutines and the other a real OS thread: the
 * mutex must still exclude, and nobody may hang. Prints key=value lines;
 * exits 0 when the count is exact. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define ROUNDS 20000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *worker(void *arg) {
  (void)arg;
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&mu);
    long v = counter;
    if (i % 1000 == 0)
      usleep(100); /* holds the mutex across a wait now and then */
    counter = v + 1;
    pthread_mutex_unlock(&mu);
  }
  return NULL;
}

int main(void) {
  void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  int (*libc_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
                     void *) = libc ? dlsym(libc, "pthread_create") : NULL;
  if (libc_create == NULL)
    return 2;
  pthread_t real, t[3];
  libc_create(&real, NULL, worker, NULL);
  for (int i = 0; i < 3; i++)
    pthread_create(&t[i], NULL, worker, NULL);
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  pthread_join(real, NULL);
  printf("counter=%ld\n", counter);
  return counter == 4L * ROUNDS ? 0 : 1;
}
