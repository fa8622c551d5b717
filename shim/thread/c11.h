/* c11.h: glibc's thrd_err_map, shared by the C11 <threads.h> files of
 * the thread family (c11_thrd.c) and the sync family (sync/c11_mtx.c). */
#ifndef GP_C11_H
#define GP_C11_H

#include <errno.h>
#include <threads.h>

/* The thrd_* code of a pthread call's result err, as glibc maps it. */
static inline int thrd_code(int err) {
  switch (err) {
  case 0: return thrd_success;
  case ENOMEM: return thrd_nomem;
  case ETIMEDOUT: return thrd_timedout;
  case EBUSY: return thrd_busy;
  default: return thrd_error;
  }
}

#endif
