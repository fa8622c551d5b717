/* Unit tests of stacks: sizes, the guard page. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>

#include "coro.h"

Test(stack, usable_size_is_writable) {
  void *base;
  size_t size = 64 * 1024;
  cr_assert_eq(gp__stack_alloc(size, &base), 0);
  char *lo = (char *)base + gp__page_size();
  memset(lo, 0xab, size);
  cr_assert_eq(lo[size - 1], (char)0xab);
  gp__stack_free(base, size);
}

Test(stack, touching_the_guard_page_faults, .signal = SIGSEGV) {
  void *base;
  cr_assert_eq(gp__stack_alloc(64 * 1024, &base), 0);
  volatile char *guard = (char *)base + gp__page_size() - 1;
  *guard = 1;
  cr_assert_fail("the guard page was writable");
}

static volatile int depth_limit = 1 << 30; /* opaque to the compiler */

static void *recurse_deep(void *arg) {
  volatile char pad[1024];
  intptr_t depth = (intptr_t)arg;
  pad[0] = (char)depth;
  if (depth < depth_limit)
    recurse_deep((void *)(depth + 1));
  return (void *)(intptr_t)pad[0];
}

Test(stack, overflowing_coroutine_faults, .signal = SIGSEGV) {
  gp__rt_start(0);
  gp_coro *c;
  cr_assert_eq(gp__spawn(recurse_deep, NULL, 32 * 1024, 0, &c), 0);
  gp__join(c, NULL, GP_NEVER);
  cr_assert_fail("recursion without end returned");
}

static void *use_stack(void *arg) {
  volatile char buf[200 * 1024];
  buf[0] = 1;
  buf[sizeof buf - 1] = (char)(intptr_t)arg;
  return (void *)(intptr_t)buf[sizeof buf - 1];
}

Test(stack, requested_size_is_honoured) {
  gp__rt_start(0);
  gp_coro *c;
  cr_assert_eq(gp__spawn(use_stack, (void *)5, 512 * 1024, 0, &c), 0);
  void *r;
  gp__join(c, &r, GP_NEVER);
  cr_assert_eq((intptr_t)r, 5);
}
