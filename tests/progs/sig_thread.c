/* sig_thread: signals sent to one thread with pthread_kill and
 * pthread_sigqueue are that thread's: its handler runs in it, a mask that
 * blocks the signal keeps it pending for that thread alone (sigpending,
 * sigwaitinfo), and unblocking it runs the handler before
 * pthread_sigmask returns. Prints key=value lines and threads=N; exits 0
 * when every check held.
 *
 *   handler_in_target    the handler saw pthread_self() == the target
 *   read_eintr           the target's read (no SA_RESTART) failed with EINTR
 *   handled_before_eintr the handler had run when that read returned
 *   pending_in_target    sigpending in the target showed the blocked signal
 *   pending_not_in_main  ... and not in main
 *   sigwait_code         si_code of what sigwaitinfo took (SI_QUEUE = -1)
 *   sigwait_value        the value pthread_sigqueue sent
 *   unblock_runs_handler the handler ran inside the unblocking call
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "threads_now.h"

static int pipefd[2];
static pthread_t target;
static volatile sig_atomic_t handled, handled_in_target;
static pthread_barrier_t gate;

static void on_usr1(int sig) {
  (void)sig;
  handled++;
  if (pthread_equal(pthread_self(), target))
    handled_in_target = 1;
}

/* Part 1: blocked in read, interrupted; the handler runs in this thread. */
static int read_eintr, handled_before_eintr;
static pid_t reader_tid;
static void *reader(void *arg) {
  char c;
  (void)arg;
  reader_tid = gettid();
  pthread_barrier_wait(&gate);
  ssize_t n = read(pipefd[0], &c, 1);
  read_eintr = n == -1 && errno == EINTR;
  handled_before_eintr = handled == 1;
  return NULL;
}

/* Part 2: SIGUSR2 blocked here; pending for this thread only, then taken
 * with sigwaitinfo. Then SIGUSR1 blocked, sent, and unblocked. */
static int pending_in_target, sig_code, sig_value, unblock_runs;
static void *blocker(void *arg) {
  (void)arg;
  sigset_t s2, s1, pend;
  sigemptyset(&s2);
  sigaddset(&s2, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &s2, NULL);
  pthread_barrier_wait(&gate); /* main sends SIGUSR2 now */
  pthread_barrier_wait(&gate); /* sent */
  sigpending(&pend);
  pending_in_target = sigismember(&pend, SIGUSR2);
  siginfo_t si;
  if (sigwaitinfo(&s2, &si) == SIGUSR2) {
    sig_code = si.si_code;
    sig_value = si.si_value.sival_int;
  }
  sigemptyset(&s1);
  sigaddset(&s1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &s1, NULL);
  pthread_barrier_wait(&gate); /* main sends SIGUSR1 now */
  pthread_barrier_wait(&gate); /* sent */
  int before = handled;
  pthread_sigmask(SIG_UNBLOCK, &s1, NULL);
  unblock_runs = handled == before + 1 && handled_in_target;
  return NULL;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1; /* no SA_RESTART */
  sigaction(SIGUSR1, &sa, NULL);
  if (pipe(pipefd) != 0 || pthread_barrier_init(&gate, NULL, 2) != 0)
    return 2;

  pthread_create(&target, NULL, reader, NULL);
  pthread_barrier_wait(&gate);
  /* The reader blocks in read (natively a 50 ms sleep was not enough
   * under load: the signal came first, and the read then never ended). */
  if (threads_now() > 1)
    wait_in_call(reader_tid);
  else
    usleep(50 * 1000); /* preloaded: the reader runs meanwhile */
  pthread_kill(target, SIGUSR1);
  pthread_join(target, NULL);
  int handler_in_target = handled_in_target;

  handled = handled_in_target = 0;
  pthread_create(&target, NULL, blocker, NULL);
  pthread_barrier_wait(&gate);
  pthread_sigqueue(target, SIGUSR2, (union sigval){.sival_int = 4242});
  sigset_t pend;
  sigpending(&pend);
  int pending_in_main = sigismember(&pend, SIGUSR2);
  printf("threads=%d\n", threads_now());
  pthread_barrier_wait(&gate);
  pthread_barrier_wait(&gate);
  pthread_kill(target, SIGUSR1);
  pthread_barrier_wait(&gate);
  pthread_join(target, NULL);

  printf("handler_in_target=%d\nread_eintr=%d\nhandled_before_eintr=%d\n"
         "pending_in_target=%d\npending_not_in_main=%d\nsigwait_code=%d\n"
         "sigwait_value=%d\nunblock_runs_handler=%d\n",
         handler_in_target, read_eintr, handled_before_eintr,
         pending_in_target, !pending_in_main, sig_code, sig_value,
         unblock_runs);
  return handler_in_target && read_eintr && handled_before_eintr &&
                 pending_in_target && !pending_in_main &&
                 sig_code == SI_QUEUE && sig_value == 4242 && unblock_runs
             ? 0
             : 1;
}
