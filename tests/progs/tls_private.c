/* tls_private: thread-local storage that must be per thread.
 *
 *   tls_private counters|errno|strerror|self|fork|stream|churn [N]
 *
 * counters: 8 threads each add 1 to their own __thread counter 1000
 *   times, sleeping or yielding every 50; prints sums (every counter's
 *   final value added up), own (threads whose counter was theirs alone)
 *   and distinct (threads whose counter had an address no other had).
 * errno: 8 threads each set errno, then park (a sleep, a pipe read, a
 *   sched_yield) and check it after each; prints errno_ok.
 * strerror: 8 threads each take strerror and strerror_r of an unknown
 *   error of their own and their own locale (uselocale), park, and check
 *   the text and the locale are still theirs; prints strerror_ok,
 *   strerror_r_ok, locale_ok.
 * self: 8 threads compare pthread_self, before and after parks, with what
 *   pthread_create returned; prints self_ok, and cpu_ok (threads for
 *   which sched_getcpu answered a CPU after the parks).
 * fork: a thread with a __thread value forks; the child checks the value,
 *   mallocs, and exits 0; prints child_status and parent_value.
 * stream: two threads share a stdio stream over a socket: one waits in
 *   fgets on it (holding the stream's lock), the other then writes to it;
 *   main feeds the line. Prints got_line and wrote (each 1).
 * churn N: creates and joins N threads one after the other, each doing a
 *   malloc/free and a __thread access; prints churned, and rss_before_kb,
 *   rss_after_kb and per_thread_b (growth per thread; timings vary).
 * Each prints threads (OS threads while all of its threads live).
 */
#include <errno.h>
#include <locale.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "threads_now.h"

#define N 8

static __thread long counter;
static __thread long fork_value = 7;
static long *where[N];
static int pipes[N][2];
/* Every thread waits at all_up, main counts the OS threads, then all
 * pass counted: none has ended when they are counted. */
static pthread_barrier_t all_up, counted;
/* A thread that main counts waits here until main has counted it (fork,
 * stream, churn): natively it could otherwise end before the count. */
static pthread_barrier_t gate;
static void wait_counted(void) {
  pthread_barrier_wait(&all_up);
  pthread_barrier_wait(&counted);
}

/* A park of the given kind: a sleep, a pipe read (fed by the thread
 * itself, which still parks when the read finds the data at once), or a
 * yield. */
static void park(int i, int kind) {
  char c = 'x';
  switch (kind % 3) {
  case 0:
    usleep(1000);
    break;
  case 1:
    if (write(pipes[i][1], &c, 1) != 1 || read(pipes[i][0], &c, 1) != 1)
      abort();
    break;
  default:
    sched_yield();
  }
}

static void *count(void *arg) {
  int i = (int)(long)arg;
  where[i] = &counter;
  wait_counted();
  for (int k = 1; k <= 1000; k++) {
    counter++;
    if (k % 50 == 0)
      park(i, k / 50);
  }
  return (void *)counter;
}

static void *keep_errno(void *arg) {
  int i = (int)(long)arg;
  int ok = 1;
  errno = 100 + i;
  wait_counted();
  errno = 100 + i;
  for (int k = 0; k < 30; k++) {
    park(i, k);
    errno = errno == 100 + i ? errno : (ok = 0, 100 + i);
  }
  return (void *)(long)ok;
}

static int strerror_ok, strerror_r_ok, locale_ok;

static void *keep_strerror(void *arg) {
  int i = (int)(long)arg;
  char want[64], buf[64];
  snprintf(want, sizeof want, "Unknown error %d", 5000 + i);
  const char *s = strerror(5000 + i);
  const char *r = strerror_r(6000 + i, buf, sizeof buf);
  locale_t mine = duplocale(LC_GLOBAL_LOCALE);
  uselocale(mine);
  wait_counted();
  for (int k = 0; k < 9; k++)
    park(i, k);
  char want_r[64];
  snprintf(want_r, sizeof want_r, "Unknown error %d", 6000 + i);
  __atomic_add_fetch(&strerror_ok, strcmp(s, want) == 0, __ATOMIC_RELAXED);
  __atomic_add_fetch(&strerror_r_ok, strcmp(r, want_r) == 0,
                     __ATOMIC_RELAXED);
  __atomic_add_fetch(&locale_ok, uselocale((locale_t)0) == mine,
                     __ATOMIC_RELAXED);
  uselocale(LC_GLOBAL_LOCALE);
  freelocale(mine);
  return NULL;
}

static pthread_t given[N];
static int cpu_ok;

static void *keep_self(void *arg) {
  int i = (int)(long)arg;
  wait_counted(); /* main stored given[] before it waited */
  int ok = pthread_equal(pthread_self(), given[i]);
  for (int k = 0; k < 6; k++) {
    park(i, k);
    ok = ok && pthread_equal(pthread_self(), given[i]);
  }
  __atomic_add_fetch(&cpu_ok, sched_getcpu() >= 0, __ATOMIC_RELAXED);
  return (void *)(long)ok;
}

/* Runs fn in N threads; returns the sum of what they returned, and
 * prints threads= while they all live. */
static long run_n(void *(*fn)(void *)) {
  long sum = 0;
  pthread_barrier_init(&all_up, NULL, N + 1);
  pthread_barrier_init(&counted, NULL, N + 1);
  for (int i = 0; i < N; i++) {
    if (pipe(pipes[i]) != 0 ||
        pthread_create(&given[i], NULL, fn, (void *)(long)i) != 0)
      abort();
  }
  pthread_barrier_wait(&all_up);
  printf("threads=%d\n", threads_now());
  pthread_barrier_wait(&counted);
  for (int i = 0; i < N; i++) {
    void *r;
    pthread_join(given[i], &r);
    sum += (long)r;
    close(pipes[i][0]);
    close(pipes[i][1]);
  }
  pthread_barrier_destroy(&all_up);
  pthread_barrier_destroy(&counted);
  return sum;
}

static void *forker(void *arg) {
  (void)arg;
  pthread_barrier_wait(&gate); /* main counts the threads first */
  fork_value = 42;
  usleep(1000);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    char *p = malloc(100);
    int ok = fork_value == 42 && p != NULL;
    free(p);
    _exit(ok ? 0 : 3);
  }
  int st = -1;
  if (pid < 0 || waitpid(pid, &st, 0) != pid)
    return (void *)-1L;
  return (void *)(long)(WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st));
}

static FILE *shared_fp;
static int got_line, wrote;

static void *stream_reader(void *arg) {
  char line[64];
  (void)arg;
  got_line = fgets(line, sizeof line, shared_fp) != NULL &&
             strcmp(line, "fed\n") == 0;
  return NULL;
}

static void *stream_writer(void *arg) {
  (void)arg;
  pthread_barrier_wait(&gate); /* main counts the threads first */
  usleep(20000); /* the reader is in fgets by now */
  wrote = fprintf(shared_fp, "hello\n") == 6 && fflush(shared_fp) == 0;
  return NULL;
}

/* The reader waits for main's line holding the stream's lock; the writer
 * uses the same stream meanwhile. */
static void stream(void) {
  int sv[2];
  pthread_t r, w;
  char buf[16];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 ||
      (shared_fp = fdopen(sv[0], "r+")) == NULL)
    abort();
  pthread_barrier_init(&gate, NULL, 2);
  pthread_create(&r, NULL, stream_reader, NULL);
  pthread_create(&w, NULL, stream_writer, NULL);
  printf("threads=%d\n", threads_now());
  pthread_barrier_wait(&gate);
  usleep(100000);
  if (write(sv[1], "fed\n", 4) != 4)
    abort();
  pthread_join(r, NULL);
  pthread_join(w, NULL);
  ssize_t n = read(sv[1], buf, sizeof buf);
  printf("got_line=%d\nwrote=%d\necho=%d\n", got_line, wrote,
         n == 6 && memcmp(buf, "hello\n", 6) == 0);
  fclose(shared_fp);
  close(sv[1]);
}

static char *volatile sink; /* so the compiler keeps malloc and free */

static void *churn_one(void *arg) {
  sink = malloc(64 + (long)arg % 64);
  sink[0] = 1;
  counter += sink[0];
  free(sink);
  return (void *)counter;
}

/* The first measured thread waits here until main has counted the OS
 * threads (a thread this short may have ended before the count). */
static void *churn_first(void *arg) {
  pthread_barrier_wait(&gate);
  return churn_one(arg);
}

static long rss_kb(void) {
  long pages = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL || fscanf(f, "%ld %ld", &pages, &rss) != 2)
    abort();
  fclose(f);
  return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void churn(long n) {
  long ok = 0;
  pthread_t t;
  void *r;
  /* Warm up (the runtime starts, stacks and records are cached). */
  for (int i = 0; i < 100; i++) {
    pthread_create(&t, NULL, churn_one, (void *)(long)i);
    pthread_join(t, &r);
  }
  long before = rss_kb();
  size_t used = mallinfo2().uordblks;
  for (long i = 0; i < n; i++) {
    if (i == 0)
      pthread_barrier_init(&gate, NULL, 2);
    if (pthread_create(&t, NULL, i == 0 ? churn_first : churn_one,
                       (void *)i) != 0)
      abort();
    if (i == 0) {
      printf("threads=%d\n", threads_now());
      pthread_barrier_wait(&gate);
    }
    pthread_join(t, &r);
    ok += (long)r == 1;
  }
  long after = rss_kb();
  long heap = (long)(mallinfo2().uordblks - used);
  printf("churned=%ld\nrss_before_kb=%ld\nrss_after_kb=%ld\n"
         "per_thread_b=%ld\nheap_per_thread_b=%ld\n", ok, before, after,
         (after - before) * 1024 / (n > 0 ? n : 1), heap / (n > 0 ? n : 1));
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "counters";
  if (strcmp(mode, "counters") == 0) {
    long sums = run_n(count);
    int own = 0, distinct = 0;
    for (int i = 0; i < N; i++) {
      int alone = 1;
      for (int j = 0; j < N; j++)
        alone = alone && (i == j || where[i] != where[j]);
      distinct += alone;
    }
    own = sums == N * 1000L ? N : 0;
    printf("sums=%ld\nown=%d\ndistinct=%d\n", sums, own, distinct);
  } else if (strcmp(mode, "errno") == 0) {
    printf("errno_ok=%ld\n", run_n(keep_errno));
  } else if (strcmp(mode, "strerror") == 0) {
    run_n(keep_strerror);
    printf("strerror_ok=%d\nstrerror_r_ok=%d\nlocale_ok=%d\n", strerror_ok,
           strerror_r_ok, locale_ok);
  } else if (strcmp(mode, "self") == 0) {
    printf("self_ok=%ld\n", run_n(keep_self));
    printf("cpu_ok=%d\n", cpu_ok);
  } else if (strcmp(mode, "fork") == 0) {
    pthread_t t;
    void *r;
    pthread_barrier_init(&gate, NULL, 2);
    pthread_create(&t, NULL, forker, NULL);
    printf("threads=%d\n", threads_now());
    pthread_barrier_wait(&gate);
    pthread_join(t, &r);
    printf("child_status=%ld\nparent_value=%ld\n", (long)r, fork_value);
  } else if (strcmp(mode, "stream") == 0) {
    stream();
  } else if (strcmp(mode, "churn") == 0) {
    churn(argc > 2 ? atol(argv[2]) : 100000);
  } else {
    fprintf(stderr, "usage: tls_private counters|errno|strerror|self|fork|"
            "stream|churn [N]\n");
    return 2;
  }
  return 0;
}
