/* line_server: a legacy text protocol server: a thread per connection
 * wraps its socket in stdio (fdopen) and answers every line with the same
 * line (fgets, fputs, fflush) until the client closes. Usage:
 * line_server PORT. Prints "lines=N" when SIGTERM or SIGINT ends it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long lines;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static void *serve(void *arg) {
  int fd = (int)(long)arg;
  FILE *in = fdopen(fd, "r");
  FILE *out = fdopen(dup(fd), "w");
  char line[512];
  while (in && out && fgets(line, sizeof line, in)) {
    fputs(line, out);
    fflush(out);
    pthread_mutex_lock(&mu);
    lines++;
    pthread_mutex_unlock(&mu);
  }
  if (out)
    fclose(out);
  if (in)
    fclose(in);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((unsigned short)atoi(argv[1])),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 4096)) {
    perror("bind");
    return 1;
  }
  while (!stop) {
    int c = accept(lfd, NULL, NULL);
    if (c < 0)
      continue;
    pthread_t t;
    pthread_create(&t, NULL, serve, (void *)(long)c);
    pthread_detach(t);
  }
  printf("lines=%ld\n", lines);
  return 0;
}
