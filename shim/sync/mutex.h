/* mutex.h: what the cooperative mutex (mutex.c) offers the condvar
 * (cond.c). */
#ifndef GP_MUTEX_H
#define GP_MUTEX_H

#include <pthread.h>

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

/* Releases m, held by the running coroutine, as a condvar wait begins
 * (inside the runtime): hands it to its first waiter or frees it, through
 * glibc for a mutex glibc keeps. Returns 0 or EPERM (not held by the
 * running coroutine). */
int gp_mutex_unlock_to_wait(pthread_mutex_t *m);

/* Takes m again for the running coroutine as a condvar wait ends (inside
 * the runtime), parking while another holds it. Returns 0, or for a mutex
 * glibc keeps what its trylock returned (EOWNERDEAD: held, but
 * inconsistent). */
int gp_mutex_relock_after_wait(pthread_mutex_t *m);

#pragma GCC visibility pop

#endif
