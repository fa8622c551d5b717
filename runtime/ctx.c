/* ctx.c: contexts built and switched with ucontext.
 *
 * swapcontext also saves and restores the signal mask, so each coroutine
 * keeps its own mask; it costs a sigprocmask system call per switch. */
#include <ucontext.h>

#include "ctx.h"
#include "gp.h"

_Static_assert(sizeof(ucontext_t) <= sizeof(((gp_ctx *)0)->opaque),
               "gp_ctx too small for ucontext_t");

void gp__ctx_make(gp_ctx *c, void *stack, size_t size, void (*entry)(void)) {
  ucontext_t *uc = (ucontext_t *)c->opaque;
  GP_ASSERT(getcontext(uc) == 0);
  uc->uc_stack.ss_sp = stack;
  uc->uc_stack.ss_size = size;
  uc->uc_link = NULL;
  makecontext(uc, entry, 0);
}

void gp__ctx_switch(gp_ctx *from, gp_ctx *to) {
  GP_ASSERT(swapcontext((ucontext_t *)from->opaque,
                        (ucontext_t *)to->opaque) == 0);
}
