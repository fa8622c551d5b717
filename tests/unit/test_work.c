/* Unit tests of running functions on pool threads: the caller parks while
 * other coroutines run, a lane's limit bounds its threads, and a busy lane
 * never delays another. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rt.h"

#define MS (1000 * 1000LL)

struct nap {
  long usec;       /* how long the job blocks its thread */
  pid_t tid;       /* the thread that ran it */
  int64_t took;    /* ns from submit to return, seen by the caller */
};

static int running, most; /* jobs running at once, and the peak */

static void nap_fn(void *p) {
  struct nap *n = p;
  int now = __atomic_add_fetch(&running, 1, __ATOMIC_SEQ_CST);
  int seen = __atomic_load_n(&most, __ATOMIC_SEQ_CST);
  while (now > seen &&
         !__atomic_compare_exchange_n(&most, &seen, now, 0, __ATOMIC_SEQ_CST,
                                      __ATOMIC_SEQ_CST))
    ;
  n->tid = (pid_t)syscall(SYS_gettid);
  usleep((useconds_t)n->usec); /* blocks this pool thread only */
  __atomic_sub_fetch(&running, 1, __ATOMIC_SEQ_CST);
}

static volatile int ticks, stop;

static void *ticker(void *arg) {
  (void)arg;
  while (!stop) {
    gp__park(gp__now() + 2 * MS);
    ticks++;
  }
  return NULL;
}

Test(work, runs_on_a_pool_thread_while_others_run) {
  gp__rt_start(0);
  gp_coro *t;
  gp__spawn(ticker, NULL, 0, 0, &t);
  struct nap n = {.usec = 100 * 1000};
  int64_t t0 = gp__now();
  cr_assert_eq(gp__work_run(0, nap_fn, &n), 0);
  int64_t took = gp__now() - t0;
  stop = 1;
  gp__join(t, NULL, GP_NEVER);
  cr_assert_neq(n.tid, (pid_t)syscall(SYS_gettid));
  cr_assert_geq(took, 100 * MS);
  cr_assert_geq(ticks, 10, "the ticker ran %d times during 100 ms", ticks);
}

struct caller {
  unsigned lane;
  struct nap n;
};

static void *call(void *arg) {
  struct caller *c = arg;
  int64_t t0 = gp__now();
  cr_assert_eq(gp__work_run(c->lane, nap_fn, &c->n), 0);
  c->n.took = gp__now() - t0;
  return NULL;
}

Test(work, a_lane_runs_at_most_its_limit_at_once) {
  gp__rt_start(0);
  gp__work_set_limit(1, 2);
  struct caller cs[5];
  gp_coro *c[5];
  for (int i = 0; i < 5; i++) {
    cs[i] = (struct caller){.lane = 1, .n = {.usec = 40 * 1000}};
    gp__spawn(call, &cs[i], 0, 0, &c[i]);
  }
  for (int i = 0; i < 5; i++)
    gp__join(c[i], NULL, GP_NEVER);
  cr_assert_eq(most, 2, "peak concurrency %d, limit 2", most);
  for (int i = 0; i < 5; i++)
    cr_assert_geq(cs[i].n.took, 40 * MS);
}

Test(work, a_busy_lane_does_not_delay_another) {
  gp__rt_start(0);
  gp__work_set_limit(2, 1);
  struct caller slow = {.lane = 2, .n = {.usec = 400 * 1000}};
  struct caller fast = {.lane = 3, .n = {.usec = 1000}};
  gp_coro *a, *b;
  gp__spawn(call, &slow, 0, 0, &a);
  gp__yield(); /* slow's job is now on lane 2's only thread */
  gp__spawn(call, &fast, 0, 0, &b);
  gp__join(b, NULL, GP_NEVER);
  cr_assert_lt(fast.n.took, 200 * MS, "fast took %lld ms",
               (long long)(fast.n.took / MS));
  gp__join(a, NULL, GP_NEVER);
  cr_assert_geq(slow.n.took, 400 * MS);
}

/* The OS threads of this process now (the entries of /proc/self/task). */
static int os_threads(void) {
  DIR *d = opendir("/proc/self/task");
  int n = 0;
  for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.';
  if (d != NULL)
    closedir(d);
  return n;
}

/* Parks the calling coroutine until the lane has no thread, for at most
 * limit ns; returns how many it still has. */
static unsigned wait_retired(unsigned lane, int64_t limit) {
  int64_t until = gp__now() + limit;
  while (gp__work_threads(lane) > 0 && gp__now() < until)
    gp__park(gp__now() + 5 * MS);
  return gp__work_threads(lane);
}

Test(work, idle_threads_retire_and_a_later_job_starts_one) {
  gp__rt_start(0);
  gp__work_set_idle(50 * MS);
  int before = os_threads();
  struct nap n = {.usec = 1000};
  cr_assert_eq(gp__work_run(1, nap_fn, &n), 0);
  cr_assert_eq(gp__work_threads(1), 1);
  cr_assert_eq(os_threads(), before + 1);
  int64_t t0 = gp__now();
  cr_assert_eq(wait_retired(1, 2000 * MS), 0, "the idle thread stayed");
  int64_t took = gp__now() - t0;
  cr_assert_geq(took, 40 * MS, "retired after %lld ms, idle time 50 ms",
                (long long)(took / MS));
  /* The count drops under the lane's lock just before the thread ends. */
  for (int i = 0; i < 200 && os_threads() > before; i++)
    gp__park(gp__now() + 1 * MS);
  cr_assert_eq(os_threads(), before, "the thread is still there");
  n.tid = 0;
  cr_assert_eq(gp__work_run(1, nap_fn, &n), 0);
  cr_assert_neq(n.tid, 0, "the later job did not run");
  cr_assert_eq(gp__work_threads(1), 1);
}

/* A lane of one thread whose idle time is 200 us, and jobs queued from
 * 0 to 400 us after the previous one returned, in steps of 1 us, busy
 * waiting (the loop's timers count whole ms): some land just as the
 * thread times out, between its wake-up and its re-check of the queue.
 * Each must be taken (a stranded one would park its caller forever; the
 * timeout ends the test). Without the re-check under the lock, a run
 * hangs. */
Test(work, jobs_queued_as_the_thread_times_out_are_taken, .timeout = 60) {
  gp__rt_start(0);
  gp__work_set_limit(2, 1);
  gp__work_set_idle(200 * 1000);
  struct nap n = {.usec = 0};
  for (int rep = 0; rep < 5; rep++)
    for (int64_t d = 0; d <= 400 * 1000; d += 1000) {
      cr_assert_eq(gp__work_run(2, nap_fn, &n), 0);
      int64_t until = gp__now() + d;
      while (gp__now() < until)
        ;
    }
  cr_assert_leq(gp__work_threads(2), 1);
  cr_assert_eq(wait_retired(2, 2000 * MS), 0);
}
