// A ThreadSanitizer-visible stand-in for the pthreadpool functions convgen
// calls (create, destroy, get_threads_count, parallelize_1d), linked instead
// of Debian's libpthreadpool.so in -DCONVGEN_SANITIZE=thread builds
// (cmake/sanitize.cmake).
//
// Why: Debian's pthreadpool is not built with TSan, so the happens-before
// edges of its atomics and futexes are invisible and every tile a worker
// runs is reported as a race with the caller that prepared it (observed:
// "data race src/plan.cc:152 in RunTile" against Plan::Run's stack, in both
// concurrency tests). Suppressing libpthreadpool would hide every race in
// the tiles too. This implementation has the same contract — `threads`
// workers counting the caller, parallelize_1d runs function(context, i) for
// every i once and returns when all are done, one parallel loop at a time
// per pool — built from std::thread, mutexes and condition variables that
// TSan understands, so convgen's own synchronisation is what is checked.
#include <pthreadpool.h>

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

struct pthreadpool {
  size_t threads = 1;
  std::vector<std::thread> workers;
  std::mutex run_mutex;  // one parallel loop at a time
  std::mutex m;
  std::condition_variable start_cv, done_cv;
  uint64_t generation = 0;
  bool stop = false;
  // The current loop.
  pthreadpool_task_1d_t task = nullptr;
  void* context = nullptr;
  size_t range = 0, next = 0, unfinished = 0;

  // Runs items of the current loop until none is left; called with `lock`
  // held, returns with it held.
  void Work(std::unique_lock<std::mutex>& lock) {
    while (next < range) {
      const size_t i = next++;
      pthreadpool_task_1d_t f = task;
      void* ctx = context;
      lock.unlock();
      f(ctx, i);
      lock.lock();
      if (--unfinished == 0) done_cv.notify_all();
    }
  }

  void WorkerMain() {
    std::unique_lock<std::mutex> lock(m);
    uint64_t seen = 0;
    for (;;) {
      start_cv.wait(lock, [&] { return stop || generation != seen; });
      if (stop) return;
      seen = generation;
      Work(lock);
    }
  }
};

extern "C" {

pthreadpool_t pthreadpool_create(size_t threads_count) {
  if (threads_count == 0) threads_count = std::max(1u, std::thread::hardware_concurrency());
  pthreadpool_t pool = new pthreadpool;
  pool->threads = threads_count;
  for (size_t t = 1; t < threads_count; ++t)
    pool->workers.emplace_back([pool] { pool->WorkerMain(); });
  return pool;
}

size_t pthreadpool_get_threads_count(pthreadpool_t pool) { return pool ? pool->threads : 1; }

void pthreadpool_parallelize_1d(pthreadpool_t pool, pthreadpool_task_1d_t function, void* context,
                                size_t range, uint32_t /*flags*/) {
  if (pool == nullptr || pool->threads <= 1 || range <= 1) {
    for (size_t i = 0; i < range; ++i) function(context, i);
    return;
  }
  std::lock_guard<std::mutex> run(pool->run_mutex);
  std::unique_lock<std::mutex> lock(pool->m);
  pool->task = function;
  pool->context = context;
  pool->range = range;
  pool->next = 0;
  pool->unfinished = range;
  ++pool->generation;
  pool->start_cv.notify_all();
  pool->Work(lock);  // the caller is one of the threads
  pool->done_cv.wait(lock, [&] { return pool->unfinished == 0; });
  pool->task = nullptr;
}

void pthreadpool_destroy(pthreadpool_t pool) {
  if (pool == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(pool->m);
    pool->stop = true;
  }
  pool->start_cv.notify_all();
  for (std::thread& t : pool->workers) t.join();
  delete pool;
}

}  // extern "C"
