/* log_close: a daemon-like program that closes every fd it did not open
 * and reuses the numbers, while gpatch logs (GPATCH_LOG_FILE).
 *
 *   log_close
 *
 * Closes fds 3 and up, makes a pipe (which takes the lowest numbers, the
 * log file's among them), then starts and joins a thread, which
 * GPATCH_LOG=debug logs. Nothing of gpatch's may land in the pipe.
 * Prints pipe_bytes (what the pipe received) and done=1.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *nothing(void *arg) { return arg; }

int main(void) {
  int p[2];
  pthread_t t;
  char buf[4096];
  ssize_t n;

  close_range(3, ~0u, 0);
  if (pipe2(p, O_NONBLOCK) != 0)
    return 1;
  if (pthread_create(&t, NULL, nothing, NULL) != 0)
    return 1;
  pthread_join(t, NULL);
  n = read(p[0], buf, sizeof buf);
  printf("pipe_bytes=%zd\ndone=1\n", n < 0 ? 0 : n);
  return 0;
}
