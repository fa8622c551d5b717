/* log_child: a program that starts a child which cannot open the log.
 *
 *   log_child PATH    replaces the file PATH by a symbolic link (which
 *                     the shim never opens a log through), then runs
 *                     itself as "log_child -c" and waits for it
 *   log_child -c      prints child_ran=1
 *
 * The parent prints child_exit=N, the child's exit status (-1 when it did
 * not exit normally). Under gpatch with GPATCH_LOG_FILE=PATH, the parent
 * opened the log at start-up; the child must run on, logging to stderr. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "-c") == 0) {
    printf("child_ran=1\n");
    return 0;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: log_child PATH | log_child -c\n");
    return 64;
  }
  if (unlink(argv[1]) != 0 || symlink("/dev/null", argv[1]) != 0) {
    perror("log_child: replace the log");
    return 1;
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    execl("/proc/self/exe", argv[0], "-c", (char *)NULL);
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid)
    return 1;
  printf("child_exit=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}
