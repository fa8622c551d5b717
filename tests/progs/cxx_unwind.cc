// cxx_unwind: a C++ thread that ends by pthread_exit or pthread_cancel has
// its stack unwound: destructors run (a std::lock_guard releases its
// mutex), pthread_cleanup_push handlers run, and a catch (...) that
// rethrows sees the unwinding. Prints key=value lines and threads=N;
// exits 0 when every check held.
//
//   exit_dtor        a destructor two frames above pthread_exit ran
//   exit_value       what join gave for pthread_exit((void *)7)
//   cancel_dtor      the lock_guard of a thread cancelled in read released
//   cancel_cleanup   its pthread_cleanup_push handler ran
//   caught_rethrown  its catch (...) ran and rethrew
//   canceled         join gave PTHREAD_CANCELED
#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>

#include "threads_now.h"

static int exit_dtor, cancel_cleanup, caught;
static std::mutex mu;
static int pipefd[2];

struct Note {
  int *flag;
  ~Note() { *flag = 1; }
};

[[noreturn]] static void leave_now() { pthread_exit((void *)7); }

static void *exiter(void *) {
  Note n{&exit_dtor};
  leave_now();
}

static void cleanup(void *) { cancel_cleanup = 1; }

// The cancelled thread meets main here once it holds mu: main counts the
// OS threads and sees mu held then (it slept 50 ms for both before: a
// thread started late had not taken mu yet).
static pthread_barrier_t gate;

static void *blocked(void *) {
  std::lock_guard<std::mutex> hold(mu);
  pthread_barrier_wait(&gate);
  pthread_cleanup_push(cleanup, nullptr);
  try {
    char c;
    for (;;)
      read(pipefd[0], &c, 1); // cancelled here
  } catch (...) {
    caught = 1;
    throw;
  }
  pthread_cleanup_pop(0);
  return nullptr;
}

int main() {
  if (pipe(pipefd) != 0)
    return 2;
  pthread_t a, b;
  void *ra = nullptr, *rb = nullptr;
  pthread_create(&a, nullptr, exiter, nullptr);
  pthread_join(a, &ra);

  pthread_barrier_init(&gate, nullptr, 2);
  pthread_create(&b, nullptr, blocked, nullptr);
  pthread_barrier_wait(&gate); // it holds mu (and blocks in read, or will)
  std::printf("threads=%d\n", threads_now());
  int held = !mu.try_lock();
  pthread_cancel(b);
  pthread_join(b, &rb);
  int released = mu.try_lock();
  if (released)
    mu.unlock();

  std::printf("exit_dtor=%d\nexit_value=%ld\ncancel_dtor=%d\n"
              "cancel_cleanup=%d\ncaught_rethrown=%d\ncanceled=%d\n",
              exit_dtor, (long)ra, held && released, cancel_cleanup, caught,
              rb == PTHREAD_CANCELED);
  return exit_dtor && ra == (void *)7 && held && released && cancel_cleanup &&
                 caught && rb == PTHREAD_CANCELED
             ? 0
             : 1;
}
