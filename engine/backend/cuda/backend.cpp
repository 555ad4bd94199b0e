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
#include "kernels/cuda/elementwise.cuh"
#include "kernels/cuda/views.cuh"
#if defined(LETHE_CUDA_HOST) && LETHE_HAVE_NCCL
#include "engine/backend/cuda/real/nccl_allreduce.h"
#endif

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
  if (ptr_ && owned_) cache_put(ptr_, bytes_);
}
DeviceBuffer::DeviceBuffer(DeviceBuffer&& o) noexcept
    : ptr_(o.ptr_), bytes_(o.bytes_), owned_(o.owned_) {
  o.ptr_ = nullptr;
  o.bytes_ = 0;
}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (ptr_ && owned_) cache_put(ptr_, bytes_);
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    owned_ = o.owned_;
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

bool on_device(const Tensor& t) {
  return t.defined() && !t.is_cpu() &&
         t.device().memory() == static_cast<DeviceMemory*>(&device_backend_instance());
}

DeviceBuffer upload(const Tensor& t) {
  if (!t.defined()) return {};
  LETHE_CHECK(t.is_contiguous(), LETHE_DEVICE_NAME, " backend: upload of a non-contiguous tensor");
  if (on_device(t)) return DeviceBuffer::borrow(t.data_ptr(), t.nbytes());
  DeviceBuffer d(t.nbytes());
  if (t.nbytes())
    LETHE_CUDA_CHECK(cudaMemcpy(d.get(), t.raw(), t.nbytes(), cudaMemcpyHostToDevice));
  return d;
}

DeviceBuffer output_buffer(const Tensor& t) {
  if (!t.defined()) return {};
  DeviceBuffer d;
  if (on_device(t)) {
    LETHE_CHECK(t.is_contiguous(), LETHE_DEVICE_NAME, " backend: a strided output tensor");
    d = DeviceBuffer::borrow(t.data_ptr(), t.nbytes());
  } else {
    d = DeviceBuffer(t.nbytes());
  }
#if !defined(__CUDACC__) && !defined(LETHE_CUDA_HOST)
  if (t.nbytes()) LETHE_CUDA_CHECK(cudaMemset(d.get(), 0xFF, t.nbytes()));
#endif
  return d;
}

void download(const DeviceBuffer& d, Tensor& t) {
  if (!t.defined() || !t.nbytes()) return;
  if (on_device(t)) {
    LETHE_CHECK(d.get() == t.data_ptr(), LETHE_DEVICE_NAME,
                " backend: a device-resident output was staged");
    return;
  }
  LETHE_CHECK(t.is_contiguous() && d.bytes() == t.nbytes(), LETHE_DEVICE_NAME,
              " backend: download of ", d.bytes(), " bytes into a tensor of ", t.nbytes());
  LETHE_CUDA_CHECK(cudaMemcpy(t.raw(), d.get(), t.nbytes(), cudaMemcpyDeviceToHost));
}

bool all_f32(std::initializer_list<const Tensor*> ts) {
  bool f32 = true, device = false;
  for (const Tensor* t : ts) {
    if (!t->defined()) continue;
    f32 &= t->dtype() == DType::F32;
    device |= !t->is_cpu();
  }
  LETHE_CHECK(f32 || !device, LETHE_DEVICE_NAME,
              " backend: a non-float32 floating tensor on the device (the device kernels are "
              "float32; run float64 work on the host backends)");
  return f32;
}

// ---- the backend as a device (engine/core/device.h) ----

DeviceBackend& device_backend_instance() {
  static DeviceBackend b;
  return b;
}

void* DeviceBackend::allocate(size_t bytes) {
  return bytes ? cache_get(bytes) : nullptr;
}

void DeviceBackend::release(void* p, size_t bytes) noexcept {
  if (p) cache_put(p, bytes);
}

void DeviceBackend::copy_to_device(void* dst, const void* src, size_t bytes) {
  if (bytes) LETHE_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

void DeviceBackend::copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes) LETHE_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

void DeviceBackend::copy_view(const Tensor& src, const Tensor& dst) {
  LETHE_CHECK(
      on_device(src) && on_device(dst) && src.dtype() == dst.dtype() && src.shape() == dst.shape(),
      LETHE_DEVICE_NAME, " backend: copy_view needs two views of one shape and dtype on ",
      "this device");
  LETHE_CHECK(src.dim() <= kViewMaxRank, LETHE_DEVICE_NAME, " backend: copy of rank ", src.dim(),
              " (at most ", kViewMaxRank, ")");
  const int es = static_cast<int>(dtype_size(src.dtype()));
  const void* sbase = src.impl()->storage->data();
  void* dbase = dst.impl()->storage->data();
  if (dst.is_contiguous()) {
    elem_copy_strided(sbase, dst.data_ptr(), es, src.shape().data(), src.strides().data(),
                      static_cast<int>(src.dim()), src.offset(), 256, backend_stream());
    return;
  }
  view_copy(sbase, src.strides().data(), src.offset(), dbase, dst.strides().data(), dst.offset(),
            src.shape().data(), static_cast<int>(src.dim()), es, 256, backend_stream());
}

void DeviceBackend::fill(const Tensor& t, double value) {
  LETHE_CHECK(on_device(t), LETHE_DEVICE_NAME, " backend: fill of a tensor not on this device");
  LETHE_CHECK(t.dim() <= kViewMaxRank, LETHE_DEVICE_NAME, " backend: fill of rank ", t.dim());
  uint64_t bits = 0;
  switch (t.dtype()) {
    case DType::F32: {
      const float v = static_cast<float>(value);
      std::memcpy(&bits, &v, 4);
      break;
    }
    case DType::F64:
      std::memcpy(&bits, &value, 8);
      break;
    case DType::I64: {
      const int64_t v = static_cast<int64_t>(value);
      std::memcpy(&bits, &v, 8);
      break;
    }
    case DType::U8:
      bits = static_cast<uint8_t>(value);
      break;
  }
  view_fill(t.impl()->storage->data(), t.strides().data(), t.offset(), t.shape().data(),
            static_cast<int>(t.dim()), static_cast<int>(dtype_size(t.dtype())), bits, 256,
            backend_stream());
}

void* DeviceBackend::allocate_pinned(size_t bytes) {
  void* p = nullptr;
  LETHE_CUDA_CHECK(cudaMallocHost(&p, bytes ? bytes : 1));
  return p;
}

void DeviceBackend::free_pinned(void* p) noexcept {
  if (p) (void)cudaFreeHost(p);
}

int DeviceBackend::upload_async(void* dst, const void* pinned_src, size_t bytes) {
  if (!copy_stream_) {
    // Non-blocking: the legacy default stream (the compute stream) does not serialise with it.
    LETHE_CUDA_CHECK(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking));
    for (cudaEvent_t& e : events_)
      LETHE_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  }
  const int ticket = next_event_;
  next_event_ = (next_event_ + 1) % kUploadEvents;
  if (bytes)
    LETHE_CUDA_CHECK(cudaMemcpyAsync(dst, pinned_src, bytes, cudaMemcpyHostToDevice, copy_stream_));
  LETHE_CUDA_CHECK(cudaEventRecord(events_[ticket], copy_stream_));
  // The compute stream waits on the device: kernels launched after this see the data.
  LETHE_CUDA_CHECK(cudaStreamWaitEvent(backend_stream(), events_[ticket], 0));
  return ticket;
}

void DeviceBackend::upload_wait(int ticket) {
  LETHE_CHECK(ticket >= 0 && ticket < kUploadEvents && events_[ticket], LETHE_DEVICE_NAME,
              " backend: unknown upload ticket ", ticket);
  LETHE_CUDA_CHECK(cudaEventSynchronize(events_[ticket]));
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
#if LETHE_HAVE_NCCL
  kcuda::register_nccl_allreduce();  // gradients of CUDA tensors: NCCL, not host staging
#endif
  return kcuda::device_backend_instance();
}
Device cuda_device() {
  std::string why = cuda_unavailable_reason();
  LETHE_CHECK(why.empty(), why);
#if LETHE_HAVE_NCCL
  kcuda::register_nccl_allreduce();
#endif
  return kcuda::device_backend_instance().device();
}
#else
Backend& emu_device_backend() {
  return kemu::device_backend_instance();
}
Device emu_device() {
  return kemu::device_backend_instance().device();
}
#endif
}  // namespace lethe
