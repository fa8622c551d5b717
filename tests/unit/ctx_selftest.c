/* ctx_selftest: a standalone check of ctx.c (no Criterion, no libuv), so
 * that it can be cross-built and run under qemu-user for the other
 * architecture (make check-aarch64). Two contexts hand off 2,000 times
 * doing floating-point and integer work across every switch, in both the
 * assembly and the ucontext switch; exits 0 when every value survived. */
#include <stdio.h>
#include <stdlib.h>

#include "ctx.h"
#include "gp.h"

void gp__assert_fail(const char *expr, const char *file, int line) {
  printf("assertion failed: %s (%s:%d)\n", expr, file, line);
  exit(1);
}

static gp_ctx main_ctx, ctx_a, ctx_b;
static int steps;
static double result_a, result_b;

static void run_a(void) {
  double x = 1.5;
  for (int i = 0; i < 1000; i++) {
    x = x * 1.0001 + i;
    steps++;
    gp__ctx_switch(&ctx_a, &ctx_b);
  }
  result_a = x;
  gp__ctx_switch(&ctx_a, &main_ctx);
}

static void run_b(void) {
  double y = 2.5;
  long k = 7;
  for (int i = 0; i < 1000; i++) {
    y = y * 0.9999 + (double)k;
    k += 3;
    steps++;
    gp__ctx_switch(&ctx_b, &ctx_a);
  }
  result_b = y + (double)k;
  gp__ctx_switch(&ctx_b, &main_ctx);
}

static int check(int ucontext) {
  static char stack_a[65536] __attribute__((aligned(16)));
  static char stack_b[65536] __attribute__((aligned(16)));
  steps = 0;
  gp__ctx_select(ucontext);
  gp__ctx_make(&ctx_a, stack_a, sizeof stack_a, run_a);
  gp__ctx_make(&ctx_b, stack_b, sizeof stack_b, run_b);
  volatile double keep = 3.25;
  gp__ctx_switch(&main_ctx, &ctx_a); /* back when a is done */
  gp__ctx_switch(&main_ctx, &ctx_b); /* b finishes its last turn */
  double x = 1.5, y = 2.5;
  long k = 7;
  for (int i = 0; i < 1000; i++)
    x = x * 1.0001 + i;
  for (int i = 0; i < 1000; i++) {
    y = y * 0.9999 + (double)k;
    k += 3;
  }
  int ok = steps == 2000 && result_a == x && result_b == y + (double)k &&
           keep == 3.25;
  printf("%s switch: %s\n", gp__ctx_is_ucontext() ? "ucontext" : "assembly",
         ok ? "ok" : "FAILED");
  return ok;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0); /* seen even if a check hangs */
  int ok = check(0);
  ok &= check(1);
  return ok ? 0 : 1;
}
