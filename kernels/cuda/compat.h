// The one header kernels/cuda/*.cu include. Under nvcc it is the CUDA runtime; under g++ (emu
// builds, LETHE_EMU defined) it is the SIMT emulator of kernels/emu. Kernel text uses only what
// both provide, plus these macros:
//   LETHE_KNS                      the namespace kernels and launchers live in (kcuda | kemu),
//                                  so both builds link into one program;
//   LETHE_LAUNCH(k, grid, block, shmem, stream, args...)   instead of k<<<...>>>(args...);
//                                  k must be one identifier (bind templates to a variable first);
//   LETHE_SHARED(T, name, dims)    static shared memory: LETHE_SHARED(float, tile, [32][33]);
//   LETHE_DYNAMIC_SHARED(T, name)  T* name = the launch's dynamic shared memory;
//   LETHE_CUDA_CHECK(expr)         throws std::runtime_error naming the call on a runtime error.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/common/functors.h"
#include "kernels/common/philox.h"

#if defined(__CUDACC__) || defined(LETHE_CUDA_HOST)
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#define LETHE_KNS kcuda
#define LETHE_DEVICE_NAME "cuda"
#define LETHE_LAUNCH(k, grid, block, shmem, stream, ...)    \
  do {                                                      \
    k<<<(grid), (block), (shmem), (stream)>>>(__VA_ARGS__); \
    LETHE_CUDA_CHECK(cudaGetLastError());                   \
  } while (0)
#define LETHE_SHARED(T, name, dims) __shared__ T name dims
#define LETHE_DYNAMIC_SHARED(T, name)                                  \
  extern __shared__ __align__(16) unsigned char lethe_dynamic_smem_[]; \
  T* name = reinterpret_cast<T*>(lethe_dynamic_smem_)
namespace lethe::kcuda {}
#else
#include "kernels/emu/bus.h"  // bus counters, pinned memory, events
#include "kernels/emu/emu.h"
// A test may compile a modified copy of a kernel file into its own namespace (tests/kernels/proof).
#ifndef LETHE_KNS
#define LETHE_KNS kemu
#endif
#define LETHE_DEVICE_NAME "emu"
// Emulated launches are synchronous; the stream only orders work, so it is evaluated and unused.
// A launch a GPU would refuse (kernels/emu/launch_limits.h) sets the last error, reported here as
// by the real macro.
#define LETHE_LAUNCH(k, grid, block, shmem, stream, ...)                           \
  do {                                                                             \
    (void)(stream);                                                                \
    ::lethe::emu::launch(                                                          \
        ::lethe::emu::LaunchInfo{#k, __FILE__, __LINE__, ::lethe::emu::dim3(grid), \
                                 ::lethe::emu::dim3(block), (shmem)},              \
        k, __VA_ARGS__);                                                           \
    LETHE_CUDA_CHECK(::lethe::emu::cudaGetLastError());                            \
  } while (0)
#define LETHE_SHARED(T, name, dims)    \
  T(&name)                             \
  dims = *reinterpret_cast<T(*) dims>( \
      ::lethe::emu::shared_static(sizeof(T dims), alignof(T), __FILE__, __LINE__))
#define LETHE_DYNAMIC_SHARED(T, name) T* name = reinterpret_cast<T*>(::lethe::emu::shared_dynamic())
namespace lethe::LETHE_KNS {
using namespace ::lethe::emu;
}
#endif

namespace lethe::LETHE_KNS {
// One line naming the runtime call and its error, as the rest of Lethe reports errors.
[[noreturn]] inline void cuda_fail(const char* expr, const char* msg, const char* file, int line) {
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + expr + ": " +
                           msg);
}
// Launchers take threads per block as a parameter: whole warps, 32…1024.
inline void check_threads(int threads, const char* what) {
  if (threads < 32 || threads > 1024 || threads % 32 != 0)
    throw std::invalid_argument(std::string(what) +
                                ": threads per block must be a multiple of 32 in [32, 1024], got " +
                                std::to_string(threads));
}
}  // namespace lethe::LETHE_KNS
#define LETHE_CUDA_CHECK(expr)                                                                  \
  do {                                                                                          \
    auto lethe_err_ = (expr);                                                                   \
    if (lethe_err_ != cudaSuccess)                                                              \
      ::lethe::LETHE_KNS::cuda_fail(#expr, cudaGetErrorString(lethe_err_), __FILE__, __LINE__); \
  } while (0)

// Ceiling division for grid sizes.
#define LETHE_CEIL_DIV(a, b) (((a) + (b)-1) / (b))

namespace lethe::LETHE_KNS {
// Whether p is aligned to `a` bytes (a power of two): the vector (float4, uchar4) paths' test.
inline bool is_aligned(const void* p, uintptr_t a) {
  return (reinterpret_cast<uintptr_t>(p) & (a - 1)) == 0;
}
// Blocks of `threads` for `work` items of a grid-stride loop: at least 1, at most max_blocks.
inline unsigned grid_for(int64_t work, int threads, int64_t max_blocks = 65536) {
  const int64_t b = LETHE_CEIL_DIV(work, static_cast<int64_t>(threads));
  return static_cast<unsigned>(b < 1 ? 1 : (b > max_blocks ? max_blocks : b));
}
}  // namespace lethe::LETHE_KNS
