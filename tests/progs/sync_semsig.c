/* sync_semsig: sem_post from a signal handler, and signals interrupting
 * sem_wait.
 *
 *   sync_semsig timer|busy|kill|eintr|restart|timed_restart
 *
 * timer          a thread waits in sem_wait; a SIGALRM handler (interval
 *                timer) posts: the thread gets its unit (got=1) while
 *                main waits in pthread_join
 * busy           the same, but the signal arrives while another thread
 *                computes without blocking
 * kill           a thread kill()s the process; the handler posts
 * eintr          main waits in sem_wait; a thread sends it SIGUSR1, whose
 *                handler has no SA_RESTART: -1/EINTR, then a post is taken
 * restart        the same with SA_RESTART: sem_wait goes on and takes the
 *                post (glibc 2.36 restarts its untimed futex wait)
 * timed_restart  sem_timedwait with SA_RESTART: EINTR all the same
 * Prints key=value lines; eintr_seen counts EINTR retries (it depends on
 * which thread the kernel picks, so tests ignore it).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static sem_t sem;
static volatile sig_atomic_t handled;
static int eintr_seen;
static pthread_t main_thread;

static void post_handler(int sig) {
  (void)sig;
  int saved = errno;
  sem_post(&sem);
  handled++;
  errno = saved;
}

static void quiet_handler(int sig) {
  (void)sig;
  handled++;
}

static void on(int sig, void (*fn)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *waiter(void *arg) {
  (void)arg;
  int r;
  while ((r = sem_wait(&sem)) != 0 && errno == EINTR)
    eintr_seen++;
  return (void *)(long)(r == 0);
}

/* Busy for ms milliseconds without a blocking call. */
static void *spinner(void *arg) {
  long end = now_ms() + (long)arg;
  volatile unsigned long x = 0;
  while (now_ms() < end)
    x++;
  return NULL;
}

static void *killer(void *arg) {
  (void)arg;
  usleep(50000);
  kill(getpid(), SIGUSR1);
  return NULL;
}

static void arm_timer(int ms) {
  struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

/* One waiter thread woken by a handler's post; `extra` runs beside it. */
static int handler_post(void *(*extra)(void *), void *arg) {
  pthread_t w, x;
  sem_init(&sem, 0, 0);
  on(SIGALRM, post_handler, SA_RESTART);
  on(SIGUSR1, post_handler, SA_RESTART);
  pthread_create(&w, NULL, waiter, NULL);
  if (extra)
    pthread_create(&x, NULL, extra, arg);
  else
    arm_timer(100);
  if (extra == spinner)
    arm_timer(100);
  void *got;
  pthread_join(w, &got);
  if (extra)
    pthread_join(x, NULL);
  int v = -1;
  sem_getvalue(&sem, &v);
  printf("got=%ld\nhandled=%d\nvalue_after=%d\neintr_seen=%d\n",
         (long)got, (int)handled, v, eintr_seen);
  return got ? 0 : 1;
}

static void *interrupter(void *arg) {
  usleep(100000);
  pthread_kill(main_thread, SIGUSR1);
  usleep(100000);
  if (arg)
    sem_post(&sem);
  return NULL;
}

/* main waits; a thread signals it, then posts. */
static int interrupted(int flags, int timed) {
  pthread_t t;
  sem_init(&sem, 0, 0);
  main_thread = pthread_self();
  on(SIGUSR1, quiet_handler, flags);
  pthread_create(&t, NULL, interrupter, (void *)1L);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += 5;
  long t0 = now_ms();
  errno = 0;
  int r = timed ? sem_timedwait(&sem, &ts) : sem_wait(&sem);
  int e = r ? errno : 0;
  long waited = now_ms() - t0;
  printf("first=%d\nfirst_errno=%d\nfirst_ms=%ld\n", r, e, waited);
  if (r != 0)
    r = sem_wait(&sem);
  printf("second=%d\nhandled=%d\n", r, (int)handled);
  pthread_join(t, NULL);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *what = argc > 1 ? argv[1] : "";
  if (strcmp(what, "timer") == 0)
    return handler_post(NULL, NULL);
  if (strcmp(what, "busy") == 0)
    return handler_post(spinner, (void *)400L);
  if (strcmp(what, "kill") == 0)
    return handler_post(killer, NULL);
  if (strcmp(what, "eintr") == 0)
    return interrupted(0, 0);
  if (strcmp(what, "restart") == 0)
    return interrupted(SA_RESTART, 0);
  if (strcmp(what, "timed_restart") == 0)
    return interrupted(SA_RESTART, 1);
  fprintf(stderr, "usage: sync_semsig timer|busy|kill|eintr|restart|"
                  "timed_restart\n");
  return 2;
}
