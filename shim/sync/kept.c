/* kept.c: which coroutine holds a mutex glibc keeps.
 *
 * glibc keeps process-shared and robust mutexes itself (sync.c): their
 * owner is the OS thread's tid, the same for every coroutine. So the shim
 * notes which coroutine took each such mutex that is robust, recursive or
 * error-checking, the kinds where the owner matters:
 *   - a recursive or error-checking one held by another coroutine is
 *     waited for (glibc would count a recursion or answer EDEADLK), and
 *     unlocking it gives EPERM;
 *   - a robust one is on the OS thread's robust list, which the kernel
 *     walks only when the thread dies: a coroutine that ends holding one
 *     must leave it as a dying thread does, so that the next locker gets
 *     EOWNERDEAD. When a coroutine ends (gp_kept_exit, after its key
 *     destructors, which may still unlock some), for each one it still
 *     holds:
 *   - takes it off the OS thread's robust list as glibc's unlock does
 *     (the thread lives on: its list must stay well formed; on x86-64 and
 *     aarch64 the list is doubly linked through __list, each link the
 *     address of a node's __next, and glibc keeps a word before the
 *     list head for the head's __prev);
 *   - does what the kernel does for a dead owner: the futex word becomes
 *     FUTEX_OWNER_DIED, keeping FUTEX_WAITERS, and one waiter is woken.
 * Priority-inheritance robust mutexes are left alone: the kernel owns
 * their state (a coroutine ending while holding one keeps it held).
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include "core/guard.h"
#include "core/hooks.h"
#include "real.h"
#include "sync/kept.h"

struct held {
  pthread_mutex_t *m;
  int owner; /* coroutine id */
};
static struct held *held; /* noted mutexes coroutines hold */
static size_t nheld, cap;

int gp_kept_noted(const pthread_mutex_t *m) {
  return (m->__data.__kind & (KIND_ROBUST | KIND_PI)) == KIND_ROBUST ||
         (m->__data.__kind & KIND_TYPE) == PTHREAD_MUTEX_RECURSIVE ||
         (m->__data.__kind & KIND_TYPE) == PTHREAD_MUTEX_ERRORCHECK;
}

/* The record of m, or NULL. */
static struct held *find(const pthread_mutex_t *m) {
  for (size_t i = nheld; i-- > 0;)
    if (held[i].m == m)
      return &held[i];
  return NULL;
}

int gp_kept_other(const pthread_mutex_t *m) {
  struct held *h = find(m);
  return h && gp__self() && h->owner != gp__coro_id(gp__self());
}

void gp_kept_taken(pthread_mutex_t *m, int r) {
  if ((r != 0 && r != EOWNERDEAD) || !gp__sched_here() || gp__self() == NULL ||
      find(m) != NULL) /* a recursion */
    return;
  if (nheld == cap) {
    size_t n = cap ? cap * 2 : 16;
    struct held *h = realloc(held, n * sizeof *h);
    if (h == NULL) {
      gp__log("mutex %p: out of memory to note which thread holds it: its "
              "owner checks and EOWNERDEAD may be wrong", (void *)m);
      return;
    }
    held = h;
    cap = n;
  }
  held[nheld++] = (struct held){m, gp__coro_id(gp__self())};
}

void gp_kept_released(pthread_mutex_t *m) {
  struct held *h = find(m);
  if (h && m->__data.__owner == 0) /* free: not one recursion less */
    *h = held[--nheld];
}

#ifdef __PTHREAD_MUTEX_HAVE_PREV
/* Takes d off the robust list it is on, as glibc's DEQUEUE_MUTEX. */
static void dequeue(struct __pthread_mutex_s *d) {
  const uintptr_t adjust = offsetof(__pthread_list_t, __next);
  uintptr_t nx = (uintptr_t)d->__list.__next;
  uintptr_t pv = (uintptr_t)d->__list.__prev;
  if (nx == 0 || pv == 0)
    return; /* on no list */
  __pthread_list_t *next = (__pthread_list_t *)((nx & ~1ul) - adjust);
  next->__prev = (__pthread_list_t *)pv;
  __pthread_list_t *prev = (__pthread_list_t *)((pv & ~1ul) - adjust);
  prev->__next = (__pthread_list_t *)(nx | ((uintptr_t)prev->__next & 1ul));
  d->__list.__prev = NULL;
  d->__list.__next = NULL;
}

/* What the kernel does for a robust mutex whose owner thread died. */
static void owner_died(pthread_mutex_t *m) {
  struct __pthread_mutex_s *d = &m->__data;
  dequeue(d);
  int old = __atomic_load_n(&d->__lock, __ATOMIC_RELAXED);
  int now;
  do
    now = FUTEX_OWNER_DIED | (old & FUTEX_WAITERS);
  while (!__atomic_compare_exchange_n(&d->__lock, &old, now, 0,
                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
  if (old & FUTEX_WAITERS)
    GP_REAL(syscall)(SYS_futex, &d->__lock,
                     (d->__kind & KIND_REAL) ? FUTEX_WAKE
                                               : FUTEX_WAKE_PRIVATE,
                     1, NULL, NULL, 0);
}
#else
static void owner_died(pthread_mutex_t *m) {
  gp__log("robust mutex %p: its thread ended holding it; on this machine "
          "it stays held", (void *)m);
}
#endif

/* The hooks table's exit function after the key destructors
 * (core/hooks.c): the robust mutexes ending coroutine c still holds get a
 * dead owner, as the kernel marks those of a thread that has gone. */
void gp_kept_exit(gp_coro *c) {
  int id = gp__coro_id(c);
  for (size_t i = nheld; i-- > 0;)
    if (held[i].owner == id) {
      pthread_mutex_t *m = held[i].m;
      held[i] = held[--nheld];
      if ((m->__data.__kind & (KIND_ROBUST | KIND_PI)) == KIND_ROBUST)
        owner_died(m);
      /* else held for good, as by a thread that ended natively */
    }
}

/* In a forked child only the forking coroutine lives on. */
void gp_kept_fork(void) {
  gp_coro *self = gp__self();
  int id = self ? gp__coro_id(self) : 0;
  for (size_t i = nheld; i-- > 0;)
    if (held[i].owner != id)
      held[i] = held[--nheld];
}
