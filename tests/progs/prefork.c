/* prefork: a pre-forked server and its clients in one program.
 *
 *   prefork PORT CHILDREN THREADS CONNS CLIENTS
 *
 * The parent listens on 127.0.0.1:PORT, then forks CHILDREN processes
 * that each run THREADS threads accepting on the shared socket: each
 * connection gets one line and answers "pong\n". The parent then runs
 * CLIENTS client threads that make CONNS connections in all, one request
 * each. When the clients are done the parent closes a pipe; every child
 * reports how many connections it served and exits. The parent prints
 * replies (answers its clients got), served (the children's total),
 * children (children that exited 0) and busy (children that served at
 * least one connection).
 *
 * Exits 0 when every connection was answered and counted once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int port, lfd, conns, clients;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int served, replies, next_conn;

static void *acceptor(void *arg) {
  (void)arg;
  for (;;) {
    int c = accept(lfd, NULL, NULL);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      perror("accept");
      return NULL;
    }
    char buf[64];
    ssize_t n = read(c, buf, sizeof buf);
    if (n > 0) {
      /* Counted before the answer: once the client has it, the parent may
       * end the clients and this child report before a count after it
       * (served=999 of 1000 under load). */
      pthread_mutex_lock(&mu);
      served++;
      pthread_mutex_unlock(&mu);
      if (write(c, "pong\n", 5) != 5) {
        pthread_mutex_lock(&mu);
        served--;
        pthread_mutex_unlock(&mu);
      }
    }
    close(c);
  }
}

/* A child: THREADS acceptors; reports its count when quit reaches EOF. */
static void child(int threads, int quit, int report) {
  for (int i = 0; i < threads; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, acceptor, NULL) != 0)
      _exit(3);
    pthread_detach(t);
  }
  char c;
  while (read(quit, &c, 1) > 0)
    ;
  pthread_mutex_lock(&mu);
  char line[32];
  int len = snprintf(line, sizeof line, "%d\n", served);
  pthread_mutex_unlock(&mu);
  write(report, line, (size_t)len);
  _exit(0);
}

/* One request on a new connection: 1 when "pong" came back. */
static int request(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((unsigned short)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  char buf[8];
  int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
           write(fd, "ping\n", 5) == 5 && read(fd, buf, sizeof buf) == 5 &&
           memcmp(buf, "pong\n", 5) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

static void *client(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&mu);
    int mine = next_conn < conns ? next_conn++ : -1;
    pthread_mutex_unlock(&mu);
    if (mine < 0)
      return NULL;
    int ok = request();
    pthread_mutex_lock(&mu);
    replies += ok;
    pthread_mutex_unlock(&mu);
  }
}

static int listener(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((unsigned short)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      listen(fd, 1024) != 0)
    return -1;
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: prefork PORT CHILDREN THREADS CONNS CLIENTS\n");
    return 2;
  }
  port = atoi(argv[1]);
  int nchildren = atoi(argv[2]), threads = atoi(argv[3]);
  conns = atoi(argv[4]);
  clients = atoi(argv[5]);
  int quit[2], rep[2];
  if ((lfd = listener()) < 0 || pipe(quit) || pipe(rep)) {
    perror("setup");
    return 2;
  }
  pid_t kids[64];
  for (int i = 0; i < nchildren && i < 64; i++) {
    fflush(stdout);
    kids[i] = fork();
    if (kids[i] == 0) {
      close(quit[1]);
      close(rep[0]);
      child(threads, quit[0], rep[1]);
    }
  }
  close(quit[0]);
  close(rep[1]);
  close(lfd);
  pthread_t *t = calloc((size_t)clients, sizeof *t);
  for (int i = 0; i < clients; i++)
    pthread_create(&t[i], NULL, client, NULL);
  for (int i = 0; i < clients; i++)
    pthread_join(t[i], NULL);
  close(quit[1]);
  int total = 0, busy = 0, ok = 0;
  FILE *f = fdopen(rep[0], "r");
  int n;
  while (f && fscanf(f, "%d", &n) == 1) {
    total += n;
    busy += n > 0;
  }
  for (int i = 0; i < nchildren; i++) {
    int st;
    if (waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st) &&
        WEXITSTATUS(st) == 0)
      ok++;
  }
  printf("replies=%d served=%d children=%d busy=%d\n", replies, total, ok,
         busy);
  fflush(stdout);
  return replies == conns && total == conns && ok == nchildren ? 0 : 1;
}
