/* libearly.so: a library whose constructor calls hooked names before
 * libgpatch.so's own constructor has run.
 *
 * Preloaded after the shim (LD_PRELOAD="libgpatch.so libearly.so"), the
 * loader runs this constructor first: a mutex, a sleep, a poll, a pipe's
 * write and read and a thread's create and join then reach the shim's
 * hooks before its constructor resolved anything (DESIGN.md, Known traps:
 * "an interposer can be called before the library's constructor runs").
 * Prints early_ok=1 on stdout when every call succeeded, early_ok=0 when
 * one failed.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *noop(void *arg) { return arg; }

static int calls(void) {
  int p[2];
  char c;
  pthread_t t;
  void *r = NULL;
  if (pthread_mutex_lock(&mu) != 0 || pthread_mutex_unlock(&mu) != 0)
    return 0;
  if (usleep(1000) != 0 || poll(NULL, 0, 1) != 0)
    return 0;
  if (pipe(p) != 0)
    return 0;
  int ok = write(p[1], "x", 1) == 1 && read(p[0], &c, 1) == 1 && c == 'x';
  close(p[0]);
  close(p[1]);
  return ok && pthread_create(&t, NULL, noop, &mu) == 0 &&
         pthread_join(t, &r) == 0 && r == &mu;
}

__attribute__((constructor)) static void early(void) {
  char line[16];
  int n = snprintf(line, sizeof line, "early_ok=%d\n", calls());
  if (write(1, line, (size_t)n) != n)
    _exit(3);
}
