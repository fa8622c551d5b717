/* The gpatch launcher (scripts/gpatch): options and refusals, the exit
 * status and signal of the program passing through, the program running
 * patched, LD_PRELOAD kept, programs the preload cannot apply to refused,
 * the systemd drop-in of --systemd (checked by systemd-analyze verify where
 * it is installed), and make install / make uninstall into a staging
 * directory.
 *
 * The launcher runs from the source tree: $GPATCH_TEST_SRC, or the
 * directory above the build directory (one or two levels, for build/asan)
 * that holds scripts/gpatch.  GPATCH_LIB points it at the library under
 * test, except where a test checks how the launcher finds it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Seconds any one child may run: the launcher and probe take milliseconds,
 * the compiler and make a few seconds. */
#define RUN_S 30
#define BUILD_S 120

/* The temporary directory of the running test, removed by its .fini. */
static char tmp[64];

/* Absolute paths, filled in once per test process. */
static char src[PATH_MAX], build[PATH_MAX], launcher[PATH_MAX + 32],
    probe[PATH_MAX + 32], lib[PATH_MAX + 32], libenv[PATH_MAX + 64];

/* Finds the source tree and the build directory. */
static void paths(void) {
  const char *s;

  cr_assert(realpath(gp_build(), build) != NULL, "no build directory %s",
            gp_build());
  s = gp_src();
  cr_assert(s != NULL && strlen(s) < sizeof src, "cannot find scripts/gpatch "
            "above %s; set GPATCH_TEST_SRC to the source tree", build);
  strcpy(src, s);
  snprintf(launcher, sizeof launcher, "%s/scripts/gpatch", src);
  snprintf(probe, sizeof probe, "%s/progs/launch_probe", build);
  snprintf(lib, sizeof lib, "%s/libgpatch.so", build);
  snprintf(libenv, sizeof libenv, "GPATCH_LIB=%s", lib);
  cr_assert(access(probe, X_OK) == 0, "%s is missing (make all)", probe);
  cr_assert(access(lib, R_OK) == 0, "%s is missing (make all)", lib);
}

/* .fini of the tests that make a temporary directory. */
static void rm_tmp(void) {
  if (tmp[0] != '\0')
    gp_rm_tree(tmp);
  tmp[0] = '\0';
}

static void mk_tmp(void) {
  snprintf(tmp, sizeof tmp, "/tmp/gpatch-launcher-XXXXXX");
  cr_assert(mkdtemp(tmp) != NULL, "mkdtemp: %s", strerror(errno));
}

/* Writes text to the file dir/name with the given mode; returns the path
 * in a static buffer of 4, reused in turn. */
static const char *put(const char *name, const char *text, mode_t mode) {
  static char bufs[4][PATH_MAX];
  static int next;
  char *path = bufs[next++ % 4];
  FILE *f;

  snprintf(path, PATH_MAX, "%s/%s", tmp, name);
  f = fopen(path, "w");
  cr_assert(f != NULL, "%s: %s", path, strerror(errno));
  fputs(text, f);
  fclose(f);
  cr_assert(chmod(path, mode) == 0);
  return path;
}


/* Runs the in-tree launcher with argv and the extra environment env (the
 * library under test comes first unless with_lib is 0). */
static void launch_env(struct gp_run *r, int with_lib, const char *const *env,
                       const char *const *argv) {
  const char *e[8];
  size_t n = 0;

  if (with_lib)
    e[n++] = libenv;
  while (env != NULL && *env != NULL && n < 7)
    e[n++] = *env++;
  e[n] = NULL;
  cr_assert(gp_run(r, 0, e, RUN_S, launcher, argv) == 0,
            "cannot start %s", launcher);
}

static void launch(struct gp_run *r, const char *const *argv) {
  launch_env(r, 1, NULL, argv);
}

/* Asserts the launcher refused: status 2, one "gpatch:" line naming
 * what (when not NULL), and the probe never ran. */
static void expect_refused(const struct gp_run *r, const char *what) {
  gp_expect_exit(r, 2);
  cr_expect(strncmp(r->err, "gpatch: ", 8) == 0,
            "stderr does not start with gpatch:; %s", gp_describe(r));
  cr_expect(strchr(r->err, '\n') == r->err + strlen(r->err) - 1,
            "not one line; %s", gp_describe(r));
  if (what != NULL)
    cr_expect(strstr(r->err, what) != NULL, "the message does not say %s; "
              "%s", what, gp_describe(r));
  cr_expect(strstr(r->out, "ppid=") == NULL, "the program ran; %s",
            gp_describe(r));
}

/* Asserts out holds a line that starts with prefix. */
static void expect_line(const struct gp_run *r, const char *prefix) {
  const char *p = r->out;
  size_t n = strlen(prefix);

  while (p != NULL && strncmp(p, prefix, n) != 0)
    p = (p = strchr(p, '\n')) != NULL ? p + 1 : NULL;
  cr_expect(p != NULL, "no line starting with '%s'; %s", prefix,
            gp_describe(r));
}

/* The version the launcher defines, from its version= line. */
static void script_version(char *out, size_t len) {
  char *text = gp_slurp(launcher), *v;

  cr_assert(text != NULL, "cannot read %s", launcher);
  v = strstr(text, "\nversion=");
  cr_assert(v != NULL, "no version= line in %s", launcher);
  v += 9;
  snprintf(out, len, "%.*s", (int)strcspn(v, "\n"), v);
  free(text);
}

Test(launcher, version_and_help, .init = paths) {
  struct gp_run r;
  char want[64], version[32];
  unsigned a, b, c;

  script_version(version, sizeof version);
  cr_expect(sscanf(version, "%u.%u.%u", &a, &b, &c) == 3, "version=%s",
            version);
  snprintf(want, sizeof want, "gpatch %s\n", version);
  launch(&r, GP_ARGV("--version"));
  gp_expect_exit(&r, 0);
  cr_expect_str_eq(r.out, want);
  gp_run_free(&r);

  launch(&r, GP_ARGV("--help"));
  gp_expect_exit(&r, 0);
  expect_line(&r, "Usage: gpatch [options] [--] program [args...]");
  cr_expect(strstr(r.out, "--patch=LIST") && strstr(r.out, "--stack-size")
            && strstr(r.out, "--list") && strstr(r.out, "--verbose")
            && strstr(r.out, "--stats") && strstr(r.out, "--max-blocking=MS")
            && strstr(r.out, "--log=LEVEL") && strstr(r.out, "--log-file=PATH")
            && strstr(r.out, "--systemd UNIT")
            && strstr(r.out, "Exit status"), "help lacks an option; %s",
            gp_describe(&r));
  gp_run_free(&r);
}

Test(launcher, unknown_option_and_missing_program_refused, .init = paths) {
  struct gp_run r;

  launch(&r, GP_ARGV("--bogus", probe));
  expect_refused(&r, "'--bogus'");
  gp_run_free(&r);
  launch(&r, GP_ARGV("-x", probe));
  expect_refused(&r, "'-x'");
  gp_run_free(&r);
  launch(&r, NULL);
  expect_refused(&r, "no program");
  gp_run_free(&r);
  launch(&r, GP_ARGV("--patch=all", "--"));
  expect_refused(&r, "no program");
  gp_run_free(&r);
  launch(&r, GP_ARGV("--patch"));
  expect_refused(&r, "needs a value");
  gp_run_free(&r);
}

Test(launcher, program_not_found_refused, .init = paths, .fini = rm_tmp) {
  struct gp_run r;
  const char *text;

  mk_tmp();
  text = put("text", "not executable\n", 0644);
  launch(&r, GP_ARGV("gpatch-test-no-such-program"));
  expect_refused(&r, "not found in PATH");
  gp_run_free(&r);
  launch(&r, GP_ARGV("/nonexistent/program"));
  expect_refused(&r, "no such file");
  gp_run_free(&r);
  launch(&r, GP_ARGV(text));
  expect_refused(&r, "not an executable file");
  gp_run_free(&r);
  launch(&r, GP_ARGV(tmp));
  expect_refused(&r, "is a directory");
  gp_run_free(&r);
}

Test(launcher, bad_patch_refused, .init = paths) {
  static const char *const bad[] = {
    "bogus", "", "Socket", "thread,,sleep", "thread,", "-", "all,-sync",
    "-sync", "thread,socket",
  };
  size_t i;

  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct gp_run r;
    char opt[64];

    snprintf(opt, sizeof opt, "--patch=%s", bad[i]);
    launch(&r, GP_ARGV(opt, probe));
    expect_refused(&r, "--patch");
    if (strstr(bad[i], "sync") == NULL && strcmp(bad[i], "thread,socket"))
      cr_expect(strstr(r.err, "known: all, thread, sync, sleep, socket, "
                       "poll") != NULL, "no known list; %s",
                gp_describe(&r));
    gp_run_free(&r);
  }
}

Test(launcher, patch_selects_families, .init = paths) {
  static const struct { const char *list; long threads; } cases[] = {
    { "all", 1 }, { "-socket", 1 }, { "thread,sync", 1 },
    { "-thread,-sync", 5 }, { "socket,sleep", 5 }, { "-thread,-sync,thread,"
                                                    "sync", 1 },
  };
  struct gp_run r;
  char tok[64];
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char opt[64];

    snprintf(opt, sizeof opt, "--patch=%s", cases[i].list);
    launch(&r, GP_ARGV(opt, probe, "-t", "4"));
    gp_expect_exit(&r, 0);
    GP_EXPECT_VAL(&r, "threads", ==, cases[i].threads);
    snprintf(tok, sizeof tok, "env_GPATCH_PATCH=%s", cases[i].list);
    gp_expect_token(&r, tok);
    gp_run_free(&r);
  }
  /* The value as the next argument; the option wins over the variable. */
  launch_env(&r, 1, GP_ARGV("GPATCH_PATCH=-thread,-sync"),
             GP_ARGV("--patch", "-socket", probe, "-t", "4"));
  gp_expect_exit(&r, 0);
  GP_EXPECT_VAL(&r, "threads", ==, 1);
  gp_expect_token(&r, "env_GPATCH_PATCH=-socket");
  gp_run_free(&r);
  /* A variable alone is kept, and checked like the option. */
  launch_env(&r, 1, GP_ARGV("GPATCH_PATCH=-thread,-sync"),
             GP_ARGV(probe, "-t", "4"));
  gp_expect_exit(&r, 0);
  GP_EXPECT_VAL(&r, "threads", ==, 5);
  gp_run_free(&r);
  launch_env(&r, 1, GP_ARGV("GPATCH_PATCH=bogus"), GP_ARGV(probe));
  expect_refused(&r, "GPATCH_PATCH: unknown family 'bogus'");
  gp_run_free(&r);
}

Test(launcher, stack_size_checked, .init = paths) {
  static const char *const bad[] = {
    "1K", "16383", "2G", "1073741825", "abc", "", "16KB", "-16K", "K",
    "99999999999999999999", "1T", " 16K",
  };
  static const char *const good[] = { "16K", "16384", "256k", "1G", "0016K",
                                      "1m" };
  struct gp_run r;
  size_t i;

  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char opt[64];

    snprintf(opt, sizeof opt, "--stack-size=%s", bad[i]);
    launch(&r, GP_ARGV(opt, probe));
    expect_refused(&r, "expected a size from 16K to 1G");
    gp_run_free(&r);
  }
  for (i = 0; i < sizeof good / sizeof good[0]; i++) {
    char opt[64], tok[64];

    snprintf(opt, sizeof opt, "--stack-size=%s", good[i]);
    launch(&r, GP_ARGV(opt, probe, "-t", "3"));
    gp_expect_exit(&r, 0);
    GP_EXPECT_VAL(&r, "threads", ==, 1);
    snprintf(tok, sizeof tok, "env_GPATCH_STACK_SIZE=%s", good[i]);
    gp_expect_token(&r, tok);
    gp_run_free(&r);
  }
  launch_env(&r, 1, GP_ARGV("GPATCH_STACK_SIZE=8K"), GP_ARGV(probe));
  expect_refused(&r, "GPATCH_STACK_SIZE='8K'");
  gp_run_free(&r);
}

/* Whether word occurs in text as a whole word (delimited by anything that
 * cannot be part of a C identifier). */
static int has_word(const char *text, const char *word) {
  size_t n = strlen(word);
  const char *p = text;

#define IDCHAR(c) ((c) == '_' || ((c) >= 'a' && (c) <= 'z') \
                   || ((c) >= 'A' && (c) <= 'Z') || ((c) >= '0' && (c) <= '9'))
  while ((p = strstr(p, word)) != NULL) {
    if ((p == text || !IDCHAR(p[-1])) && !IDCHAR(p[n]))
      return 1;
    p += n;
  }
  return 0;
#undef IDCHAR
}

Test(launcher, list_names_every_hook, .init = paths) {
  static const char *const families[] = { "thread", "sync", "sleep",
                                          "socket", "poll" };
  char map[PATH_MAX + 32], *text, *line, *save = NULL;
  struct gp_run r;
  size_t i, hooks = 0;

  launch(&r, GP_ARGV("--list"));
  gp_expect_exit(&r, 0);
  for (i = 0; i < sizeof families / sizeof families[0]; i++) {
    char row[32];

    snprintf(row, sizeof row, "%-7s on ", families[i]);
    expect_line(&r, row);
  }
  /* Every exported hook is listed ... */
  snprintf(map, sizeof map, "%s/shim/exports.map", src);
  text = gp_slurp(map);
  cr_assert(text != NULL, "cannot read %s", map);
  for (line = strtok_r(text, "\n", &save); line != NULL;
       line = strtok_r(NULL, "\n", &save)) {
    char name[128];

    if (sscanf(line, " %127[A-Za-z0-9_];", name) != 1
        || strchr(line, ';') == NULL || strcmp(name, "local") == 0
        || strncmp(name, "gpatch_", 7) == 0) /* the C API, not hooks */
      continue;
    hooks++;
    cr_expect(has_word(r.out, name), "--list does not name %s (exported "
              "by the library)", name);
  }
  cr_expect(hooks > 50, "only %zu hooks read from %s", hooks, map);
  /* ... and every call listed is a hook (the indented lines); strtok_r
   * cut the first copy of the map into lines. */
  free(text);
  text = gp_slurp(map);
  cr_assert(text != NULL);
  for (line = strtok_r(r.out, "\n", &save); line != NULL;
       line = strtok_r(NULL, "\n", &save)) {
    char *w, *save2 = NULL;

    if (line[0] != ' ')
      continue;
    for (w = strtok_r(line, " ", &save2); w != NULL;
         w = strtok_r(NULL, " ", &save2))
      cr_expect(has_word(text, w), "--list names %s, which %s does not "
                "export", w, map);
  }
  free(text);
  gp_run_free(&r);
}

Test(launcher, list_shows_a_selection, .init = paths) {
  struct gp_run r;

  launch(&r, GP_ARGV("--patch=-socket", "--list"));
  gp_expect_exit(&r, 0);
  expect_line(&r, "selection: --patch=-socket");
  expect_line(&r, "socket  on       off ");
  expect_line(&r, "poll    on       on ");
  gp_run_free(&r);
  launch(&r, GP_ARGV("--patch=-sync", "--list"));
  expect_refused(&r, "'sync' cannot be off");
  gp_run_free(&r);
}

Test(launcher, exit_status_passes_through, .init = paths) {
  static const char *const codes[] = { "0", "1", "2", "7", "255" };
  size_t i;

  for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    struct gp_run r;

    launch(&r, GP_ARGV(probe, "-t", "2", "-x", codes[i]));
    gp_expect_exit(&r, atoi(codes[i]));
    /* exec, not fork: the program's parent is this test process. */
    GP_EXPECT_VAL(&r, "ppid", ==, getpid());
    GP_EXPECT_VAL(&r, "threads", ==, 1);
    gp_run_free(&r);
  }
}

Test(launcher, termination_signal_passes_through, .init = paths) {
  static const int sigs[] = { SIGTERM, SIGUSR1, SIGKILL };
  size_t i;

  for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct gp_run r;
    char sig[16];

    snprintf(sig, sizeof sig, "%d", sigs[i]);
    launch(&r, GP_ARGV(probe, "-t", "2", "-k", sig));
    cr_expect(!r.timed_out && WIFSIGNALED(r.status)
              && WTERMSIG(r.status) == sigs[i], "expected signal %d; %s",
              sigs[i], gp_describe(&r));
    GP_EXPECT_VAL(&r, "ppid", ==, getpid());
    gp_run_free(&r);
  }
}

Test(launcher, runs_the_program_patched, .init = paths) {
  struct gp_run r;
  char tok[2 * PATH_MAX];

  gp_run_ok(&r, 0, NULL, RUN_S, probe, GP_ARGV("-t", "4"));
  GP_EXPECT_VAL(&r, "threads", ==, 5);
  gp_expect_token(&r, "gpatch=none");
  gp_run_free(&r);

  /* Arguments from the program on are the program's, even option-like. */
  launch(&r, GP_ARGV("--", probe, "-t", "4", "x", "--patch=bogus", "--"));
  gp_expect_exit(&r, 0);
  GP_EXPECT_VAL(&r, "threads", ==, 1);
  GP_EXPECT_VAL(&r, "argc", ==, 6);
  snprintf(tok, sizeof tok, "gpatch=%s", lib);
  gp_expect_token(&r, tok);
  snprintf(tok, sizeof tok, "env_LD_PRELOAD=%s", lib);
  gp_expect_token(&r, tok);
  gp_expect_token(&r, "env_GPATCH_PATCH=(unset)");
  cr_expect_str_empty(r.err, "%s", gp_describe(&r));
  gp_run_free(&r);

  /* Found in PATH: sh, a dynamic program, runs the probe under the
   * preload it inherits. */
  launch(&r, GP_ARGV("sh", "-c", "exec \"$0\" -t 3", probe));
  gp_expect_exit(&r, 0);
  GP_EXPECT_VAL(&r, "threads", ==, 1);
  gp_run_free(&r);
}

Test(launcher, finds_the_library_in_the_tree, .init = paths) {
  char tree_lib[PATH_MAX + 32], real[PATH_MAX], tok[2 * PATH_MAX];
  struct gp_run r;

  snprintf(tree_lib, sizeof tree_lib, "%s/build/libgpatch.so", src);
  if (realpath(tree_lib, real) == NULL || strcmp(real, lib) != 0)
    cr_skip_test("the library under test (%s) is not the tree's "
                 "build/libgpatch.so", lib);
  launch_env(&r, 0, NULL, GP_ARGV(probe, "-t", "3"));
  gp_expect_exit(&r, 0);
  GP_EXPECT_VAL(&r, "threads", ==, 1);
  snprintf(tok, sizeof tok, "gpatch=%s", lib);
  gp_expect_token(&r, tok);
  gp_run_free(&r);

  launch_env(&r, 0, GP_ARGV("GPATCH_LIB=/nonexistent/libgpatch.so"),
             GP_ARGV(probe));
  expect_refused(&r, "GPATCH_LIB=/nonexistent/libgpatch.so");
  gp_run_free(&r);
}

Test(launcher, ld_preload_is_prepended, .init = paths) {
  struct gp_run r;
  char tok[2 * PATH_MAX];

  launch_env(&r, 1, GP_ARGV("LD_PRELOAD=libm.so.6"),
             GP_ARGV(probe, "-t", "3", "-m", "libm.so.6"));
  gp_expect_exit(&r, 0);
  snprintf(tok, sizeof tok, "env_LD_PRELOAD=%s:libm.so.6", lib);
  gp_expect_token(&r, tok);
  GP_EXPECT_VAL(&r, "mapped_libm.so.6", ==, 1);
  GP_EXPECT_VAL(&r, "threads", ==, 1);
  gp_run_free(&r);

  /* Spaces and colons both separate entries, as for ld.so. */
  launch_env(&r, 1, GP_ARGV("LD_PRELOAD=libm.so.6 libdl.so.2"),
             GP_ARGV(probe, "-t", "3", "-m", "libm.so.6"));
  gp_expect_exit(&r, 0);
  snprintf(tok, sizeof tok, "env_LD_PRELOAD=%s:libm.so.6:libdl.so.2", lib);
  gp_expect_token(&r, tok);
  GP_EXPECT_VAL(&r, "mapped_libm.so.6", ==, 1);
  GP_EXPECT_VAL(&r, "threads", ==, 1);
  gp_run_free(&r);

  /* Another libgpatch.so is dropped: two copies would both hook. */
  launch_env(&r, 1, GP_ARGV("LD_PRELOAD=/nonexistent/libgpatch.so:libm.so.6"),
             GP_ARGV("-v", probe, "-t", "3"));
  gp_expect_exit(&r, 0);
  snprintf(tok, sizeof tok, "env_LD_PRELOAD=%s:libm.so.6", lib);
  gp_expect_token(&r, tok);
  GP_EXPECT_VAL(&r, "threads", ==, 1);
  cr_expect(strstr(r.err, "gpatch: dropped from LD_PRELOAD (another "
                   "libgpatch.so): /nonexistent/libgpatch.so") != NULL,
            "%s", gp_describe(&r));
  gp_run_free(&r);
}

Test(launcher, verbose_shows_what_it_sets, .init = paths) {
  struct gp_run r;
  char want[PATH_MAX + 64];

  launch(&r, GP_ARGV("-v", "--patch=-socket", "--stack-size=64K", "--stats",
                     "--max-blocking=250", "--log=warn", probe));
  gp_expect_exit(&r, 0);
  snprintf(want, sizeof want, "gpatch: LD_PRELOAD=%s\n", lib);
  cr_expect(strstr(r.err, want) != NULL, "%s", gp_describe(&r));
  cr_expect(strstr(r.err, "gpatch: GPATCH_PATCH=-socket\n") != NULL
            && strstr(r.err, "gpatch: GPATCH_STACK_SIZE=64K\n") != NULL
            && strstr(r.err, "gpatch: GPATCH_STATS=1\n") != NULL
            && strstr(r.err, "gpatch: GPATCH_MAX_BLOCKING=250\n") != NULL
            && strstr(r.err, "gpatch: GPATCH_LOG=warn\n") != NULL
            && strstr(r.err, "gpatch: exec ") != NULL, "%s",
            gp_describe(&r));
  gp_run_free(&r);
}

Test(launcher, diagnostic_options_set_their_variables, .init = paths,
     .fini = rm_tmp) {
  char log[PATH_MAX], opt[PATH_MAX + 16], tok[PATH_MAX + 32], *text;
  struct gp_run r;

  mk_tmp();
  snprintf(log, sizeof log, "%s/gpatch.log", tmp);
  snprintf(opt, sizeof opt, "--log-file=%s", log);
  launch(&r, GP_ARGV("--stats", "--max-blocking=100", "--slice=off",
                     "--log=info", opt, probe, "-t", "2"));
  gp_expect_exit(&r, 0);
  gp_expect_token(&r, "env_GPATCH_STATS=1");
  gp_expect_token(&r, "env_GPATCH_MAX_BLOCKING=100");
  gp_expect_token(&r, "env_GPATCH_SLICE=off");
  gp_expect_token(&r, "env_GPATCH_LOG=info");
  snprintf(tok, sizeof tok, "env_GPATCH_LOG_FILE=%s", log);
  gp_expect_token(&r, tok);
  cr_expect_str_empty(r.err, "the log went to stderr; %s", gp_describe(&r));
  gp_run_free(&r);
  text = gp_slurp(log);
  cr_assert(text != NULL, "no %s", log);
  cr_expect(strstr(text, " info: runtime started") != NULL
            && strstr(text, " info: blocking monitor started") != NULL
            && strstr(text, " info: stats: created=2 ") != NULL, "%s", text);
  free(text);

  /* The values as the next argument; the report on stderr. */
  launch(&r, GP_ARGV("--stats", "--max-blocking", "50", "--slice", "2",
                     "--log", "DEBUG", probe, "-t", "2"));
  gp_expect_exit(&r, 0);
  gp_expect_token(&r, "env_GPATCH_MAX_BLOCKING=50");
  gp_expect_token(&r, "env_GPATCH_SLICE=2");
  gp_expect_token(&r, "env_GPATCH_LOG=DEBUG");
  gp_expect_token(&r, "env_GPATCH_LOG_FILE=(unset)");
  cr_expect(strstr(r.err, "gpatch: stats: created=2 ") != NULL
            && strstr(r.err, " spawned (stack ") != NULL, "%s",
            gp_describe(&r));
  gp_run_free(&r);

  /* The TLS mode: private by default, shared when asked; the stats line
   * says which runs. */
  launch(&r, GP_ARGV("--stats", probe, "-t", "2"));
  gp_expect_exit(&r, 0);
  gp_expect_token(&r, "env_GPATCH_TLS=(unset)");
  cr_expect(strstr(r.err, " tls=private\n") != NULL, "%s", gp_describe(&r));
  gp_run_free(&r);
  launch(&r, GP_ARGV("--stats", "--tls", "shared", probe, "-t", "2"));
  gp_expect_exit(&r, 0);
  gp_expect_token(&r, "env_GPATCH_TLS=shared");
  cr_expect(strstr(r.err, " tls=shared\n") != NULL, "%s", gp_describe(&r));
  gp_run_free(&r);

  /* Without the options, nothing is set and nothing reported. */
  launch(&r, GP_ARGV(probe, "-t", "2"));
  gp_expect_exit(&r, 0);
  gp_expect_token(&r, "env_GPATCH_STATS=(unset)");
  gp_expect_token(&r, "env_GPATCH_MAX_BLOCKING=(unset)");
  gp_expect_token(&r, "env_GPATCH_SLICE=(unset)");
  gp_expect_token(&r, "env_GPATCH_LOG=(unset)");
  cr_expect_str_empty(r.err, "%s", gp_describe(&r));
  gp_run_free(&r);
}

Test(launcher, bad_diagnostic_values_refused, .init = paths) {
  static const struct { const char *opt, *what; } bad[] = {
    { "--max-blocking=abc", "--max-blocking='abc'" },
    { "--max-blocking=-1", "expected milliseconds" },
    { "--max-blocking=3600001", "expected milliseconds" },
    { "--max-blocking=10ms", "expected milliseconds" },
    { "--max-blocking=", "expected milliseconds" },
    { "--slice=5ms", "--slice='5ms': expected milliseconds" },
    { "--slice=10001", "expected milliseconds, from 1 to 10000" },
    { "--slice=", "--slice=''" },
    { "--tls=own", "--tls='own': expected 'private'" },
    { "--tls=", "--tls=''" },
    { "--log=loud", "--log='loud': expected error, warn, info or debug" },
    { "--log=", "--log=''" },
    { "--log-file=", "--log-file is empty" },
  };
  static const struct { const char *env, *what; } bad_env[] = {
    { "GPATCH_STATS=yes", "GPATCH_STATS='yes'" },
    { "GPATCH_MAX_BLOCKING=x", "GPATCH_MAX_BLOCKING='x'" },
    { "GPATCH_SLICE=x", "GPATCH_SLICE='x'" },
    { "GPATCH_TLS=x", "GPATCH_TLS='x'" },
    { "GPATCH_LOG=x", "GPATCH_LOG='x'" },
    { "GPATCH_LOG_FILE=", "GPATCH_LOG_FILE is empty" },
  };
  struct gp_run r;
  size_t i;

  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    launch(&r, GP_ARGV(bad[i].opt, probe));
    expect_refused(&r, bad[i].what);
    gp_run_free(&r);
  }
  for (i = 0; i < sizeof bad_env / sizeof bad_env[0]; i++) {
    launch_env(&r, 1, GP_ARGV(bad_env[i].env), GP_ARGV(probe));
    expect_refused(&r, bad_env[i].what);
    gp_run_free(&r);
  }
  /* A path the library cannot open stops the program before main. */
  launch(&r, GP_ARGV("--log-file=/nonexistent/dir/log", probe));
  expect_refused(&r, "GPATCH_LOG_FILE='/nonexistent/dir/log'");
  gp_run_free(&r);
}

Test(launcher, process_options_set_their_variables, .init = paths) {
  struct gp_run r;

  launch(&r, GP_ARGV("--no-inherit", "--deadlock=wait", "--dump-signal=USR2",
                     probe, "-t", "2"));
  gp_expect_exit(&r, 0);
  gp_expect_token(&r, "env_GPATCH_INHERIT=0");
  gp_expect_token(&r, "env_GPATCH_DEADLOCK=wait");
  gp_expect_token(&r, "env_GPATCH_DUMP_SIGNAL=USR2");
  gp_run_free(&r);
  launch(&r, GP_ARGV("--deadlock=later", probe));
  expect_refused(&r, "--deadlock='later'");
  gp_run_free(&r);
  launch(&r, GP_ARGV("--dump-signal=usr2", probe));
  expect_refused(&r, "--dump-signal='usr2'");
  gp_run_free(&r);
}

/* A library whose own dependency is missing would be skipped by the
 * loader with a warning: the launcher asks the loader first. */
Test(launcher, library_with_missing_dependency_refused, .init = paths,
     .fini = rm_tmp) {
  char cmd[4 * PATH_MAX], lib[PATH_MAX + 16], env[PATH_MAX + 32];
  struct gp_run r;
  const char *dep, *src;

  mk_tmp();
  dep = put("dep.c", "int gp_test_dep(void) { return 1; }\n", 0644);
  src = put("lib.c", "int gp_test_dep(void);\n"
            "int gp_test_use(void) { return gp_test_dep(); }\n", 0644);
  snprintf(lib, sizeof lib, "%s/libgpatch.so", tmp);
  snprintf(cmd, sizeof cmd, "cd %s && cc -shared -fPIC -o libgpdep.so %s && "
           "cc -shared -fPIC -o %s %s -L. -lgpdep && rm libgpdep.so", tmp,
           dep, lib, src);
  cr_assert(gp_run(&r, 0, NULL, BUILD_S, "/bin/sh", GP_ARGV("-c", cmd)) == 0);
  gp_expect_exit(&r, 0);
  gp_run_free(&r);
  snprintf(env, sizeof env, "GPATCH_LIB=%s", lib);
  launch_env(&r, 0, GP_ARGV(env), GP_ARGV(probe));
  expect_refused(&r, "cannot be loaded: missing libgpdep.so");
  gp_run_free(&r);
}

/* A library the loader cannot map (cut short here) passes the header
 * checks: the launcher asks the program's loader, which says no. */
Test(launcher, library_the_loader_refuses_is_refused, .init = paths,
     .fini = rm_tmp) {
  char cmd[3 * PATH_MAX], cut[PATH_MAX + 16], env[PATH_MAX + 32];
  struct gp_run r;

  mk_tmp();
  snprintf(cut, sizeof cut, "%s/libgpatch.so", tmp);
  snprintf(cmd, sizeof cmd, "head -c 8192 '%s' > '%s'", lib, cut);
  cr_assert(gp_run(&r, 0, NULL, BUILD_S, "/bin/sh", GP_ARGV("-c", cmd)) == 0);
  gp_expect_exit(&r, 0);
  gp_run_free(&r);
  snprintf(env, sizeof env, "GPATCH_LIB=%s", cut);
  launch_env(&r, 0, GP_ARGV(env), GP_ARGV(probe));
  expect_refused(&r, "its loader would not preload");
  gp_run_free(&r);
}

Test(launcher, scripts_run_patched, .init = paths, .fini = rm_tmp) {
  char text[PATH_MAX + 64];
  const char *script;
  struct gp_run r;
  int i;

  mk_tmp();
  for (i = 0; i < 3; i++) {
    static const char *const heads[] = { "#!/bin/sh\n", "#! /usr/bin/env "
                                         "sh\n", "" };

    snprintf(text, sizeof text, "%sexec %s -t 3\n", heads[i], probe);
    script = put("script", text, 0755);
    launch(&r, GP_ARGV(script));
    gp_expect_exit(&r, 0);
    GP_EXPECT_VAL(&r, "threads", ==, 1);
    gp_run_free(&r);
  }
}

/* Builds tmp/static, a statically linked program printing ran=1, and
 * returns its path; skips the test when the toolchain cannot. */
static const char *build_static(void) {
  static char out[PATH_MAX];
  char cmd[3 * PATH_MAX];
  const char *c;
  struct gp_run r;

  c = put("static.c", "#include <stdio.h>\n"
          "int main(void) { puts(\"ran=1\"); return 0; }\n", 0644);
  snprintf(out, sizeof out, "%s/static", tmp);
  snprintf(cmd, sizeof cmd, "cc -static -o %s %s", out, c);
  cr_assert(gp_run(&r, 0, NULL, BUILD_S, "/bin/sh", GP_ARGV("-c", cmd)) == 0);
  if (r.timed_out || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
    char why[512];

    snprintf(why, sizeof why, "cannot build a static program (cc -static; "
             "libc.a is in libc6-dev): %.400s", r.err);
    gp_run_free(&r);
    cr_skip_test("%s", why);
  }
  gp_run_free(&r);
  gp_run_ok(&r, 0, NULL, RUN_S, out, NULL);
  gp_expect_token(&r, "ran=1");
  gp_run_free(&r);
  return out;
}

Test(launcher, static_program_refused, .init = paths, .fini = rm_tmp) {
  char text[PATH_MAX + 64];
  const char *stat_prog, *script;
  struct gp_run r;

  mk_tmp();
  stat_prog = build_static();
  launch(&r, GP_ARGV(stat_prog));
  expect_refused(&r, "statically linked");
  cr_expect(strstr(r.out, "ran=1") == NULL, "it ran; %s", gp_describe(&r));
  gp_run_free(&r);

  /* A script run by it, directly or through env. */
  snprintf(text, sizeof text, "#!%s\n", stat_prog);
  script = put("by_static", text, 0755);
  launch(&r, GP_ARGV(script));
  expect_refused(&r, "statically linked");
  cr_expect(strstr(r.err, "interpreter") != NULL, "%s", gp_describe(&r));
  gp_run_free(&r);
  snprintf(text, sizeof text, "#!/usr/bin/env %s\n", stat_prog);
  script = put("by_env_static", text, 0755);
  launch(&r, GP_ARGV(script));
  expect_refused(&r, "statically linked");
  gp_run_free(&r);
}

/* Writes an executable ELF header of the given class and machine (no
 * program headers): enough for the launcher to refuse it before exec. */
static char *fake_elf(const char *name, int class64, unsigned machine) {
  unsigned char h[64] = { 0x7f, 'E', 'L', 'F', class64 ? 2 : 1, 1, 1 };
  char path[PATH_MAX];
  FILE *f;

  h[16] = 2; /* ET_EXEC, little-endian */
  h[18] = machine & 0xff;
  h[19] = machine >> 8;
  h[20] = 1;
  snprintf(path, sizeof path, "%s/%s", tmp, name);
  f = fopen(path, "w");
  cr_assert(f != NULL);
  fwrite(h, 1, class64 ? 64 : 52, f);
  fclose(f);
  cr_assert(chmod(path, 0755) == 0);
  return strdup(path);
}

Test(launcher, foreign_programs_refused, .init = paths, .fini = rm_tmp) {
#if defined(__x86_64__)
  const unsigned other = 183; /* aarch64 */
  const char *other_name = "64-bit aarch64";
#else
  const unsigned other = 62; /* x86-64 */
  const char *other_name = "64-bit x86-64";
#endif
  struct gp_run r;
  char *p;

  mk_tmp();
  p = fake_elf("elf32", 0, 3);
  launch(&r, GP_ARGV(p));
  expect_refused(&r, "a 32-bit i386 program");
  gp_run_free(&r);
  free(p);
  p = fake_elf("elf_other", 1, other);
  launch(&r, GP_ARGV(p));
  expect_refused(&r, other_name);
  cr_expect(strstr(r.err, "run it unpatched") != NULL, "%s",
            gp_describe(&r));
  gp_run_free(&r);
  free(p);
}

/* The [Service] part of a drop-in gpatch --systemd prints for the library
 * under test: everything from the line "[Service]" on. */
static const char *service_part(const struct gp_run *r) {
  const char *p = strstr(r->out, "\n[Service]\n");

  cr_assert(p != NULL, "no [Service] line; %s", gp_describe(r));
  return p + 1;
}

Test(launcher, systemd_dropin, .init = paths) {
  const char *const env[] = { "GPATCH_STATS=1", "GPATCH_LOG=debug", NULL };
  char want[2 * PATH_MAX];
  struct gp_run r;

  /* Only the options' settings, each quoted for a unit file; the
   * environment gpatch runs in is not copied. */
  launch_env(&r, 1, env, GP_ARGV("--patch=-dns", "--stack-size", "64K",
                                 "--max-blocking=50", "--log-file",
                                 "/var/log/a b%\"\\", "--dump-signal=USR2",
                                 "--deadlock=wait", "--no-inherit",
                                 "--systemd", "redis-server"));
  gp_expect_exit(&r, 0);
  cr_expect_str_empty(r.err);
  snprintf(want, sizeof want, "[Service]\n"
           "Environment=\"LD_PRELOAD=%s\"\n"
           "Environment=\"GPATCH_PATCH=-dns\"\n"
           "Environment=\"GPATCH_STACK_SIZE=64K\"\n"
           "Environment=\"GPATCH_MAX_BLOCKING=50\"\n"
           "Environment=\"GPATCH_LOG_FILE=/var/log/a b%%%%\\\"\\\\\"\n"
           "Environment=\"GPATCH_DUMP_SIGNAL=USR2\"\n"
           "Environment=\"GPATCH_DEADLOCK=wait\"\n"
           "Environment=\"GPATCH_INHERIT=0\"\n", lib);
  cr_expect_str_eq(service_part(&r), want);
  /* The comments: the unit's full name, how to undo, and the warning. */
  cr_expect(strncmp(r.out, "# redis-server.service: ", 24) == 0,
            "%s", r.out);
  cr_expect(strstr(r.out, "systemctl edit redis-server.service") &&
            strstr(r.out, "# Undo:    systemctl revert redis-server.service")
            && strstr(r.out, "/etc/ld.so.preload"), "%s", r.out);
  gp_run_free(&r);

  launch(&r, GP_ARGV("--stats", "--systemd=app@1.service"));
  gp_expect_exit(&r, 0);
  snprintf(want, sizeof want, "[Service]\nEnvironment=\"LD_PRELOAD=%s\"\n"
           "Environment=\"GPATCH_STATS=1\"\n", lib);
  cr_expect_str_eq(service_part(&r), want);
  gp_run_free(&r);

  launch(&r, GP_ARGV("--systemd", "app.socket"));
  expect_refused(&r, "not a service");
  gp_run_free(&r);
  launch(&r, GP_ARGV("--systemd", "a b"));
  expect_refused(&r, "not a unit name");
  gp_run_free(&r);
  launch(&r, GP_ARGV("--systemd", "app", probe));
  expect_refused(&r, "takes no program");
  gp_run_free(&r);
  launch(&r, GP_ARGV("--patch=bogus", "--systemd", "app"));
  expect_refused(&r, "--patch");
  gp_run_free(&r);
}

Test(launcher, systemd_dropin_verified, .init = paths, .fini = rm_tmp) {
  char cmd[6 * PATH_MAX + 256], unit[PATH_MAX];
  struct gp_run r;

  if (system("command -v systemd-analyze >/dev/null 2>&1") != 0)
    cr_skip_test("systemd-analyze is not installed (package systemd, not "
                 "in make deps: too much for a container): the drop-in's "
                 "text is checked by launcher::systemd_dropin only");
  mk_tmp();
  snprintf(cmd, sizeof cmd, "[Unit]\nDescription=gpatch drop-in check\n"
           "[Service]\nExecStart=%s -t 3\n", probe);
  snprintf(unit, sizeof unit, "%s", put("gpatch-check.service", cmd, 0644));
  snprintf(cmd, sizeof cmd, "mkdir '%s.d' && GPATCH_LIB='%s' '%s' --stats "
           "--log-file='/var/log/x y%%' --systemd gpatch-check > "
           "'%s.d/gpatch.conf' && exec systemd-analyze verify --man=no '%s'",
           unit, lib, launcher, unit, unit);
  cr_assert(gp_run(&r, 0, NULL, RUN_S, "/bin/sh", GP_ARGV("-c", cmd)) == 0);
  gp_expect_exit(&r, 0);
  cr_expect_str_empty(r.err, "systemd-analyze: %s", r.err);
  gp_run_free(&r);

  /* The control: the drop-in was read (a bad line in it is reported). */
  snprintf(cmd, sizeof cmd, "echo 'Environment=\"X' >> '%s.d/gpatch.conf' "
           "&& exec systemd-analyze verify --man=no '%s'", unit, unit);
  cr_assert(gp_run(&r, 0, NULL, RUN_S, "/bin/sh", GP_ARGV("-c", cmd)) == 0);
  cr_expect(strstr(r.err, "gpatch.conf") != NULL, "systemd-analyze did not "
            "read the drop-in; %s", gp_describe(&r));
  gp_run_free(&r);
}

/* The regular files found under tmp by count_files. */
static size_t nfiles;
static char files[4096];

static int file_entry(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw) {
  size_t n = strlen(files);

  (void)st, (void)ftw;
  if (flag == FTW_F) {
    nfiles++;
    snprintf(files + n, sizeof files - n, " %s", path);
  }
  return 0;
}

static size_t count_files(void) {
  nfiles = 0;
  files[0] = '\0';
  nftw(tmp, file_entry, 16, FTW_PHYS);
  return nfiles;
}

/* Runs make target in the source tree, staged into tmp with PREFIX=/usr,
 * using the library under test as it is (-o: never rebuilt here). */
static void make_staged(const char *target) {
  char cmd[4 * PATH_MAX + 256];
  struct gp_run r;

  snprintf(cmd, sizeof cmd, "unset MAKEFLAGS MFLAGS MAKELEVEL; exec make -s "
           "--no-print-directory -C '%s' %s DESTDIR='%s' PREFIX=/usr "
           "BUILD='%s' -o '%s'", src, target, tmp, build, lib);
  cr_assert(gp_run(&r, 0, NULL, BUILD_S, "/bin/sh", GP_ARGV("-c", cmd)) == 0);
  gp_expect_exit(&r, 0);
  gp_run_free(&r);
}

/* Builds tests/progs/api_tutorial.c against the C API installed in tmp,
 * with pkg-config's flags, and runs it. */
static void install_builds_api_program(void) {
  char cmd[6 * PATH_MAX];
  struct gp_run r;

  snprintf(cmd, sizeof cmd, "command -v pkg-config >/dev/null || exit 77; "
           "export PKG_CONFIG_PATH='%s/usr/lib/pkgconfig' "
           "PKG_CONFIG_SYSROOT_DIR='%s'; cc -o '%s/api_tutorial' "
           "'%s/tests/progs/api_tutorial.c' $(pkg-config --cflags --libs "
           "gpatch) -Wl,-rpath,'%s/usr/lib' && exec '%s/api_tutorial'",
           tmp, tmp, tmp, src, tmp, tmp);
  cr_assert(gp_run(&r, 0, NULL, BUILD_S, "/bin/sh", GP_ARGV("-c", cmd))
            == 0);
  if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 77) {
    cr_log_info("pkg-config is not installed: the C API build not tried");
  } else {
    gp_expect_exit(&r, 0);
    gp_expect_token(&r, "order=1,2,0");
  }
  gp_run_free(&r);
  snprintf(cmd, sizeof cmd, "%s/api_tutorial", tmp);
  remove(cmd);
}

Test(launcher, install_and_uninstall, .init = paths, .fini = rm_tmp) {
  static const char *const installed[] = {
    "/usr/bin/gpatch", "/usr/lib/libgpatch.so",
    "/usr/share/man/man1/gpatch.1", "/usr/lib/pkgconfig/gpatch.pc",
    "/usr/include/gpatch.h",
  };
  char path[PATH_MAX + 64], tok[2 * PATH_MAX], version[32], *text;
  struct gp_run r;
  size_t i;

  mk_tmp();
  script_version(version, sizeof version);
  make_staged("install");
  for (i = 0; i < sizeof installed / sizeof installed[0]; i++) {
    snprintf(path, sizeof path, "%s%s", tmp, installed[i]);
    cr_expect(access(path, R_OK) == 0, "%s was not installed", path);
  }
  cr_expect_eq(count_files(), 5, "installed:%s", files);

  /* The installed launcher finds the installed library, not the tree. */
  snprintf(path, sizeof path, "%s/usr/bin/gpatch", tmp);
  text = gp_slurp(path);
  cr_assert(text != NULL);
  cr_expect(strstr(text, src) == NULL, "the installed launcher names the "
            "source tree %s", src);
  free(text);
  cr_assert(gp_run(&r, 0, NULL, RUN_S, path,
                   GP_ARGV(probe, "-t", "3")) == 0);
  gp_expect_exit(&r, 0);
  GP_EXPECT_VAL(&r, "threads", ==, 1);
  snprintf(tok, sizeof tok, "gpatch=%s/usr/lib/libgpatch.so", tmp);
  gp_expect_token(&r, tok);
  gp_run_free(&r);
  cr_assert(gp_run(&r, 0, NULL, RUN_S, path, GP_ARGV("--version")) == 0);
  gp_expect_exit(&r, 0);
  snprintf(tok, sizeof tok, "gpatch %s\n", version);
  cr_expect_str_eq(r.out, tok);
  gp_run_free(&r);

  /* The man page carries the version; pkg-config describes the files. */
  snprintf(path, sizeof path, "%s/usr/share/man/man1/gpatch.1", tmp);
  text = gp_slurp(path);
  cr_assert(text != NULL);
  snprintf(tok, sizeof tok, "\n.TH GPATCH 1 \"\" \"gpatch %s\"", version);
  cr_expect(strstr(text, tok) != NULL, "no '%s' in %s", tok + 1, path);
  free(text);
  snprintf(path, sizeof path, "command -v pkg-config >/dev/null || exit 77; "
           "export PKG_CONFIG_PATH='%s/usr/lib/pkgconfig'; "
           "pkg-config --modversion gpatch && pkg-config --variable=preload "
           "gpatch && pkg-config --variable=launcher gpatch", tmp);
  cr_assert(gp_run(&r, 0, NULL, RUN_S, "/bin/sh", GP_ARGV("-c", path)) == 0);
  if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 77) {
    cr_log_info("pkg-config is not installed: gpatch.pc not read");
  } else {
    gp_expect_exit(&r, 0);
    snprintf(tok, sizeof tok, "%s\n/usr/lib/libgpatch.so\n/usr/bin/gpatch\n",
             version);
    cr_expect_str_eq(r.out, tok);
  }
  gp_run_free(&r);
  install_builds_api_program();

  make_staged("uninstall");
  cr_expect_eq(count_files(), 0, "left behind:%s", files);
}

Test(launcher, installed_launcher_without_library_refused, .init = paths,
     .fini = rm_tmp) {
  char cmd[2 * PATH_MAX + 64], path[PATH_MAX + 32];
  struct gp_run r;

  if (access("/usr/lib/libgpatch.so", F_OK) == 0)
    cr_skip_test("/usr/lib/libgpatch.so exists on this machine");
  mk_tmp();
  make_staged("install");
  /* Moved away from its library: neither ../lib nor /usr/lib has it. */
  snprintf(cmd, sizeof cmd, "mkdir %s/other && mv %s/usr/bin/gpatch "
           "%s/other/", tmp, tmp, tmp);
  cr_assert(gp_run(&r, 0, NULL, RUN_S, "/bin/sh", GP_ARGV("-c", cmd)) == 0);
  gp_expect_exit(&r, 0);
  gp_run_free(&r);
  snprintf(path, sizeof path, "%s/other/gpatch", tmp);
  cr_assert(gp_run(&r, 0, NULL, RUN_S, path, GP_ARGV(probe)) == 0);
  expect_refused(&r, "cannot find libgpatch.so");
  gp_run_free(&r);
}
