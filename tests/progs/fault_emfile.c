/* fault_emfile: a listener at the fd limit (RLIMIT_NOFILE of 64).
 *
 *   fault_emfile server   an accept thread, told by main when to call
 *                         accept: with a connection pending and no fd
 *                         left (EMFILE), after one fd is freed (the
 *                         connection is accepted and served), with nothing
 *                         pending and no fd left (EMFILE at once, as
 *                         Linux allocates the fd first), then with a new
 *                         connection pending (EMFILE again) and, once fds
 *                         are freed, accepted and served
 *   fault_emfile early    every fd is used before the first pthread_create
 *                         (so before gpatch has made its loop, which needs
 *                         about 7 fds): natively the thread is created and
 *                         runs; under gpatch creation fails with EAGAIN
 *                         and nothing else happens; then, with 16 fds
 *                         freed, a connection is served by a new thread
 *
 * Client sockets are made before the fds run out (socket() needs one;
 * connect() does not).  Prints key=value tokens that are the same natively
 * and under gpatch.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include "fault.h"

enum { LIMIT = 64 };

static int lfd, port;
static int fillers[LIMIT], n_fill;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int asked, answered, last_fd, last_err;

/* Uses every fd left. */
static void fill(void) {
  int fd;
  while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
    fillers[n_fill++] = fd;
  FAULT_CHECK(errno == EMFILE);
}

static void unfill(int n) {
  while (n-- > 0 && n_fill > 0)
    close(fillers[--n_fill]);
}

/* Echoes 5 bytes on fd.  Returns 1 when done. */
static int serve_one(int fd) {
  char b[5];
  int ok = fault_read_all(fd, b, 5, NULL) == 5
           && fault_write_all(fd, b, 5, NULL) == 0;
  close(fd);
  return ok;
}

/* The accept thread: one accept (and, when it succeeds, one echo) each
 * time main asks. */
static void *acceptor(void *arg) {
  (void)arg;
  for (int done = 0;; done++) {
    pthread_mutex_lock(&lock);
    while (asked == done)
      pthread_cond_wait(&cv, &lock);
    pthread_mutex_unlock(&lock);
    if (asked < 0)
      return NULL;
    int fd = accept(lfd, NULL, NULL), err = errno;
    if (fd >= 0 && !serve_one(fd))
      err = -1;
    pthread_mutex_lock(&lock);
    last_fd = fd;
    last_err = err;
    answered++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&lock);
  }
}

/* Has the accept thread call accept once; prints key=EMFILE, key=served
 * or key=failed. */
static void accept_once(const char *key) {
  pthread_mutex_lock(&lock);
  int want = ++asked;
  pthread_cond_broadcast(&cv);
  while (answered < want)
    pthread_cond_wait(&cv, &lock);
  printf("%s=%s\n", key, last_fd >= 0 ? (last_err == -1 ? "failed" : "served")
                                       : fault_errname(last_err));
  pthread_mutex_unlock(&lock);
}

/* Connects a client socket and sends its 5 bytes (they wait in the
 * buffer until the connection is accepted).  Returns 0 or -1. */
static int client_connect(int fd) {
  struct sockaddr_in a = { .sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
    return -1;
  return fault_write_all(fd, "hello", 5, NULL);
}

/* Reads the echo of the 5 bytes on a client socket and closes it. */
static int client_echo(int fd) {
  char b[5];
  int ok = fault_read_all(fd, b, 5, NULL) == 5 && memcmp(b, "hello", 5) == 0;
  close(fd);
  return ok;
}

static void *early_thread(void *arg) {
  return arg;
}

int main(int argc, char **argv) {
  struct rlimit rl;
  pthread_t t;
  int early = argc == 2 && strcmp(argv[1], "early") == 0;

  if (argc != 2 || (!early && strcmp(argv[1], "server") != 0)) {
    fprintf(stderr, "usage: %s server|early\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  alarm(30);
  FAULT_CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  rl.rlim_cur = LIMIT;
  FAULT_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
  lfd = fault_listen(&port);
  int c1 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int c2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  FAULT_CHECK(c1 >= 0 && c2 >= 0);

  if (early) {
    fill();
    int err = pthread_create(&t, NULL, early_thread, (void *)7);
    void *ret = NULL;
    if (err == 0)
      pthread_join(t, &ret);
    printf("early_create=%s early_ran=%d\n", fault_errname(err),
           ret == (void *)7);
    unfill(16); /* gpatch's loop needs about 7 fds of its own. */
    FAULT_CHECK(pthread_create(&t, NULL, acceptor, NULL) == 0);
    FAULT_CHECK(client_connect(c1) == 0);
    accept_once("accept_after_free");
    printf("client_ok=%d\n", client_echo(c1));
  } else {
    FAULT_CHECK(pthread_create(&t, NULL, acceptor, NULL) == 0);
    FAULT_CHECK(client_connect(c1) == 0); /* Pending in the backlog. */
    fill();
    accept_once("accept_pending_at_limit");
    unfill(1);
    accept_once("accept_after_free");
    printf("client1_ok=%d\n", client_echo(c1));
    fill();
    accept_once("accept_idle_at_limit");
    FAULT_CHECK(client_connect(c2) == 0);
    accept_once("accept_pending_again");
    unfill(2);
    accept_once("accept_after_free_again");
    printf("client2_ok=%d\n", client_echo(c2));
  }
  pthread_mutex_lock(&lock);
  asked = -1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&lock);
  pthread_join(t, NULL);
  fflush(stdout);
  return 0;
}
