// tls_churn: a million short threads must not make memory grow.
//
//   tls_churn [TOTAL [BATCH [MARK]]]     (1000000, 100, 10000)
//
// Creates TOTAL threads in batches of BATCH alive at once (BATCH created,
// then BATCH joined). Each thread constructs its C++ thread_local object
// (a constructor and a destructor, registered with
// __cxa_thread_atexit), mallocs a block of a size that varies from
// thread to thread, yields (so the batch interleaves while it holds the
// block), checks that its object is still its own, frees the block, and
// gives its pthread key a malloc'ed value that the key's destructor
// frees. It also takes the text of an unknown error and of an unknown
// signal (strerror's and strsignal's per-thread buffers, which glibc
// mallocs and frees at the thread's exit).
//
// Prints threads (OS threads while the first batch is alive, as
// threads_now.h counts them), then after the batch that reaches MARK
// threads rss_mark_kb and heap_mark_b (the resident set from
// /proc/self/statm, malloc's bytes in use from mallinfo2), and at the end
// created, ctors, dtors, key_dtors and own (threads whose object was
// theirs across the yield), rss_end_kb, heap_end_b, growth_kb (end less
// mark) and secs (wall time, for information only).
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "threads_now.h"

static std::atomic<long> ctors, dtors, key_dtors, own;
static pthread_key_t key;
static pthread_barrier_t first_up, counted;

struct Obj {
  pthread_t owner;
  long touched = 0;
  Obj() : owner(pthread_self()) { ctors++; }
  ~Obj() { dtors++; }
};
static thread_local Obj obj;

static void key_gone(void *v) {
  free(v);
  key_dtors++;
}

static char *volatile sink; // so the compiler keeps malloc and free

static void *work(void *arg) {
  long i = (long)arg;
  if (strerror(4242 + (int)(i % 3))[0] == '\0' || strsignal(99)[0] == '\0')
    abort();
  Obj *mine = &obj;
  mine->touched++;
  char *p = (char *)malloc(16 + (size_t)(i * 37 % 2048));
  if (p == nullptr)
    abort();
  p[0] = (char)i;
  sink = p;
  sched_yield();
  if (&obj == mine && obj.owner == pthread_self() && obj.touched == 1 &&
      p[0] == (char)i)
    own++;
  free(p);
  if (pthread_setspecific(key, malloc(32)) != 0)
    abort();
  return nullptr;
}

// The first batch's threads wait until main has counted the OS threads.
static void *work_counted(void *arg) {
  pthread_barrier_wait(&first_up);
  pthread_barrier_wait(&counted);
  return work(arg);
}

// Resident set in KiB, read with open and read (no stdio, no malloc).
static long rss_kb(void) {
  char buf[128];
  long pages = 0, rss = 0;
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (fd >= 0)
    close(fd);
  if (n <= 0)
    abort();
  buf[n] = '\0';
  if (sscanf(buf, "%ld %ld", &pages, &rss) != 2)
    abort();
  return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  long total = argc > 1 ? atol(argv[1]) : 1000000;
  long batch = argc > 2 ? atol(argv[2]) : 100;
  long mark = argc > 3 ? atol(argv[3]) : 10000;
  if (total < 1 || batch < 1 || batch > 10000 || mark < batch ||
      mark > total) {
    fprintf(stderr, "usage: tls_churn [TOTAL [BATCH [MARK]]], "
                    "BATCH <= MARK <= TOTAL, BATCH <= 10000\n");
    return 2;
  }
  static pthread_t t[10000];
  long created = 0, rss_mark = -1, heap_mark = -1;
  double t0 = now();
  pthread_key_create(&key, key_gone);
  pthread_barrier_init(&first_up, nullptr, (unsigned)batch + 1);
  pthread_barrier_init(&counted, nullptr, (unsigned)batch + 1);
  while (created < total) {
    long n = total - created < batch ? total - created : batch;
    int first = created == 0;
    for (long i = 0; i < n; i++)
      if (pthread_create(&t[i], nullptr, first ? work_counted : work,
                         (void *)(created + i)) != 0) {
        fprintf(stderr, "tls_churn: pthread_create failed\n");
        return 1;
      }
    if (first) {
      // n == batch here: total >= mark >= batch.
      pthread_barrier_wait(&first_up);
      printf("threads=%d\n", threads_now());
      fflush(stdout);
      pthread_barrier_wait(&counted);
    }
    for (long i = 0; i < n; i++)
      pthread_join(t[i], nullptr);
    created += n;
    if (rss_mark < 0 && created >= mark) {
      rss_mark = rss_kb();
      heap_mark = (long)mallinfo2().uordblks;
      printf("rss_mark_kb=%ld\nheap_mark_b=%ld\n", rss_mark, heap_mark);
      fflush(stdout);
    }
  }
  long rss_end = rss_kb();
  long heap_end = (long)mallinfo2().uordblks;
  printf("created=%ld\nctors=%ld\ndtors=%ld\nkey_dtors=%ld\nown=%ld\n"
         "rss_end_kb=%ld\nheap_end_b=%ld\ngrowth_kb=%ld\nsecs=%.2f\n",
         created, ctors.load(), dtors.load(), key_dtors.load(), own.load(),
         rss_end, heap_end, rss_end - rss_mark, now() - t0);
  return 0;
}
