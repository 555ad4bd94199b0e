// The emulator's stand-in for the CUDA runtime API: "device" memory is host memory, so the host
// glue of engine/backend/cuda runs unchanged in emu builds. Every allocation is tracked, copies
// are checked against the live allocations (a host pointer passed as a device pointer is an
// error, as it would be on a GPU), and outside AddressSanitizer builds each allocation is framed
// by guard bytes that cudaFree verifies, so a kernel writing past its buffer is reported.
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kernels/emu/bus.h"
#include "kernels/emu/emu.h"

namespace lethe::emu {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kGuard = 0;  // ASan's redzones do this job, precisely
#else
constexpr size_t kGuard = 64;
#endif
constexpr unsigned char kGuardByte = 0xFF;  // NaN as float: reads past a buffer show too

struct Allocation {
  size_t bytes;
  char* raw;
};

struct Registry {
  std::mutex m;
  std::map<const char*, Allocation> live;  // keyed by the user pointer
};
Registry& registry() {
  static Registry r;
  return r;
}

thread_local cudaError_t tl_last_error = cudaSuccess;
thread_local cudaError_t tl_message_error = cudaSuccess;  // the error tl_last_message explains
thread_local std::string tl_last_message;

cudaError_t fail(cudaError_t e, std::string msg) {
  tl_last_error = e;
  tl_message_error = e;
  tl_last_message = std::move(msg);
  return e;
}

// True when [p, p+bytes) lies inside one live allocation.
bool is_device_range(const void* p, size_t bytes) {
  Registry& r = registry();
  std::lock_guard<std::mutex> g(r.m);
  const char* c = static_cast<const char*>(p);
  auto it = r.live.upper_bound(c);
  if (it == r.live.begin()) return false;
  --it;
  return c >= it->first && c + bytes <= it->first + it->second.bytes;
}

struct StreamTag {};

}  // namespace

struct StreamImpl {
  StreamTag tag;
};

cudaError_t set_last_error(cudaError_t e, std::string message) {
  return fail(e, std::move(message));
}

const char* cudaGetErrorString(cudaError_t e) {
  // The message of the latest error of this code (kept after cudaGetLastError clears the error,
  // so that LETHE_CUDA_CHECK(cudaGetLastError()) reports it).
  if (e != cudaSuccess && e == tl_message_error && !tl_last_message.empty())
    return tl_last_message.c_str();
  return cuda_error_text(e);
}
const char* cuda_error_text(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorInvalidConfiguration:
      return "invalid configuration argument";
    case cudaErrorLaunchOutOfResources:
      return "too many resources requested for launch";
    case cudaErrorNoDevice:
      return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevicePointer:
      return "invalid device pointer";
    case cudaErrorInvalidDeviceFunction:
      return "invalid device function";
    case cudaErrorLaunchFailure:
      return "unspecified launch failure";
  }
  return "unknown error";
}

cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;  // the emulated device
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) {
  return d == 0 ? cudaSuccess : fail(cudaErrorInvalidValue, "emu: only device 0 exists");
}

cudaError_t cudaMalloc(void** p, size_t bytes) {
  // Exact size under ASan (its redzones then start at the last byte); rounded up otherwise.
  size_t total = kGuard ? (bytes + 2 * kGuard + 255) / 256 * 256 : bytes;
  if (malloc_fault_due())
    return fail(cudaErrorMemoryAllocation, "out of memory [emu: injected cudaMalloc failure]");
  void* mem = nullptr;
  if (posix_memalign(&mem, 256, total > 0 ? total : 1) != 0)
    return fail(cudaErrorMemoryAllocation, "emu: out of memory");
  char* raw = static_cast<char*>(mem);
  char* user = raw + kGuard;
  if (kGuard) {
    std::memset(raw, kGuardByte, kGuard);
    std::memset(user + bytes, kGuardByte, total - kGuard - bytes);
  }
  Registry& r = registry();
  std::lock_guard<std::mutex> g(r.m);
  r.live[user] = {bytes, raw};
  *p = user;
  return cudaSuccess;
}

cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  Allocation a;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> g(r.m);
    auto it = r.live.find(static_cast<const char*>(p));
    if (it == r.live.end())
      return fail(cudaErrorInvalidDevicePointer,
                  "emu: cudaFree of a pointer cudaMalloc did not return");
    a = it->second;
    r.live.erase(it);
  }
  bool intact = true;
  if (kGuard) {
    char* user = static_cast<char*>(p);
    size_t total = (a.bytes + 2 * kGuard + 255) / 256 * 256;
    for (size_t i = 0; i < kGuard; ++i)
      intact &= static_cast<unsigned char>(a.raw[i]) == kGuardByte;
    for (char* q = user + a.bytes; q < a.raw + total; ++q)
      intact &= static_cast<unsigned char>(*q) == kGuardByte;
  }
  std::free(a.raw);
  if (!intact)
    return fail(cudaErrorLaunchFailure, "emu: a kernel wrote outside a device buffer of " +
                                            std::to_string(a.bytes) +
                                            " bytes (guard bytes overwritten)");
  return cudaSuccess;
}

namespace {
cudaError_t memcpy_checked(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                           bool async) {
  if (bytes == 0) return cudaSuccess;
  bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (kind == cudaMemcpyDefault) {
    dst_dev = is_device_range(dst, bytes);
    src_dev = is_device_range(src, bytes);
  }
  if (dst_dev && !is_device_range(dst, bytes))
    return fail(cudaErrorInvalidValue,
                "emu: cudaMemcpy destination is not inside a device allocation");
  if (src_dev && !is_device_range(src, bytes))
    return fail(cudaErrorInvalidValue, "emu: cudaMemcpy source is not inside a device allocation");
  std::memmove(dst, src, bytes);
  bus_record_copy(dst_dev ? (src_dev ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                          : (src_dev ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost),
                  bytes, async);
  return cudaSuccess;
}
}  // namespace
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  return memcpy_checked(dst, src, bytes, kind, false);
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t) {
  return memcpy_checked(dst, src, bytes, kind, true);
}
cudaError_t cudaMemset(void* p, int value, size_t bytes) {
  if (bytes && !is_device_range(p, bytes))
    return fail(cudaErrorInvalidValue, "emu: cudaMemset outside a device allocation");
  std::memset(p, value, bytes);
  bus_record_memset();
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) {
  return cudaMemset(p, value, bytes);
}
namespace {
std::mutex g_streams_m;
std::map<StreamImpl*, std::unique_ptr<StreamImpl>> g_streams;  // handles are owned here
}  // namespace
cudaError_t cudaStreamCreate(cudaStream_t* s) {
  auto p = std::make_unique<StreamImpl>();
  *s = p.get();
  std::lock_guard<std::mutex> g(g_streams_m);
  g_streams[p.get()] = std::move(p);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  std::lock_guard<std::mutex> g(g_streams_m);
  return g_streams.erase(s)
             ? cudaSuccess
             : fail(cudaErrorInvalidValue, "emu: cudaStreamDestroy of an unknown stream");
}
cudaError_t cudaStreamSynchronize(cudaStream_t) {
  bus_record_sync();
  return cudaSuccess;  // launches and copies are synchronous
}
cudaError_t cudaDeviceSynchronize() {
  bus_record_sync();
  return cudaSuccess;
}
cudaError_t cudaGetLastError() {
  cudaError_t e = tl_last_error;
  tl_last_error = cudaSuccess;
  return e;
}
size_t live_device_allocations() {
  Registry& r = registry();
  std::lock_guard<std::mutex> g(r.m);
  return r.live.size();
}

}  // namespace lethe::emu
