/* Unit tests of private TLS (runtime/tls.c) without the preload, so that
 * the ASan build (make test SANITIZE=1) runs the blocks' allocation,
 * their reuse and the switch of the thread pointer under the sanitizers.
 * The exit hook is the shim's in essence (shim/thread/tls_dtors.c): it
 * runs the thread_local destructors, which lets an ended coroutine's
 * block be reused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
/* LeakSanitizer's verdict now: 0 when nothing allocated is unreachable. */
#define LEAKS() __lsan_do_recoverable_leak_check()
#else
#define LEAKS() 0
#endif

static __thread long counter;
static __thread char text[32] = "initial";

static void run_dtors(gp_coro *c) {
  (void)c;
  gp__tls_run_dtors();
}

static const struct gp_rt_hooks hooks = {.exit = {run_dtors}};

static void start_private(void) {
  gp__rt_set_hooks(&hooks);
  gp__tls_select(1);
  cr_assert_eq(gp__rt_start(0), 0);
  cr_assert_eq(gp__tls_is_private(), 1, "private TLS refused");
}

/* Counts to 100 in its own __thread counter, yielding after each step,
 * with errno, a __thread buffer and a malloc'ed block of its own: 1 when
 * all stayed its own. */
static void *count(void *arg) {
  int id = (int)(intptr_t)arg, ok = 1;
  long *mine = &counter;
  char *block = malloc(100 + (size_t)id);
  ok = ok && counter == 0 && strcmp(text, "initial") == 0;
  snprintf(text, sizeof text, "coroutine %d", id);
  for (int k = 0; k < 100; k++) {
    counter++;
    errno = 1000 + id;
    block[k] = (char)id;
    gp__yield();
    ok = ok && errno == 1000 + id && block[k] == (char)id;
  }
  char want[32];
  snprintf(want, sizeof want, "coroutine %d", id);
  ok = ok && counter == 100 && &counter == mine && strcmp(text, want) == 0;
  free(block);
  return (void *)(intptr_t)ok;
}

Test(tls, private_blocks_are_per_coroutine) {
  gp_coro *c[8];
  start_private();
  counter = 7;
  for (int i = 0; i < 8; i++)
    cr_assert_eq(gp__spawn(count, (void *)(intptr_t)i, 0, 0, &c[i]), 0);
  for (int i = 0; i < 8; i++) {
    void *ok = NULL;
    cr_assert_eq(gp__join(c[i], &ok, GP_NEVER), 0);
    cr_expect_eq((intptr_t)ok, 1, "coroutine %d saw another's TLS", i);
  }
  cr_expect_eq(counter, 7, "main's __thread counter changed");
  cr_expect_str_eq(text, "initial");
}

/* Coroutines spawned and joined in batches, so that blocks are reused:
 * each must start from the initial image. */
Test(tls, reused_blocks_start_from_the_initial_image) {
  gp_coro *c[16];
  long good = 0;
  start_private();
  for (int round = 0; round < 50; round++) {
    for (int i = 0; i < 16; i++)
      cr_assert_eq(gp__spawn(count, (void *)(intptr_t)i, 0, 0, &c[i]), 0);
    for (int i = 0; i < 16; i++) {
      void *ok = NULL;
      cr_assert_eq(gp__join(c[i], &ok, GP_NEVER), 0);
      good += (intptr_t)ok;
    }
  }
  cr_expect_eq(good, 50 * 16);
  cr_expect_eq(LEAKS(), 0, "LeakSanitizer found leaks (stderr says which)");
}
