/* spawn.c: system, popen, pclose.
 *
 * glibc's system and pclose wait for their child through its internal
 * waitpid, which no hook sees: the whole process would stop while the
 * child runs. These are glibc 2.36's algorithms again, waiting through
 * the waitpid hook (wait.c), so only the caller parks:
 *   system: SIGINT and SIGQUIT ignored while any system() runs (a count,
 *     the first call sets, the last restores), SIGCHLD blocked in the
 *     caller, the child started by posix_spawn as "sh -c CMD" with the
 *     caller's old mask and SIGINT/SIGQUIT back to default unless they
 *     were ignored; the wait status returned (-1 when the child could not
 *     be created, 127 << 8 when the shell could not run); system(NULL)
 *     runs "exit 0" to see whether a shell is there.
 *   popen: a pipe (O_CLOEXEC while spawning), "sh -c CMD" with its end on
 *     fd 0 or 1 and the pipes of earlier popen streams closed, as POSIX
 *     asks; modes "r", "w", and "e" (the parent's end close-on-exec).
 *   pclose: closes the stream, then waits (retrying on EINTR) and returns
 *     the child's wait status, -1 for a stream popen did not make.
 * The FILE is an ordinary fdopen stream.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fdkind.h"
#include "core/guard.h"
#include "process/intr.h"
#include "process/proc.h"
#include "real.h"

extern char **environ;

#define SHELL_PATH "/bin/sh"

/* Locks held only around short critical sections that never park (a
 * real mutex: threads are real when the thread family is off). */
static pthread_mutex_t sys_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t chain_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction sys_intr, sys_quit; /* actions before system() */
static int sys_refs;                         /* system() calls running */

/* A stream made by popen. */
struct pchild {
  FILE *fp;
  pid_t pid;
  struct pchild *next;
};
static struct pchild *chain; /* open popen streams, newest first */

static void lock(pthread_mutex_t *m) { GP_REAL(pthread_mutex_lock)(m); }
static void unlock(pthread_mutex_t *m) { GP_REAL(pthread_mutex_unlock)(m); }

static int ignored(const struct sigaction *a) {
  return !(a->sa_flags & SA_SIGINFO) && a->sa_handler == SIG_IGN;
}

/* Ignores SIGINT and SIGQUIT for the first system() running, restores
 * them after the last (enter 0). reset, when not NULL, gets those of the
 * two that were not ignored before: the child sets them to default. */
static void sys_signals(int enter, sigset_t *reset) {
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  lock(&sys_mu);
  if (enter && sys_refs++ == 0) {
    GP_REAL(sigaction)(SIGINT, &ign, &sys_intr);
    GP_REAL(sigaction)(SIGQUIT, &ign, &sys_quit);
  } else if (!enter && --sys_refs == 0) {
    GP_REAL(sigaction)(SIGINT, &sys_intr, NULL);
    GP_REAL(sigaction)(SIGQUIT, &sys_quit, NULL);
  }
  if (reset) {
    sigemptyset(reset);
    if (!ignored(&sys_intr))
      sigaddset(reset, SIGINT);
    if (!ignored(&sys_quit))
      sigaddset(reset, SIGQUIT);
  }
  unlock(&sys_mu);
}

/* Runs line with "sh -c" and waits for it; see the file comment. */
static int do_system(const char *line) {
  sigset_t chld, omask, reset;
  sys_signals(1, &reset);
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  gp_set_mask(SIG_BLOCK, &chld, &omask);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, &omask);
  posix_spawnattr_setsigdefault(&attr, &reset);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETSIGMASK);
  pid_t pid;
  int status;
  char *argv[] = {"sh", "-c", (char *)line, NULL};
  int err = posix_spawn(&pid, SHELL_PATH, NULL, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  if (err == 0) {
    if (gp_waitpid_retry(pid, &status) != pid)
      status = -1;
  } else if (err == EAGAIN || err == ENOMEM) {
    status = -1; /* POSIX: no child could be created */
  } else {
    status = W_EXITCODE(127, 0); /* as if the shell did _exit(127) */
  }
  sys_signals(0, NULL);
  gp_set_mask(SIG_SETMASK, &omask, NULL);
  if (err)
    errno = err;
  return status;
}

GP_EXPORT int system(const char *line) {
  if (line == NULL) /* is there a shell? */
    return do_system("exit 0") == 0;
  return do_system(line);
}

/* Parses popen's mode: 0, or -1 for a mode glibc refuses. */
static int parse_mode(const char *mode, int *rd, int *cloexec) {
  int r = 0, w = 0;
  *cloexec = 0;
  for (; *mode; mode++) {
    if (*mode == 'r')
      r = 1;
    else if (*mode == 'w')
      w = 1;
    else if (*mode == 'e')
      *cloexec = 1;
    else
      return -1;
  }
  if (r == w)
    return -1;
  *rd = r;
  return 0;
}

/* Starts "sh -c cmd" with child_fd on std_fd, closing the pipes of the
 * earlier popen streams in the child. Holds chain_mu. Returns 0 or an
 * error number. */
static int spawn_shell(const char *cmd, int child_fd, int std_fd,
                       pid_t *pid) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  int err = posix_spawn_file_actions_adddup2(&fa, child_fd, std_fd);
  for (struct pchild *p = chain; p && err == 0; p = p->next) {
    int fd = fileno(p->fp);
    if (fd != std_fd)
      err = posix_spawn_file_actions_addclose(&fa, fd);
  }
  char *argv[] = {"sh", "-c", (char *)cmd, NULL};
  if (err == 0)
    err = posix_spawn(pid, SHELL_PATH, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  return err;
}

GP_EXPORT FILE *popen(const char *cmd, const char *mode) {
  int rd, cloexec, fds[2];
  if (parse_mode(mode, &rd, &cloexec) != 0) {
    errno = EINVAL;
    return NULL;
  }
  struct pchild *pc = malloc(sizeof *pc);
  if (pc == NULL)
    return NULL;
  if (GP_REAL(pipe2)(fds, O_CLOEXEC) != 0)
    goto error_record;
  int parent = fds[rd ? 0 : 1], child = fds[rd ? 1 : 0], std = rd ? 1 : 0;
  if (child == std) { /* dup2 onto itself would keep O_CLOEXEC */
    int moved = GP_REAL(fcntl)(child, F_DUPFD_CLOEXEC, 0);
    if (moved < 0)
      goto error_pipe;
    GP_REAL(close)(child);
    child = moved;
  }
  gp_fd_created(parent, GP_KIND_FIFO);
  pc->fp = fdopen(parent, rd ? "r" : "w");
  if (pc->fp == NULL)
    goto error_pipe;
  lock(&chain_mu);
  int err = spawn_shell(cmd, child, std, &pc->pid);
  if (err == 0) {
    pc->next = chain;
    chain = pc;
  }
  unlock(&chain_mu);
  GP_REAL(close)(child);
  if (err != 0) {
    gp_fd_closing(parent);
    fclose(pc->fp);
    free(pc);
    errno = err;
    return NULL;
  }
  if (!cloexec)
    GP_REAL(fcntl)(parent, F_SETFD, 0);
  return pc->fp;
error_pipe:
  GP_REAL(close)(child);
  GP_REAL(close)(parent);
error_record:
  free(pc);
  return NULL;
}

/* Takes fp's record out of the chain; NULL when popen did not make it. */
static struct pchild *unchain(FILE *fp) {
  lock(&chain_mu);
  struct pchild **pp = &chain, *pc = NULL;
  for (; *pp; pp = &(*pp)->next)
    if ((*pp)->fp == fp) {
      pc = *pp;
      *pp = pc->next;
      break;
    }
  unlock(&chain_mu);
  return pc;
}

GP_EXPORT int pclose(FILE *fp) {
  struct pchild *pc = unchain(fp);
  if (pc == NULL) {
    errno = ECHILD;
    return -1;
  }
  pid_t pid = pc->pid;
  free(pc);
  gp_fd_closing(fileno(fp)); /* fclose closes it without the hook */
  int closed = fclose(fp);
  int status;
  if (gp_waitpid_retry(pid, &status) != pid)
    return -1;
  return closed != 0 && status == 0 ? -1 : status;
}
