// A device array for the kernel tests (emulated or real CUDA runtime): allocated with `shift`
// elements of slack in front (p misaligned for float4 when shift is odd), filled with 0xFF bytes
// (NaN for floats) so an element a kernel never writes shows, initialised from and read back into
// host vectors; freed on destruction.
#pragma once
#include <doctest/doctest.h>

#include <vector>

#include "kernels/cuda/compat.h"  // the emulated or the real CUDA runtime

namespace lethe::kemu {  // the emulated runtime's namespace, where the kernel tests live

template <class T>
struct DevArray {
  T* base = nullptr;
  T* p = nullptr;
  size_t n = 0;
  explicit DevArray(size_t count, size_t shift = 0) : n(count) {
    void* v = nullptr;
    REQUIRE(cudaMalloc(&v, (n + shift > 0 ? n + shift : 1) * sizeof(T)) == cudaSuccess);
    base = static_cast<T*>(v);
    p = base + shift;
    poison();
  }
  explicit DevArray(const std::vector<T>& h, size_t shift = 0) : DevArray(h.size(), shift) {
    put(h);
  }
  ~DevArray() { CHECK(cudaFree(base) == cudaSuccess); }
  DevArray(const DevArray&) = delete;
  DevArray& operator=(const DevArray&) = delete;
  void put(const std::vector<T>& h) {
    REQUIRE(h.size() == n);
    if (n) REQUIRE(cudaMemcpy(p, h.data(), n * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
  }
  void poison() {
    if (n) REQUIRE(cudaMemset(p, 0xFF, n * sizeof(T)) == cudaSuccess);
  }
  std::vector<T> get() const {
    std::vector<T> h(n);
    if (n) REQUIRE(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
    return h;
  }
};

}  // namespace lethe::kemu
