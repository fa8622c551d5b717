/* echo_server: a plain, blocking, thread-per-connection TCP echo server.
 *
 * It knows nothing about gpatch and is written the way legacy servers are:
 * one accept loop, one detached pthread per connection, blocking read() and
 * write(), and a mutex around the statistics. Usage: echo_server PORT
 * (listens on 127.0.0.1). SIGTERM or SIGINT stops it; before exiting it
 * prints "served=N bytes=M" on stdout. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long served;     /* Connections that reached EOF or error. */
static unsigned long long bytes; /* Bytes written back to clients. */

static void on_signal(int sig)
{
  (void) sig;
  stopping = 1;
}

/* Writes all LEN bytes of BUF to FD, looping over partial writes and
 * EINTR. Returns 0 on success, -1 on error with errno set. */
static int write_all(int fd, const char *buf, size_t len)
{
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    buf += n;
    len -= (size_t) n;
  }
  return 0;
}

/* The per-connection thread: echoes everything it reads until EOF or an
 * error, then closes the socket and adds to the global counters. ARG
 * carries the connected fd. */
static void *serve(void *arg)
{
  int fd = (int) (intptr_t) arg;
  char buf[4096];
  unsigned long long total = 0;

  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (write_all(fd, buf, (size_t) n) < 0)
      break;
    total += (unsigned long long) n;
  }
  close(fd);

  pthread_mutex_lock(&stats_lock);
  served++;
  bytes += total;
  pthread_mutex_unlock(&stats_lock);
  return NULL;
}

/* Opens the listening socket on 127.0.0.1:PORT. Returns the fd, or exits
 * the process with a message on failure. */
static int listen_on(int port)
{
  struct sockaddr_in addr;
  int one = 1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  if (fd < 0) {
    perror("socket");
    exit(1);
  }
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t) port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *) &addr, sizeof addr) < 0) {
    perror("bind");
    exit(1);
  }
  if (listen(fd, 4096) < 0) {
    perror("listen");
    exit(1);
  }
  return fd;
}

int main(int argc, char **argv)
{
  struct sigaction sa;
  int lfd;

  if (argc != 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }

  /* No SA_RESTART: a blocked accept() should return EINTR on a signal. */
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  lfd = listen_on(atoi(argv[1]));

  while (!stopping) {
    pthread_t tid;
    int err;
    int fd = accept(lfd, NULL, NULL);

    if (stopping) {
      if (fd >= 0)
        close(fd);
      break;
    }
    if (fd < 0) {
      if (errno != EINTR && errno != ECONNABORTED)
        perror("accept");
      if (errno == EMFILE || errno == ENFILE)
        usleep(10000);
      continue;
    }
    err = pthread_create(&tid, NULL, serve, (void *) (intptr_t) fd);
    if (err != 0) {
      fprintf(stderr, "pthread_create: %s\n", strerror(err));
      close(fd);
      continue;
    }
    pthread_detach(tid);
  }
  close(lfd);

  pthread_mutex_lock(&stats_lock);
  printf("served=%lu bytes=%llu\n", served, bytes);
  pthread_mutex_unlock(&stats_lock);
  fflush(stdout);
  return 0;
}
