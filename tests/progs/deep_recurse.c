/* deep_recurse: a thread recurses without bound, for the stack overflow
 * report.
 *
 *   deep_recurse [handler|null]
 *
 * A thread named "recurser" calls itself with a 1 KiB frame until its
 * stack runs out, which ends the process with SIGSEGV (natively too: the
 * depth is far beyond glibc's 8 MiB stacks). With "handler", main first
 * installs a SIGSEGV handler of its own, on an alternate signal stack,
 * which writes "handler=ran" and exits with status 3: where the handler
 * can run (under gpatch the thread is a coroutine on main's OS thread, so
 * main's signal stack serves), that is how the process ends. With "null"
 * the thread dereferences a null pointer instead: a SIGSEGV that is no
 * stack overflow. Core dumps are turned off.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static volatile long max_depth = 1L << 40; /* never reached */
static char altstack[64 * 1024];

__attribute__((noinline)) static long recurse(long depth) {
  volatile char frame[1024];

  frame[0] = (char)depth;
  if (depth >= max_depth)
    return 0;
  return recurse(depth + 1) + frame[0];
}

static int *volatile nowhere;

static void *recurser(void *arg) {
  pthread_setname_np(pthread_self(), "recurser");
  printf("recursing=1\n");
  fflush(stdout);
  if (arg != NULL)
    return (void *)(long)*nowhere;
  return (void *)recurse(0);
}

static void on_segv(int sig) {
  static const char msg[] = "handler=ran\n";

  (void)sig;
  write(1, msg, sizeof msg - 1);
  _exit(3);
}

int main(int argc, char **argv) {
  struct rlimit no_core = { 0, 0 };
  pthread_t t;

  setrlimit(RLIMIT_CORE, &no_core);
  if (argc > 1 && strcmp(argv[1], "handler") == 0) {
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_segv;
    sa.sa_flags = SA_ONSTACK;
    sigaltstack(&ss, NULL);
    sigaction(SIGSEGV, &sa, NULL);
  }
  if (pthread_create(&t, NULL, recurser,
                     argc > 1 && strcmp(argv[1], "null") == 0 ? "" : NULL)
      != 0)
    return 1;
  pthread_join(t, NULL);
  printf("returned=1\n");
  return 0;
}
