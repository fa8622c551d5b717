/* The Debian package (make deb, scripts/debian/): its files, modes and
 * control data, lintian's verdict, the launcher and library unpacked from
 * it, and an install with dpkg that runs a program under /usr/bin/gpatch
 * and a removal that leaves nothing behind.
 *
 * Each test builds its own package into its own temporary directory, from
 * the library under test (make -o: nothing is rebuilt), so the two can run
 * at once.  Only one test installs: two installs of one package would
 * collide, and so would two test runs on one machine (two worktrees): the
 * test holds an flock on /var/lib/dpkg (dpkg and apt lock with fcntl, so
 * they are not held up) from before its checks until its process ends.
 * It runs as root only, and only on a machine where no gpatch is
 * installed, so that removing what it installed restores the machine; its
 * .fini purges the package if the test stopped half-way.  While the package
 * is installed, the other tests still use build/libgpatch.so: they preload
 * it by absolute path, and the programs that link it have build/ in their
 * run path, which comes before ldconfig's cache.
 *
 * The source tree is found as in test_launcher.c: $GPATCH_TEST_SRC, or the
 * directory above the build directory that holds scripts/gpatch.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Seconds any one child may run: dpkg-deb and the launcher take
 * milliseconds, dpkg -i, dpkg -r (with the man-db and ldconfig triggers)
 * and lintian about 10 seconds each here. */
#define RUN_S 60

/* The temporary directory of the running test, removed by its .fini. */
static char tmp[64];

/* Absolute paths and the package's names, filled in once per test. */
static char src[PATH_MAX], build[PATH_MAX], lib[PATH_MAX + 32],
    probe[PATH_MAX + 32], version[32], arch[32], multiarch[64],
    deb[PATH_MAX];

/* 1 while the package this test installed may still be installed. */
static int installed;

/* The first line a shell command prints, without its newline, into out;
 * fails the test when the command fails. */
static void first_line(const char *cmd, char *out, size_t len) {
  struct gp_run r;

  cr_assert(gp_run(&r, 0, NULL, RUN_S, "/bin/sh", GP_ARGV("-c", cmd)) == 0);
  gp_expect_exit(&r, 0);
  cr_assert(r.out[0] != '\0', "%s printed nothing", cmd);
  snprintf(out, len, "%.*s", (int)strcspn(r.out, "\n"), r.out);
  gp_run_free(&r);
}

/* Finds the source tree, the build directory, the version (the
 * launcher's version= line) and the Debian architecture.  Skips the test
 * where dpkg-dev is not installed. */
static void paths(void) {
  const char *s;
  char cmd[PATH_MAX + 64];

  cr_assert(realpath(gp_build(), build) != NULL, "no build directory %s",
            gp_build());
  s = gp_src();
  cr_assert(s != NULL && strlen(s) < sizeof src, "cannot find scripts/gpatch "
            "above %s; set GPATCH_TEST_SRC to the source tree", build);
  strcpy(src, s);
  snprintf(lib, sizeof lib, "%s/libgpatch.so", build);
  snprintf(probe, sizeof probe, "%s/progs/launch_probe", build);
  cr_assert(access(lib, R_OK) == 0, "%s is missing (make all)", lib);
  cr_assert(access(probe, X_OK) == 0, "%s is missing (make all)", probe);
  if (system("{ command -v dpkg-deb && command -v dpkg-gencontrol && "
             "command -v dpkg-shlibdeps && command -v dpkg-architecture; } "
             ">/dev/null 2>&1") != 0)
    cr_skip_test("dpkg-dev is not installed (make deps installs it)");
  snprintf(cmd, sizeof cmd, "sed -n 's/^version=//p' '%s/scripts/gpatch'",
           src);
  first_line(cmd, version, sizeof version);
  first_line("dpkg-architecture -qDEB_HOST_ARCH", arch, sizeof arch);
  first_line("dpkg-architecture -qDEB_HOST_MULTIARCH", multiarch,
             sizeof multiarch);
}

static void rm_tmp(void) {
  if (tmp[0] != '\0')
    gp_rm_tree(tmp);
  tmp[0] = '\0';
}

/* Runs make deb into a new temporary directory; sets deb to the package. */
static void make_deb(void) {
  char cmd[4 * PATH_MAX + 256];
  struct gp_run r;

  snprintf(tmp, sizeof tmp, "/tmp/gpatch-package-XXXXXX");
  cr_assert(mkdtemp(tmp) != NULL, "mkdtemp: %s", strerror(errno));
  snprintf(cmd, sizeof cmd, "unset MAKEFLAGS MFLAGS MAKELEVEL; exec make -s "
           "--no-print-directory -C '%s' deb BUILD='%s' DEBDIR='%s' -o '%s' "
           "-o deps", src, build, tmp, lib);
  cr_assert(gp_run(&r, 0, NULL, RUN_S, "/bin/sh", GP_ARGV("-c", cmd)) == 0);
  gp_expect_exit(&r, 0);
  snprintf(deb, sizeof deb, "%s/gpatch_%s_%s.deb", tmp, version, arch);
  cr_expect(strstr(r.out, deb) != NULL, "make deb did not name %s; %s", deb,
            gp_describe(&r));
  gp_run_free(&r);
  cr_assert(access(deb, R_OK) == 0, "%s was not built", deb);
}

/* Runs a shell command, asserting it exits 0; the run is left in r. */
static void sh_ok(struct gp_run *r, const char *cmd) {
  cr_assert(gp_run(r, 0, NULL, RUN_S, "/bin/sh", GP_ARGV("-c", cmd)) == 0);
  gp_expect_exit(r, 0);
}

/* The files a package holds, as dpkg-deb -c lists them: a regular file's
 * mode, owner and path per line. */
static const char *const files[] = {
  "-rwxr-xr-x root/root /usr/bin/gpatch",
  "-rw-r--r-- root/root /usr/include/gpatch.h",
  "-rw-r--r-- root/root /usr/lib/%s/libgpatch.so",
  "-rw-r--r-- root/root /usr/lib/%s/pkgconfig/gpatch.pc",
  "-rw-r--r-- root/root /usr/share/doc/gpatch/changelog.gz",
  "-rw-r--r-- root/root /usr/share/doc/gpatch/copyright",
  "-rw-r--r-- root/root /usr/share/lintian/overrides/gpatch",
  "-rw-r--r-- root/root /usr/share/man/man1/gpatch.1.gz",
};
#define NFILES (sizeof files / sizeof files[0])

Test(package, contents_and_metadata, .init = paths, .fini = rm_tmp) {
  char cmd[4 * PATH_MAX], want[PATH_MAX], line[256];
  struct gp_run r;
  size_t i, n;
  const char *p;

  make_deb();
  /* The files, their modes and owners: these and no other. */
  snprintf(cmd, sizeof cmd, "dpkg-deb -c '%s' | awk '$1 !~ /^d/ "
           "{ print $1, $2, substr($6, 2) }'", deb);
  sh_ok(&r, cmd);
  for (i = 0; i < NFILES; i++) {
    snprintf(line, sizeof line, files[i], multiarch);
    snprintf(want, sizeof want, "%s\n", line);
    cr_expect(strstr(r.out, want) != NULL, "the package lacks '%s'; %s",
              line, r.out);
  }
  for (n = 0, p = r.out; (p = strchr(p, '\n')) != NULL; p++)
    n++;
  cr_expect_eq(n, NFILES, "the package holds %zu files, not %zu:\n%s", n,
               NFILES, r.out);
  gp_run_free(&r);

  /* The control data: the version is the launcher's. */
  snprintf(cmd, sizeof cmd, "dpkg-deb -f '%s' Package Version Architecture "
           "Section Maintainer Depends", deb);
  sh_ok(&r, cmd);
  snprintf(want, sizeof want, "Package: gpatch\nVersion: %s\n"
           "Architecture: %s\nSection: utils\n", version, arch);
  cr_expect(strncmp(r.out, want, strlen(want)) == 0, "control: %s", r.out);
  cr_expect(strstr(r.out, "\nMaintainer: ") != NULL, "control: %s", r.out);
  cr_expect(strstr(r.out, "libc6 (>= ") && strstr(r.out, "libuv1 (>= "),
            "Depends from dpkg-shlibdeps lacks libc6 or libuv1: %s", r.out);
  gp_run_free(&r);

  /* The changelog's latest entry, the copyright format, the installed
   * paths in gpatch.pc, and the triggers. */
  snprintf(cmd, sizeof cmd, "cd '%s' && dpkg-deb -x '%s' root && "
           "dpkg-deb -e '%s' control && "
           "zcat root/usr/share/doc/gpatch/changelog.gz | head -n 1 && "
           "head -n 1 root/usr/share/doc/gpatch/copyright && "
           "grep -E '^(libdir|preload|launcher)=' "
           "root/usr/lib/%s/pkgconfig/gpatch.pc && cat control/triggers",
           tmp, deb, deb, multiarch);
  sh_ok(&r, cmd);
  snprintf(want, sizeof want, "gpatch (%s) unstable; urgency=medium\n"
           "Format: https://www.debian.org/doc/packaging-manuals/"
           "copyright-format/1.0/\nlibdir=/usr/lib/%s\n"
           "preload=${libdir}/libgpatch.so\nlauncher=${bindir}/gpatch\n"
           "activate-noawait ldconfig\n", version, multiarch);
  cr_expect_str_eq(r.out, want);
  gp_run_free(&r);

  /* The unpacked launcher finds the unpacked library, and says the
   * version. */
  snprintf(cmd, sizeof cmd, "%s/root/usr/bin/gpatch", tmp);
  cr_assert(gp_run(&r, 0, NULL, RUN_S, cmd, GP_ARGV("--version")) == 0);
  gp_expect_exit(&r, 0);
  snprintf(want, sizeof want, "gpatch %s\n", version);
  cr_expect_str_eq(r.out, want);
  gp_run_free(&r);
  cr_assert(gp_run(&r, 0, NULL, RUN_S, cmd, GP_ARGV(probe, "-t", "3")) == 0);
  gp_expect_exit(&r, 0);
  GP_EXPECT_VAL(&r, "threads", ==, 1);
  snprintf(want, sizeof want, "gpatch=%s/root/usr/lib/%s/libgpatch.so", tmp,
           multiarch);
  gp_expect_token(&r, want);
  gp_run_free(&r);
}

Test(package, lintian_reports_no_error, .init = paths, .fini = rm_tmp) {
  char cmd[PATH_MAX + 128];
  struct gp_run r;
  const char *p;
  int n;

  if (system("command -v lintian >/dev/null 2>&1") != 0)
    cr_skip_test("lintian is not installed (make deps installs it)");
  make_deb();
  snprintf(cmd, sizeof cmd, "lintian --tag-display-limit 0 '%s' 2>&1 | "
           "grep -v 'running with root privileges'", deb);
  cr_assert(gp_run(&r, 0, NULL, RUN_S, "/bin/sh", GP_ARGV("-c", cmd)) == 0);
  cr_expect(!r.timed_out, "lintian did not finish in %d s", RUN_S);
  /* Errors fail the test; warnings are shown (there are none today:
   * scripts/debian/lintian-overrides says why each tag that does not
   * apply is overridden). */
  for (p = r.out; *p != '\0'; p += n + (p[n] != '\0')) {
    n = (int)strcspn(p, "\n");
    cr_expect(strncmp(p, "E: ", 3) != 0, "lintian: %.*s", n, p);
    if (strncmp(p, "W: ", 3) == 0)
      cr_log_warn("lintian: %.*s", n, p);
  }
  gp_run_free(&r);
}

/* The package's paths (files and directories), one per line, each
 * followed by " new" when it did not exist before the install. */
static char *paths_before;

/* Records which of the package's paths already exist. */
static void note_paths(void) {
  char cmd[PATH_MAX + 256];
  struct gp_run r;

  snprintf(cmd, sizeof cmd, "dpkg-deb -c '%s' | awk '{ print substr($6, 2) "
           "}' | while read -r p; do [ -z \"$p\" ] || [ -e \"$p\" ] && "
           "echo \"$p\" || echo \"$p new\"; done", deb);
  sh_ok(&r, cmd);
  paths_before = strdup(r.out);
  gp_run_free(&r);
}

/* Asserts that every path noted as new is gone again. */
static void expect_paths_gone(void) {
  char path[PATH_MAX];
  const char *p = paths_before;
  size_t n;

  for (; p != NULL && *p != '\0'; p += n + (p[n] != '\0')) {
    n = strcspn(p, "\n");
    if (n < 5 || strncmp(p + n - 4, " new", 4) != 0)
      continue;
    snprintf(path, sizeof path, "%.*s", (int)(n - 4), p);
    cr_expect(access(path, F_OK) != 0, "dpkg -r left %s behind", path);
  }
}

/* Runs dpkg with args, retrying for up to 60 s while another dpkg or apt
 * holds the lock (make deps of another run). */
static void dpkg(struct gp_run *r, const char *args) {
  char cmd[PATH_MAX + 512];

  snprintf(cmd, sizeof cmd, "i=0; while :; do out=$(dpkg %s 2>&1) && "
           "{ printf '%%s\\n' \"$out\"; exit 0; }; st=$?; i=$((i + 1)); "
           "case $out in *lock*) [ $i -lt 60 ] && { sleep 1; continue; } ;; "
           "esac; printf '%%s\\n' \"$out\" >&2; exit $st; done", args);
  cr_assert(gp_run(r, 0, NULL, 2 * RUN_S, "/bin/sh", GP_ARGV("-c", cmd))
            == 0);
}

/* Takes the machine-wide lock of the install test (see the top of the
 * file), waiting up to 2 minutes for another run to finish; the lock goes
 * with the test's process.  Skips the test when it cannot be had. */
static void lock_machine(void) {
  int fd = open("/var/lib/dpkg", O_RDONLY | O_DIRECTORY | O_CLOEXEC), i;

  if (fd < 0)
    cr_skip_test("/var/lib/dpkg: %s: no dpkg database", strerror(errno));
  for (i = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; i++) {
    if (errno != EWOULDBLOCK || i == 240)
      cr_skip_test("another run holds the install test's lock on "
                   "/var/lib/dpkg: %s", strerror(errno));
    usleep(500 * 1000);
  }
}

/* .fini of the install test: purges the package when the test stopped
 * before removing it, then removes the temporary directory. */
static void purge(void) {
  struct gp_run r;

  if (installed) {
    if (gp_run(&r, 0, NULL, 2 * RUN_S, "/bin/sh",
               GP_ARGV("-c", "dpkg --purge gpatch")) == 0)
      gp_run_free(&r);
    installed = 0;
  }
  free(paths_before);
  paths_before = NULL;
  rm_tmp();
}

Test(package, installs_runs_and_removes, .init = paths, .fini = purge) {
  char cmd[2 * PATH_MAX], want[PATH_MAX], installed_lib[128];
  struct gp_run r;

  if (geteuid() != 0)
    cr_skip_test("not root: dpkg -i needs root (CI runs as root)");
  lock_machine();
  snprintf(installed_lib, sizeof installed_lib,
           "/usr/lib/%s/libgpatch.so", multiarch);
  if (system("dpkg-query -W -f '${Status}' gpatch 2>/dev/null | "
             "grep -q 'installed\\|config-files\\|unpacked'") == 0)
    cr_skip_test("a gpatch package is on this machine: the test would "
                 "remove it");
  if (access("/usr/bin/gpatch", F_OK) == 0 ||
      access(installed_lib, F_OK) == 0)
    cr_skip_test("/usr/bin/gpatch or %s exists: dpkg would overwrite "
                 "them and the removal would not restore them",
                 installed_lib);
  make_deb();
  note_paths();

  installed = 1;
  snprintf(cmd, sizeof cmd, "-i '%s'", deb);
  dpkg(&r, cmd);
  gp_expect_exit(&r, 0);
  gp_run_free(&r);
  sh_ok(&r, "dpkg-query -W -f '${Status} ${Version}\\n' gpatch");
  snprintf(want, sizeof want, "install ok installed %s\n", version);
  cr_expect_str_eq(r.out, want);
  gp_run_free(&r);

  /* The installed launcher runs a program on the installed library. */
  cr_assert(gp_run(&r, 0, NULL, RUN_S, "/usr/bin/gpatch",
                   GP_ARGV("--version")) == 0);
  gp_expect_exit(&r, 0);
  snprintf(want, sizeof want, "gpatch %s\n", version);
  cr_expect_str_eq(r.out, want);
  gp_run_free(&r);
  cr_assert(gp_run(&r, 0, NULL, RUN_S, "/usr/bin/gpatch",
                   GP_ARGV(probe, "-t", "3")) == 0);
  gp_expect_exit(&r, 0);
  GP_EXPECT_VAL(&r, "threads", ==, 1);
  snprintf(want, sizeof want, "gpatch=%s", installed_lib);
  gp_expect_token(&r, want);
  gp_run_free(&r);
  cr_assert(gp_run(&r, 0, NULL, RUN_S, "/usr/bin/gpatch",
                   GP_ARGV("--systemd", "example")) == 0);
  gp_expect_exit(&r, 0);
  snprintf(want, sizeof want, "\n[Service]\nEnvironment=\"LD_PRELOAD=%s\"\n",
           installed_lib);
  cr_expect(strstr(r.out, want) != NULL, "no '%s' in the drop-in; %s", want,
            gp_describe(&r));
  gp_run_free(&r);
  sh_ok(&r, "command -v pkg-config >/dev/null || { echo skipped; exit 0; }; "
        "unset PKG_CONFIG_PATH; pkg-config --variable=preload gpatch");
  if (strcmp(r.out, "skipped\n") == 0) {
    cr_log_info("pkg-config is not installed: gpatch.pc not read");
  } else {
    snprintf(want, sizeof want, "%s\n", installed_lib);
    cr_expect_str_eq(r.out, want);
  }
  gp_run_free(&r);

  /* dpkg -r: no conffiles, so dpkg forgets the package entirely, and
   * every path it brought is gone, ldconfig's cache entry included. */
  dpkg(&r, "-r gpatch");
  gp_expect_exit(&r, 0);
  gp_run_free(&r);
  installed = 0;
  sh_ok(&r, "dpkg-query -W -f '${Status}' gpatch 2>/dev/null || "
        "echo forgotten; ldconfig -p | grep -F libgpatch.so || true");
  cr_expect_str_eq(r.out, "forgotten\n");
  gp_run_free(&r);
  expect_paths_gone();
}
