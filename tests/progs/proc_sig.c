/* proc_sig: waiting for signals while other threads run.
 *
 *   proc_sig MODE
 *
 * sigwait     SIGUSR1, SIGUSR2 and SIGTERM blocked in main before any
 *             thread; a dedicated thread loops in sigwait and counts what
 *             arrives until SIGTERM, while workers sleep; main sends USR1
 *             three times, USR2 once, then TERM, 30 ms apart. Then
 *             sigtimedwait times out (EAGAIN) after 100 ms and sigwaitinfo
 *             returns a sigqueue value.
 * pause       SIGUSR1 blocked in main; a thread unblocks it and calls
 *             pause(); another thread sends SIGUSR1: pause returns -1
 *             with EINTR after the handler ran.
 * sigsuspend  the classic loop: a thread with SIGUSR1 blocked calls
 *             sigsuspend with a mask without it until a flag is set; the
 *             mask is back afterwards.
 * alarm       setitimer (200 ms) while main blocks in read on a pipe and a
 *             thread sleeps: without SA_RESTART the read fails with EINTR;
 *             with SA_RESTART it goes on and gets the byte a thread writes
 *             at 400 ms.
 *
 * Prints key=value lines; *_ms are timings; exits 0 when all went as
 * expected.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled, flag;
static int counts[NSIG];

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void on_sig(int sig) {
  (void)sig;
  handled++;
  flag = 1;
}

static void *worker(void *arg) {
  (void)arg;
  for (int i = 0; i < 20; i++)
    usleep(10 * 1000);
  return NULL;
}

static void *waiter_thread(void *arg) {
  sigset_t *set = arg;
  for (;;) {
    int sig;
    if (sigwait(set, &sig) != 0)
      return (void *)1;
    counts[sig]++;
    if (sig == SIGTERM)
      return NULL;
  }
}

static int mode_sigwait(void) {
  static sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  pthread_t w, s;
  pthread_create(&w, NULL, worker, NULL);
  pthread_create(&s, NULL, waiter_thread, &set);
  int sigs[] = {SIGUSR1, SIGUSR1, SIGUSR1, SIGUSR2, SIGTERM};
  for (int i = 0; i < 5; i++) {
    usleep(30 * 1000);
    kill(getpid(), sigs[i]);
  }
  void *r;
  pthread_join(s, &r);
  printf("usr1=%d usr2=%d term=%d\n", counts[SIGUSR1], counts[SIGUSR2],
         counts[SIGTERM]);
  /* sigtimedwait with nothing to take: EAGAIN after the timeout. */
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, SIGUSR2);
  struct timespec ts = {0, 100 * 1000 * 1000};
  long t0 = now_ms();
  errno = 0;
  int rt = sigtimedwait(&one, NULL, &ts);
  long ms = now_ms() - t0;
  printf("timedwait_eagain=%d timedwait_late_enough=%d timedwait_ms=%ld\n",
         rt == -1 && errno == EAGAIN, ms >= 95, ms);
  /* sigwaitinfo gets what sigqueue sent. */
  union sigval v = {.sival_int = 42};
  sigqueue(getpid(), SIGUSR2, v);
  siginfo_t si;
  int rw = sigwaitinfo(&one, &si);
  printf("waitinfo_sig=%d waitinfo_value=%d\n", rw == SIGUSR2,
         si.si_value.sival_int);
  pthread_join(w, NULL);
  return counts[SIGUSR1] == 3 && counts[SIGUSR2] == 1 && r == NULL &&
                 rt == -1 && ms >= 95 && rw == SIGUSR2
             ? 0
             : 1;
}

static void *sender(void *arg) {
  (void)arg;
  usleep(100 * 1000);
  kill(getpid(), SIGUSR1);
  return NULL;
}

static void *pauser(void *arg) {
  (void)arg;
  sigset_t u;
  sigemptyset(&u);
  sigaddset(&u, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &u, NULL);
  errno = 0;
  int r = pause();
  return (void *)(long)(r == -1 && errno == EINTR && handled == 1);
}

static void *suspender(void *arg) {
  (void)arg;
  sigset_t old, now;
  pthread_sigmask(SIG_BLOCK, NULL, &old);
  sigset_t wait_mask = old;
  sigdelset(&wait_mask, SIGUSR1);
  int calls = 0, eintr = 1;
  while (!flag) {
    calls++;
    errno = 0;
    eintr &= sigsuspend(&wait_mask) == -1 && errno == EINTR;
  }
  pthread_sigmask(SIG_BLOCK, NULL, &now);
  return (void *)(long)(eintr && calls >= 1 && sigismember(&now, SIGUSR1));
}

static int mode_wait_handler(void *(*fn)(void *), const char *name) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sig;
  sigaction(SIGUSR1, &sa, NULL);
  sigset_t u;
  sigemptyset(&u);
  sigaddset(&u, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &u, NULL);
  pthread_t p, s, w;
  long t0 = now_ms();
  pthread_create(&w, NULL, worker, NULL);
  pthread_create(&p, NULL, fn, NULL);
  pthread_create(&s, NULL, sender, NULL);
  void *ok;
  pthread_join(p, &ok);
  long ms = now_ms() - t0;
  pthread_join(s, NULL);
  pthread_join(w, NULL);
  printf("%s_ok=%d handled=%d %s_ms=%ld\n", name, ok != NULL, (int)handled,
         name, ms);
  return ok != NULL && handled == 1 && ms < 1000 ? 0 : 1;
}

static int alarm_pipe[2];

static void *late_writer(void *arg) {
  (void)arg;
  usleep(400 * 1000);
  write(alarm_pipe[1], "x", 1);
  return NULL;
}

static int alarm_read(int restart) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sig;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigaction(SIGALRM, &sa, NULL);
  pthread_t w;
  pthread_create(&w, NULL, late_writer, NULL);
  struct itimerval it = {{0, 0}, {0, 200 * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
  char c;
  errno = 0;
  ssize_t r = read(alarm_pipe[0], &c, 1);
  int eintr = r == -1 && errno == EINTR;
  pthread_join(w, NULL);
  if (eintr)
    r = read(alarm_pipe[0], &c, 1); /* the late byte */
  return restart ? (!eintr && r == 1) : (eintr && r == 1);
}

static int mode_alarm(void) {
  if (pipe(alarm_pipe) != 0)
    return 2;
  pthread_t w;
  pthread_create(&w, NULL, worker, NULL);
  int a = alarm_read(0);
  int b = alarm_read(1);
  pthread_join(w, NULL);
  printf("alarm_eintr_ok=%d alarm_restart_ok=%d handled=%d\n", a, b,
         (int)handled);
  return a && b && handled == 2 ? 0 : 1;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "sigwait";
  int r;
  if (strcmp(mode, "sigwait") == 0)
    r = mode_sigwait();
  else if (strcmp(mode, "pause") == 0)
    r = mode_wait_handler(pauser, "pause");
  else if (strcmp(mode, "sigsuspend") == 0)
    r = mode_wait_handler(suspender, "sigsuspend");
  else if (strcmp(mode, "alarm") == 0)
    r = mode_alarm();
  else
    r = 2;
  fflush(stdout);
  return r;
}
