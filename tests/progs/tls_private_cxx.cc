// tls_private_cxx: C++ per-thread state that lives in thread-local storage.
//
//   tls_private_cxx exceptions|objects
//
// exceptions: 200 connection threads each throw their own exception,
//   catch it, park inside the catch block (a sleep, or a read on its
//   connection, a socketpair whose other end a client thread writes a
//   byte to every millisecond), rethrow it with
//   `throw;` and catch it again, checking each time that the exception is
//   their own; a destructor run during the unwinding parks too and checks
//   std::uncaught_exceptions() == 1. Prints own (threads that always saw
//   their own exception) and uncaught_ok.
// objects: 10 threads touch a thread_local object with a constructor and
//   a destructor, park, and touch it again; prints ctors, dtors (counted
//   after every join: each thread's object is destroyed at its exit), same
//   (threads whose object stayed at one address) and dtor_first (threads
//   whose object was destroyed before their pthread key's destructor ran,
//   glibc's order).
// Each prints threads (OS threads while all of its threads live).
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

#include "threads_now.h"

/* Every thread waits at all_up, main counts the OS threads, then all
 * pass counted: none has ended when they are counted. */
static pthread_barrier_t all_up, counted;
static void wait_counted(void) {
  pthread_barrier_wait(&all_up);
  pthread_barrier_wait(&counted);
}
static std::atomic<int> own_count, uncaught_ok, ctors, dtors, same;
static std::atomic<int> dtor_first;
static pthread_key_t key;

// The connections of the exceptions mode: the thread reads conn[i][1],
// the client writes conn[i][0].
#define CONNS 200
static int conn[CONNS][2];
static std::atomic<bool> feeding;
static thread_local int my_conn = -1;

static void *client(void *) {
  while (feeding.load()) {
    for (int i = 0; i < CONNS; i++)
      if (write(conn[i][0], "x", 1) != 1)
        abort();
    usleep(1000);
  }
  return nullptr;
}

// A park: a sleep, or a read of the next byte on the thread's connection
// (a pipe of its own it wrote to first when it has none).
static void park(int i) {
  if (i % 2 == 0) {
    usleep(1000);
    return;
  }
  char c = 'x';
  if (my_conn >= 0) {
    if (read(my_conn, &c, 1) != 1)
      abort();
    return;
  }
  int fd[2];
  if (pipe(fd) != 0 || write(fd[1], &c, 1) != 1 || read(fd[0], &c, 1) != 1)
    abort();
  close(fd[0]);
  close(fd[1]);
}

struct Unwinding {
  int i;
  ~Unwinding() {
    int before = std::uncaught_exceptions();
    park(i);
    if (before == 1 && std::uncaught_exceptions() == 1)
      uncaught_ok++;
  }
};

static void *thrower(void *arg) {
  int i = (int)(long)arg;
  my_conn = conn[i][1];
  std::string mine = "thread " + std::to_string(i);
  bool ok = true;
  wait_counted();
  for (int round = 0; round < 3; round++) {
    try {
      try {
        Unwinding u{i + round};
        throw std::runtime_error(mine);
      } catch (const std::runtime_error &e) {
        park(i + round);
        ok = ok && mine == e.what() && std::uncaught_exceptions() == 0;
        throw;
      }
    } catch (const std::runtime_error &e) {
      park(i + round + 1);
      ok = ok && mine == e.what();
    }
  }
  if (ok)
    own_count++;
  return nullptr;
}

static thread_local bool obj_gone; // trivial: never destroyed itself

struct Obj {
  int touched = 0;
  Obj() { ctors++; }
  ~Obj() {
    dtors++;
    obj_gone = true;
  }
};

// The key's destructor: was this thread's object destroyed already?
static void key_gone(void *v) {
  if (*static_cast<bool *>(v))
    dtor_first++;
}
static thread_local Obj obj;

static void *toucher(void *arg) {
  int i = (int)(long)arg;
  Obj *first = &obj;
  obj.touched++;
  pthread_setspecific(key, &obj_gone);
  wait_counted();
  park(i);
  obj.touched++;
  if (&obj == first && obj.touched == 2)
    same++;
  return nullptr;
}

static void run(int n, void *(*fn)(void *)) {
  pthread_t t[CONNS];
  pthread_barrier_init(&all_up, nullptr, n + 1);
  pthread_barrier_init(&counted, nullptr, n + 1);
  for (int i = 0; i < n; i++)
    if (pthread_create(&t[i], nullptr, fn, (void *)(long)i) != 0)
      abort();
  pthread_barrier_wait(&all_up);
  printf("threads=%d\n", threads_now());
  pthread_barrier_wait(&counted);
  for (int i = 0; i < n; i++)
    pthread_join(t[i], nullptr);
  pthread_barrier_destroy(&all_up);
  pthread_barrier_destroy(&counted);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "exceptions";
  if (strcmp(mode, "exceptions") == 0) {
    for (int i = 0; i < CONNS; i++)
      if (socketpair(AF_UNIX, SOCK_STREAM, 0, conn[i]) != 0)
        abort();
    pthread_t feeder;
    feeding = true;
    if (pthread_create(&feeder, nullptr, client, nullptr) != 0)
      abort();
    run(CONNS, thrower);
    feeding = false;
    pthread_join(feeder, nullptr);
    printf("own=%d\nuncaught_ok=%d\n", own_count.load(), uncaught_ok.load());
  } else if (strcmp(mode, "objects") == 0) {
    pthread_key_create(&key, key_gone);
    run(10, toucher);
    printf("ctors=%d\ndtors=%d\nsame=%d\ndtor_first=%d\n", ctors.load(),
           dtors.load(), same.load(), dtor_first.load());
  } else {
    fprintf(stderr, "usage: tls_private_cxx exceptions|objects\n");
    return 2;
  }
  return 0;
}
