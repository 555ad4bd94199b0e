// The hardware limits a real launch is refused for, checked by the emulator before a grid runs
// (kernels/emu/launch_limits.cpp). What a GPU checks that needs no compiler report — block and
// grid dimensions, 1024 threads, 48 KiB of shared memory without opt-in — is always checked; the
// limits that depend on the compiled kernel — registers per thread, static shared memory,
// `__launch_bounds__` — come from a table generated at build time from nvcc's --resource-usage
// report and the PTX (scripts/gen_launch_limits.py), which is empty when nvcc is absent
// (LETHE_CUDA=OFF). A refused launch does not run: it sets the last error, as the CUDA runtime
// does, and LETHE_LAUNCH's cudaGetLastError() reports it. Included by emu.h.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lethe::emu {

// ---- the hardware (the stricter of sm_80 and sm_90 where they differ) ----
inline constexpr unsigned kMaxThreadsPerBlock = 1024;
inline constexpr unsigned kMaxBlockDimZ = 64;
inline constexpr uint64_t kMaxGridDimX = 2147483647u, kMaxGridDimYZ = 65535u;
inline constexpr unsigned kRegistersPerBlock = 65536;
inline constexpr unsigned kRegisterUnit = 8;         // per thread: registers per warp come in 256s
inline constexpr size_t kSharedDefault = 48 * 1024;  // static + dynamic without opt-in
inline constexpr size_t kSharedOptInSm80 = 163 * 1024, kSharedOptInSm90 = 227 * 1024;
inline constexpr size_t kSharedOptIn = kSharedOptInSm80;  // code built for both must fit both

// One compiled kernel: the maximum over the architectures built (sm_80, sm_90).
struct KernelLimits {
  const char* mangled;  // nvcc's name (namespace kcuda)
  unsigned registers;   // per thread
  unsigned static_shared;
  unsigned max_threads;  // __launch_bounds__ (maxntid x·y·z); 0: none
};
// The generated table (build/<preset>/generated/launch_limits_table.cpp); empty without nvcc.
const std::vector<KernelLimits>& kernel_limits_table();
// The table entry of a kernel (a function pointer the emulator launches), matched by demangled
// name with the namespaces kcuda/kemu/emu removed; nullptr when the table has no such kernel.
const KernelLimits* kernel_limits(const void* kernel);
// The normalised name both sides are matched by (exposed for tests and messages).
std::string normalised_kernel_name(const char* mangled);
std::string kernel_symbol(const void* kernel);  // mangled, from the program's symbol table

// Tests: use these limits for `kernel` instead of the table's (nullptr removes the override).
void override_kernel_limits(const void* kernel, const KernelLimits* limits);

// ---- cudaFuncSetAttribute: the opt-in to more than 48 KiB of shared memory ----
enum cudaFuncAttribute : int {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
};
enum cudaError_t : int;
// Sets the last error (and the message cudaGetErrorString gives for it); returns e.
cudaError_t set_last_error(cudaError_t e, std::string message);
const char* cuda_error_text(cudaError_t e);  // the runtime's text of e ("invalid argument")
cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value);
template <class T>
cudaError_t cudaFuncSetAttribute(T* func, cudaFuncAttribute attr, int value) {
  return cudaFuncSetAttribute(reinterpret_cast<const void*>(func), attr, value);
}

struct LaunchInfo;
// cudaSuccess, or the error (and the last error set with a message naming the kernel and the
// limit) for which a GPU would refuse this launch.
cudaError_t check_launch(const LaunchInfo& info);

// ---- fault injection ----
// The n-th cudaMalloc from now (1 = the next) fails with cudaErrorMemoryAllocation; 0 disarms.
// LETHE_EMU_FAIL_MALLOC=N arms it at start.
void fail_nth_malloc(uint64_t n);
bool malloc_fault_due();  // called by cudaMalloc: true when this call is the one to fail

}  // namespace lethe::emu
