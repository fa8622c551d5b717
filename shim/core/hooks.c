/* hooks.c: the one table of what the runtime calls back into the shim,
 * and what it reserves for it. gp_init hands it to the runtime
 * (gp__rt_set_hooks) before the runtime can start; nothing registers
 * itself anywhere else, so the order of every list is the one written
 * here, never link order.
 *
 * When a coroutine ends, in it, in this order (as glibc's pthread_exit
 * and then the kernel end a thread):
 *   1. with private TLS, its C++ thread_local destructors run
 *      (thread/tls_dtors.c), as glibc runs __call_tls_dtors first;
 *   2. its key destructors run (thread/keys.c): the thread still lives,
 *      so a destructor may still use or unlock a mutex it holds;
 *   3. the robust mutexes it still holds get a dead owner (sync/kept.c),
 *      as the kernel does for a thread's robust list once it has gone;
 *   4. the C API's task it runs learns how it ended and its joiners wake
 *      (api/api.c): last, so that a joiner sees all of the end.
 * After a wake-up of the hub: signals first (their EINTRs and SIGCHLD's
 * waits, process/signal.c), then semaphores posted from elsewhere
 * (sync/sem.c).
 */
#include "core/diag.h"
#include "core/hooks.h"
#include "core/offload.h"
#include "process/intr.h"

_Static_assert(sizeof(struct gp_coro_shim) <= GP_CORO_SLOT_MAX,
               "the shim's coroutine record must fit the runtime's slot");
_Static_assert(_Alignof(struct gp_coro_shim) <= 8,
               "the runtime's slot is aligned to 8");

const struct gp_rt_hooks gp_hooks = {
  .start = gp_diag_start,
  .wake = {gp_signal_dispatch, gp_sem_hub_wake},
  .sigpend = gp_signal_deliver,
  .exit = {gp_tls_exit, gp_keys_exit, gp_kept_exit, gp_api_task_end},
  .may_wake = gp_sig_any_handler,
  .slot_size = sizeof(struct gp_coro_shim),
  /* A look-up holds its thread for up to the resolver's timeout (5 s by
   * default, times attempts and servers): allow as many at once as a
   * daemon's burst of connections is likely to need; more queue. A FIFO
   * open or a terminal write waits for a peer that may never come, so
   * that lane must not run out while a peer is still possible. File
   * calls are short. */
  .work_limit = {[GP_LANE_DNS] = 32, [GP_LANE_PEER] = 256,
                 [GP_LANE_FILE] = 8},
};
