/* ctx.c: building and switching contexts.
 *
 * The assembly switch saves the callee-saved registers and the FP control
 * words on the stack being left, stores the stack pointer, loads the other
 * one and pops the same set: a function call's worth of work, with no
 * system call. A new context's stack is laid out as if it had been
 * switched away from just before entry():
 *
 *   x86-64, growing down from the stack's top (16-byte aligned):
 *     top - 8    0               fake return address of entry()
 *     top - 16   entry           popped by ret
 *     top - 64   rbp rbx r12..r15 = 0
 *     top - 72   mxcsr, x87 control word          <- saved sp
 *
 *   aarch64: a 176-byte frame at top - 176 holding x19..x30 and d8..d15,
 *     x30 (the link register) = entry, and the FPCR.
 *
 * ucontext's swapcontext also saves and restores the signal mask, a
 * system call per switch; it is kept as the portable choice and the
 * fallback (GPATCH_SWITCH=ucontext).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <asm/prctl.h>
#endif

#include "ctx.h"
#include "gp.h"
#include "real.h"

#define HAVE_ASM GP_CTX_ASM

static int use_uc = !HAVE_ASM;

int gp__ctx_select(int ucontext) {
  use_uc = ucontext || !HAVE_ASM;
  return use_uc;
}

int gp__ctx_is_ucontext(void) { return use_uc; }

#if HAVE_ASM
/* void gp__ctx_swap(void **save_sp, void *load_sp) */
#if defined(__x86_64__)
__asm__(".text\n"
        ".globl gp__ctx_swap\n"
        ".hidden gp__ctx_swap\n"
        ".type gp__ctx_swap,@function\n"
        "gp__ctx_swap:\n"
        "  pushq %rbp\n"
        "  pushq %rbx\n"
        "  pushq %r12\n"
        "  pushq %r13\n"
        "  pushq %r14\n"
        "  pushq %r15\n"
        "  subq $8, %rsp\n"
        "  stmxcsr (%rsp)\n"
        "  fnstcw 4(%rsp)\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  ldmxcsr (%rsp)\n"
        "  fldcw 4(%rsp)\n"
        "  addq $8, %rsp\n"
        "  popq %r15\n"
        "  popq %r14\n"
        "  popq %r13\n"
        "  popq %r12\n"
        "  popq %rbx\n"
        "  popq %rbp\n"
        "  ret\n"
        ".size gp__ctx_swap, .-gp__ctx_swap\n");

static void *initial_sp(char *top, void (*entry)(void)) {
  uint64_t *sp = (uint64_t *)((uintptr_t)top & ~(uintptr_t)15);
  *--sp = 0;                  /* fake return address of entry() */
  *--sp = (uint64_t)entry;    /* popped by ret */
  for (int i = 0; i < 6; i++) /* rbp rbx r12 r13 r14 r15 */
    *--sp = 0;
  *--sp = 0x037f00001f80ull;  /* x87 control word | default mxcsr */
  return sp;
}
#else /* __aarch64__ */
__asm__(".text\n"
        ".globl gp__ctx_swap\n"
        ".hidden gp__ctx_swap\n"
        ".type gp__ctx_swap,%function\n"
        "gp__ctx_swap:\n"
        "  sub sp, sp, #176\n"
        "  stp x19, x20, [sp, #0]\n"
        "  stp x21, x22, [sp, #16]\n"
        "  stp x23, x24, [sp, #32]\n"
        "  stp x25, x26, [sp, #48]\n"
        "  stp x27, x28, [sp, #64]\n"
        "  stp x29, x30, [sp, #80]\n"
        "  stp d8, d9, [sp, #96]\n"
        "  stp d10, d11, [sp, #112]\n"
        "  stp d12, d13, [sp, #128]\n"
        "  stp d14, d15, [sp, #144]\n"
        "  mrs x9, fpcr\n"
        "  str x9, [sp, #160]\n"
        "  mov x9, sp\n"
        "  str x9, [x0]\n"
        "  mov sp, x1\n"
        "  ldr x9, [sp, #160]\n"
        "  msr fpcr, x9\n"
        "  ldp x19, x20, [sp, #0]\n"
        "  ldp x21, x22, [sp, #16]\n"
        "  ldp x23, x24, [sp, #32]\n"
        "  ldp x25, x26, [sp, #48]\n"
        "  ldp x27, x28, [sp, #64]\n"
        "  ldp x29, x30, [sp, #80]\n"
        "  ldp d8, d9, [sp, #96]\n"
        "  ldp d10, d11, [sp, #112]\n"
        "  ldp d12, d13, [sp, #128]\n"
        "  ldp d14, d15, [sp, #144]\n"
        "  add sp, sp, #176\n"
        "  ret\n"
        ".size gp__ctx_swap, .-gp__ctx_swap\n");

/* The first switch to a context returns here, with entry in x19: entry
 * starts with a return address (x30) and frame pointer of 0, the end of
 * the stack for an unwinder (pthread_exit unwinds). */
__asm__(".text\n"
        ".globl gp__ctx_start\n"
        ".hidden gp__ctx_start\n"
        ".type gp__ctx_start,%function\n"
        "gp__ctx_start:\n"
        "  mov x29, xzr\n"
        "  mov x30, xzr\n"
        "  br x19\n"
        ".size gp__ctx_start, .-gp__ctx_start\n");
void gp__ctx_start(void);

static void *initial_sp(char *top, void (*entry)(void)) {
  uint64_t *sp = (uint64_t *)(((uintptr_t)top & ~(uintptr_t)15) - 176);
  memset(sp, 0, 176);
  sp[0] = (uint64_t)entry;          /* x19 */
  sp[11] = (uint64_t)gp__ctx_start; /* x30: where ret goes */
  return sp;                        /* fpcr 0: round to nearest, no traps */
}
#endif
#endif /* HAVE_ASM */

int gp__ctx_make(gp_ctx *c, void *stack, size_t size, void (*entry)(void)) {
  if (!use_uc) {
#if HAVE_ASM
    c->sp = initial_sp((char *)stack + size, entry);
    return 0;
#endif
  }
  if (c->uc == NULL && (c->uc = malloc(sizeof(ucontext_t))) == NULL)
    return -ENOMEM;
  ucontext_t *uc = c->uc;
  GP_ASSERT(getcontext(uc) == 0);
  uc->uc_stack.ss_sp = stack;
  uc->uc_stack.ss_size = size;
  uc->uc_link = NULL;
  makecontext(uc, entry, 0);
  return 0;
}

void gp__ctx_switch(gp_ctx *from, gp_ctx *to) {
#if HAVE_ASM
  if (!use_uc) {
    gp__ctx_swap(&from->sp, to->sp);
    return;
  }
#endif
  if (from->uc == NULL) /* the main thread's own context, first saved */
    GP_ASSERT((from->uc = malloc(sizeof(ucontext_t))) != NULL);
  GP_ASSERT(swapcontext(from->uc, to->uc) == 0);
}

void gp__ctx_free(gp_ctx *c) {
  free(c->uc);
  c->uc = NULL;
}

/* The thread pointer (x86-64: the fs base), which private TLS moves with
 * the coroutine: wrfsbase where the kernel allows it (HWCAP2_FSGSBASE, a
 * few ns), else arch_prctl (a system call). */
#if defined(__x86_64__)
static int tp_fast;

void gp__ctx_tp_fast(int fsgsbase) { tp_fast = fsgsbase; }

void *gp__ctx_get_tp(void) {
  unsigned long fs = 0;
  if (GP_REAL(syscall)(SYS_arch_prctl, ARCH_GET_FS, &fs) != 0)
    return NULL;
  return (void *)fs;
}

/* No write when tp is in place already: the installed one is read from
 * its own first word (the TCB's self pointer, %fs:0), which is right on
 * every OS thread (the hand-off runs the hub and coroutines on several). */
void gp__ctx_set_tp(void *tp) {
  void *cur;
  __asm__ volatile("mov %%fs:0, %0" : "=r"(cur));
  if (tp == cur)
    return;
  if (GP_LIKELY(tp_fast))
    __asm__ volatile("wrfsbase %0" : : "r"(tp) : "memory");
  else
    GP_ASSERT(GP_REAL(syscall)(SYS_arch_prctl, ARCH_SET_FS, tp) == 0);
}
#else
void gp__ctx_tp_fast(int fsgsbase) { (void)fsgsbase; }
void *gp__ctx_get_tp(void) { return NULL; }
void gp__ctx_set_tp(void *tp) { (void)tp; }
#endif

uintptr_t gp__ctx_sp_of(const void *uc) {
  const ucontext_t *u = uc;
#if defined(__x86_64__)
  return (uintptr_t)u->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
  return (uintptr_t)u->uc_mcontext.sp;
#else
  (void)u;
  return 0;
#endif
}
