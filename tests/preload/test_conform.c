/* Conformance: every documented error return of the synchronisation and
 * thread calls that a correct program can provoke (tests/progs/
 * conform_sync.c and conform_thread.c print one `name=result` line per
 * case), natively and under the shim, compared line by line. A case whose
 * result differs fails with its name and both results; the shim run must
 * stay on one OS thread.
 *
 * Every case must conform: there is no list of known differences.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* One output line split in place: name and value. */
struct line {
  char *name, *value;
};

/* Splits text (modified) into its name=value lines; returns how many.
 * Lines without '=' are kept with an empty value, so they still count. */
static size_t split(char *text, struct line *out, size_t max) {
  size_t n = 0;
  for (char *save = NULL, *l = strtok_r(text, "\n", &save);
       l != NULL && n < max; l = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(l, '=');
    out[n].name = l;
    out[n].value = eq ? eq + 1 : l + strlen(l);
    if (eq)
      *eq = '\0';
    n++;
  }
  return n;
}

#define MAXLINES 1024

/* Both runs of prog, split into lines. */
struct pair {
  struct gp_run n, p;
  struct line *nl, *pl;
  size_t nn, np;
  int preloaded;
};

static void pair_run(struct pair *r, const char *prog) {
  memset(r, 0, sizeof *r);
  gp_run_ok(&r->n, 0, NULL, 60, prog, NULL);
  GP_EXPECT_VAL(&r->n, "threads", >, 1);
  r->preloaded = gp_preload_wanted();
  if (r->preloaded) {
    gp_run_ok(&r->p, 1, NULL, 60, prog, NULL);
    GP_EXPECT_VAL(&r->p, "threads", ==, 1);
  }
  gp_expect_token(&r->n, "end=1");
  r->nl = calloc(MAXLINES, sizeof *r->nl);
  r->pl = calloc(MAXLINES, sizeof *r->pl);
  cr_assert(r->nl && r->pl);
  r->nn = split(r->n.out, r->nl, MAXLINES);
  if (r->preloaded) {
    gp_expect_token(&r->p, "end=1");
    r->np = split(r->p.out, r->pl, MAXLINES);
  }
}

static void pair_free(struct pair *r) {
  free(r->nl);
  free(r->pl);
  gp_run_free(&r->n);
  gp_run_free(&r->p);
}

/* The same cases in the same order, then the same results. */
static void compare(struct pair *r, const char *prog) {
  size_t differ = 0;
  cr_assert_eq(r->nn, r->np, "%s: %zu cases natively, %zu preloaded", prog,
               r->nn, r->np);
  for (size_t i = 0; i < r->nn; i++) {
    const struct line *a = &r->nl[i], *b = &r->pl[i];
    cr_assert_str_eq(a->name, b->name, "%s: case %zu is %s natively, %s "
                     "preloaded", prog, i + 1, a->name, b->name);
    if (strcmp(a->name, "threads") == 0)
      continue;
    if (strcmp(a->value, b->value) != 0) {
      differ++;
      cr_expect_fail("%s: case %s: native %s, shim %s", prog, a->name,
                     a->value, b->value);
    }
  }
  cr_expect_eq(differ, 0, "%s: %zu cases differ", prog, differ);
}

/* Results POSIX and glibc document, checked on the native run, so that a
 * program that stopped provoking its errors cannot pass by printing 0
 * twice. One or a few per family. */
static const char *const documented[][2] = {
  {"mutex_errorcheck_relock", "EDEADLK"},
  {"mutex_errorcheck_unlock_other", "EPERM"},
  {"mutex_recursive_unlock_other", "EPERM"},
  {"mutex_normal_trylock_other", "EBUSY"},
  {"mutex_normal_timedlock_past_other", "ETIMEDOUT"},
  {"mutex_normal_timedlock_badns_other", "EINVAL"},
  {"mutex_normal_clocklock_free_badclock", "EINVAL"},
  {"mutex_normal_destroy_locked", "EBUSY"},
  {"mutexattr_settype_bad", "EINVAL"},
  {"mutex_robust_ownerdead_trylock", "EOWNERDEAD"},
  {"mutex_robust_lost_timedlock", "ENOTRECOVERABLE"},
  {"cond_timedwait_past", "ETIMEDOUT"},
  {"cond_timedwait_badns", "EINVAL"},
  {"cond_clockwait_badclock", "EINVAL"},
  {"cond_wait_errorcheck_unowned", "EPERM"},
  {"condattr_setclock_cputime", "EINVAL"},
  {"rwlock_tryrdlock_writeheld", "EBUSY"},
  {"rwlock_wrlock_self_write", "EDEADLK"},
  {"rwlock_timedwrlock_past_readheld", "ETIMEDOUT"},
  {"rwlock_unlock_free", "0"},
  {"rwlockattr_setkind_bad", "EINVAL"},
  {"sem_private_trywait_zero", "EAGAIN"},
  {"sem_private_timedwait_past_zero", "ETIMEDOUT"},
  {"sem_private_timedwait_badns_zero", "EINVAL"},
  {"sem_private_post_overflow", "EOVERFLOW"},
  {"sem_private_init_toolarge", "EINVAL"},
  {"barrier_init_zero", "EINVAL"},
  {"barrier_round0_serial", "1"},
  {"spin_trylock_other", "EBUSY"},
  {"once_runs", "1"},
  {"join_thread_self", "EDEADLK"},
  {"join_detached", "EINVAL"},
  {"detach_twice", "EINVAL"},
  {"join_thread_value_value", "42"},
  {"cancel_finished", "0"},
  {"setcancelstate_bad", "EINVAL"},
  {"attr_setstacksize_below_min", "EINVAL"},
  {"setname_self_16chars", "ERANGE"},
  {"getname_self_len15", "ERANGE"},
  {"kill_negative", "EINVAL"},
  {"sigmask_badhow", "EINVAL"},
  {"key_thread_set_deleted", "EINVAL"},
  {"key_thread_exhausted", "EAGAIN"},
  {"mtx_trylock_other", "thrd_busy"},
  {"mtx_timedlock_past_other", "thrd_timedout"},
  {"thrd_join_self", "thrd_error"},
};

static void check_documented(const struct pair *r) {
  for (size_t d = 0; d < sizeof documented / sizeof documented[0]; d++)
    for (size_t i = 0; i < r->nn; i++)
      if (strcmp(r->nl[i].name, documented[d][0]) == 0)
        cr_expect_str_eq(r->nl[i].value, documented[d][1],
                         "natively %s=%s, documented %s", documented[d][0],
                         r->nl[i].value, documented[d][1]);
}

static void conform(const char *prog) {
  struct pair r;
  pair_run(&r, prog);
  check_documented(&r);
  if (r.preloaded)
    compare(&r, prog);
  pair_free(&r);
}

Test(conform, sync_objects) { conform("conform_sync"); }

Test(conform, threads) { conform("conform_thread"); }
