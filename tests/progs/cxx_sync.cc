// cxx_sync: a C++20 program using libstdc++'s threads and waits:
// std::thread, std::mutex, std::condition_variable, std::shared_mutex,
// std::async, std::atomic<int>::wait/notify, std::counting_semaphore,
// std::latch and std::barrier (the last four wait with syscall(SYS_futex)).
// Prints key=value lines; exits 0 when every result is right.
#include <atomic>
#include <barrier>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <latch>
#include <mutex>
#include <semaphore>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "threads_now.h"

int main() {
  constexpr int n = 8;
  std::mutex mu;
  std::condition_variable cv;
  std::shared_mutex rw;
  std::atomic<int> flag{0};
  std::counting_semaphore<n> sem{0};
  std::latch arrived{n + 1};
  std::barrier round{n};
  int counter = 0, ready = 0, threads = 0;
  std::atomic<int> phases{0}, sem_got{0}, shared_reads{0};

  std::vector<std::thread> ts;
  for (int i = 0; i < n; i++)
    ts.emplace_back([&, i] {
      arrived.count_down();
      flag.wait(0); // futex wait until main flips it
      for (int k = 0; k < 500; k++) {
        std::lock_guard<std::mutex> g(mu);
        counter++;
      }
      {
        std::shared_lock<std::shared_mutex> r(rw);
        shared_reads++;
      }
      for (int p = 0; p < 3; p++) {
        round.arrive_and_wait();
        if (i == 0)
          phases++;
      }
      sem.acquire();
      sem_got++;
      std::lock_guard<std::mutex> g(mu);
      ready++;
      cv.notify_one();
    });
  arrived.arrive_and_wait(); // all threads alive
  threads = threads_now();
  // Long enough for the waiters to stop spinning (libstdc++ spins with
  // sched_yield first) and wait in the futex itself. (GCC 12's libstdc++
  // is built without _GLIBCXX_HAVE_LINUX_FUTEX_PRIVATE: its waits are
  // FUTEX_WAIT without FUTEX_PRIVATE_FLAG.)
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  flag = 1;
  flag.notify_all();
  sem.release(n);
  {
    std::unique_lock<std::mutex> g(mu);
    cv.wait(g, [&] { return ready == n; });
  }
  for (auto &t : ts)
    t.join();
  auto fut = std::async(std::launch::async, [] { return 42; });
  std::printf("threads=%d\ncounter=%d\nshared_reads=%d\nphases=%d\n"
              "sem_got=%d\nasync=%d\n",
              threads, counter, shared_reads.load(), phases.load(),
              sem_got.load(), fut.get());
  return counter == n * 500 && phases == 3 && sem_got == n ? 0 : 1;
}
