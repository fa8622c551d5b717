/* tls_dlopen: a library with initial-exec TLS (libietls.so, beside this
 * program) loaded by dlopen in one of 8 threads that exist already.
 *
 * Every thread, main and a thread made after the load then read it: its
 * initial value (ie_init: threads that read 42), its zeroed part
 * (ie_zero), and what the library's constructor wrote in the thread that
 * called dlopen (ie_ctor_caller: 1 when that thread saw 43; ie_ctor_others:
 * the other threads that saw 0). Each thread then sets its own value,
 * parks and checks it (ie_own). main_ie and new_ie: main and a new thread
 * read 42. Prints threads (OS threads while all of its threads live).
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "threads_now.h"

#define N 8

static int (*ie_get)(void), (*ie_zero_get)(void), (*ie_ctor_get)(void);
static void (*ie_set)(int);
static pthread_barrier_t up, loaded, counted;
static int ie_init, ie_zero, ie_ctor_caller, ie_ctor_others, ie_own;
static char lib[PATH_MAX];

static void load(void) {
  void *h = dlopen(lib, RTLD_NOW);
  if (h == NULL) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    exit(1);
  }
  ie_get = (int (*)(void))dlsym(h, "ie_get");
  ie_set = (void (*)(int))dlsym(h, "ie_set");
  ie_zero_get = (int (*)(void))dlsym(h, "ie_zero_get");
  ie_ctor_get = (int (*)(void))dlsym(h, "ie_ctor_get");
  if (!ie_get || !ie_set || !ie_zero_get || !ie_ctor_get)
    exit(1);
}

static void add(int *n, int yes) {
  __atomic_add_fetch(n, yes, __ATOMIC_RELAXED);
}

static void *reader(void *arg) {
  int i = (int)(long)arg;
  pthread_barrier_wait(&up);
  if (i == 0)
    load();
  pthread_barrier_wait(&loaded);
  pthread_barrier_wait(&counted);
  add(&ie_init, ie_get() == 42);
  add(&ie_zero, ie_zero_get() == 0);
  if (i == 0)
    ie_ctor_caller = ie_ctor_get() == 43;
  else
    add(&ie_ctor_others, ie_ctor_get() == 0);
  ie_set(100 + i);
  for (int k = 0; k < 4; k++) {
    usleep(1000);
    sched_yield();
  }
  add(&ie_own, ie_get() == 100 + i);
  return NULL;
}

static void *late(void *arg) {
  (void)arg;
  return (void *)(long)(ie_get() == 42 && ie_zero_get() == 0);
}

int main(void) {
  pthread_t t[N], l;
  void *r;
  ssize_t n = readlink("/proc/self/exe", lib, sizeof lib - 32);
  if (n <= 0)
    return 1;
  lib[n] = '\0';
  strcpy(strrchr(lib, '/') + 1, "libietls.so");
  pthread_barrier_init(&up, NULL, N + 1);
  pthread_barrier_init(&loaded, NULL, N + 1);
  pthread_barrier_init(&counted, NULL, N + 1);
  for (int i = 0; i < N; i++)
    pthread_create(&t[i], NULL, reader, (void *)(long)i);
  pthread_barrier_wait(&up);
  pthread_barrier_wait(&loaded);
  printf("threads=%d\n", threads_now());
  pthread_barrier_wait(&counted);
  for (int i = 0; i < N; i++)
    pthread_join(t[i], NULL);
  int main_ie = ie_get() == 42 && ie_zero_get() == 0 && ie_ctor_get() == 0;
  pthread_create(&l, NULL, late, NULL);
  pthread_join(l, &r);
  printf("ie_init=%d\nie_zero=%d\nie_ctor_caller=%d\nie_ctor_others=%d\n"
         "ie_own=%d\nmain_ie=%d\nnew_ie=%ld\n", ie_init, ie_zero,
         ie_ctor_caller, ie_ctor_others, ie_own, main_ie, (long)r);
  return 0;
}
