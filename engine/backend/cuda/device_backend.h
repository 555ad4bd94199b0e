// The CUDA backend's host side, compiled twice from the same text: by g++ against the emulator
// (namespace lethe::kemu, backend "emu") and, when the CUDA toolkit is configured, against the
// real runtime (namespace lethe::kcuda, backend "cuda"); kernels/cuda/compat.h picks which.
//
// The backend is also a device (engine/core/device.h): tensors created on it own device memory
// from the caching allocator, and its entry points read and write those tensors' device pointers
// directly. Host tensors handed to it (the op harness compares backends on host tensors; a model
// evaluated on host batches) are staged: uploaded into buffers of the same allocator, and the
// outputs downloaded, per call. The kernels are float32: f64 calls on host tensors (gradient
// checks) go to cpu_ref, explicitly, as the cpu backend does; f64 tensors on the device are an
// error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "engine/backend/backend.h"
#include "engine/backend/cpu_ref/cpu_ref.h"
#include "engine/backend/device_options.h"
#include "kernels/cuda/compat.h"

namespace lethe::LETHE_KNS {

// A device allocation from the caching allocator (blocks are cached by exact size: training
// repeats the same shapes every step). Move-only; returns its block to the cache. A borrowed
// buffer is the memory of a device-resident tensor: it is not returned anywhere.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  static DeviceBuffer borrow(void* p, size_t bytes) {
    DeviceBuffer b;
    b.ptr_ = p;
    b.bytes_ = bytes;
    b.owned_ = false;
    return b;
  }
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* get() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  bool owned_ = true;
};

struct DeviceMemoryStats {
  size_t in_use_bytes = 0, peak_bytes = 0, cached_bytes = 0;
  uint64_t allocations = 0, cache_hits = 0;
};
DeviceMemoryStats device_memory_stats();
// Frees every cached block through cudaFree (in emu builds that verifies each block's guard
// bytes: a kernel that wrote outside its buffer makes this throw).
void device_empty_cache();

cudaStream_t backend_stream();

// True when t lives in this backend's device memory.
bool on_device(const Tensor& t);

// The device memory of a tensor for a kernel: a device-resident tensor's own memory (borrowed),
// or a staged copy of a host tensor. upload of an undefined tensor is an empty buffer (null
// pointer); outputs start filled with 0xFF bytes (NaN) in emu builds, so an element a kernel
// forgets to write is caught by the comparison; download copies a staged output back to its host
// tensor (nothing for a device-resident one).
DeviceBuffer upload(const Tensor& t);
DeviceBuffer output_buffer(const Tensor& t);
void download(const DeviceBuffer& d, Tensor& t);
// True when every defined tensor is float32 (undefined ones are ignored). A non-float32 tensor
// on the device is an error (the host fallback would read device memory).
bool all_f32(std::initializer_list<const Tensor*> ts);

class DeviceBackend final : public Backend, public DeviceMemory {
 public:
  const char* name() const override { return LETHE_DEVICE_NAME; }
  Device device() { return Device(this); }

  // DeviceMemory (engine/core/device.h).
  Backend& backend() override { return *this; }
  void* allocate(size_t bytes) override;
  void release(void* p, size_t bytes) noexcept override;
  void copy_to_device(void* dst, const void* src, size_t bytes) override;
  void copy_to_host(void* dst, const void* src, size_t bytes) override;
  void copy_view(const Tensor& src, const Tensor& dst) override;
  void fill(const Tensor& t, double value) override;
  void* allocate_pinned(size_t bytes) override;
  void free_pinned(void* p) noexcept override;
  int upload_async(void* dst, const void* pinned_src, size_t bytes) override;
  void upload_wait(int ticket) override;

  void bmm(const Tensor& a, const Tensor& b, Tensor& c, bool ta, bool tb, bool accumulate) override;
  void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                      const Conv2dArgs& a) override;
  void conv2d_backward_input(const Tensor& dy, const Tensor& w, Tensor& dx,
                             const Conv2dArgs& a) override;
  void conv2d_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dw, Tensor& db,
                              const Conv2dArgs& a) override;
  void batch_norm_forward_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                Tensor& y, Tensor& mean, Tensor& var, double eps) override;
  void batch_norm_forward_eval(const Tensor& x, const Tensor& weight, const Tensor& bias,
                               const Tensor& mean, const Tensor& var, Tensor& y,
                               double eps) override;
  void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                           const Tensor& mean, const Tensor& var, double eps, bool training,
                           Tensor& dx, Tensor& dweight, Tensor& dbias) override;
  void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y,
                          Tensor& mean, Tensor& rstd, double eps) override;
  void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                           const Tensor& mean, const Tensor& rstd, Tensor& dx, Tensor& dweight,
                           Tensor& dbias) override;
  void unary(UnaryOp op, const Tensor& x, Tensor& y, const UnaryParams& p) override;
  void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx,
                      const UnaryParams& p) override;
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& c) override;
  void reduce_sum(const Tensor& x, Tensor& y) override;
  void copy(const Tensor& src, Tensor& dst) override;
  void softmax_forward(const Tensor& x, Tensor& y, bool log) override;
  void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, bool log) override;
  void cross_entropy_forward(const Tensor& logits, const Tensor& target, Tensor& loss,
                             double smoothing) override;
  void cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& dloss,
                              Tensor& dx, double smoothing) override;
  void max_pool2d_forward(const Tensor& x, Tensor& y, Tensor& idx, const Pool2dArgs& a) override;
  void max_pool2d_backward(const Tensor& dy, const Tensor& idx, Tensor& dx) override;
  void avg_pool2d_forward(const Tensor& x, Tensor& y, const Pool2dArgs& a) override;
  void avg_pool2d_backward(const Tensor& dy, Tensor& dx, const Pool2dArgs& a) override;
  void adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) override;
  void adaptive_avg_pool2d_backward(const Tensor& dy, Tensor& dx) override;
  void dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, double p, uint64_t seed) override;
  void dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, double p) override;
  void select(const Tensor& mask, const Tensor& a, const Tensor& b, Tensor& out) override;
  // Device tensors: the fused kernels of kernels/cuda/optim.cu; host tensors: the CPU kernels.
  void sgd_step(Tensor& p, const Tensor& g, Tensor& buf, const SgdStep& s) override;
  void adam_step(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, Tensor& vmax,
                 const AdamStep& s) override;

  // Which implementation serves GEMM-shaped work: the hand-written kernels (the default and the
  // reference) or the vendor library (cuBLAS for bmm; cuDNN for convolutions in real CUDA builds,
  // where it exists; emu builds have the fake cuBLAS and no cuDNN). The process-wide
  // DeviceOptions (`--kernels own|vendor`) hold the choice; set_gemm_path changes it.
  enum class FastPath { Kernels, Vendor };
  void set_gemm_path(FastPath p) {
    DeviceOptions o = device_options();
    o.vendor = p == FastPath::Vendor;
    set_device_options(o);
  }
  FastPath gemm_path() const {
    return device_options().vendor ? FastPath::Vendor : FastPath::Kernels;
  }

 private:
  CpuRefBackend ref_;  // f64 only
  // Overlapped uploads: a non-blocking copy stream and a ring of events (tickets), created on
  // first use and kept for the life of the process (like the cuBLAS handle).
  static constexpr int kUploadEvents = 8;
  cudaStream_t copy_stream_ = nullptr;
  cudaEvent_t events_[kUploadEvents] = {};
  int next_event_ = 0;
};

// The backend of this build (emu or cuda): one per process.
DeviceBackend& device_backend_instance();

}  // namespace lethe::LETHE_KNS
