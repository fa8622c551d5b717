/* ctx.h: machine contexts. ctx.c is the only file that knows how a context
 * is built and switched (ucontext today). */
#ifndef GP_CTX_H
#define GP_CTX_H

#include <stddef.h>

/* Room for a ucontext_t; ctx.c checks that it fits. */
typedef struct gp_ctx {
  _Alignas(16) unsigned char opaque[1024];
} gp_ctx;

/* Builds a context that runs entry() on the stack [stack, stack + size).
 * entry must never return. */
void gp__ctx_make(gp_ctx *c, void *stack, size_t size, void (*entry)(void));
/* Saves the running context in from and resumes to. */
void gp__ctx_switch(gp_ctx *from, gp_ctx *to);

#endif
