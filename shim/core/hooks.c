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
  .may_wake = gp_outside_may_wake,
  .slot_size = sizeof(struct gp_coro_shim),
  /* The pool lanes' sizes: the defaults, which GPATCH_DNS_THREADS and
   * GPATCH_FILE_THREADS override (core/init.c, read_pools). A pool
   * thread retires after 10 s without a job (runtime/work.c).
   *
   * DNS, 16: a look-up holds its thread for as long as the name server
   * takes (up to the resolver's timeout, 5 s by default, times attempts
   * and servers); more look-ups queue. 100 look-ups at once against a
   * name server that answers after 200 ms take 0.27 s natively (103 OS
   * threads) and, by pool size, 4: 5.2 s, 8: 2.6 s, 10: 2.1 s, 16: 1.4 s,
   * 32: 0.84 s, 64: 0.43 s, for about 27 KB of resident memory per thread
   * (scripts/bench/dns_pool.sh; README.md, "Name look-ups"). 16 is the
   * knee: each thread from 8 to 16 saves 150 ms of that burst, each from
   * 16 to 32 only 37 ms; a burst of up to 16 is as fast as natively, and
   * a name server that never answers stalls sixteen look-ups at a time,
   * not four (libuv's whole pool) or ten (gevent's resolver pool).
   *
   * PEER, 256, no variable: a FIFO open or a terminal write waits for a
   * peer, and the peer may be another thread of the program whose own
   * open queues behind it: a lane that runs out deadlocks a program that
   * runs natively. No size is safe, so it is not a tuning knob; 256 open
   * FIFO waits at once is far beyond what programs do, and the threads
   * retire when the waits are over.
   *
   * FILE, 8: file calls are short, and a disk serves few at once. */
  .work_limit = {[GP_LANE_DNS] = 16, [GP_LANE_PEER] = 256,
                 [GP_LANE_FILE] = 8},
};
