/* sig_aimed: pthread_kill aimed at one thread blocked in read makes that
 * read fail with EINTR (handler without SA_RESTART), while another thread
 * sleeping and main joining are not interrupted. Prints key=value lines;
 * exits 0 when it went as natively. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int pipefd[2];
static volatile sig_atomic_t handled;
static int read_eintr, sleep_left = -1;

static void on_usr1(int sig) {
  (void)sig;
  handled++;
}

static void *reader(void *arg) {
  char c;
  (void)arg;
  read_eintr = read(pipefd[0], &c, 1) == -1 && errno == EINTR;
  return NULL;
}

static void *sleeper(void *arg) {
  (void)arg;
  struct timespec req = {0, 300 * 1000 * 1000}, rem = {0, 0};
  sleep_left = nanosleep(&req, &rem); /* 0: slept it all */
  return NULL;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1; /* no SA_RESTART */
  sigaction(SIGUSR1, &sa, NULL);
  if (pipe(pipefd) != 0)
    return 2;
  pthread_t r, s;
  pthread_create(&r, NULL, reader, NULL);
  pthread_create(&s, NULL, sleeper, NULL);
  usleep(100 * 1000); /* both blocked */
  pthread_kill(r, SIGUSR1);
  pthread_join(r, NULL);
  pthread_join(s, NULL);
  printf("read_eintr=%d\nsleep_whole=%d\nhandled=%d\n", read_eintr,
         sleep_left == 0, (int)handled);
  return read_eintr && sleep_left == 0 && handled == 1 ? 0 : 1;
}
