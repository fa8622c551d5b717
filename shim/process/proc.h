/* proc.h: what the process files of the shim (wait.c, spawn.c, fork.c,
 * inherit.c) offer each other and init.c. */
#ifndef GP_PROC_H
#define GP_PROC_H

#include <sys/types.h>

/* Internal: no symbol declared here is exported (no GOT indirection). */
#pragma GCC visibility push(hidden)

/* waitpid(pid, st, 0) through the hook (cooperative where it may be),
 * retried on EINTR, as glibc's system and pclose wait. */
pid_t gp_waitpid_retry(pid_t pid, int *st);

/* The pthread_atfork handlers: the caller kept on the scheduler across
 * the fork (hand-off), and the runtime in the child. */
void gp_fork_prepare(void);
void gp_fork_parent(void);
void gp_fork_child(void);

/* GPATCH_INHERIT=0: removes libgpatch.so from LD_PRELOAD in this
 * process's environment, keeping the other entries, so that no program
 * it executes is preloaded. */
void gp_inherit_strip(void);

#pragma GCC visibility pop

#endif
