/* prctl_name: prctl(PR_SET_NAME) names the calling thread only.
 *
 * A thread names itself "worker" and then with a 20-byte name (kept to
 * 15), reads both back with PR_GET_NAME and pthread_getname_np, and asks
 * to be named from a NULL address (EFAULT). Main then reads its own name
 * both ways and /proc/self/comm (the process's, as ps and pidof see it).
 * Prints threads, worker_ok, long_ok, efault, getname_ok and main_ok
 * (1 each when as natively, errno for efault).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "threads_now.h"

static int worker_ok, long_ok, efault, getname_ok;
static pthread_barrier_t up;

static void *worker(void *arg) {
  (void)arg;
  char n[16] = {0}, g[16] = {0};
  prctl(PR_SET_NAME, "worker", 0, 0, 0);
  prctl(PR_GET_NAME, n, 0, 0, 0);
  worker_ok = strcmp(n, "worker") == 0;
  pthread_getname_np(pthread_self(), g, sizeof g);
  getname_ok = strcmp(g, "worker") == 0;
  prctl(PR_SET_NAME, "abcdefghijklmnopqrst", 0, 0, 0);
  prctl(PR_GET_NAME, n, 0, 0, 0);
  long_ok = strcmp(n, "abcdefghijklmno") == 0;
  efault = prctl(PR_SET_NAME, NULL, 0, 0, 0) == -1 ? errno : 0;
  pthread_barrier_wait(&up);
  pthread_barrier_wait(&up);
  return NULL;
}

int main(int argc, char **argv) {
  (void)argc;
  const char *me = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
  pthread_t t;
  pthread_barrier_init(&up, NULL, 2);
  pthread_create(&t, NULL, worker, NULL);
  pthread_barrier_wait(&up);
  printf("threads=%d\n", threads_now());
  char n[16] = {0}, comm[32] = {0};
  prctl(PR_GET_NAME, n, 0, 0, 0);
  FILE *f = fopen("/proc/self/comm", "r");
  if (f == NULL || fgets(comm, sizeof comm, f) == NULL)
    return 1;
  fclose(f);
  comm[strcspn(comm, "\n")] = 0;
  int main_ok = strncmp(n, me, 15) == 0 && strncmp(comm, me, 15) == 0;
  pthread_barrier_wait(&up);
  pthread_join(t, NULL);
  printf("worker_ok=%d\nlong_ok=%d\nefault=%d\ngetname_ok=%d\nmain_ok=%d\n",
         worker_ok, long_ok, efault, getname_ok, main_ok);
  return 0;
}
