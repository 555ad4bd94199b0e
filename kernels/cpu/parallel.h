// Threading of the CPU kernels (OpenMP): a kernel splits its loop over threads when the work is
// worth it and never nests (one thread inside an active parallel region, where the caller already
// split the work).
#pragma once
#include <omp.h>

#include <cstdint>

namespace lethe::kernels::cpu {

// Threads a loop may use: one inside an active parallel region (no nesting).
inline int nthreads() {
  return omp_in_parallel() ? 1 : omp_get_max_threads();
}
// Worth splitting a loop of n elements over threads?
constexpr int64_t kParallelGrain = 1 << 14;
inline bool parallel_worth(int64_t n) {
  return n > kParallelGrain && nthreads() > 1;
}

// Splits [0, n) into one contiguous chunk per thread (when n is worth it) and calls f(begin, end).
template <class F>
void parallel_chunks(int64_t n, F f) {
  const int T = n > kParallelGrain ? nthreads() : 1;
#pragma omp parallel num_threads(T) if (T > 1)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t b = n * t / nt, e = n * (t + 1) / nt;
    if (e > b) f(b, e);
  }
}

}  // namespace lethe::kernels::cpu
