/* tls_thread: what glibc keeps per thread besides __thread variables.
 *
 *   tls_thread tids|res|stack|setxid|xid_moved|xid_detached
 *
 * tids: 8 threads note gettid() and syscall(SYS_gettid), park, and note
 *   them again; main then aims SIGUSR1 at each by tgkill (4 of them) or
 *   tkill (the others) while they wait in a pipe read, and its handler
 *   notes the tid it ran with. Prints tids_agree (threads whose two
 *   calls gave the same id), tids_stable, tids_distinct (ids no other
 *   thread and not main had), main_is_pid (main's gettid is its pid),
 *   handled (threads whose handler ran in them), sched_ok (threads whose
 *   tid sched_getaffinity, sched_getscheduler and get/setpriority took),
 *   ended_esrch (tgkill of an ended thread's tid: ESRCH), self_kill (a
 *   thread's tgkill of its own tid ran its handler at once) and
 *   child_main (a child forked by a thread has gettid() == getpid()).
 * res: 8 threads each res_init() and set _res.retry to their own value,
 *   park, and check it; prints res_distinct (threads whose &_res no other
 *   had, main included), res_own and main_res (main's _res untouched).
 * stack: a thread made with a 64 KiB stack asks glibc's alloca cutoff
 *   (__libc_alloca_cutoff, which reads the thread's stack size from its
 *   descriptor) about 16,000 and 20,000 bytes; prints cutoff_16000 and
 *   cutoff_20000 (1 when alloca is allowed), and getattr_ok (its
 *   pthread_getattr_np stack holds a local variable).
 * setxid: with 4 threads waiting and a real OS thread running (natively
 *   they are; under gpatch getaddrinfo starts a pool thread), a thread
 *   and then main set their user and group ids to what they are, and
 *   their groups by initgroups (glibc makes every thread it knows do the
 *   same); prints setxid_ok (1 when every call returned 0, or EPERM
 *   for initgroups of a user who may not; none hung).
 * xid_moved (root only, else prints xid_skip=1): a thread spins 400 ms
 *   on the CPU with no call (under gpatch the hand-off gives the other
 *   threads another OS thread); main, after a 100 ms sleep, drops its
 *   user and group ids to 65534 (setresgid, setresuid); the spinner, when
 *   done, reads its OS thread's ids. Prints moved (main's OS thread was
 *   not the first one when it dropped: under gpatch the case that
 *   matters), spinner_dropped (the spinner's OS thread had 65534) and
 *   all_dropped (every task of the process had 65534 after the join).
 * xid_detached (root only): the same drop made by the spinner itself,
 *   200 ms into its spin (under gpatch it runs on an OS thread of its
 *   own by then, the others on another); main sleeps meanwhile. Prints
 *   spinner_dropped and all_dropped as above.
 * Each prints threads (OS threads while all of its threads live).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <netdb.h>
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <grp.h>
#include <resolv.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "threads_now.h"

#define N 8

static pid_t first[N], second[N], by_syscall[N], in_handler[N];
static int pipes[N][2];
static __thread int my_index = -1;
static pthread_barrier_t noted, signalled;

static void on_usr1(int sig) {
  (void)sig;
  if (my_index >= 0)
    in_handler[my_index] = gettid();
}

static int self_kill;

static void *note_tid(void *arg) {
  int i = (int)(long)arg;
  char c;
  my_index = i;
  first[i] = gettid();
  by_syscall[i] = (pid_t)syscall(SYS_gettid);
  usleep(1000);
  sched_yield();
  second[i] = gettid();
  if (i == 0) { /* to itself: the handler runs before tgkill returns */
    in_handler[i] = 0;
    self_kill = tgkill(getpid(), gettid(), SIGUSR1) == 0 &&
                in_handler[i] == first[i];
  }
  pthread_barrier_wait(&noted);
  if (read(pipes[i][0], &c, 1) != 1) /* SA_RESTART: the signal comes here */
    abort();
  return NULL;
}

static void *forker(void *arg) {
  (void)arg;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0)
    _exit(gettid() == getpid() && syscall(SYS_gettid) == getpid() ? 0 : 1);
  int st = -1;
  if (pid < 0 || waitpid(pid, &st, 0) != pid)
    return (void *)0L;
  return (void *)(long)(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int sched_ok_for(pid_t tid) {
  cpu_set_t set;
  errno = 0;
  int prio = getpriority(PRIO_PROCESS, (id_t)tid);
  return sched_getaffinity(tid, sizeof set, &set) == 0 &&
         CPU_COUNT(&set) > 0 && sched_getscheduler(tid) == SCHED_OTHER &&
         errno == 0 && setpriority(PRIO_PROCESS, (id_t)tid, prio) == 0;
}

static void tids(void) {
  pthread_t t[N];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  pthread_barrier_init(&noted, NULL, N + 1);
  for (int i = 0; i < N; i++)
    if (pipe(pipes[i]) != 0 ||
        pthread_create(&t[i], NULL, note_tid, (void *)(long)i) != 0)
      abort();
  pthread_barrier_wait(&noted);
  printf("threads=%d\n", threads_now());
  int sched_ok = 0;
  for (int i = 0; i < N; i++) {
    sched_ok += sched_ok_for(first[i]);
    if (i < N / 2)
      tgkill(getpid(), first[i], SIGUSR1);
    else
      syscall(SYS_tkill, first[i], SIGUSR1);
  }
  for (int i = 0; i < N; i++)
    if (write(pipes[i][1], "x", 1) != 1)
      abort();
  pid_t me = gettid();
  int agree = 0, stable = 0, distinct = 0, handled = 0;
  for (int i = 0; i < N; i++) {
    pthread_join(t[i], NULL);
    int alone = first[i] != me && first[i] > 0;
    for (int j = 0; j < N; j++)
      alone = alone && (i == j || first[i] != first[j]);
    distinct += alone;
    agree += by_syscall[i] == first[i];
    stable += second[i] == first[i];
    handled += in_handler[i] == first[i];
  }
  errno = 0;
  int esrch = tgkill(getpid(), first[1], 0) == -1 && errno == ESRCH;
  pthread_t f;
  void *child_main;
  pthread_create(&f, NULL, forker, NULL);
  pthread_join(f, &child_main);
  printf("tids_agree=%d\ntids_stable=%d\ntids_distinct=%d\nmain_is_pid=%d\n"
         "handled=%d\nsched_ok=%d\nended_esrch=%d\nself_kill=%d\n"
         "child_main=%ld\n", agree, stable, distinct,
         me == getpid() && syscall(SYS_gettid) == getpid(), handled,
         sched_ok, esrch, self_kill, (long)child_main);
}

static struct __res_state *res_at[N];
static int res_own;

static void *own_res(void *arg) {
  int i = (int)(long)arg;
  res_init();
  _res.retry = 10 + i;
  res_at[i] = &_res;
  pthread_barrier_wait(&noted);
  pthread_barrier_wait(&signalled);
  for (int k = 0; k < 4; k++) {
    usleep(1000);
    sched_yield();
  }
  __atomic_add_fetch(&res_own, _res.retry == 10 + i && &_res == res_at[i],
                     __ATOMIC_RELAXED);
  return NULL;
}

static void res(void) {
  pthread_t t[N];
  res_init();
  int main_retry = _res.retry;
  pthread_barrier_init(&noted, NULL, N + 1);
  pthread_barrier_init(&signalled, NULL, N + 1);
  for (int i = 0; i < N; i++)
    pthread_create(&t[i], NULL, own_res, (void *)(long)i);
  pthread_barrier_wait(&noted);
  printf("threads=%d\n", threads_now());
  pthread_barrier_wait(&signalled);
  int distinct = 0;
  for (int i = 0; i < N; i++) {
    pthread_join(t[i], NULL);
    int alone = res_at[i] != &_res;
    for (int j = 0; j < N; j++)
      alone = alone && (i == j || res_at[i] != res_at[j]);
    distinct += alone;
  }
  printf("res_distinct=%d\nres_own=%d\nmain_res=%d\n", distinct, res_own,
         _res.retry == main_retry);
}

static int cutoff_16000, cutoff_20000, getattr_ok;

static void *ask_cutoff(void *arg) {
  int (*cutoff)(size_t) = arg;
  int local = 0;
  pthread_attr_t a;
  void *lo;
  size_t size;
  cutoff_16000 = cutoff(16000);
  cutoff_20000 = cutoff(20000);
  if (pthread_getattr_np(pthread_self(), &a) == 0 &&
      pthread_attr_getstack(&a, &lo, &size) == 0)
    getattr_ok = (char *)&local > (char *)lo &&
                 (char *)&local < (char *)lo + size && size >= 65536;
  pthread_attr_destroy(&a);
  pthread_barrier_wait(&noted);
  pthread_barrier_wait(&signalled); /* main has counted the OS threads */
  return NULL;
}

static void stack(void) {
  pthread_t t;
  pthread_attr_t a;
  int (*cutoff)(size_t) =
      (int (*)(size_t))dlvsym(RTLD_DEFAULT, "__libc_alloca_cutoff",
                              "GLIBC_PRIVATE");
  if (cutoff == NULL)
    abort();
  pthread_barrier_init(&noted, NULL, 2);
  pthread_barrier_init(&signalled, NULL, 2);
  pthread_attr_init(&a);
  pthread_attr_setstacksize(&a, 65536);
  pthread_create(&t, &a, ask_cutoff, (void *)cutoff);
  pthread_barrier_wait(&noted);
  printf("threads=%d\n", threads_now());
  pthread_barrier_wait(&signalled);
  pthread_join(t, NULL);
  printf("cutoff_16000=%d\ncutoff_20000=%d\ngetattr_ok=%d\n", cutoff_16000,
         cutoff_20000, getattr_ok);
}

/* initgroups (glibc's calls its own setgroups, which no hook sees) sets
 * the groups /etc/group gives the caller's user: allowed to root, EPERM
 * to others, natively too; either way it must return. */
static int xid_calls(void) {
  struct passwd *pw = getpwuid(getuid());
  return setuid(getuid()) == 0 && setgid(getgid()) == 0 &&
         seteuid(geteuid()) == 0 && setegid(getegid()) == 0 &&
         setreuid((uid_t)-1, (uid_t)-1) == 0 &&
         setresgid((gid_t)-1, (gid_t)-1, (gid_t)-1) == 0 && pw != NULL &&
         (initgroups(pw->pw_name, getgid()) == 0 || errno == EPERM);
}

static void *waiter(void *arg) {
  char c;
  if (read(*(int *)arg, &c, 1) != 1)
    abort();
  return NULL;
}

static void *xid_thread(void *arg) {
  (void)arg;
  return (void *)(long)xid_calls();
}

static void setxid(void) {
  pthread_t w[4], x;
  int p[2];
  void *ok;
  struct addrinfo *ai = NULL;
  if (pipe(p) != 0)
    abort();
  for (int i = 0; i < 4; i++)
    pthread_create(&w[i], NULL, waiter, &p[0]);
  usleep(10000);
  printf("threads=%d\n", threads_now());
  if (getaddrinfo("localhost", "80", NULL, &ai) == 0)
    freeaddrinfo(ai);
  pthread_create(&x, NULL, xid_thread, NULL);
  pthread_join(x, &ok);
  int main_ok = xid_calls();
  if (write(p[1], "xxxx", 4) != 4)
    abort();
  for (int i = 0; i < 4; i++)
    pthread_join(w[i], NULL);
  printf("setxid_ok=%d\n", ok != NULL && main_ok);
}

/* The real and effective user ids of /proc/PATH/status both 65534. */
static int dropped(const char *path) {
  char line[256];
  int uid = -1, euid = -1;
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "Uid: %d %d", &uid, &euid) == 2)
      break;
  fclose(f);
  return uid == 65534 && euid == 65534;
}

/* The kernel's id of the calling OS thread (gettid answers per thread
 * under gpatch; /proc/thread-self is the OS thread's). */
static long os_tid(void) {
  char buf[64];
  ssize_t n = readlink("/proc/thread-self", buf, sizeof buf - 1);
  if (n <= 0)
    return -1;
  buf[n] = 0;
  char *p = strrchr(buf, '/');
  return p ? atol(p + 1) : -1;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void drop(void) {
  if (setresgid(65534, 65534, 65534) != 0 ||
      setresuid(65534, 65534, 65534) != 0)
    abort();
}

/* Spins 400 ms with no call; arg non-NULL: drops the ids at 200 ms. */
static void *xid_spinner(void *arg) {
  double t0 = now_ms();
  volatile unsigned long x = 0;
  while (now_ms() - t0 < 200)
    x++;
  if (arg)
    drop();
  while (now_ms() - t0 < 400)
    x++;
  return (void *)(long)dropped("/proc/thread-self/status");
}

static void xid_moved(int by_spinner) {
  if (geteuid() != 0) {
    printf("xid_skip=1\n");
    return;
  }
  pthread_t t;
  void *spun;
  pthread_create(&t, NULL, xid_spinner, by_spinner ? &t : NULL);
  usleep(100000);
  int moved = os_tid() != (long)getpid();
  if (!by_spinner)
    drop();
  pthread_join(t, &spun);
  int all = 1, n = 0;
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    char path[300];
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "/proc/self/task/%s/status", e->d_name);
    all = all && dropped(path);
    n++;
  }
  if (d)
    closedir(d);
  printf("moved=%d\nspinner_dropped=%d\nall_dropped=%d\n", moved,
         (int)(long)spun, all && n > 0);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "tids";
  if (strcmp(mode, "tids") == 0) {
    tids();
  } else if (strcmp(mode, "res") == 0) {
    res();
  } else if (strcmp(mode, "stack") == 0) {
    stack();
  } else if (strcmp(mode, "setxid") == 0) {
    setxid();
  } else if (strcmp(mode, "xid_moved") == 0) {
    xid_moved(0);
  } else if (strcmp(mode, "xid_detached") == 0) {
    xid_moved(1);
  } else {
    fprintf(stderr, "usage: tls_thread "
                    "tids|res|stack|setxid|xid_moved|xid_detached\n");
    return 2;
  }
  return 0;
}
