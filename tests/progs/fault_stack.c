/* fault_stack: thread stacks that cannot be mapped.
 *
 *   fault_stack rlimit  RLIMIT_AS set 64 MiB above what the process maps:
 *                       threads (default attributes, then 1 MiB stacks
 *                       asked) are created, each waiting on a condvar,
 *                       until pthread_create fails; it must say EAGAIN,
 *                       every thread made must still run to its end when
 *                       released, and one more can be made afterwards
 *   fault_stack maps    the process's map count (vm.max_map_count, a
 *                       per-process limit: no sysctl is changed) used up
 *                       with one-page mappings while one thread lives:
 *                       pthread_create must say EAGAIN; with 200 of them
 *                       unmapped, a thread is made and runs
 *
 * How many threads fit differs (gpatch's stacks are smaller), so the count
 * is printed as made=N, which the test does not compare.  Prints key=value
 * tokens otherwise the same natively and under gpatch.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "fault.h"

enum { MAX_THREADS = 200000 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static int released, finished;
static pthread_t tids[MAX_THREADS];

static void *waiter(void *arg) {
  pthread_mutex_lock(&lock);
  while (!released)
    pthread_cond_wait(&go, &lock);
  finished++;
  pthread_mutex_unlock(&lock);
  return arg;
}

/* Creates waiting threads with attr until creation fails; releases and
 * joins them.  Prints <tag>_err=..., <tag>_made=N, <tag>_all_ran=0|1. */
static void until_full(const char *tag, const pthread_attr_t *attr) {
  int n = 0, err = 0;
  released = finished = 0;
  while (n < MAX_THREADS
         && (err = pthread_create(&tids[n], attr, waiter, (void *)1)) == 0)
    n++;
  pthread_mutex_lock(&lock);
  released = 1;
  pthread_cond_broadcast(&go);
  pthread_mutex_unlock(&lock);
  int joined = 0;
  for (int i = 0; i < n; i++) {
    void *r = NULL;
    joined += pthread_join(tids[i], &r) == 0 && r == (void *)1;
  }
  printf("%s_err=%s %s_made=%d %s_all_ran=%d\n", tag,
         n == MAX_THREADS ? "none" : fault_errname(err), tag, n, tag,
         joined == n && finished == n);
}

/* One thread made, run and joined: "0", or the error of pthread_create. */
static const char *one_more(void) {
  pthread_t t;
  void *r = NULL;
  pthread_mutex_lock(&lock);
  released = 1;
  pthread_cond_broadcast(&go);
  pthread_mutex_unlock(&lock);
  int err = pthread_create(&t, NULL, waiter, (void *)2);
  if (err != 0)
    return fault_errname(err);
  pthread_join(t, &r);
  return r == (void *)2 ? "0" : "wrong";
}

/* The process's mapped size in bytes, from /proc/self/statm. */
static size_t mapped(void) {
  FILE *f = fopen("/proc/self/statm", "re");
  unsigned long pages = 0;
  FAULT_CHECK(f != NULL && fscanf(f, "%lu", &pages) == 1);
  fclose(f);
  return pages * (size_t)sysconf(_SC_PAGESIZE);
}

static int run_rlimit(void) {
  pthread_attr_t attr;
  struct rlimit rl;
  /* A first thread, so that gpatch's runtime (and glibc's arenas) exist
   * before the limit. */
  printf("warm=%s\n", one_more());
  FAULT_CHECK(getrlimit(RLIMIT_AS, &rl) == 0);
  rl.rlim_cur = mapped() + (64u << 20);
  FAULT_CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
  until_full("default", NULL);
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 1 << 20);
  until_full("stack1m", &attr);
  pthread_attr_destroy(&attr);
  printf("after=%s\n", one_more());
  return 0;
}

static int run_maps(void) {
  long page = sysconf(_SC_PAGESIZE);
  static void *maps[70000];
  int n = 0;
  pthread_t holder;
  /* A thread that lives through the test: gpatch's runtime exists, and no
   * freed stack is at hand for the next thread (glibc and gpatch both
   * reuse one). */
  released = 0;
  FAULT_CHECK(pthread_create(&holder, NULL, waiter, (void *)4) == 0);
  /* Alternating protections keep neighbours from merging into one. */
  while (n < 70000) {
    void *p = mmap(NULL, (size_t)page, n % 2 ? PROT_READ : PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      break;
    maps[n++] = p;
  }
  if (n == 70000) {
    printf("skip=1 why=map_count_not_reached\n");
    return 0;
  }
  pthread_t t;
  int err = pthread_create(&t, NULL, waiter, (void *)3);
  if (err == 0)
    pthread_join(t, NULL);
  printf("at_map_limit=%s\n", fault_errname(err));
  for (int i = 0; i < 200; i++)
    munmap(maps[--n], (size_t)page);
  printf("after=%s\n", one_more()); /* (also releases the holder) */
  pthread_join(holder, NULL);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  alarm(60);
  if (argc == 2 && strcmp(argv[1], "rlimit") == 0)
    return run_rlimit();
  if (argc == 2 && strcmp(argv[1], "maps") == 0)
    return run_maps();
  fprintf(stderr, "usage: %s rlimit|maps\n", argv[0]);
  return 2;
}
