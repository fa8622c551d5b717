/* keys.c: thread-specific data per coroutine: pthread_key_create,
 * pthread_key_delete, pthread_getspecific, pthread_setspecific.
 *
 * glibc keeps the values in the OS thread's descriptor, which every
 * coroutine shares; so each coroutine (but the main one, which keeps
 * glibc's storage) gets its own table, in blocks of 32 values allocated on
 * first use. Keys themselves still come from glibc. A key's generation
 * changes when it is deleted, so a value stored under a deleted key is
 * never seen through a new key with the same number. Destructors run when
 * the coroutine ends, for up to PTHREAD_DESTRUCTOR_ITERATIONS rounds, as
 * glibc runs them.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/guard.h"
#include "core/hooks.h"
#include "real.h"

#define BLOCK 32
#define NBLOCKS (PTHREAD_KEYS_MAX / BLOCK)

struct slot {
  unsigned gen;    /* the key's generation when the value was stored */
  const void *val;
};

struct gp_keyvals {
  struct slot *blocks[NBLOCKS];
};

static void (*dtors[PTHREAD_KEYS_MAX])(void *);
static unsigned gens[PTHREAD_KEYS_MAX]; /* odd while the key exists */

/* The table of the running coroutine, or NULL where glibc's storage
 * serves (the main coroutine, other OS threads, runtime code). */
static struct gp_keyvals **table(void) {
  if (!gp__sched_here() || gp__tls.inside || gp__self() == NULL ||
      gp__coro_is_main(gp__self()))
    return NULL;
  return &gp_shim(gp__self())->keys;
}

GP_EXPORT int pthread_key_create(pthread_key_t *key, void (*dtor)(void *)) {
  int r = GP_REAL(pthread_key_create)(key, dtor);
  if (r == 0 && *key < PTHREAD_KEYS_MAX) {
    dtors[*key] = dtor;
    __atomic_add_fetch(&gens[*key], 1, __ATOMIC_RELAXED);
  }
  return r;
}

GP_EXPORT int pthread_key_delete(pthread_key_t key) {
  int r = GP_REAL(pthread_key_delete)(key);
  if (r == 0 && key < PTHREAD_KEYS_MAX) {
    dtors[key] = NULL;
    __atomic_add_fetch(&gens[key], 1, __ATOMIC_RELAXED);
  }
  return r;
}

GP_EXPORT void *pthread_getspecific(pthread_key_t key) {
  struct gp_keyvals **t = table();
  if (t == NULL)
    return GP_REAL(pthread_getspecific)(key);
  if (key >= PTHREAD_KEYS_MAX || *t == NULL ||
      (*t)->blocks[key / BLOCK] == NULL)
    return NULL;
  struct slot *s = &(*t)->blocks[key / BLOCK][key % BLOCK];
  return s->gen == gens[key] ? (void *)s->val : NULL;
}

GP_EXPORT int pthread_setspecific(pthread_key_t key, const void *val) {
  struct gp_keyvals **t = table();
  if (t == NULL)
    return GP_REAL(pthread_setspecific)(key, val);
  if (key >= PTHREAD_KEYS_MAX || (gens[key] & 1) == 0)
    return EINVAL;
  if (*t == NULL && (*t = calloc(1, sizeof **t)) == NULL)
    return ENOMEM;
  struct slot **b = &(*t)->blocks[key / BLOCK];
  if (*b == NULL && (*b = calloc(BLOCK, sizeof **b)) == NULL)
    return ENOMEM;
  (*b)[key % BLOCK] = (struct slot){gens[key], val};
  return 0;
}

/* The hooks table's first exit function (core/hooks.c): runs the
 * destructors of ending coroutine c (in it, as program code, while its
 * mutexes are still its own), then frees its table. */
void gp_keys_exit(gp_coro *c) {
  struct gp_keyvals **t = &gp_shim(c)->keys;
  if (*t == NULL)
    return;
  for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; round++) {
    int again = 0;
    for (int k = 0; k < PTHREAD_KEYS_MAX; k++) {
      struct slot *b = (*t)->blocks[k / BLOCK];
      if (b == NULL) {
        k += BLOCK - 1;
        continue;
      }
      struct slot *s = &b[k % BLOCK];
      void (*d)(void *) = dtors[k];
      if (s->val == NULL || s->gen != gens[k] || d == NULL)
        continue;
      void *v = (void *)s->val;
      s->val = NULL;
      gp_leave();
      d(v);
      gp_enter();
      again = 1;
    }
    if (!again)
      break;
  }
  for (int i = 0; i < NBLOCKS; i++)
    free((*t)->blocks[i]);
  free(*t);
  *t = NULL;
}
