// Small helpers shared by the CPU backend's source files (cpu.cpp, conv.cpp); not a public API.
#pragma once
#include <omp.h>

#include <cstdint>

#include "engine/core/tensor.h"

namespace lethe::cpu_detail {

inline bool f32(const Tensor& t) {
  return t.dtype() == DType::F32;
}
inline const float* cf(const Tensor& t) {
  return t.defined() ? t.data<float>() : nullptr;
}
inline float* mf(const Tensor& t) {
  return t.defined() ? t.data<float>() : nullptr;
}
// Threads a loop may use: one inside an active parallel region (no nesting).
inline int nthreads() {
  return omp_in_parallel() ? 1 : omp_get_max_threads();
}
// Worth splitting a loop of n elements over threads?
constexpr int64_t kParallelGrain = 1 << 14;

}  // namespace lethe::cpu_detail
