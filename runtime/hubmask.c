/* hubmask.c: the signal mask the hub runs with.
 *
 * The kernel delivers a process-directed signal to any thread that does
 * not block it. While every coroutine is parked the hub holds the OS
 * thread, so its mask must let through exactly the signals that some live
 * coroutine lets through: the intersection of the live coroutines' masks.
 * A count per signal of the live coroutines that block it keeps that
 * intersection current as coroutines start, end and change their masks;
 * the mask itself is worked out again only on the hub's next turn after a
 * change, and at once while some live coroutine blocks nothing (the
 * intersection is then empty):
 *
 *   nblock[sig - 1]  live coroutines that block sig
 *   nclear           live coroutines that block no signal at all
 *   nlive            live coroutines counted (the main one included)
 */
#include "coro.h"

static uint32_t nblock[64];
static size_t nclear, nlive;
static unsigned char dirty;

static void count(uint64_t m, int step) {
  if (m == 0) {
    nclear += (size_t)step;
    return;
  }
  for (; m != 0; m &= m - 1)
    nblock[__builtin_ctzll(m)] += (uint32_t)step;
}

void gp__mask_join(uint64_t m) {
  count(m, 1);
  nlive++;
  dirty = 1;
}

void gp__mask_leave(uint64_t m) {
  count(m, -1);
  nlive--;
  dirty = 1;
}

void gp__mask_change(uint64_t from, uint64_t to) {
  if (from == to)
    return;
  count(from, -1);
  count(to, 1);
  dirty = 1;
}

void gp__mask_reset(uint64_t m) {
  for (int i = 0; i < 64; i++)
    nblock[i] = 0;
  nclear = nlive = 0;
  gp__mask_join(m);
}

uint64_t gp__mask_hub(void) {
  if (GP_LIKELY(!dirty))
    return gp__hub_mask;
  dirty = 0;
  if (nlive == 0)
    return gp__hub_mask; /* the last one ended: keep what it had */
  uint64_t m = 0;
  if (nclear == 0)
    for (int i = 0; i < 64; i++)
      if (nblock[i] == nlive)
        m |= 1ull << i;
  gp__hub_mask = m;
  return m;
}
