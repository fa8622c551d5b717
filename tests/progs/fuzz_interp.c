/* fuzz_interp: differential fuzzing of the shim (issue 17, item 3).  A
 * fixed interpreter runs a random multithreaded scenario drawn from a seed
 * and prints a transcript that does not depend on scheduling; the driver
 * (scripts/fuzz.sh, tests/preload/test_fuzz.c) runs each seed natively
 * and under the shim and diffs the two transcripts.
 *
 *   fuzz_interp SEED [--only G] [--plan]
 *
 * The seed draws one to three rounds; a round runs one to six groups at
 * once (a thread each), and main joins them all before the next round.
 * A group is one scenario with its own seed, its own roles (threads it
 * starts) and FZ_SLOTS reserved descriptor numbers (fuzz.h):
 *
 *   solo      one thread's random script of descriptor calls on objects
 *             it alone owns (fuzz_solo.h)
 *   pipeline  producers and a consumer over a pipe or socketpair
 *   counter   threads adding under one mutex (normal, recursive,
 *             errorcheck), with trylock and timedlock on the side
 *   queue     a bounded queue on a mutex and two condition variables
 *   pingpong  a token passed back and forth N times (pipe, socketpair,
 *             eventfd, condvar, semaphore)
 *   wake      a thread blocks in read, poll, select, epoll_wait,
 *             cond_wait or sem_wait; another wakes it a little later
 *   timeouts  waits that must time out: nobody writes, posts or signals
 *   barrier   rounds of pthread_barrier_wait, one serial thread each
 *   rwlock    readers check a pair writers keep equal
 *   joins     threads return values; tryjoin and timedjoin on a blocked one
 *   (fuzz_io.h and fuzz_sync.h have these)
 *   signals   SIGUSR1 pending in a thread's mask ends an atomic wait
 *             (ppoll, pselect, epoll_pwait, sigsuspend) or is taken by
 *             sigwait, sigtimedwait, sigwaitinfo
 *             (FUZZ_SIGNALS=0 skips it; =all also lets a thread signal
 *             itself, which the shim fails today: README, known limits)
 *   fork      a child writes down a pipe and exits; the parent waits
 *             (alone in its round)
 *   (fuzz_proc.h)
 *
 * Output: "seed=S groups=N", then per group "g<id> <kind>" and each role's
 * lines as "g<id>.<role> <line>", and "end".  --only G starts only group
 * G (its lines are the same as in the full run: groups share nothing);
 * --plan prints the plan without running it.  Exit status 0; 3 when a
 * thread could not be started.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "fuzz_solo.h"
#include "fuzz_sync.h"
#include "fuzz_proc.h"

enum {
  FZ_GROUPS_MAX = 18, /* Groups in one run, at most. */
  FZ_PER_ROUND = 6,   /* Groups in one round, at most. */
  FZ_TABLE_FD = 1000, /* A number past all reserved ones (fuzz.h). */
};

/* The scenarios, by kind number. */
static const struct {
  const char *name;
  void (*run)(struct fz_group *g);
  int weight; /* Relative frequency. */
} scen[] = {
  { "solo", fz_solo, 6 },
  { "pipeline", fz_pipeline, 3 },
  { "counter", fz_counter, 2 },
  { "queue", fz_queue, 2 },
  { "pingpong", fz_pingpong, 2 },
  { "wake", fz_wake, 3 },
  { "timeouts", fz_timeouts, 2 },
  { "barrier", fz_barrier, 1 },
  { "rwlock", fz_rwlock, 1 },
  { "joins", fz_joins, 1 },
  { "signals", fz_signals, 1 },
  { "fork", fz_fork, 1 },
};
enum { NSCEN = sizeof scen / sizeof scen[0] };

static struct fz_group groups[FZ_GROUPS_MAX];
static int round_of[FZ_GROUPS_MAX];
static int ngroups, nrounds;

/* Draws the plan: rounds, groups, kinds and group seeds. */
static void plan(uint64_t seed) {
  struct fz_rng r = { seed };
  int total = 0, k, rd, n, w;

  for (k = 0; k < (int)NSCEN; k++)
    total += scen[k].weight;
  nrounds = (int)fz_range(&r, 1, 3);
  for (rd = 0; rd < nrounds; rd++) {
    n = (int)fz_range(&r, 1, FZ_PER_ROUND);
    for (k = 0; k < n; k++) {
      struct fz_group *g = &groups[ngroups];

      w = (int)fz_below(&r, total);
      for (g->kind = 0; w >= scen[g->kind].weight; g->kind++)
        w -= scen[g->kind].weight;
      /* A fork copies every descriptor: a child alive while another group
       * closes an end would keep it open for a while (EPIPE or not would
       * depend on when the child exits).  A fork runs alone in its round. */
      if (scen[g->kind].run == fz_fork && n > 1)
        g->kind = 0;
      g->id = ngroups;
      g->seed = fz_next(&r);
      g->slot = FZ_SLOT_BASE + FZ_SLOTS * k;
      round_of[ngroups++] = rd;
    }
  }
}

static void *group_main(void *arg) {
  struct fz_group *g = arg;
  int j;

  for (j = 0; j < FZ_ROLES; j++) {
    g->log[j].gid = g->id;
    g->log[j].role = j;
  }
  scen[g->kind].run(g);
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t t[FZ_GROUPS_MAX];
  int only = -1, show_plan = 0, i, j, rd, started[FZ_GROUPS_MAX] = { 0 };
  unsigned long long seed;

  if (argc < 2) {
    fprintf(stderr, "usage: fuzz_interp SEED [--only G] [--plan]\n");
    return 2;
  }
  seed = strtoull(argv[1], NULL, 0);
  for (i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
      only = atoi(argv[++i]);
    else if (strcmp(argv[i], "--plan") == 0)
      show_plan = 1;
  }
  /* Descriptors inherited from the caller could sit on reserved numbers. */
  close_range(3, ~0u, 0);
  signal(SIGPIPE, SIG_IGN);
  fz_trace = getenv("FUZZ_TRACE") != NULL;
  fz_signals_on = getenv("FUZZ_SIGNALS") == NULL ? 1 :
                  strcmp(getenv("FUZZ_SIGNALS"), "0") == 0 ? 0 :
                  strcmp(getenv("FUZZ_SIGNALS"), "all") == 0 ? 2 : 1;
  /* Grow the descriptor table past every reserved number now: select
   * ignores the numbers beyond the table's current size (it returns 0
   * where it would say EBADF), and whether another group's descriptor has
   * grown it yet would depend on the scheduling. */
  i = dup2(1, FZ_TABLE_FD);
  if (i >= 0)
    close(i);
  plan(seed);
  printf("seed=%llu groups=%d rounds=%d\n", seed, ngroups, nrounds);
  if (show_plan) {
    for (i = 0; i < ngroups; i++)
      printf("g%d round=%d %s\n", i, round_of[i], scen[groups[i].kind].name);
    return 0;
  }
  for (rd = 0, i = 0; rd < nrounds; rd++) {
    for (j = i; j < ngroups && round_of[j] == rd; j++)
      if (only < 0 || only == j) {
        t[j] = fz_start(group_main, &groups[j]);
        started[j] = 1;
      }
    for (; i < j; i++)
      if (started[i])
        fz_join(t[i]);
  }
  for (i = 0; i < ngroups; i++) {
    if (!started[i])
      continue;
    printf("g%d %s\n", i, scen[groups[i].kind].name);
    for (j = 0; j < groups[i].nroles; j++) {
      char *p = groups[i].log[j].buf, *nl;

      for (; p != NULL && *p != '\0'; p = nl + 1) {
        nl = strchr(p, '\n');
        printf("g%d.%d %.*s\n", i, j, (int)(nl - p), p);
      }
      free(groups[i].log[j].buf);
    }
  }
  printf("end\n");
  return 0;
}
