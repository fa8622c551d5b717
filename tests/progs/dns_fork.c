/* dns_fork: a look-up in a child forked after the parent's look-ups.
 *
 *   dns_fork
 *
 * A thread resolves localhost (a pool thread's job under gpatch, which
 * then waits idle in its lane), then the process forks; the child's
 * thread resolves localhost again, under a 5 s alarm. Prints parent_rc,
 * child_rc (getaddrinfo's results) and child_exit (the child's status,
 * or 100 + the signal that ended it: 114 for the alarm's SIGALRM).
 */
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void *look(void *arg) {
  struct addrinfo hints = { .ai_family = AF_INET }, *res;
  int rc = getaddrinfo("localhost", NULL, &hints, &res);

  printf("%s_rc=%d\n", (const char *)arg, rc);
  if (rc == 0)
    freeaddrinfo(res);
  return NULL;
}

int main(void) {
  pthread_t t;
  pid_t pid;
  int st;

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_create(&t, NULL, look, "parent");
  pthread_join(t, NULL);
  pid = fork();
  if (pid == 0) {
    alarm(5);
    pthread_create(&t, NULL, look, "child");
    pthread_join(t, NULL);
    _exit(0);
  }
  if (pid < 0 || waitpid(pid, &st, 0) != pid)
    return 1;
  printf("child_exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st)
                                          : 100 + WTERMSIG(st));
  return 0;
}
