// Device memory (a caching allocator over cudaMalloc), the backend's stream, and the staging of
// host tensors; the entry points are defined per family in the other files of this folder.
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/backend/cuda/device_backend.h"
#include "engine/backend/device.h"
#include "engine/core/error.h"

namespace lethe::LETHE_KNS {
namespace {

struct Cache {
  std::mutex m;
  std::multimap<size_t, void*> free_blocks;
  DeviceMemoryStats stats;
#if !defined(LETHE_CUDA_HOST)
  // The emulator's allocation registry must outlive this cache (statics die in reverse order of
  // construction), so it is constructed first.
  Cache() {
    (void)::lethe::emu::live_device_allocations();
  }
#else
  Cache() = default;
#endif
  // Cached blocks go back at exit (LeakSanitizer would report them otherwise). Errors are ignored:
  // a real runtime may already be unloading.
  ~Cache() {
    for (auto& [bytes, p] : free_blocks) (void)cudaFree(p);
  }
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;
};
Cache& cache() {
  static Cache c;
  return c;
}

void* cache_get(size_t bytes) {
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> g(c.m);
    ++c.stats.allocations;
    auto it = c.free_blocks.find(bytes);
    if (it != c.free_blocks.end()) {
      void* p = it->second;
      c.free_blocks.erase(it);
      ++c.stats.cache_hits;
      c.stats.cached_bytes -= bytes;
      c.stats.in_use_bytes += bytes;
      c.stats.peak_bytes = std::max(c.stats.peak_bytes, c.stats.in_use_bytes);
      return p;
    }
  }
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    // The failure set the last error: clear it, or the next launch's cudaGetLastError would
    // report this handled failure as its own.
    (void)cudaGetLastError();
    device_empty_cache();  // retry once with the cache returned to the device
    LETHE_CUDA_CHECK(cudaMalloc(&p, bytes));
  }
  std::lock_guard<std::mutex> g(c.m);
  c.stats.in_use_bytes += bytes;
  c.stats.peak_bytes = std::max(c.stats.peak_bytes, c.stats.in_use_bytes);
  return p;
}

void cache_put(void* p, size_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> g(c.m);
  c.free_blocks.emplace(bytes, p);
  c.stats.in_use_bytes -= bytes;
  c.stats.cached_bytes += bytes;
}

}  // namespace

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  if (bytes) ptr_ = cache_get(bytes);
}
DeviceBuffer::~DeviceBuffer() {
  if (ptr_) cache_put(ptr_, bytes_);
}
DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) {
  o.ptr_ = nullptr;
  o.bytes_ = 0;
}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (ptr_) cache_put(ptr_, bytes_);
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  return *this;
}

DeviceMemoryStats device_memory_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> g(c.m);
  return c.stats;
}

void device_empty_cache() {
  std::vector<void*> blocks;
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> g(c.m);
    for (auto& [bytes, p] : c.free_blocks) blocks.push_back(p);
    c.free_blocks.clear();
    c.stats.cached_bytes = 0;
  }
  std::string first_error;
  for (void* p : blocks) {
    cudaError_t e = cudaFree(p);
    if (e != cudaSuccess && first_error.empty()) first_error = cudaGetErrorString(e);
  }
  LETHE_CHECK(first_error.empty(), LETHE_DEVICE_NAME, " backend: cudaFree: ", first_error);
}

cudaStream_t backend_stream() {
  // The default stream: launches are ordered, and the staging copies synchronize with them.
  return nullptr;
}

DeviceBuffer upload(const Tensor& t) {
  if (!t.defined()) return {};
  LETHE_CHECK(t.is_contiguous(), LETHE_DEVICE_NAME, " backend: upload of a non-contiguous tensor");
  DeviceBuffer d(t.nbytes());
  if (t.nbytes())
    LETHE_CUDA_CHECK(cudaMemcpy(d.get(), t.raw(), t.nbytes(), cudaMemcpyHostToDevice));
  return d;
}

DeviceBuffer output_buffer(const Tensor& t) {
  if (!t.defined()) return {};
  DeviceBuffer d(t.nbytes());
#if !defined(__CUDACC__) && !defined(LETHE_CUDA_HOST)
  if (t.nbytes()) LETHE_CUDA_CHECK(cudaMemset(d.get(), 0xFF, t.nbytes()));
#endif
  return d;
}

void download(const DeviceBuffer& d, Tensor& t) {
  if (!t.defined() || !t.nbytes()) return;
  LETHE_CHECK(t.is_contiguous() && d.bytes() == t.nbytes(), LETHE_DEVICE_NAME,
              " backend: download of ", d.bytes(), " bytes into a tensor of ", t.nbytes());
  LETHE_CUDA_CHECK(cudaMemcpy(t.raw(), d.get(), t.nbytes(), cudaMemcpyDeviceToHost));
}

bool all_f32(std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (t->defined() && t->dtype() != DType::F32) return false;
  return true;
}

}  // namespace lethe::LETHE_KNS

namespace lethe {
#if defined(LETHE_CUDA_HOST)
bool cuda_compiled() {
  return true;
}
std::string cuda_unavailable_reason() {
  // Asked once: backend_names() (called per op by the harnesses) would query the driver each time.
  static const std::string reason = [] {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess)
      return std::string("no CUDA device is available (cudaGetDeviceCount: ") +
             cudaGetErrorString(e) + ")";
    if (n == 0) return std::string("no CUDA device is available (cudaGetDeviceCount: 0 devices)");
    return std::string();
  }();
  return reason;
}
Backend& cuda_device_backend() {
  std::string why = cuda_unavailable_reason();
  LETHE_CHECK(why.empty(), why);
  static kcuda::DeviceBackend b;
  return b;
}
#else
Backend& emu_device_backend() {
  static kemu::DeviceBackend b;
  return b;
}
#endif
}  // namespace lethe
