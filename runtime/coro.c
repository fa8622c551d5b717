/* coro.c: creating, ending, joining and freeing coroutines. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coro.h"

#define DEFAULT_STACK (256 * 1024)

static size_t default_stack = DEFAULT_STACK;
gp_list gp__all = {&gp__all, &gp__all};
static int next_id = GP_CORO_ID_MIN; /* above any pid_max: never a real tid */

void gp__set_default_stack(size_t bytes) { default_stack = bytes; }
size_t gp__default_stack(void) { return default_stack; }

static void trampoline(void) {
  gp__sched_resumed();
  gp_coro *c = gp__current;
  if (c->sig_pend)
    gp__sig_resumed(c);
  gp__tls_begin();
  errno = 0;
  gp__outside_enter(); /* program code from here on */
  void *r = c->fn(c->arg);
  gp__inside_enter(); /* detached since its last hook: gives itself back */
  gp__exit(r);
}

static size_t round_stack(size_t size) {
  size_t page = gp__page_size();
  if (size == 0)
    size = default_stack;
  return (size + page - 1) / page * page;
}

/* Freed records, kept for the next spawn (their timer stays initialised,
 * so a record that had one is never freed while the loop runs). */
static gp_list spare = {&spare, &spare};
static size_t nspare;
#define SPARE_MAX 4096

/* The shim's slot starts right after the record (gp__coro_slot), 8-byte
 * aligned because the record is. */
_Static_assert(sizeof(gp_coro) % 8 == 0, "the slot must stay aligned");

/* A zeroed record with its zeroed slot: a spare one when there is one
 * (keeping its initialised timer and its context's allocation), else a
 * new one. The slot size is fixed before the start, so every record,
 * spare or new, has room for it. Returns NULL when out of memory. */
static gp_coro *new_record(void) {
  size_t size = sizeof(gp_coro) + gp__hooks->slot_size;
  gp_list *l = gp__list_pop(&spare);
  if (l == NULL)
    return calloc(1, size);
  nspare--;
  gp_coro *c = GP_CONTAINER(l, gp_coro, link);
  uv_timer_t timer = c->timer;
  int timer_init = c->timer_init;
  gp_ctx ctx = c->ctx;
  memset(c, 0, size);
  c->timer = timer; /* an inactive handle stays valid where it is */
  c->timer_init = timer_init;
  c->ctx.uc = ctx.uc;
  return c;
}

int gp__switch_select(int ucontext) { return gp__ctx_select(ucontext); }

/* Creates a coroutine on the stack [lo, lo + size) when lo is given (the
 * program's own: no guard, never freed), else on a new one of size. */
static int spawn(void *(*fn)(void *), void *arg, void *lo, size_t size,
                 int detached, gp_coro **out) {
  GP_ASSERT(gp__rt_started());
  gp_coro *c = new_record();
  if (c == NULL)
    return -EAGAIN; /* what pthread_create reports for lack of resources */
  if (lo) {
    c->own_stack = lo;
    c->stack_size = size;
  } else {
    c->stack_size = round_stack(size);
    if (gp__stack_alloc(c->stack_size, &c->stack) != 0)
      goto error_record;
    lo = (char *)c->stack + gp__page_size();
  }
  if (gp__ctx_make(&c->ctx, lo, c->stack_size, trampoline) != 0)
    goto error_stack;
  if (gp__tls_private && gp__tls_new(c) != 0)
    goto error_stack;
  c->magic = GP_CORO_MAGIC;
  c->id = next_id++;
  if (next_id == 0x7fffffff)
    next_id = GP_CORO_ID_MIN;
  c->handle = (uintptr_t)c;
  c->fn = fn;
  c->arg = arg;
  c->detached = detached ? 1 : 0;
  c->deadline = GP_NEVER;
  c->sigmask = gp__current ? gp__current->sigmask : gp__hub_mask;
  c->w_fd = -1;
  c->w_deadline = GP_NEVER;
  gp__list_push(&gp__all, &c->all);
  gp__live_add(1);
  gp__mask_join(c->sigmask);
  if (GP_UNLIKELY(gp__diag))
    gp__diag_spawn(c);
  gp__ready(c);
  if (GP_UNLIKELY(gp__handoff_lazy))
    gp__handoff_monitor();
  *out = c;
  return 0;
error_stack:
  if (c->stack)
    gp__stack_free(c->stack, c->stack_size);
error_record:
  c->state = GP_DEAD;
  c->stack = NULL;
  gp__coro_free(c);
  return -EAGAIN;
}

int gp__spawn(void *(*fn)(void *), void *arg, size_t stack_size,
              int detached, gp_coro **out) {
  return spawn(fn, arg, NULL, stack_size, detached, out);
}

int gp__spawn_on(void *(*fn)(void *), void *arg, void *lo, size_t size,
                 int detached, gp_coro **out) {
  if (lo == NULL || size < 4096)
    return -EINVAL;
  return spawn(fn, arg, lo, size, detached, out);
}

void gp__exit(void *retval) {
  gp__current->retval = retval;
  for (int i = 0; i < GP_HOOKS_MAX && gp__hooks->exit[i]; i++)
    gp__hooks->exit[i](gp__current);
  gp__sched_exit();
}

void *gp__coro_slot(gp_coro *c) { return c + 1; }
void *gp__coro_retval(gp_coro *c) { return c->retval; }

void gp__coro_release_stack(gp_coro *c) {
  if (c->tls_tp)
    gp__tls_free(c); /* off its stack: off its TLS too */
  if (GP_UNLIKELY(gp__diag) && c->stack)
    gp__diag_stack_done(c);
  if (c->stack) {
    gp__stack_free(c->stack, c->stack_size);
    c->stack = NULL;
  }
}

static void free_record(uv_handle_t *h) {
  gp_coro *c = GP_CONTAINER(h, gp_coro, timer);
  gp__ctx_free(&c->ctx);
  free(c);
}

void gp__coro_free(gp_coro *c) {
  GP_ASSERT(c->state == GP_DEAD);
  if (c->is_main)
    return; /* lives in static storage */
  gp__coro_release_stack(c);
  c->magic = 0;
  if (gp__list_linked(&c->all))
    gp__list_del(&c->all);
  if (nspare < SPARE_MAX) {
    gp__list_push(&spare, &c->link);
    nspare++;
  } else if (c->timer_init) {
    uv_close((uv_handle_t *)&c->timer, free_record);
  } else {
    gp__ctx_free(&c->ctx);
    free(c);
  }
}

int gp__join(gp_coro *c, void **retval, int64_t deadline) {
  gp_coro *self = gp__current;
  if (c == self)
    return -EDEADLK;
  if (c->detached || c->joining)
    return -EINVAL;
  if (c->state != GP_DEAD) {
    if (deadline == GP_TRY_ONLY)
      return -EBUSY;
    /* Two threads joining each other: glibc reports EDEADLK too. */
    if (self->joining && self->joiner == c)
      return -EDEADLK;
    c->joining = 1;
    c->joiner = self;
    self->w_join = c;
    while (c->state != GP_DEAD) {
      /* Negative: its deadline, or the joiner's kill or Timeout. */
      int r = gp__park_intr_as(deadline, GP_PARK_JOIN);
      if (r < 0 && c->state != GP_DEAD) {
        c->joining = 0;
        c->joiner = NULL;
        self->w_join = NULL;
        return r == GP_EXPIRED ? -ETIMEDOUT : r;
      }
    }
    self->w_join = NULL;
  }
  if (retval)
    *retval = c->retval;
  gp__coro_free(c);
  return 0;
}

int gp__detach(gp_coro *c) {
  if (c->detached)
    return -EINVAL;
  if (c->state == GP_DEAD) {
    if (c->joining)
      return -EINVAL;
    c->detached = 1;
    gp__coro_free(c);
    return 0;
  }
  c->detached = 1;
  return 0;
}

gp_coro *gp__coro_from_handle(uintptr_t h) {
  gp_coro *m = gp__main_coro();
  if (m && m->handle == h)
    return m;
  if (h == 0 || (h & (_Alignof(gp_coro) - 1)) != 0)
    return NULL;
  gp_coro *c = (gp_coro *)h;
  return c->magic == GP_CORO_MAGIC ? c : NULL;
}

gp_coro *gp__coro_find(int (*match)(gp_coro *c, void *arg), void *arg) {
  for (gp_list *l = gp__all.next; l != &gp__all; l = l->next) {
    gp_coro *c = GP_CONTAINER(l, gp_coro, all);
    if (c->state != GP_DEAD && match(c, arg))
      return c;
  }
  return NULL;
}

uintptr_t gp__coro_handle(gp_coro *c) { return c->handle; }
int gp__coro_id(gp_coro *c) { return c->id; }
int gp__coro_number(gp_coro *c) {
  return c->is_main ? 0 : c->id - GP_CORO_ID_MIN + 1;
}
int gp__coro_is_main(gp_coro *c) { return c->is_main; }
char *gp__coro_name(gp_coro *c) { return c->name; }

void gp__coro_stack(gp_coro *c, void **lo, size_t *size) {
  *lo = c->own_stack ? c->own_stack
        : c->stack   ? (char *)c->stack + gp__page_size()
                     : NULL;
  *size = *lo ? c->stack_size : 0;
}

int gp__coro_ended(gp_coro *c) { return c->state == GP_DEAD; }
int gp__coro_detached(gp_coro *c) { return c->detached; }

/* In a forked child: only self goes on. The others' records are retired
 * (their stacks unmapped or cached, their timers stopped); what they had
 * allocated themselves stays in the child's heap, never freed. Records
 * of coroutines that had already ended stay, so that the child can still
 * join them, as it could a thread that ended before the fork. */
void gp__coro_fork(gp_coro *self) {
  gp_list *l = gp__all.next;
  while (l != &gp__all) {
    gp_coro *c = GP_CONTAINER(l, gp_coro, all);
    l = l->next;
    if (c == self || c->state == GP_DEAD)
      continue;
    if (c->timer_init)
      uv_timer_stop(&c->timer);
    c->state = GP_DEAD;
    c->joining = 0;
    c->joiner = NULL;
    c->detached = 1;
    if (c->is_main) {
      c->magic = 0; /* its handle names nobody now */
      gp__list_del(&c->all);
      continue;
    }
    gp__coro_free(c);
  }
}
