/* Unit tests of the context switch, both implementations. */
#include <criterion/criterion.h>
#include <fenv.h>
#include <pthread.h>
#include <signal.h>

#include "rt.h"

static int ran[3];

static void *work(void *arg) {
  int i = (int)(intptr_t)arg;
  double x = 1.0;
  for (int k = 0; k < 100; k++) {
    x = x * 1.01 + k; /* floating-point state across switches */
    gp__yield();
  }
  ran[i] = x > 1000.0;
  return NULL;
}

static void hand_off(int ucontext) {
  cr_assert_eq(gp__switch_select(ucontext), ucontext);
  gp__rt_start(0);
  gp_coro *c[3];
  for (int i = 0; i < 3; i++)
    cr_assert_eq(gp__spawn(work, (void *)(intptr_t)i, 0, 0, &c[i]), 0);
  for (int i = 0; i < 3; i++)
    gp__join(c[i], NULL, GP_NEVER);
  for (int i = 0; i < 3; i++)
    cr_assert_eq(ran[i], 1, "coroutine %d lost its state", i);
}

Test(ctx, assembly_switch_keeps_state) { hand_off(0); }
Test(ctx, ucontext_switch_keeps_state) { hand_off(1); }

static int blocked_in[2];

static void *masker(void *arg) {
  int i = (int)(intptr_t)arg;
  if (i == 0) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    gp__sigmask_note(); /* what the shim's pthread_sigmask hook does */
  }
  gp__yield();
  gp__yield();
  sigset_t cur;
  pthread_sigmask(SIG_BLOCK, NULL, &cur);
  blocked_in[i] = sigismember(&cur, SIGUSR1);
  return NULL;
}

static void masks(int ucontext) {
  gp__switch_select(ucontext);
  gp__rt_start(0);
  gp_coro *c[2];
  for (int i = 0; i < 2; i++)
    gp__spawn(masker, (void *)(intptr_t)i, 0, 0, &c[i]);
  for (int i = 0; i < 2; i++)
    gp__join(c[i], NULL, GP_NEVER);
  sigset_t cur;
  pthread_sigmask(SIG_BLOCK, NULL, &cur);
  cr_assert_eq(blocked_in[0], 1, "the masking coroutine lost its mask");
  cr_assert_eq(blocked_in[1], 0, "another coroutine's mask leaked in");
  cr_assert_eq(sigismember(&cur, SIGUSR1), 0, "main got another's mask");
}

Test(ctx, signal_mask_is_per_coroutine_assembly) { masks(0); }
Test(ctx, signal_mask_is_per_coroutine_ucontext) { masks(1); }

/* The FP control words are each coroutine's: one that sets a rounding
 * mode keeps it, the others keep theirs (the switch loads the words only
 * when they differ). */
static int round_seen[2];

static void *rounder(void *arg) {
  int i = (int)(intptr_t)arg;
  if (i == 0)
    fesetround(FE_DOWNWARD);
  for (int k = 0; k < 3; k++)
    gp__yield();
  round_seen[i] = fegetround();
  return NULL;
}

static void rounding(int ucontext) {
  gp__switch_select(ucontext);
  gp__rt_start(0);
  gp_coro *c[2];
  for (int i = 0; i < 2; i++)
    cr_assert_eq(gp__spawn(rounder, (void *)(intptr_t)i, 0, 0, &c[i]), 0);
  for (int i = 0; i < 2; i++)
    gp__join(c[i], NULL, GP_NEVER);
  cr_assert_eq(round_seen[0], FE_DOWNWARD);
  cr_assert_eq(round_seen[1], FE_TONEAREST);
  cr_assert_eq(fegetround(), FE_TONEAREST, "main's mode changed");
}

Test(ctx, assembly_switch_keeps_rounding_per_coroutine) { rounding(0); }
Test(ctx, ucontext_switch_keeps_rounding_per_coroutine) { rounding(1); }
