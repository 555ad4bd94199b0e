// The CUDA backend's host side, compiled twice from the same text: by g++ against the emulator
// (namespace lethe::kemu, backend "emu") and, when the CUDA toolkit is configured, against the
// real runtime (namespace lethe::kcuda, backend "cuda"); kernels/cuda/compat.h picks which.
//
// Tensors live in host memory (engine/core), so every entry point stages: it uploads its inputs
// to device buffers from a caching allocator, launches the hand-written kernels of kernels/cuda
// on the backend's stream, and downloads the outputs. That makes the backend a drop-in for the
// op harness and the models; device-resident tensors are the step after this one.
// float32 only: f64 calls (gradient checks) go to cpu_ref, explicitly, as the cpu backend does.
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
// repeats the same shapes every step). Move-only; returns its block to the cache.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
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

// Staging between host tensors and device buffers. upload of an undefined tensor is an empty
// buffer (null pointer); outputs start filled with 0xFF bytes (NaN) in emu builds, so an element
// a kernel forgets to write is caught by the comparison.
DeviceBuffer upload(const Tensor& t);
DeviceBuffer output_buffer(const Tensor& t);
void download(const DeviceBuffer& d, Tensor& t);
// True when every defined tensor is float32 (undefined ones are ignored).
bool all_f32(std::initializer_list<const Tensor*> ts);

class DeviceBackend final : public Backend {
 public:
  const char* name() const override { return LETHE_DEVICE_NAME; }
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
};

}  // namespace lethe::LETHE_KNS
