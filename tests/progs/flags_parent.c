/* flags_parent: the file flags a parent shares with a patched child stay
 * as they were. The parent (run natively) gives the child a pipe as stdin
 * and a socket as stdout, keeps its own copies of those open files, and
 * runs itself again as the child with LD_PRELOAD=$1: the child's threads
 * read and write them blockingly, parking while the parent is slow. The
 * parent checks O_NONBLOCK on both before, during and after the run.
 *
 *   flags_parent LIB   (the parent)      flags_parent child   (the child)
 *
 * Prints key=value lines; exits 0 when the flags never changed and every
 * byte went through. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void *reader(void *arg) {
  char buf[256];
  long total = 0;
  ssize_t n;
  (void)arg;
  while ((n = read(0, buf, sizeof buf)) > 0)
    total += n;
  return (void *)total;
}

static void *writer(void *arg) {
  (void)arg;
  for (int i = 0; i < 100; i++)
    if (write(1, "0123456789abcdef\n", 17) != 17)
      return (void *)1;
  return NULL;
}

static int child(void) {
  pthread_t r, w;
  void *got, *err;
  pthread_create(&r, NULL, reader, NULL);
  pthread_create(&w, NULL, writer, NULL);
  pthread_join(w, &err);
  pthread_join(r, &got);
  close(1);
  return err == NULL && (long)got == 5000 ? 0 : 1;
}

static int nonblock(int fd) { return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0)
    return child();
  if (argc < 2)
    return 2;
  int in[2], out[2];
  if (pipe(in) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, out) != 0)
    return 2;
  int before = nonblock(in[0]) + nonblock(out[1]);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[1]);
    close(out[0]);
    setenv("LD_PRELOAD", argv[1], 1);
    execl("/proc/self/exe", argv[0], "child", (char *)NULL);
    _exit(127);
  }
  int changed = 0;
  char buf[1000];
  memset(buf, 'x', sizeof buf);
  for (int i = 0; i < 5; i++) { /* slow: the child's reader parks */
    usleep(20 * 1000);
    changed += nonblock(in[0]) + nonblock(out[1]);
    if (write(in[1], buf, sizeof buf) != (ssize_t)sizeof buf)
      return 3;
  }
  close(in[1]);
  long got = 0;
  ssize_t n;
  /* (Not until EOF: this process keeps the child's end open to check.) */
  while (got < 1700 && (n = read(out[0], buf, sizeof buf)) > 0) {
    got += n;
    changed += nonblock(in[0]) + nonblock(out[1]);
  }
  int status;
  waitpid(pid, &status, 0);
  int after = nonblock(in[0]) + nonblock(out[1]);
  printf("flags_unchanged=%d\nbytes_back=%ld\nchild_ok=%d\n",
         before == 0 && changed == 0 && after == 0, got,
         WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return before == 0 && changed == 0 && after == 0 && got == 1700 ? 0 : 1;
}
