/* cancel.c: deferred cancellation of coroutines: pthread_cancel,
 * pthread_setcancelstate, pthread_setcanceltype, pthread_testcancel, and
 * the cleanup handlers of pthread_cleanup_push/pop.
 *
 * glibc keeps a thread's cleanup buffers and cancel bits in the OS
 * thread's descriptor, which every coroutine shares, so they are kept per
 * coroutine here (struct gp_cancel, in the shim's record of each
 * coroutine, core/hooks.h). pthread_cancel marks the target and, while
 * its cancelability is enabled, kills it (gp__kill): the wait it is
 * parked in at a cancellation point (read, accept, poll, sleep, join,
 * waitpid, sigwait, sem_wait, pthread_cond_wait...) ends at once, and the
 * next cancellation point acts on entry (gp_cancel_point), whether or not
 * it would wait. The hook's gp_leave then acts instead of returning: it jumps
 * to the innermost pthread_cleanup_push, whose macro runs the routine and
 * calls __pthread_unwind_next, which jumps to the next one; after the
 * last, the coroutine ends with PTHREAD_CANCELED (key destructors run, a
 * joiner gets PTHREAD_CANCELED). Asynchronous cancellation is taken as
 * deferred.
 *
 * Cancellation and pthread_exit end a coroutine the way glibc ends a
 * thread: a forced unwind of its stack (libgcc's _Unwind_ForcedUnwind,
 * loaded on first use as glibc does), so C++ destructors and C++
 * pthread_cleanup_push classes run; the stop function jumps into a C
 * cleanup buffer when the unwinding reaches its frame, and ends the
 * coroutine at the stack's end (the context switch leaves a return
 * address of 0 there). Without libgcc_s, the C buffers are still run by
 * jumping from one to the next.
 */
#include <dlfcn.h>
#include <unwind.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/guard.h"
#include "core/hooks.h"
#include "real.h"

unsigned char gp__cancel_now;

/* The running coroutine's state, or NULL where glibc's serves (the main
 * coroutine, other OS threads, runtime code). */
static struct gp_cancel *mine(void) {
  if (!gp__sched_here() || gp__current == NULL || gp__coro_is_main(gp__current))
    return NULL;
  return &gp_shim(gp__current)->cancel;
}

static void *buf_prev(void *buf) {
  return ((__pthread_unwind_buf_t *)buf)->__pad[0];
}

__attribute__((noreturn)) static void end_coro(void) {
  gp_enter();
  struct gp_cancel *st = &gp_shim(gp__current)->cancel;
  free(st->unwind); /* the unwinder that held it is never returned to */
  st->unwind = NULL;
  gp__exit(st->retval);
}

/* Runs the cleanup handler registered at buf, or ends the coroutine. */
__attribute__((noreturn)) static void unwind_to(void *buf) {
  if (buf == NULL)
    end_coro();
  gp__outside_enter(); /* the program's handler runs next, for good */
  /* The buffer is the head of a jmp_buf, as glibc's own unwinding uses
   * it (its mask was not saved, so siglongjmp reads no further); the
   * empty asm hides its smaller declared size from the compiler. */
  void *jb = ((__pthread_unwind_buf_t *)buf)->__cancel_jmp_buf;
  __asm__("" : "+r"(jb));
  siglongjmp(jb, 1);
}

static _Unwind_Reason_Code (*forced_unwind)(struct _Unwind_Exception *,
                                            _Unwind_Stop_Fn, void *);
static _Unwind_Word (*get_cfa)(struct _Unwind_Context *);

/* libgcc's unwinder, loaded on first use; 0 when there is none. */
static int unwinder(void) {
  static int tried;
  if (!tried) {
    tried = 1;
    void *h = dlopen("libgcc_s.so.1", RTLD_NOW);
    if (h) {
      get_cfa = (_Unwind_Word(*)(struct _Unwind_Context *))dlsym(
          h, "_Unwind_GetCFA");
      forced_unwind = (_Unwind_Reason_Code(*)(
          struct _Unwind_Exception *, _Unwind_Stop_Fn, void *))
          dlsym(h, "_Unwind_ForcedUnwind");
    }
    if (forced_unwind == NULL || get_cfa == NULL) {
      forced_unwind = NULL;
      gp__log("libgcc_s.so.1 not found: a thread that ends by "
              "pthread_exit or cancellation runs its C cleanup handlers "
              "but not its C++ destructors");
    }
  }
  return forced_unwind != NULL;
}

/* Called by the unwinder before each frame: a C cleanup buffer registered
 * in the frame about to be unwound (its address lies below the frame's
 * CFA) is jumped into; at the end of the stack the coroutine ends. */
static _Unwind_Reason_Code unwind_stop(int version, _Unwind_Action actions,
                                       _Unwind_Exception_Class cls,
                                       struct _Unwind_Exception *exc,
                                       struct _Unwind_Context *ctx,
                                       void *param) {
  (void)version, (void)cls, (void)exc;
  struct gp_cancel *st = param;
  if ((actions & _UA_END_OF_STACK) ||
      (st->chain && get_cfa(ctx) > (_Unwind_Word)(uintptr_t)st->chain))
    unwind_to(st->chain);
  return _URC_NO_REASON;
}

static void unwind_cleanup(_Unwind_Reason_Code r,
                           struct _Unwind_Exception *exc) {
  (void)r, (void)exc; /* end_coro frees it: the unwinding never returns */
}

/* Ends the running coroutine with st->retval: unwinds its stack, running
 * C++ destructors and the cleanup handlers. The exception object, which
 * must outlive the frames it unwinds, is allocated now rather than
 * carried by every record. */
__attribute__((noreturn)) static void unwind_all(struct gp_cancel *st) {
  st->unwinding = 1;
  gp__inside_enter();
  gp__unkill(gp__current); /* the handlers' own waits wait */
  if (st->unwind == NULL)
    st->unwind = malloc(sizeof(struct _Unwind_Exception));
  gp__outside_enter(); /* destructors and handlers are the program's */
  if (st->unwind != NULL && unwinder()) {
    struct _Unwind_Exception *exc = st->unwind;
    memset(exc, 0, sizeof *exc);
    memcpy(&exc->exception_class, "GNUCGPTC", 8);
    exc->exception_cleanup = unwind_cleanup;
    forced_unwind(exc, unwind_stop, st);
    /* It returned: the stack could not be unwound. */
  }
  unwind_to(st->chain);
}

void gp_cancel_note(void) {
  struct gp_cancel *st = mine();
  if (st && st->pending && !st->disabled && !st->unwinding)
    gp__cancel_now = 1;
}

void gp_cancel_check(void) {
  gp_cancel_note();
  if (gp__cancel_now)
    gp_cancel_act();
}

void gp_cancel_act(void) {
  gp__cancel_now = 0;
  struct gp_cancel *st = &gp_shim(gp__current)->cancel;
  st->retval = PTHREAD_CANCELED;
  unwind_all(st);
}

void gp_exit_unwind(void *retval) {
  struct gp_cancel *st = &gp_shim(gp__current)->cancel;
  if (st->unwinding) /* pthread_exit from a destructor or handler */
    end_coro();
  st->retval = retval;
  unwind_all(st);
}

GP_EXPORT void __pthread_register_cancel(__pthread_unwind_buf_t *buf) {
  struct gp_cancel *st = mine();
  if (st == NULL) {
    GP_REAL(__pthread_register_cancel)(buf);
    return;
  }
  buf->__pad[0] = st->chain;
  st->chain = buf;
}

GP_EXPORT void __pthread_unregister_cancel(__pthread_unwind_buf_t *buf) {
  struct gp_cancel *st = mine();
  if (st == NULL) {
    GP_REAL(__pthread_unregister_cancel)(buf);
    return;
  }
  st->chain = buf_prev(buf);
}

GP_EXPORT void __pthread_unwind_next(__pthread_unwind_buf_t *buf) {
  struct gp_cancel *st = mine();
  if (st == NULL)
    GP_REAL(__pthread_unwind_next)(buf);
  st->chain = buf_prev(buf);
  if (forced_unwind) /* the unwinding goes on from this frame */
    unwind_all(st);
  unwind_to(st->chain);
}

GP_EXPORT int pthread_cancel(pthread_t t) {
  gp_coro *c = gp__sched_here() && !gp__tls.inside
                   ? gp__coro_from_handle((uintptr_t)t)
                   : NULL;
  if (c == NULL)
    return GP_REAL(pthread_cancel)(t);
  if (gp__coro_is_main(c)) {
    gp__log("pthread_cancel of the main thread is not supported: it goes "
            "on");
    return ENOTSUP;
  }
  struct gp_cancel *st = &gp_shim(c)->cancel;
  if (gp__coro_ended(c) || st->pending)
    return 0;
  st->pending = 1;
  if (!st->disabled) {
    gp_enter();
    gp__kill(c);
    gp_leave();
  }
  return 0;
}

GP_EXPORT int pthread_setcancelstate(int state, int *old) {
  struct gp_cancel *st = mine();
  if (st == NULL || gp__tls.inside)
    return GP_REAL(pthread_setcancelstate)(state, old);
  if (state != PTHREAD_CANCEL_ENABLE && state != PTHREAD_CANCEL_DISABLE)
    return EINVAL;
  if (old)
    *old = st->disabled ? PTHREAD_CANCEL_DISABLE : PTHREAD_CANCEL_ENABLE;
  st->disabled = state == PTHREAD_CANCEL_DISABLE;
  if (st->pending) { /* a request waits for cancelability */
    if (st->disabled)
      gp__unkill(gp__current);
    else
      gp__kill(gp__current);
  }
  return 0;
}

GP_EXPORT int pthread_setcanceltype(int type, int *old) {
  struct gp_cancel *st = mine();
  if (st == NULL || gp__tls.inside)
    return GP_REAL(pthread_setcanceltype)(type, old);
  if (type != PTHREAD_CANCEL_DEFERRED && type != PTHREAD_CANCEL_ASYNCHRONOUS)
    return EINVAL;
  if (old)
    *old = st->async ? PTHREAD_CANCEL_ASYNCHRONOUS : PTHREAD_CANCEL_DEFERRED;
  st->async = type == PTHREAD_CANCEL_ASYNCHRONOUS;
  return 0;
}

GP_EXPORT void pthread_testcancel(void) {
  struct gp_cancel *st = mine();
  if (st == NULL || gp__tls.inside) {
    GP_REAL(pthread_testcancel)();
    return;
  }
  if (st->pending && !st->disabled && !st->unwinding) {
    st->retval = PTHREAD_CANCELED;
    unwind_all(st);
  }
}
