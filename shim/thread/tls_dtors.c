/* tls_dtors.c: a coroutine's C++ thread_local destructors.
 *
 * With private TLS (GPATCH_TLS=private) every coroutine has its own list
 * of thread_local objects to destroy (glibc's tls_dtor_list, filled by
 * __cxa_thread_atexit_impl): glibc's start_thread runs it at a thread's
 * end, before the key destructors, and so does the first exit function of
 * the hooks table (core/hooks.c). With shared TLS the list is the OS
 * thread's and runs at the process's exit, as before.
 */
#include "core/hooks.h"
#include "rt.h"

/* In ending coroutine c, inside the runtime: the destructors run as
 * program code (their hooks go cooperative: they may lock or wait). */
void gp_tls_exit(gp_coro *c) {
  (void)c;
  if (!gp__tls_is_private())
    return;
  unsigned char was = gp__outside_enter();
  gp__tls_run_dtors();
  gp__inside_restore(was);
}
