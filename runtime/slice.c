/* slice.c: the time slice, for coroutines that never park.
 *
 * A coroutine gives the OS thread back only when it parks or yields. One
 * whose calls never have to wait (an event loop whose epoll_wait always
 * has events, a reader that always finds data) would keep it for good,
 * and the hub would never poll the loop: no fd readiness, timer or pool
 * completion would wake anyone else. So the hooks that made a system
 * call without parking pass through gp__slice_point; once the loop has
 * gone unpolled for a slice there, the coroutine yields through the hub
 * (as Go's scheduler preempts at a function call). Nothing is ever
 * preempted elsewhere, and no switch pays for this.
 *
 * The slice is measured from the first check of the hub's pass, noted
 * lazily: the hub counts its polls of the loop (gp__loop_polls), and a
 * check that finds the count changed notes it and the coarse time. In
 * one OS thread the loop is polled only between passes, so "unpolled for
 * a slice" covers both "ran a slice while others were ready" and "ran a
 * slice while an fd, a timer or a pool thread may have woken someone".
 *
 *   pass N     hub polls  | A runs (check: note N, t0) ... hooks ...
 *                         | check: now - t0 >= slice -> yield to the hub
 *   pass N+1   hub polls  | those it woke run, then A, noted afresh
 */
#include "coro.h"

int64_t gp__slice_ns;
int gp__slice_held;
/* gp__loop_polls at the pass's first check; none at first, so that the
 * first check of all notes its pass too. */
static uint64_t noted_polls = UINT64_MAX;
static int64_t pass_start;    /* gp__now_coarse() then */

void gp__slice_set(int64_t ns) { gp__slice_ns = ns > 0 ? ns : 0; }

/* gp__slice_point with the slice on. Yields when the loop has gone
 * unpolled for a slice and another coroutine is alive (a lone one has
 * nobody to wait for it): to the hub, which polls the loop, queues the
 * coroutines the poll woke, and only then this one (gp__yield_lap). */
void gp__slice_check(void) {
  gp_coro *c = gp__current;
  if (c == NULL || gp__nlive <= 1 ||
      __atomic_load_n(&gp__slice_held, __ATOMIC_RELAXED) != 0)
    return;
  int64_t now = gp__now_coarse();
  if (noted_polls != gp__loop_polls) {
    noted_polls = gp__loop_polls;
    pass_start = now;
    return;
  }
  if (now - pass_start < gp__slice_ns)
    return;
  gp__yield_lap();
}
