/* kept.h: the holders of mutexes glibc keeps (kept.c). */
#ifndef GP_KEPT_H
#define GP_KEPT_H

#include <pthread.h>

/* The bits of glibc's pthread_mutex_t __kind that the shim reads. */
#define KIND_TYPE 3     /* PTHREAD_MUTEX_{NORMAL,RECURSIVE,ERRORCHECK} */
#define KIND_ROBUST 16  /* PTHREAD_MUTEX_ROBUST_NORMAL_NP */
#define KIND_PI 32      /* PTHREAD_MUTEX_PRIO_INHERIT_NP */
#define KIND_REAL 128   /* the pshared bit (glibc sets it on robust ones too) */

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

/* 1 for a mutex glibc keeps whose holder coroutine this file notes:
 * robust (not priority-inheritance), recursive or error-checking. */
int gp_kept_noted(const pthread_mutex_t *m);
/* 1 when another coroutine than the running one holds m. */
int gp_kept_other(const pthread_mutex_t *m);
/* After glibc's lock of robust m returned r for the running coroutine. */
void gp_kept_taken(pthread_mutex_t *m, int r);
/* After glibc's unlock of robust m succeeded. */
void gp_kept_released(pthread_mutex_t *m);
/* In a forked child. */
void gp_kept_fork(void);

#pragma GCC visibility pop

#endif
