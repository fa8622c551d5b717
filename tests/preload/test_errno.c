/* errno: a hook that succeeds leaves errno exactly as it found it
 * (DESIGN.md, Invariant 2 and "Known traps"; STYLE.md rule 2).
 *
 * tests/progs/errno_success makes, for every libc name the library
 * exports, calls that succeed, through each path a hook can take (at once,
 * parked, on a pool thread, on cached fd state), each with errno set to a
 * marker first, and prints one line per case: name.path=ok, or
 * =changed:E (errno left at E) or =failed:E (a broken case).  Natively
 * every case must be ok: that proves the cases are valid.  The one
 * exception is glibc's own: the resolver calls write errno even when they
 * succeed; their cases must then print under the shim exactly what they
 * printed natively.  Preloaded, every case must print what it printed
 * natively, with the default families and with GPATCH_PATCH=all,file
 * (regular-file calls on a pool thread).  A last test checks that every
 * exported libc name has a case or a reason to be skipped.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

enum { RUN_S = 90 }; /* the program takes about 5 s */

/* Names whose real call writes errno on success (glibc's resolver leaves
 * 0 there): natively their cases may print changed:E. */
static const char *const glibc_writes[] = {
  "getaddrinfo", "getnameinfo", "gethostbyname", "gethostbyname2",
  "gethostbyname_r", "gethostbyname2_r", "gethostbyaddr", "gethostbyaddr_r",
};

static int glibc_writes_errno(const char *name) {
  size_t i;

  for (i = 0; i < sizeof glibc_writes / sizeof glibc_writes[0]; i++)
    if (strcmp(name, glibc_writes[i]) == 0)
      return 1;
  return 0;
}

/* Splits a case line "name.path=value" of text at *pos: copies the key
 * (name.path) and the value, the name's length into *namelen, and moves
 * *pos to the next line.  Lines that are not cases (threads=, skipped=,
 * cases=, bad=) are passed over.  Returns 0 at the end of text. */
static int next_case(const char **pos, char *key, size_t keylen, char *val,
                     size_t vallen, size_t *namelen) {
  while (**pos != '\0') {
    const char *line = *pos, *end = strchr(line, '\n'), *eq, *dot;

    if (end == NULL)
      end = line + strlen(line);
    *pos = *end == '\n' ? end + 1 : end;
    eq = memchr(line, '=', (size_t)(end - line));
    dot = memchr(line, '.', (size_t)(end - line));
    if (eq == NULL || dot == NULL || dot > eq
        || (size_t)(eq - line) >= keylen || (size_t)(end - eq) > vallen)
      continue;
    memcpy(key, line, (size_t)(eq - line));
    key[eq - line] = '\0';
    memcpy(val, eq + 1, (size_t)(end - eq - 1));
    val[end - eq - 1] = '\0';
    *namelen = (size_t)(dot - line);
    return 1;
  }
  return 0;
}

/* The value printed for key in text, copied into val; 0 when absent. */
static int value_of(const char *text, const char *key, char *val,
                    size_t vallen) {
  char k[128], v[64];
  size_t nl;

  while (next_case(&text, k, sizeof k, v, sizeof v, &nl))
    if (strcmp(k, key) == 0) {
      snprintf(val, vallen, "%s", v);
      return 1;
    }
  return 0;
}

/* Appends "key=value" (or "key" when val is NULL) to the list in buf (of
 * size len). */
static void add(char *buf, size_t len, const char *key, const char *val) {
  size_t used = strlen(buf);

  if (used + 4 < len)
    snprintf(buf + used, len - used, "%s%s%s%s", used > 0 ? " " : "", key,
             val != NULL ? "=" : "", val != NULL ? val : "");
}

/* Checks the native run: every case ok, but for glibc_writes names,
 * which must not have failed.  Returns the number of cases. */
static int check_native(const struct gp_run *n) {
  static char bad[16384];
  const char *pos = n->out;
  char key[128], val[64];
  size_t nl;
  int cases = 0, nbad = 0;

  bad[0] = '\0';
  while (next_case(&pos, key, sizeof key, val, sizeof val, &nl)) {
    char name[128];

    cases++;
    snprintf(name, sizeof name, "%.*s", (int)nl, key);
    if (strcmp(val, "ok") == 0
        || (glibc_writes_errno(name) && strncmp(val, "changed:", 8) == 0))
      continue;
    nbad++;
    add(bad, sizeof bad, key, val);
  }
  cr_expect(nbad == 0, "%d case(s) not ok natively (broken cases): %s", nbad,
            bad);
  cr_expect(cases > 100, "only %d cases printed; %s", cases,
            gp_describe(n));
  gp_expect_exit(n, 0);
  return cases;
}

/* Checks a preloaded run p against the native run n: each case prints
 * what it printed natively (ok, or glibc's own errno); a case the
 * preloaded run did not print (it hung or died) counts as "missing". */
static void check_preload(const struct gp_run *n, const struct gp_run *p) {
  static char bad[16384];
  const char *pos = n->out;
  char key[128], want[64], got[64];
  size_t nl;
  int nbad = 0;

  bad[0] = '\0';
  while (next_case(&pos, key, sizeof key, want, sizeof want, &nl)) {
    if (!value_of(p->out, key, got, sizeof got))
      snprintf(got, sizeof got, "missing");
    if (strcmp(got, want) == 0)
      continue;
    nbad++;
    add(bad, sizeof bad, key, got);
  }
  cr_expect(nbad == 0, "%d case(s) under the shim (%s) differ from native "
            "(changed:E = a successful call left errno E, want it "
            "untouched): %s", nbad, p->what, bad);
  cr_expect(!p->timed_out, "%s timed out; %s", p->what, gp_describe(p));
  gp_expect_exit(p, 0);
}

static void run_native(struct gp_run *n) {
  cr_assert(gp_run(n, 0, NULL, RUN_S, "errno_success", NULL) == 0,
            "cannot start %s/progs/errno_success", gp_build());
}

static void run_preload(struct gp_run *p, const char *const *env) {
  cr_assert(gp_run(p, 1, env, RUN_S, "errno_success", NULL) == 0,
            "cannot start %s/progs/errno_success (or libgpatch.so is "
            "missing)", gp_build());
}

Test(errno, every_case_keeps_errno_natively) {
  struct gp_run n;

  run_native(&n);
  check_native(&n);
  GP_EXPECT_VAL(&n, "threads", >=, 2);
  gp_run_free(&n);
}

Test(errno, successful_hooks_keep_errno) {
  struct gp_run n, p;

  if (!gp_preload_wanted())
    cr_skip_test("GPATCH_TEST_NATIVE_ONLY is set");
  run_native(&n);
  run_preload(&p, NULL);
  check_preload(&n, &p);
  GP_EXPECT_VAL(&p, "threads", ==, 1); /* the shim was really there */
  gp_run_free(&n);
  gp_run_free(&p);
}

Test(errno, successful_hooks_keep_errno_with_file_pool) {
  struct gp_run n, p;

  if (!gp_preload_wanted())
    cr_skip_test("GPATCH_TEST_NATIVE_ONLY is set");
  run_native(&n);
  run_preload(&p, GP_ARGV("GPATCH_PATCH=all,file"));
  check_preload(&n, &p);
  /* The FILE lane's pool thread is a real OS thread: one more than the
   * scheduler's, fewer than native's main and keeper plus that. */
  GP_EXPECT_VAL(&p, "threads", <=, 2);
  gp_run_free(&n);
  gp_run_free(&p);
}


/* shim/exports.map of the source tree: $GPATCH_TEST_SRC, or above the
 * build directory (build/ or build/asan/). */
static char *read_exports(char *path, size_t len) {
  const char *src = gp_src();

  snprintf(path, len, "%s/shim/exports.map", src ? src : ".");
  return gp_slurp(path);
}

/* 1 when name is a case name (before the first '.') in out, or listed in
 * its skipped= line. */
static int covered(const char *out, const char *name) {
  const char *pos = out, *sk = strstr(out, "skipped=");
  char key[128], val[64];
  size_t nl, n = strlen(name);

  while (next_case(&pos, key, sizeof key, val, sizeof val, &nl))
    if (nl == n && strncmp(key, name, n) == 0)
      return 1;
  if (sk == NULL)
    return 0;
  sk += 8;
  while (*sk != '\0' && *sk != '\n') {
    size_t w = strcspn(sk, ",\n");

    if (w == n && strncmp(sk, name, n) == 0)
      return 1;
    sk += w;
    if (*sk == ',')
      sk++;
  }
  return 0;
}

Test(errno, every_exported_hook_has_a_case) {
  char path[PATH_MAX + 32], missing[4096] = "", *text, *line, *save = NULL;
  struct gp_run n;
  int hooks = 0, nmissing = 0;

  text = read_exports(path, sizeof path);
  cr_assert(text != NULL, "cannot read shim/exports.map (tried %s); set "
            "GPATCH_TEST_SRC to the source tree", path);
  gp_run_ok(&n, 0, NULL, RUN_S, "errno_success", NULL);
  cr_assert(strstr(n.out, "skipped=") != NULL, "no skipped= line; %s",
            gp_describe(&n));
  for (line = strtok_r(text, "\n", &save); line != NULL;
       line = strtok_r(NULL, "\n", &save)) {
    char name[128];

    if (sscanf(line, " %127[A-Za-z0-9_];", name) != 1
        || strchr(line, ';') == NULL || strcmp(name, "local") == 0
        || strncmp(name, "gpatch_", 7) == 0) /* the C API, not libc */
      continue;
    hooks++;
    if (!covered(n.out, name)) {
      nmissing++;
      add(missing, sizeof missing, name, NULL);
    }
  }
  cr_expect(hooks > 100, "only %d libc names read from %s", hooks, path);
  cr_expect(nmissing == 0, "%d exported name(s) of %s with neither a case "
            "(tests/progs/errno_success*.h) nor a skipped[] entry "
            "(errno_success.c): %s", nmissing, path, missing);
  free(text);
  gp_run_free(&n);
}
