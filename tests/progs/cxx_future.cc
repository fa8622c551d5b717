// cxx_future: std::future, std::promise and a shared futex word.
//
// libstdc++ waits for a future's result with syscall(SYS_futex) without
// FUTEX_PRIVATE_FLAG (FUTEX_WAIT with a relative timeout, or
// FUTEX_WAIT_BITSET with an absolute one). Each wait below must end as it
// does natively, and while one thread waits the others keep running:
//   async_ready    std::async's task sleeps 100 ms; wait_for(2 s) sees it
//   promise_ready  another thread sets the promise after 50 ms
//   timeout_ok     wait_for(50 ms) on a promise nobody sets times out
//   xproc_woken    a raw FUTEX_WAIT on a word in MAP_SHARED memory, woken
//                  by a child process that changes it and calls FUTEX_WAKE
//   ticks_ok       a thread kept counting while the main thread waited
// Prints threads=N (OS threads while all are alive) and key=value lines.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" {
#include "threads_now.h"
}

using namespace std::chrono_literals;

// std::async's task waits here until main has counted the OS threads
// (natively its 100 ms sleep could otherwise end before a late count).
static pthread_barrier_t gate;

static std::atomic<int> ticks{0};
static std::atomic<bool> stop{false};

// Waits on *word while it holds 0 (no private flag: another process may
// wake it), for up to 5 s. Returns 1 when the word changed.
static int shared_wait(uint32_t *word) {
  struct timespec ts = {5, 0};
  while (__atomic_load_n(word, __ATOMIC_ACQUIRE) == 0) {
    long r = syscall(SYS_futex, word, FUTEX_WAIT, 0, &ts, nullptr, 0);
    if (r != 0 && errno == ETIMEDOUT)
      return 0;
  }
  return 1;
}

static int cross_process(void) {
  void *m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED)
    return 0;
  uint32_t *word = static_cast<uint32_t *>(m);
  pid_t pid = fork();
  if (pid == 0) {
    usleep(100000);
    __atomic_store_n(word, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, word, FUTEX_WAKE, 1, nullptr, nullptr, 0);
    _exit(0);
  }
  if (pid < 0)
    return 0;
  int before = ticks.load();
  int ok = shared_wait(word);
  int status = 0;
  waitpid(pid, &status, 0);
  munmap(m, 4096);
  return ok && ticks.load() > before;
}

int main() {
  std::thread ticker([] {
    while (!stop.load()) {
      ticks++;
      std::this_thread::sleep_for(1ms);
    }
  });
  pthread_barrier_init(&gate, nullptr, 2);
  auto f = std::async(std::launch::async, [] {
    pthread_barrier_wait(&gate);
    std::this_thread::sleep_for(100ms);
    return 7;
  });
  int threads = threads_now();
  pthread_barrier_wait(&gate);
  int before = ticks.load();
  int async_ready = f.wait_for(2s) == std::future_status::ready &&
                    f.get() == 7;
  int async_ticked = ticks.load() > before;

  std::promise<int> p;
  auto g = p.get_future();
  std::thread setter([&] {
    std::this_thread::sleep_for(50ms);
    p.set_value(42);
  });
  int promise_ready = g.wait_for(2s) == std::future_status::ready &&
                      g.get() == 42;
  setter.join();

  std::promise<int> never;
  auto h = never.get_future();
  int timeout_ok = h.wait_for(50ms) == std::future_status::timeout;

  int xproc_woken = cross_process();
  stop = true;
  ticker.join();
  std::printf("threads=%d\nasync_ready=%d\nasync_ticked=%d\n"
              "promise_ready=%d\ntimeout_ok=%d\nxproc_woken=%d\n",
              threads, async_ready, async_ticked, promise_ready, timeout_ok,
              xproc_woken);
  return 0;
}
