// The emulator refuses the launches a GPU refuses (kernels/emu/launch_limits.h), with the error
// the CUDA runtime gives, as the last error that cudaGetLastError() reports once and clears; and
// the caching allocator clears the error of a cudaMalloc it recovers from (fault injection).
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "engine/backend/cuda/device_backend.h"
#include "kernels/cuda/compat.h"
#include "tests/support/dev_array.h"

namespace lethe::kemu {
namespace {

__global__ void mark(int* out) {
  out[blockIdx.x * blockDim.x + threadIdx.x] = 1;
}

// Uses `bytes` of dynamic shared memory: writes its last int and reads it back.
__global__ void dynamic_user(int* out, int bytes) {
  LETHE_DYNAMIC_SHARED(int, s);
  const int last = bytes / 4 - 1;
  if (threadIdx.x == 0) s[last] = 7;
  __syncthreads();
  out[threadIdx.x] = s[last];
}

const void* fn(void (*k)(int*)) {
  return reinterpret_cast<const void*>(k);
}
const void* fn(void (*k)(int*, int)) {
  return reinterpret_cast<const void*>(k);
}

// Launches without LETHE_LAUNCH's check, so the test reads the last error itself.
template <class... A>
void raw_launch(void (*k)(A...), dim3 grid, dim3 block, size_t shmem, A... args) {
  launch(LaunchInfo{"test", __FILE__, __LINE__, grid, block, shmem}, k, args...);
}

// A table entry for a test kernel, removed again at the end of the scope.
struct Override {
  const void* k;
  Override(const void* kernel, unsigned regs, unsigned static_shared, unsigned max_threads)
      : k(kernel) {
    KernelLimits l{"test", regs, static_shared, max_threads};
    override_kernel_limits(k, &l);
  }
  ~Override() { override_kernel_limits(k, nullptr); }
};

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("launch limits: a kernel is identified by its symbol, namespaces normalised") {
    CHECK(normalised_kernel_name(kernel_symbol(fn(mark)).c_str()) ==
          "(anonymous namespace)::mark(int*)");
    // nvcc's spelling of the same kernel (namespace kcuda, a per-file anonymous namespace).
    CHECK(normalised_kernel_name("_ZN5lethe5kcuda12_GLOBAL__N_14markEPi") ==
          "(anonymous namespace)::mark(int*)");
    CHECK(normalised_kernel_name("_ZN5lethe5kcuda1kILi64EEEvPfN36_GLOBAL__N__7c098fd0_4_t_cu_"
                                 "1ff4ac9b1PE") == "void k<64>(float*, (anonymous namespace)::P)");
    CHECK(kernel_limits(fn(mark)) == nullptr);  // not an nvcc kernel
  }

  TEST_CASE("launch limits: 1025 threads or bad dimensions are an invalid configuration") {
    DevArray<int> out(2048);
    raw_launch(mark, dim3(1), dim3(1025), 0, out.p);
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
    CHECK(cudaGetLastError() == cudaSuccess);  // reported once, then cleared
    CHECK(out.get()[0] != 1);                  // and the kernel did not run
    for (dim3 b : {dim3(0), dim3(1025), dim3(32, 33), dim3(1, 1, 65)}) {
      raw_launch(mark, dim3(1), b, 0, out.p);
      CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
    }
    for (dim3 g : {dim3(0), dim3(1, 65536), dim3(1, 1, 65536)}) {
      raw_launch(mark, g, dim3(32), 0, out.p);
      CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
    }
    CHECK_THROWS_WITH_AS(LETHE_LAUNCH(mark, 1, 1025, 0, nullptr, out.p),
                         doctest::Contains("invalid configuration argument"), std::runtime_error);
    LETHE_LAUNCH(mark, 2, 1024, 0, nullptr, out.p);  // the macro cleared it: this one runs
    CHECK(out.get()[2047] == 1);
  }

  TEST_CASE("launch limits: registers × threads beyond 65536 are too many resources") {
    DevArray<int> out(1024);
    {
      Override o(fn(mark), 72, 0, 0);  // adaptive_bwd's count before its fix
      raw_launch(mark, dim3(1), dim3(1024), 0, out.p);
      CHECK(cudaGetLastError() == cudaErrorLaunchOutOfResources);
      raw_launch(mark, dim3(1), dim3(896), 0, out.p);  // 72 · 32 · 28 = 64512
      CHECK(cudaGetLastError() == cudaSuccess);
      CHECK_THROWS_WITH_AS(LETHE_LAUNCH(mark, 1, 1024, 0, nullptr, out.p),
                           doctest::Contains("too many resources requested for launch"),
                           std::runtime_error);
      CHECK(cudaGetLastError() == cudaSuccess);
    }
    {
      Override o(fn(mark), 64, 0, 0);
      raw_launch(mark, dim3(1), dim3(1024), 0, out.p);  // 64 · 1024 = 65536: fits exactly
      CHECK(cudaGetLastError() == cudaSuccess);
    }
    {
      Override o(fn(mark), 57, 0, 0);  // allocated as 64 per thread
      raw_launch(mark, dim3(1), dim3(1024), 0, out.p);
      CHECK(cudaGetLastError() == cudaSuccess);
    }
    {
      Override o(fn(mark), 65, 0, 0);                   // allocated as 72
      raw_launch(mark, dim3(1), dim3(1000), 0, out.p);  // 32 warps
      CHECK(cudaGetLastError() == cudaErrorLaunchOutOfResources);
    }
  }

  TEST_CASE("launch limits: threads beyond __launch_bounds__ are too many resources") {
    DevArray<int> out(256);
    Override o(fn(mark), 16, 0, 128);
    raw_launch(mark, dim3(1), dim3(256), 0, out.p);
    CHECK(cudaGetLastError() == cudaErrorLaunchOutOfResources);
    raw_launch(mark, dim3(2), dim3(128), 0, out.p);
    CHECK(cudaGetLastError() == cudaSuccess);
  }

  TEST_CASE("launch limits: shared memory beyond 48 KiB needs the cudaFuncSetAttribute opt-in") {
    DevArray<int> out(32);
    const int k48 = 48 * 1024, k64 = 64 * 1024;
    raw_launch(dynamic_user, dim3(1), dim3(32), k48, out.p, k48);
    CHECK(cudaGetLastError() == cudaSuccess);
    CHECK(out.get()[31] == 7);
    raw_launch(dynamic_user, dim3(1), dim3(32), k48 + 4, out.p, k48 + 4);
    CHECK(cudaGetLastError() == cudaErrorInvalidValue);
    {
      Override o(fn(dynamic_user), 16, 1024, 0);  // static shared counts against the same 48 KiB
      raw_launch(dynamic_user, dim3(1), dim3(32), k48 - 1024, out.p, k48 - 1024);
      CHECK(cudaGetLastError() == cudaSuccess);
      raw_launch(dynamic_user, dim3(1), dim3(32), k48 - 1020, out.p, k48 - 1020);
      CHECK(cudaGetLastError() == cudaErrorInvalidValue);
    }
    // Beyond every architecture's opt-in limit (163 KiB on sm_80): refused by the attribute call.
    CHECK(cudaFuncSetAttribute(dynamic_user, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               228 * 1024) == cudaErrorInvalidValue);
    CHECK(cudaGetLastError() == cudaErrorInvalidValue);
    REQUIRE(cudaFuncSetAttribute(dynamic_user, cudaFuncAttributeMaxDynamicSharedMemorySize, k64) ==
            cudaSuccess);
    out.poison();
    LETHE_LAUNCH(dynamic_user, 1, 32, k64, nullptr, out.p, k64);  // accepted with the opt-in
    CHECK(out.get()[0] == 7);
    raw_launch(dynamic_user, dim3(1), dim3(32), k64 + 4, out.p, k64 + 4);  // beyond the opt-in
    CHECK(cudaGetLastError() == cudaErrorInvalidValue);
    // Back to the default for other tests of this process.
    REQUIRE(cudaFuncSetAttribute(dynamic_user, cudaFuncAttributeMaxDynamicSharedMemorySize, k48) ==
            cudaSuccess);
  }

  TEST_CASE("launch limits: every nvcc kernel fits its own maximum block") {
    // A kernel of more than 64 registers must declare __launch_bounds__ (or ptxas must get it
    // under 64): otherwise a 1024-thread launch, which check_threads allows, fails on a GPU.
    const auto& table = kernel_limits_table();
    if (table.empty()) MESSAGE("no nvcc report in this build (LETHE_CUDA=OFF): table empty");
    for (const KernelLimits& k : table) {
      const unsigned threads = k.max_threads ? k.max_threads : kMaxThreadsPerBlock;
      const unsigned regs = (k.registers + 7) / 8 * 8;
      const std::string what = normalised_kernel_name(k.mangled) + ": " +
                               std::to_string(k.registers) + " registers, " +
                               std::to_string(threads) + " threads";
      INFO(what);
      CHECK(regs * 32 * ((threads + 31) / 32) <= kRegistersPerBlock);
      CHECK(k.static_shared <= kSharedDefault);
    }
  }

  TEST_CASE("allocator: a failed cudaMalloc is retried and its error cleared (fault injection)") {
    DevArray<int> out(64);
    // Injection itself: the 2nd cudaMalloc from now fails, once, with the last error set.
    fail_nth_malloc(2);
    void* a = nullptr;
    void* b = nullptr;
    REQUIRE(cudaMalloc(&a, 16) == cudaSuccess);
    CHECK(cudaMalloc(&b, 16) == cudaErrorMemoryAllocation);
    CHECK_THROWS_WITH_AS(LETHE_LAUNCH(mark, 1, 64, 0, nullptr, out.p),  // what a stale error does
                         doctest::Contains("out of memory"), std::runtime_error);
    REQUIRE(cudaMalloc(&b, 16) == cudaSuccess);
    CHECK(cudaFree(a) == cudaSuccess);
    CHECK(cudaFree(b) == cudaSuccess);
    // The caching allocator: its cudaMalloc fails, it empties the cache and retries, and the next
    // launch reports no error.
    const uint64_t before = device_memory_stats().allocations;
    fail_nth_malloc(1);
    {
      DeviceBuffer buf(12345 * 4);  // a size no cached block has
      CHECK(buf.get() != nullptr);
      CHECK(device_memory_stats().allocations == before + 1);
      LETHE_LAUNCH(mark, 1, 64, 0, nullptr, out.p);
      CHECK(cudaGetLastError() == cudaSuccess);
    }
    CHECK(out.get()[63] == 1);
    fail_nth_malloc(0);
  }
}

}  // namespace lethe::kemu
