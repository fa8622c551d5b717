/* Unit tests of stacks: sizes, the guard page, the cache of freed ones. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <stdio.h>
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

/* The cache of freed stacks (stack.c's top comment). */

static size_t span(size_t size) { return size + gp__page_size(); }

/* Whether [p, p + len) is mapped: mincore fails with ENOMEM on a hole. */
static int mapped(void *p, size_t len) {
  unsigned char vec[1];
  return mincore(p, gp__page_size(), vec) == 0 &&
         mincore((char *)p + len - gp__page_size(), gp__page_size(), vec) == 0;
}

static void *alloc(size_t size) {
  void *base;
  cr_assert_eq(gp__stack_alloc(size, &base), 0, "size %zu", size);
  return base;
}

Test(stack, freed_stacks_of_every_size_come_back) {
  size_t k = 1024, sizes[] = {16 * k, 64 * k, 68 * k, 256 * k, k * k,
                              8 * k * k};
  size_t n = sizeof sizes / sizeof *sizes;
  void *first[sizeof sizes / sizeof *sizes];
  for (size_t i = 0; i < n; i++)
    first[i] = alloc(sizes[i]);
  for (size_t i = 0; i < n; i++)
    gp__stack_free(first[i], sizes[i]);
  struct gp_stack_stats s;
  gp__stack_stats(&s);
  cr_assert_eq(s.stacks, n);
  cr_assert_eq(s.maps, n);
  for (size_t i = n; i-- > 0;)
    cr_assert_eq(alloc(sizes[i]), first[i], "size %zu", sizes[i]);
  gp__stack_stats(&s);
  cr_assert_eq(s.hits, n);
  cr_assert_eq(s.maps, n);
  cr_assert_eq(s.stacks, 0);
  cr_assert_eq(s.bytes, 0);
}

/* A stack is handed out only at the size it was made for: a page more
 * or a page less maps a new one. */
Test(stack, a_stack_is_never_handed_out_at_another_size) {
  size_t size = 64 * 1024, page = gp__page_size();
  void *a = alloc(size);
  gp__stack_free(a, size);
  void *bigger = alloc(size + page), *smaller = alloc(size - page);
  cr_assert_neq(bigger, a);
  cr_assert_neq(smaller, a);
  cr_assert_eq(alloc(size), a);
  struct gp_stack_stats s;
  gp__stack_stats(&s);
  cr_assert_eq(s.maps, 3);
  cr_assert_eq(s.hits, 1);
}

/* The newest stack of a size is given first (its pages are the warmest). */
Test(stack, the_newest_stack_comes_back_first) {
  size_t size = 64 * 1024;
  void *a = alloc(size), *b = alloc(size);
  gp__stack_free(a, size);
  gp__stack_free(b, size);
  cr_assert_eq(alloc(size), b);
  cr_assert_eq(alloc(size), a);
}

Test(stack, cached_bytes_never_exceed_the_bound) {
  size_t k = 1024, max = 2 * k * k;
  size_t sizes[] = {16 * k, 64 * k, 100 * k, 256 * k, 512 * k};
  enum { N = 60 };
  void *p[N];
  gp__stack_cache_bound(max);
  for (int i = 0; i < N; i++)
    p[i] = alloc(sizes[i % 5]);
  size_t freed = 0;
  struct gp_stack_stats s;
  for (int i = 0; i < N; i++) {
    gp__stack_free(p[i], sizes[i % 5]);
    freed += span(sizes[i % 5]);
    gp__stack_stats(&s);
    cr_assert_leq(s.bytes, max, "after %d frees: %zu bytes", i + 1, s.bytes);
    cr_assert_eq(s.bound, max);
  }
  cr_assert_gt(freed, max);
  cr_assert_gt(s.evictions, 0);
  cr_assert_gt(s.bytes, max - span(512 * k), "the cache was left too empty");
  /* Lowering the bound evicts at once. */
  gp__stack_cache_bound(max / 4);
  gp__stack_stats(&s);
  cr_assert_leq(s.bytes, max / 4);
}

Test(stack, the_default_bound_is_1024_default_stacks) {
  struct gp_stack_stats s;
  gp__stack_stats(&s);
  cr_assert_eq(s.bound, 1024 * span(gp__default_stack()));
}

/* Past the bound, the least recently freed stack is unmapped, whatever
 * its size. */
Test(stack, eviction_unmaps_the_oldest) {
  size_t small = 64 * 1024, big = 128 * 1024;
  gp__stack_cache_bound(2 * span(small) + span(big));
  void *a = alloc(small), *b = alloc(big), *c = alloc(small);
  void *d = alloc(small);
  gp__stack_free(a, small);
  gp__stack_free(b, big);
  gp__stack_free(c, small);
  gp__stack_free(d, small); /* one small too many: a goes */
  cr_assert(!mapped(a, span(small)), "the oldest stack is still mapped");
  cr_assert(mapped(b, span(big)));
  cr_assert(mapped(c, span(small)));
  cr_assert(mapped(d, span(small)));
  gp__stack_free(alloc(32 * 1024), 32 * 1024); /* b goes next */
  cr_assert(!mapped(b, span(big)));
  struct gp_stack_stats s;
  gp__stack_stats(&s);
  cr_assert_eq(s.evictions, 2);
  cr_assert_eq(alloc(small), d);
  cr_assert_eq(alloc(small), c);
}

Test(stack, a_stack_bigger_than_the_bound_is_unmapped) {
  size_t size = 2 * 1024 * 1024;
  gp__stack_cache_bound(1024 * 1024);
  void *a = alloc(size);
  gp__stack_free(a, size);
  cr_assert(!mapped(a, span(size)));
  struct gp_stack_stats s;
  gp__stack_stats(&s);
  cr_assert_eq(s.bytes, 0);
  cr_assert_eq(s.stacks, 0);
}

/* Sizes beyond the class slots are unmapped; a slot whose stacks were
 * all reused takes a new size. */
Test(stack, sizes_beyond_the_class_slots) {
  enum { N = 40 };
  size_t page = gp__page_size(), size[N];
  void *p[N];
  for (int i = 0; i < N; i++) {
    size[i] = 16 * 1024 + (size_t)i * page;
    p[i] = alloc(size[i]);
  }
  for (int i = 0; i < N; i++)
    gp__stack_free(p[i], size[i]);
  struct gp_stack_stats s;
  gp__stack_stats(&s);
  cr_assert_gt(s.stacks, 0);
  cr_assert_lt(s.stacks, N);
  int kept = (int)s.stacks;
  cr_assert(!mapped(p[N - 1], span(size[N - 1])));
  cr_assert_eq(alloc(size[0]), p[0]); /* slot 0 is empty again */
  void *q = alloc(size[N - 1]);
  gp__stack_free(q, size[N - 1]);
  cr_assert_eq(alloc(size[N - 1]), q);
  cr_assert_eq(kept, 16, "CLASSES changed? %d sizes kept", kept);
}

/* A reused stack keeps its guard right below the usable region, also
 * when stacks of other sizes came and went in between. */
Test(stack, a_reused_stack_keeps_its_guard, .signal = SIGSEGV) {
  size_t size = 64 * 1024;
  void *a = alloc(size);
  gp__stack_free(a, size);
  void *b = alloc(2 * size);
  gp__stack_free(b, 2 * size);
  cr_assert_eq(alloc(size), a);
  char *lo = (char *)a + gp__page_size();
  memset(lo, 0xcd, size); /* the whole usable region is writable */
  volatile char *guard = lo - 1;
  *guard = 1;
  cr_assert_fail("the guard page of a reused stack was writable");
}

Test(stack, a_reused_stack_is_writable_to_its_top) {
  size_t size = 64 * 1024;
  void *a = alloc(size);
  gp__stack_free(a, size);
  char *lo = (char *)alloc(size) + gp__page_size();
  memset(lo, 0x5a, size);
  cr_assert_eq(lo[size - 1], 0x5a);
  cr_assert_eq(lo[0], 0x5a);
}

static void *nothing(void *arg) { return arg; }

/* The runtime's part: a coroutine with a set stack size reuses the stack
 * of the one before it, as one with the default size does. */
Test(stack, coroutines_with_a_set_size_reuse_stacks) {
  gp__rt_start(0);
  size_t sizes[] = {64 * 1024, 0, 1024 * 1024, 20 * 1024 + 1};
  struct gp_stack_stats before, after;
  for (int round = 0; round < 2; round++) {
    gp__stack_stats(&before);
    for (int i = 0; i < 4; i++) {
      gp_coro *c;
      void *r;
      cr_assert_eq(gp__spawn(nothing, (void *)7, sizes[i], 0, &c), 0);
      cr_assert_eq(gp__join(c, &r, GP_NEVER), 0);
      cr_assert_eq((intptr_t)r, 7);
    }
    gp__stack_stats(&after);
  }
  /* The second round maps nothing. */
  cr_assert_eq(after.maps, before.maps);
  cr_assert_geq(after.hits, before.hits + 4);
}

/* A new size that cannot be mapped (RLIMIT_AS) gets the address space
 * the cache holds in stacks of another size: the cache is emptied and the
 * mapping tried again. */
Test(stack, a_failed_mapping_empties_the_cache_and_retries) {
  enum { N = 32 };
  size_t small = 256 * 1024, big = 4 * 1024 * 1024;
  void *bases[N];
  for (int i = 0; i < N; i++)
    cr_assert_eq(gp__stack_alloc(small, &bases[i]), 0);
  for (int i = 0; i < N; i++)
    gp__stack_free(bases[i], small);
  struct gp_stack_stats st;
  gp__stack_stats(&st);
  cr_assert_geq(st.stacks, N);
  /* Room for less than one big stack, while the cache holds 8 MiB. */
  unsigned long pages = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  cr_assert(f != NULL && fscanf(f, "%lu", &pages) == 1);
  fclose(f);
  struct rlimit rl;
  cr_assert_eq(getrlimit(RLIMIT_AS, &rl), 0);
  rl.rlim_cur = pages * gp__page_size() + big / 2;
  cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0);
  void *b;
  cr_assert_eq(gp__stack_alloc(big, &b), 0);
  gp__stack_stats(&st);
  cr_expect_eq(st.stacks, 0);
  gp__stack_free(b, big);
}
