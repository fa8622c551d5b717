/* A set-user-ID program ignores every GPATCH_* variable. The shim reads
 * them with secure_getenv, which gives nothing in secure-execution mode;
 * this runs a real set-user-ID copy of a test program to show it.
 *
 * In that mode the loader takes LD_PRELOAD only by bare name, only from
 * the system's library directories, and only a library with its own
 * set-user-ID bit, so the test installs such a copy of libgpatch.so for
 * the run (root only: skipped otherwise, and removed after). The program
 * is a copy of config_probe owned by nobody, set-user-ID, run by root:
 * real and effective user differ, so the kernel asks for secure mode.
 * Without set-user-ID the same environment turns the thread family off
 * (4 threads), prints the stats and writes the log file: the test shows
 * that the settings would have acted.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define LIBDIR "/usr/lib/x86_64-linux-gnu"

static char lib[512], dir[512];

/* Copies file from to to with mode; 0 or -1. */
static int copy(const char *from, const char *to, mode_t mode) {
  char cmd[4 * PATH_MAX];
  snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chmod %o '%s'", from, to,
           (unsigned)mode, to);
  return system(cmd) == 0 ? 0 : -1;
}

static void cleanup(void) {
  char cmd[1024];
  if (lib[0])
    unlink(lib);
  if (dir[0]) {
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
      fprintf(stderr, "cannot remove %s\n", dir);
  }
}

/* The environment: the suid library by name, and settings that would each
 * show if taken: no thread family, stats at exit, debug log into a file. */
static void make_env(char *preload, size_t plen, char *logfile,
                     size_t llen) {
  snprintf(preload, plen, "LD_PRELOAD=%s", strrchr(lib, '/') + 1);
  snprintf(logfile, llen, "GPATCH_LOG_FILE=%s/log", dir);
}

Test(security, setuid_program_ignores_gpatch_variables, .fini = cleanup) {
  if (geteuid() != 0)
    cr_skip_test("needs root (to install a set-user-ID library copy)");
  if (access(LIBDIR, W_OK) != 0)
    cr_skip_test("%s is not writable", LIBDIR);
  snprintf(dir, sizeof dir, "%s/suid.XXXXXX", gp_build());
  cr_assert(mkdtemp(dir) != NULL, "mkdtemp %s", dir);
  chmod(dir, 0777); /* the program runs as nobody: it may write its log */
  snprintf(lib, sizeof lib, "%s/libgpatch-suidtest-%d.so", LIBDIR,
           (int)getpid());
  char src[1024], prog[1024], plain[1024];
  snprintf(src, sizeof src, "%s/libgpatch.so", gp_build());
  cr_assert(copy(src, lib, 04755) == 0, "cannot install %s", lib);
  snprintf(src, sizeof src, "%s/progs/config_probe", gp_build());
  snprintf(prog, sizeof prog, "%s/probe_suid", dir);
  snprintf(plain, sizeof plain, "%s/probe_plain", dir);
  cr_assert(copy(src, prog, 0755) == 0 && copy(src, plain, 0755) == 0);
  cr_assert(chown(prog, 65534, 65534) == 0 && chmod(prog, 04755) == 0,
            "cannot make %s set-user-ID nobody", prog);

  char preload[1024], logfile[1024], logpath[1024];
  make_env(preload, sizeof preload, logfile, sizeof logfile);
  snprintf(logpath, sizeof logpath, "%s/log", dir);
  const char *const env[] = {preload, "GPATCH_PATCH=-thread",
                             "GPATCH_STATS=1", "GPATCH_LOG=debug", logfile,
                             NULL};

  /* The plain copy: every setting acts. */
  struct gp_run r;
  cr_assert(gp_run(&r, 0, env, 30, plain, GP_ARGV("4")) == 0);
  gp_expect_exit(&r, 0);
  GP_EXPECT_VAL(&r, "threads", ==, 5); /* real threads: -thread */
  cr_expect(access(logpath, F_OK) == 0, "the plain run wrote no log; %s",
            gp_describe(&r));
  gp_run_free(&r);
  unlink(logpath);

  /* The set-user-ID copy: the shim runs (one OS thread for four
   * threads), with none of the settings. */
  cr_assert(gp_run(&r, 0, env, 30, prog, GP_ARGV("4")) == 0);
  gp_expect_exit(&r, 0);
  GP_EXPECT_VAL(&r, "threads", ==, 1);
  cr_expect(strstr(r.err, "gpatch") == NULL,
            "a set-user-ID run printed gpatch's output; %s", gp_describe(&r));
  cr_expect(access(logpath, F_OK) != 0,
            "a set-user-ID run created GPATCH_LOG_FILE; %s",
            gp_describe(&r));
  gp_run_free(&r);
}
