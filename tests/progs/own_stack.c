/* own_stack: threads on stacks the program allocates itself
 * (pthread_attr_setstack), beside threads with a size only. Each thread
 * checks that a local variable lies inside the stack it was given, and
 * pthread_getattr_np reports that stack. Prints key=value lines. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define N 4
#define SIZE (256 * 1024)

static char *stacks[N];

static void *on_own(void *arg) {
  int i = (int)(intptr_t)arg;
  char here;
  int inside = &here >= stacks[i] && &here < stacks[i] + SIZE;
  pthread_attr_t a;
  void *lo = NULL;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &a) == 0) {
    pthread_attr_getstack(&a, &lo, &size);
    pthread_attr_destroy(&a);
  }
  usleep(10 * 1000);
  return (void *)(intptr_t)(inside && lo == stacks[i] && size == SIZE);
}

static void *sized(void *arg) {
  usleep(10 * 1000);
  return arg;
}

int main(void) {
  pthread_t t[N], u[N];
  int own_ok = 0, sized_ok = 0;
  for (int i = 0; i < N; i++) {
    pthread_attr_t a;
    pthread_attr_init(&a);
    if (posix_memalign((void **)&stacks[i], 4096, SIZE) != 0)
      return 2;
    pthread_attr_setstack(&a, stacks[i], SIZE);
    pthread_create(&t[i], &a, on_own, (void *)(intptr_t)i);
    pthread_attr_destroy(&a);
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 128 * 1024);
    pthread_create(&u[i], &a, sized, (void *)1);
    pthread_attr_destroy(&a);
  }
  for (int i = 0; i < N; i++) {
    void *r;
    pthread_join(t[i], &r);
    own_ok += r != NULL;
    pthread_join(u[i], &r);
    sized_ok += r != NULL;
  }
  printf("own_ok=%d\nsized_ok=%d\n", own_ok, sized_ok);
  return own_ok == N && sized_ok == N ? 0 : 1;
}
