/* ctx.h: machine contexts. ctx.c is the only file that knows how a context
 * is built and switched: a few lines of assembly on x86-64 and aarch64
 * that save only what the ABI makes callee-saved, or ucontext (selectable,
 * and the only choice elsewhere). */
#ifndef GP_CTX_H
#define GP_CTX_H

#include <stddef.h>
#include <stdint.h>

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

typedef struct gp_ctx {
  void *sp; /* saved stack pointer (assembly switch) */
  void *uc; /* a ucontext_t, allocated on first use (ucontext switch) */
} gp_ctx;

/* Selects the switch: 1 for ucontext, 0 for the assembly switch where the
 * machine has one. Call before any context is made. Returns the choice in
 * effect (1 when only ucontext exists). */
int gp__ctx_select(int ucontext);
/* 1 when the ucontext switch is in use (it also switches signal masks). */
int gp__ctx_is_ucontext(void);
/* Builds a context that runs entry() on the stack [stack, stack + size).
 * entry must never return. Returns 0 or -ENOMEM. */
int gp__ctx_make(gp_ctx *c, void *stack, size_t size, void (*entry)(void));
/* Saves the running context in from and resumes to. */
void gp__ctx_switch(gp_ctx *from, gp_ctx *to);
#if defined(__x86_64__) || defined(__aarch64__)
#define GP_CTX_ASM 1
/* gp__ctx_switch when the assembly switch is selected: the scheduler calls
 * it straight, without the selection test. */
void gp__ctx_swap(void **save_sp, void *load_sp);
static inline void gp__ctx_switch_asm(gp_ctx *from, gp_ctx *to) {
  gp__ctx_swap(&from->sp, to->sp);
}
#else
#define GP_CTX_ASM 0
static inline void gp__ctx_switch_asm(gp_ctx *from, gp_ctx *to) {
  gp__ctx_switch(from, to); /* never called: ucontext is the only switch */
}
#endif
/* Releases what gp__ctx_make allocated. */
void gp__ctx_free(gp_ctx *c);
/* The thread pointer (private TLS, tls.c): read it (NULL where unknown);
 * say once whether the machine lets user code write it (x86-64's
 * FSGSBASE); write it, with wrfsbase or else a system call. */
void *gp__ctx_get_tp(void);
void gp__ctx_tp_fast(int fsgsbase);
void gp__ctx_set_tp(void *tp);
/* The stack pointer saved in the machine context a signal handler gets
 * (its third argument), or 0 on a machine this file does not know. */
uintptr_t gp__ctx_sp_of(const void *uc);

#pragma GCC visibility pop

#endif
