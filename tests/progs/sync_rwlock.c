/* sync_rwlock: read-write locks between threads.
 *
 *   sync_rwlock share|exclude|errors|timed|prefer|handover|giveup|shared
 *
 * share     four readers hold the lock at once (readers_max=4); threads
 *           is the OS thread count while they wait to take it
 * exclude   writers and readers hammer one lock: no writer ever overlaps
 *           another writer or a reader (overlap=0)
 * errors    EDEADLK, EBUSY, EINVAL as glibc returns them, in a thread
 * timed     timed and clock forms time out (ETIMEDOUT, *_ms the wait)
 * prefer    a reader arriving while a writer waits for the readers: it
 *           joins under the default kind (order_default=RRUW), waits
 *           (tryrdlock EBUSY) under the non-recursive writer preference
 *           (order_writer=RUWR)
 * handover  a writer unlocks with a reader and a writer queued: the reader
 *           goes first by default (WURW), the writer under
 *           PTHREAD_RWLOCK_PREFER_WRITER_NP (WUWR)
 * giveup    under the non-recursive writer preference, a writer that
 *           times out lets the readers held back for it in (order=RREU)
 * shared    a process-shared lock in shared memory: a thread holds it
 *           for writing, a forked child sees it taken (child_trywr=16),
 *           main's rdlock waits for the holder (rd=0, order=WUR)
 * Prints key=value lines; the order of events as letters: R and W a read
 * or write lock taken, U the first holder unlocking, E main seeing the
 * late reader done.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "threads_now.h"

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t wlock =
    PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static pthread_rwlock_t *cur = &lock;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char order[16];
static int inside, max_inside, overlap;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ms(int n) { usleep((useconds_t)n * 1000); }

static void note(char c) {
  pthread_mutex_lock(&mu);
  size_t n = strlen(order);
  if (n + 1 < sizeof order)
    __atomic_store_n(&order[n], c, __ATOMIC_SEQ_CST);
  pthread_mutex_unlock(&mu);
}

static struct timespec in_ms(clockid_t clk, int n) {
  struct timespec ts;
  clock_gettime(clk, &ts);
  ts.tv_nsec += (long)n * 1000000;
  ts.tv_sec += ts.tv_nsec / 1000000000;
  ts.tv_nsec %= 1000000000;
  return ts;
}

/* The share readers wait here until main has counted the OS threads
 * (natively the first ones could otherwise be done before a late count). */
static pthread_barrier_t gate;

static void *share_reader(void *arg) {
  (void)arg;
  pthread_barrier_wait(&gate);
  pthread_rwlock_rdlock(&lock);
  pthread_mutex_lock(&mu);
  if (++inside > max_inside)
    max_inside = inside;
  pthread_mutex_unlock(&mu);
  ms(200);
  pthread_mutex_lock(&mu);
  inside--;
  pthread_mutex_unlock(&mu);
  pthread_rwlock_unlock(&lock);
  return NULL;
}

static int share(void) {
  pthread_t t[4];
  pthread_barrier_init(&gate, NULL, 5);
  for (int i = 0; i < 4; i++)
    pthread_create(&t[i], NULL, share_reader, NULL);
  int threads = threads_now();
  pthread_barrier_wait(&gate); /* they take the lock together now */
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
  printf("threads=%d\nreaders_max=%d\n", threads, max_inside);
  return max_inside == 4 ? 0 : 1;
}

static int writers_in, readers_in;
static long writes, reads;

static void *ex_writer(void *arg) {
  (void)arg;
  for (int i = 0; i < 200; i++) {
    pthread_rwlock_wrlock(&lock);
    if (__atomic_fetch_add(&writers_in, 1, __ATOMIC_SEQ_CST) != 0 ||
        __atomic_load_n(&readers_in, __ATOMIC_SEQ_CST) != 0)
      __atomic_fetch_add(&overlap, 1, __ATOMIC_SEQ_CST);
    writes++;
    if (i % 8 == 0)
      sched_yield();
    __atomic_fetch_sub(&writers_in, 1, __ATOMIC_SEQ_CST);
    pthread_rwlock_unlock(&lock);
    if (i % 16 == 0)
      usleep(100);
  }
  return NULL;
}

static void *ex_reader(void *arg) {
  (void)arg;
  for (int i = 0; i < 200; i++) {
    pthread_rwlock_rdlock(&lock);
    __atomic_fetch_add(&readers_in, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&writers_in, __ATOMIC_SEQ_CST) != 0)
      __atomic_fetch_add(&overlap, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&reads, 1, __ATOMIC_SEQ_CST);
    if (i % 8 == 0)
      sched_yield();
    __atomic_fetch_sub(&readers_in, 1, __ATOMIC_SEQ_CST);
    pthread_rwlock_unlock(&lock);
    if (i % 16 == 0)
      usleep(100);
  }
  return NULL;
}

static int exclude(void) {
  pthread_t t[8];
  for (int i = 0; i < 8; i++)
    pthread_create(&t[i], NULL, i % 2 ? ex_reader : ex_writer, NULL);
  for (int i = 0; i < 8; i++)
    pthread_join(t[i], NULL);
  printf("overlap=%d\nwrites=%ld\nreads=%ld\n", overlap, writes, reads);
  return overlap == 0 && writes == 800 && reads == 800 ? 0 : 1;
}

static void *errors_thread(void *arg) {
  (void)arg;
  struct timespec bad = {0, 1000000000}, past = {-1, 0};
  pthread_rwlock_t *l = &lock;
  printf("wr=%d\n", pthread_rwlock_wrlock(l));
  printf("wr_rd=%d\n", pthread_rwlock_rdlock(l));
  printf("wr_wr=%d\n", pthread_rwlock_wrlock(l));
  printf("wr_tryrd=%d\n", pthread_rwlock_tryrdlock(l));
  printf("wr_trywr=%d\n", pthread_rwlock_trywrlock(l));
  printf("wr_timedrd_bad=%d\n", pthread_rwlock_timedrdlock(l, &bad));
  printf("wr_timedwr_past=%d\n", pthread_rwlock_timedwrlock(l, &past));
  printf("wr_clockrd_badclock=%d\n",
         pthread_rwlock_clockrdlock(l, CLOCK_PROCESS_CPUTIME_ID, &past));
  printf("wr_unlock=%d\n", pthread_rwlock_unlock(l));
  printf("free_timedwr_bad=%d\n", pthread_rwlock_timedwrlock(l, &bad));
  printf("free_clockwr_past=%d\n",
         pthread_rwlock_clockwrlock(l, CLOCK_MONOTONIC, &past));
  printf("unlock=%d\n", pthread_rwlock_unlock(l));
  printf("rd=%d\n", pthread_rwlock_rdlock(l));
  printf("rd_tryrd=%d\n", pthread_rwlock_tryrdlock(l));
  printf("rd_trywr=%d\n", pthread_rwlock_trywrlock(l));
  printf("rd_timedwr_past=%d\n", pthread_rwlock_timedwrlock(l, &past));
  printf("rd_timedrd_past=%d\n", pthread_rwlock_timedrdlock(l, &past));
  pthread_rwlock_unlock(l);
  pthread_rwlock_unlock(l);
  printf("rd_unlock=%d\n", pthread_rwlock_unlock(l));
  printf("end_trywr=%d\n", pthread_rwlock_trywrlock(l));
  pthread_rwlock_unlock(l);
  return NULL;
}

static int errors(void) {
  pthread_t t;
  pthread_create(&t, NULL, errors_thread, NULL);
  pthread_join(t, NULL);
  return 0;
}

/* The ordering scenarios run without timing assumptions where they can:
 * a holder keeps the lock until main releases it, and each new thread is
 * started only once the previous one has begun (plus a pause for it to
 * reach its blocking call). */
static int begun, released;

static void begin(void) { __atomic_fetch_add(&begun, 1, __ATOMIC_SEQ_CST); }

/* Starts fn(arg); returns once it has begun and settle ms have passed. */
static pthread_t start(void *(*fn)(void *), void *arg, int settle) {
  pthread_t t;
  int before = __atomic_load_n(&begun, __ATOMIC_SEQ_CST);
  pthread_create(&t, NULL, fn, arg);
  while (__atomic_load_n(&begun, __ATOMIC_SEQ_CST) == before)
    ms(1);
  ms(settle);
  return t;
}

/* Holds until main releases (or max_ms passes). */
static void hold(int max_ms) {
  long end = now_ms() + max_ms;
  while (!__atomic_load_n(&released, __ATOMIC_SEQ_CST) && now_ms() < end)
    ms(1);
}

static void release(void) {
  __atomic_store_n(&released, 1, __ATOMIC_SEQ_CST);
}

/* A first holder: read or write lock, held until released. */
static void *holder(void *arg) {
  int write = arg != NULL;
  begin();
  if (write)
    pthread_rwlock_wrlock(cur);
  else
    pthread_rwlock_rdlock(cur);
  note(write ? 'W' : 'R');
  hold(3000);
  note('U');
  pthread_rwlock_unlock(cur);
  return NULL;
}

static void *reader(void *arg) {
  (void)arg;
  begin();
  pthread_rwlock_rdlock(cur);
  note('R');
  ms(20);
  pthread_rwlock_unlock(cur);
  return NULL;
}

static void *writer(void *arg) {
  (void)arg;
  begin();
  pthread_rwlock_wrlock(cur);
  note('W');
  ms(20);
  pthread_rwlock_unlock(cur);
  return NULL;
}

static void *late_reader(void *arg) {
  (void)arg;
  int r = pthread_rwlock_tryrdlock(cur);
  if (r == 0)
    pthread_rwlock_unlock(cur);
  printf("late_tryrd=%d\n", r);
  return reader(NULL);
}

/* Starts the holder (write when write) and waits until it holds. */
static pthread_t start_holder(int write) {
  memset(order, 0, sizeof order);
  released = 0;
  pthread_t t = start(holder, write ? (void *)1 : NULL, 0);
  while (__atomic_load_n(&order[0], __ATOMIC_SEQ_CST) == 0)
    ms(1);
  return t;
}

/* R holds; W queues; a late reader tries, then waits or joins; R lets
 * go. order: R, then the late reader's R before or after U and W. */
static int prefer_one(pthread_rwlock_t *l, const char *name) {
  cur = l;
  pthread_t r = start_holder(0);
  pthread_t w = start(writer, NULL, 50);
  pthread_t late = start(late_reader, NULL, 50);
  release();
  pthread_join(r, NULL);
  pthread_join(w, NULL);
  pthread_join(late, NULL);
  printf("order_%s=%s\n", name, order);
  return 0;
}

static int prefer(void) {
  prefer_one(&lock, "default");
  return prefer_one(&wlock, "writer");
}

/* W holds; a reader then a writer queue; W lets go. */
static int handover_one(int kind, const char *name) {
  pthread_rwlockattr_t a;
  pthread_rwlock_t l;
  pthread_rwlockattr_init(&a);
  pthread_rwlockattr_setkind_np(&a, kind);
  pthread_rwlock_init(&l, &a);
  cur = &l;
  pthread_t w0 = start_holder(1);
  pthread_t r = start(reader, NULL, 50);
  pthread_t w1 = start(writer, NULL, 50);
  release();
  pthread_join(w0, NULL);
  pthread_join(r, NULL);
  pthread_join(w1, NULL);
  printf("order_%s=%s\n", name, order);
  pthread_rwlock_destroy(&l);
  return 0;
}

static int handover(void) {
  handover_one(PTHREAD_RWLOCK_PREFER_READER_NP, "reader");
  return handover_one(PTHREAD_RWLOCK_PREFER_WRITER_NP, "writer");
}

/* One timed attempt on a write-held lock: prints its code and wait. */
static void timed_one(const char *name, int r, long t0) {
  printf("%s=%d\n%s_ms=%ld\n", name, r, name, now_ms() - t0);
}

static void *releaser(void *arg) {
  ms((int)(long)arg);
  release();
  return NULL;
}

static int timed(void) {
  pthread_t t = start_holder(1), rel;
  struct timespec ts = in_ms(CLOCK_REALTIME, 100);
  long t0 = now_ms();
  timed_one("timedrd", pthread_rwlock_timedrdlock(&lock, &ts), t0);
  ts = in_ms(CLOCK_REALTIME, 100), t0 = now_ms();
  timed_one("timedwr", pthread_rwlock_timedwrlock(&lock, &ts), t0);
  ts = in_ms(CLOCK_MONOTONIC, 100), t0 = now_ms();
  timed_one("clockrd", pthread_rwlock_clockrdlock(&lock, CLOCK_MONOTONIC,
                                                  &ts), t0);
  ts = in_ms(CLOCK_MONOTONIC, 100), t0 = now_ms();
  timed_one("clockwr", pthread_rwlock_clockwrlock(&lock, CLOCK_MONOTONIC,
                                                  &ts), t0);
  pthread_create(&rel, NULL, releaser, (void *)200L);
  ts = in_ms(CLOCK_REALTIME, 5000), t0 = now_ms();
  printf("late_rd=%d\n", pthread_rwlock_timedrdlock(&lock, &ts));
  printf("late_ms=%ld\n", now_ms() - t0); /* ~200: the holder's release */
  pthread_rwlock_unlock(&lock);
  pthread_join(t, NULL);
  pthread_join(rel, NULL);
  return 0;
}

static void *giveup_writer(void *arg) {
  (void)arg;
  begin();
  struct timespec ts = in_ms(CLOCK_REALTIME, 300);
  printf("writer_rc=%d\n", pthread_rwlock_timedwrlock(&wlock, &ts));
  return NULL;
}

/* R1 holds; W waits 300 ms for it; R2 arrives behind W. When W gives up,
 * R2 comes in while R1 still holds: order=RRE, and U once released. */
static int giveup(void) {
  cur = &wlock;
  pthread_t r1 = start_holder(0);
  pthread_t w = start(giveup_writer, NULL, 50);
  pthread_t r2 = start(reader, NULL, 0);
  pthread_join(r2, NULL); /* R1 lets go after 3 s if R2 never comes in */
  note('E');
  release();
  pthread_join(w, NULL);
  pthread_join(r1, NULL);
  printf("order=%s\n", order);
  return 0;
}

static int shared(void) {
  pthread_rwlock_t *l = mmap(NULL, sizeof *l, PROT_READ | PROT_WRITE,
                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  pthread_rwlockattr_t a;
  if (l == MAP_FAILED)
    return 1;
  pthread_rwlockattr_init(&a);
  pthread_rwlockattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_rwlock_init(l, &a);
  cur = l;
  pthread_t t = start_holder(1);
  pid_t pid = fork();
  if (pid == 0)
    _exit(pthread_rwlock_trywrlock(l));
  int st = 0;
  waitpid(pid, &st, 0);
  printf("child_trywr=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  pthread_t rel;
  pthread_create(&rel, NULL, releaser, (void *)100L);
  int r = pthread_rwlock_rdlock(l);
  note('R');
  printf("rd=%d\n", r);
  pthread_rwlock_unlock(l);
  pthread_join(t, NULL);
  pthread_join(rel, NULL);
  printf("order=%s\n", order);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *what = argc > 1 ? argv[1] : "";
  if (strcmp(what, "share") == 0)
    return share();
  if (strcmp(what, "exclude") == 0)
    return exclude();
  if (strcmp(what, "errors") == 0)
    return errors();
  if (strcmp(what, "timed") == 0)
    return timed();
  if (strcmp(what, "prefer") == 0)
    return prefer();
  if (strcmp(what, "handover") == 0)
    return handover();
  if (strcmp(what, "giveup") == 0)
    return giveup();
  if (strcmp(what, "shared") == 0)
    return shared();
  fprintf(stderr, "usage: sync_rwlock share|exclude|errors|timed|prefer|"
                  "handover|giveup|shared\n");
  return 2;
}
