/* robust.h: robust mutexes whose owner coroutine ends (robust.c). */
#ifndef GP_ROBUST_H
#define GP_ROBUST_H

#include <pthread.h>

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

/* 1 for a robust mutex this file looks after (not priority-inheritance). */
int gp_robust_kind(const pthread_mutex_t *m);
/* After glibc's lock of robust m returned r for the running coroutine. */
void gp_robust_taken(pthread_mutex_t *m, int r);
/* After glibc's unlock of robust m succeeded. */
void gp_robust_released(pthread_mutex_t *m);
/* In a forked child. */
void gp_robust_fork(void);

#pragma GCC visibility pop

#endif
