/* diag.h: the diagnostics the shim drives: the report at exit
 * (GPATCH_STATS), the blocking monitor (GPATCH_MAX_BLOCKING) and the
 * stack overflow report, and the signals they keep a handler on. */
#ifndef GP_DIAG_H
#define GP_DIAG_H

#include <signal.h>

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

/* diag.c: turns on what the GPATCH_* settings ask for; gp_init calls it
 * once they are read. */
void gp_diag_setup(void);

/* monitor.c: starts the helper thread of the blocking monitor, which
 * reports a coroutine that runs ms milliseconds without yielding. Called
 * on the scheduler thread once the runtime has started. */
void gp_monitor_start(long ms);
/* Stops its reports (the process is exiting). */
void gp_monitor_stop(void);
/* The OS threads the monitor runs (0 or 1). */
int gp_monitor_threads(void);
/* diag.c: the deadlock check's question (the hooks table's may_wake):
 * may something other than a coroutine still wake one? */
int gp_outside_may_wake(void);

/* signal.c: installs h (SA_SIGINFO and flags) on sig and keeps it there:
 * the program's sigaction calls for sig are only recorded from then on.
 * Returns 0 or -errno. */
int gp_sig_keep(int sig, void (*h)(int, siginfo_t *, void *), int flags);
/* 1 when the program has a handler of its own for sig (a kept one). */
int gp_sig_handled(int sig);
/* Whether the program has any handler a signal could run (signal.c). */
int gp_sig_any_handler(void);
/* Runs the program's handler for sig, as the usual wrapper does, from
 * within a kept handler. Returns 1 when there was one, 0 when its action
 * is the default or to ignore. */
int gp_sig_forward(int sig, siginfo_t *info, void *uc);

#pragma GCC visibility pop

#endif
