// The SIMT emulator: what kernels/cuda/*.cu see when g++ compiles them (through
// kernels/cuda/compat.h). One fiber per CUDA thread, each on its own guarded stack; the fibers of
// a block run cooperatively on one OS thread, switching only at barriers (__syncthreads, warp
// intrinsics), so a missing barrier shows up as reads of the NaN-filled shared memory or of stale
// values, and a barrier reached by only part of a block is reported with its file:line. Blocks of
// a grid run in parallel over a pool of OS threads (LETHE_EMU_THREADS), so atomics are real.
// Thread order within a block is in-order, reverse or random(seed): LETHE_EMU_SCHEDULE=
// inorder|reverse|random[:SEED] or emu::ScheduleGuard. Shared-memory accesses are checked for
// races between barriers (kernels/emu/race.h; LETHE_EMU_RACECHECK=0 turns it off).
// Everything lives in namespace lethe::emu; kernel text is compiled inside lethe::kemu, which
// sees it through a using-directive, so these names never collide with the real CUDA runtime
// linked into the same program.
#pragma once
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace lethe::emu {

// ---- built-in types ----
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
  constexpr dim3(uint3 u) : x(u.x), y(u.y), z(u.z) {}
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) {
  return {x, y, z, w};
}
inline float2 make_float2(float x, float y) {
  return {x, y};
}
inline int4 make_int4(int x, int y, int z, int w) {
  return {x, y, z, w};
}
inline constexpr int warpSize = 32;

// bfloat16: the top half of a float, rounded to nearest even (as __float2bfloat16).
struct __nv_bfloat16 {
  uint16_t bits;
};
inline __nv_bfloat16 __float2bfloat16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return {static_cast<uint16_t>((u >> 16) | 0x40u)};  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return {static_cast<uint16_t>(u >> 16)};
}
inline float __bfloat162float(__nv_bfloat16 h) {
  uint32_t u = static_cast<uint32_t>(h.bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// ---- errors ----
// A kernel fault (barrier divergence, deadlock, __trap, shared-memory overflow or race): launch()
// throws it on the host after the grid stops.
struct KernelFault : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- per-thread state, set by the scheduler before a fiber resumes ----
struct ThreadState {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
  unsigned linear;  // x + y·bx + z·bx·by within the block
  size_t shared_cursor;
};
ThreadState& this_thread();

// ---- barriers and warp intrinsics (each is a scheduling point) ----
void syncthreads(const char* file, int line);
void syncwarp(unsigned mask, const char* file, int line);
// Exchange: every lane of `mask` publishes 8 bytes, all wait, each reads lane `src`'s value.
uint64_t warp_exchange(unsigned mask, uint64_t value, int src_lane, const char* file, int line);
unsigned ballot(unsigned mask, bool pred, const char* file, int line);
[[noreturn]] void trap(const char* file, int line);

inline unsigned lane_id() {
  return this_thread().linear & 31u;
}

template <class T>
T shfl_impl(unsigned mask, T v, int src, const char* file, int line) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>);
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  uint64_t got = warp_exchange(mask, bits, src, file, line);
  T r;
  std::memcpy(&r, &got, sizeof(T));
  return r;
}
// Source lanes as documented in the CUDA programming guide (width segments; out-of-segment
// sources return the caller's own value).
template <class T>
T shfl_sync(unsigned mask, T v, int src_lane, int width, const char* file, int line) {
  int lane = static_cast<int>(lane_id());
  int base = lane & ~(width - 1);
  return shfl_impl(mask, v, base + (src_lane & (width - 1)), file, line);
}
template <class T>
T shfl_up_sync(unsigned mask, T v, unsigned delta, int width, const char* file, int line) {
  int lane = static_cast<int>(lane_id());
  int src =
      ((lane & (width - 1)) < static_cast<int>(delta)) ? lane : lane - static_cast<int>(delta);
  return shfl_impl(mask, v, src, file, line);
}
template <class T>
T shfl_down_sync(unsigned mask, T v, unsigned delta, int width, const char* file, int line) {
  int lane = static_cast<int>(lane_id());
  int src = ((lane & (width - 1)) + static_cast<int>(delta) >= width)
                ? lane
                : lane + static_cast<int>(delta);
  return shfl_impl(mask, v, src, file, line);
}
template <class T>
T shfl_xor_sync(unsigned mask, T v, int lane_mask, int width, const char* file, int line) {
  int lane = static_cast<int>(lane_id());
  int src = lane ^ lane_mask;
  if ((src & ~(width - 1)) > (lane & ~(width - 1))) src = lane;  // later segment: own value
  return shfl_impl(mask, v, src, file, line);
}

// ---- shared memory ----
// Static __shared__ storage: every thread of a block gets the same address for the n-th
// declaration it executes; fresh bytes of a block are filled with 0xFF (NaN as float).
void* shared_static(size_t bytes, size_t align, const char* file, int line);
void* shared_dynamic();

// ---- atomics (real atomics: blocks run in parallel) ----
int atomicAdd(int* p, int v);
unsigned atomicAdd(unsigned* p, unsigned v);
unsigned long long atomicAdd(unsigned long long* p, unsigned long long v);
float atomicAdd(float* p, float v);
double atomicAdd(double* p, double v);
int atomicMax(int* p, int v);
unsigned atomicMax(unsigned* p, unsigned v);
int atomicMin(int* p, int v);
int atomicCAS(int* p, int expected, int desired);
unsigned atomicCAS(unsigned* p, unsigned expected, unsigned desired);
unsigned long long atomicCAS(unsigned long long* p, unsigned long long expected,
                             unsigned long long desired);
int atomicExch(int* p, int v);
float atomicExch(float* p, float v);
inline void __threadfence() {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

// ---- device math the kernels use that g++'s libm lacks ----
inline float rsqrtf(float x) {
  return 1.0f / std::sqrt(x);
}
inline double rsqrt(double x) {
  return 1.0 / std::sqrt(x);
}
inline float __expf(float x) {
  return std::exp(x);
}
inline float __logf(float x) {
  return std::log(x);
}
inline float __fdividef(float a, float b) {
  return a / b;
}
inline float __saturatef(float x) {
  return x < 0.f ? 0.f : (x > 1.f ? 1.f : x);
}
inline int __float_as_int(float f) {
  return std::bit_cast<int>(f);
}
inline float __int_as_float(int i) {
  return std::bit_cast<float>(i);
}
inline unsigned __float_as_uint(float f) {
  return std::bit_cast<unsigned>(f);
}
inline float __uint_as_float(unsigned i) {
  return std::bit_cast<float>(i);
}
inline int __popc(unsigned x) {
  return __builtin_popcount(x);
}
inline int __ffs(int x) {
  return __builtin_ffs(x);
}
template <class T>
inline T __ldg(const T* p) {
  return *p;
}
inline int min(int a, int b) {
  return a < b ? a : b;
}
inline int max(int a, int b) {
  return a > b ? a : b;
}
inline unsigned min(unsigned a, unsigned b) {
  return a < b ? a : b;
}
inline unsigned max(unsigned a, unsigned b) {
  return a > b ? a : b;
}
inline long long min(long long a, long long b) {
  return a < b ? a : b;
}
inline long long max(long long a, long long b) {
  return a > b ? a : b;
}
inline float min(float a, float b) {
  return std::fmin(a, b);
}
inline float max(float a, float b) {
  return std::fmax(a, b);
}

// ---- fake runtime API: host memory plays device memory ----
enum cudaError_t : int {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidDeviceFunction = 98,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
};
enum cudaMemcpyKind : int {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};
struct StreamImpl;
using cudaStream_t = StreamImpl*;
const char* cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetDeviceCount(int* n);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaMalloc(void** p, size_t bytes);
cudaError_t cudaFree(void* p);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t s);
cudaError_t cudaMemset(void* p, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t s);
cudaError_t cudaStreamCreate(cudaStream_t* s);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetLastError();
// Live emulated allocations (tests check that nothing leaks).
size_t live_device_allocations();

// ---- launching ----
enum class Schedule { InOrder, Reverse, Random };
struct ScheduleChoice {
  Schedule kind = Schedule::InOrder;
  uint64_t seed = 0;
};
// The schedule from LETHE_EMU_SCHEDULE unless a ScheduleGuard overrides it on this thread.
ScheduleChoice current_schedule();
class ScheduleGuard {
 public:
  explicit ScheduleGuard(ScheduleChoice c);
  ~ScheduleGuard();
  ScheduleGuard(const ScheduleGuard&) = delete;
  ScheduleGuard& operator=(const ScheduleGuard&) = delete;

 private:
  bool had_;
  ScheduleChoice prev_;
};
std::string schedule_name(ScheduleChoice c);

struct LaunchInfo {
  const char* kernel;
  const char* file;
  int line;
  dim3 grid, block;
  size_t dynamic_shared;
  const void* fn = nullptr;  // the kernel (set by launch): its limits (launch_limits.h)
};
struct LaunchStats {
  uint64_t launches = 0, blocks = 0, threads = 0, switches = 0;
};
LaunchStats launch_stats();  // totals since process start

// Runs body(ctx) once per CUDA thread of the grid; throws KernelFault on a fault. A launch a GPU
// would refuse (check_launch) does not run and sets the last error instead.
void run_grid(const LaunchInfo& info, void (*body)(void*), void* ctx);

template <class... P, class... A>
void launch(const LaunchInfo& info, void (*kernel)(P...), A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "kernel launched with the wrong argument count");
  // Arguments convert to the parameter types once, as a real launch marshals them; each thread
  // then receives its own by-value copy.
  struct Ctx {
    void (*k)(P...);
    std::tuple<std::decay_t<P>...> args;
  } ctx{kernel, std::tuple<std::decay_t<P>...>(std::forward<A>(args)...)};
  LaunchInfo with_fn = info;
  with_fn.fn = reinterpret_cast<const void*>(kernel);
  run_grid(
      with_fn,
      [](void* c) {
        auto* x = static_cast<Ctx*>(c);
        std::apply(x->k, x->args);
      },
      &ctx);
}

}  // namespace lethe::emu

#include "kernels/emu/launch_limits.h"

// ---- the CUDA keywords and built-in variables ----
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define threadIdx (::lethe::emu::this_thread().thread_idx)
#define blockIdx (::lethe::emu::this_thread().block_idx)
#define blockDim (::lethe::emu::this_thread().block_dim)
#define gridDim (::lethe::emu::this_thread().grid_dim)
#define __syncthreads() ::lethe::emu::syncthreads(__FILE__, __LINE__)
#define __syncwarp(mask) ::lethe::emu::syncwarp((mask), __FILE__, __LINE__)
#define __trap() ::lethe::emu::trap(__FILE__, __LINE__)
#define __ballot_sync(mask, pred) ::lethe::emu::ballot((mask), (pred), __FILE__, __LINE__)
#define __any_sync(mask, pred) (::lethe::emu::ballot((mask), (pred), __FILE__, __LINE__) != 0u)
#define __all_sync(mask, pred) (::lethe::emu::ballot((mask), !(pred), __FILE__, __LINE__) == 0u)
// Optional width argument (default warpSize), as in CUDA.
#define LETHE_EMU_SHFL_(fn, mask, v, x, w, ...) \
  ::lethe::emu::fn((mask), (v), (x), (w), __FILE__, __LINE__)
#define __shfl_sync(...) LETHE_EMU_SHFL_(shfl_sync, __VA_ARGS__, 32, 0)
#define __shfl_up_sync(...) LETHE_EMU_SHFL_(shfl_up_sync, __VA_ARGS__, 32, 0)
#define __shfl_down_sync(...) LETHE_EMU_SHFL_(shfl_down_sync, __VA_ARGS__, 32, 0)
#define __shfl_xor_sync(...) LETHE_EMU_SHFL_(shfl_xor_sync, __VA_ARGS__, 32, 0)
