// Small helpers shared by the CPU backend's source files (cpu.cpp, conv.cpp, attention.cpp); not a
// public API. Threading is kernels/cpu/parallel.h's, the same the kernels use.
#pragma once
#include <cstdint>

#include "engine/core/tensor.h"
#include "kernels/cpu/parallel.h"

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
using kernels::cpu::kParallelGrain;
using kernels::cpu::nthreads;

}  // namespace lethe::cpu_detail
