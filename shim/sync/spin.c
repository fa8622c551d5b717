/* spin.c: pthread_spin_lock yields instead of spinning.
 *
 * A spinlock held by another coroutine is released only when that
 * coroutine runs again, and on one OS thread it never does while we spin:
 * so a coroutine that finds the lock taken gives the others a turn
 * (gp__yield) between attempts. glibc's own try-lock makes each attempt,
 * so the lock word stays glibc's (x86-64: 1 free, 0 held) and
 * pthread_spin_trylock (EBUSY), unlock, init and destroy stay glibc's.
 * Off the scheduler thread, the real lock spins as usual.
 */
#include <errno.h>
#include <pthread.h>

#include "core/guard.h"
#include "real.h"

GP_EXPORT int pthread_spin_lock(pthread_spinlock_t *l) {
  if (!gp_coop(GP_FAM_SYNC) || gp__current == NULL)
    return GP_REAL(pthread_spin_lock)(l);
  while (GP_REAL(pthread_spin_trylock)(l) != 0) {
    gp_enter();
    gp__yield();
    gp_leave();
  }
  return 0;
}
