// Tensor: a shared handle to (storage, shape, strides, offset, dtype) plus the autograd fields.
// Views (reshape, permute, transpose, slice) share storage; kernels take contiguous tensors and
// ops call contiguous() where needed. Copying a Tensor copies the handle, not the data.
// A tensor lives on the host or on a device (engine/core/device.h): its storage says which, and
// data crosses between the two only at copy_, to(Device) and cpu() (and the host accessors
// item(), at() and to_vector*(), which copy what they read).
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/device.h"
#include "engine/core/dtype.h"
#include "engine/core/error.h"

namespace lethe {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);

// Owns one allocation: from the host Allocator, or from the device's memory (a device pointer,
// which host code must not dereference).
class Storage {
 public:
  explicit Storage(size_t bytes, Device device = Device());
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
};

struct Node;
class Tensor;
using GradHook = std::function<Tensor(const Tensor&)>;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;  // in elements
  int64_t offset = 0;
  DType dtype = DType::F32;
  // Autograd: a leaf with requires_grad accumulates into grad; a non-leaf has grad_fn.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<Node> grad_fn;
  std::vector<GradHook> hooks;  // applied to a leaf's incoming gradient before accumulation
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Factories (f32 and host memory unless said otherwise).
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device());
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device());
  static Tensor ones(const Shape& shape, DType dtype = DType::F32, Device device = Device());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32,
                     Device device = Device());
  static Tensor from_vector(const Shape& shape, const std::vector<float>& v);
  static Tensor from_vector_f64(const Shape& shape, const std::vector<double>& v);
  static Tensor from_vector_i64(const Shape& shape, const std::vector<int64_t>& v);
  static Tensor scalar(double value, DType dtype = DType::F32, Device device = Device());
  // Deterministic pseudo-random fills (Philox counter stream from a seed).
  static Tensor randn(const Shape& shape, uint64_t seed, DType dtype = DType::F32);
  static Tensor uniform(const Shape& shape, double lo, double hi, uint64_t seed,
                        DType dtype = DType::F32);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl_->shape; }
  const Shape& strides() const { return impl_->strides; }
  int64_t offset() const { return impl_->offset; }
  int64_t dim() const { return static_cast<int64_t>(impl_->shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(impl_->shape); }
  DType dtype() const { return impl_->dtype; }
  bool is_contiguous() const;
  size_t nbytes() const { return numel() * dtype_size(dtype()); }
  // The host, or the device whose memory holds the data (storage-free autograd edges: the host).
  Device device() const { return impl_->storage ? impl_->storage->device() : Device(); }
  bool is_cpu() const { return device().is_cpu(); }

  // Host element pointer at the view's offset; T must match dtype. Refuses device tensors.
  template <class T>
  T* data() const {
    LETHE_CHECK(dtype_of<T>() == impl_->dtype, "tensor: data<", dtype_name(dtype_of<T>()),
                ">() on a ", dtype_name(impl_->dtype), " tensor");
    if (!is_cpu()) host_access_fail();
    return static_cast<T*>(impl_->storage->data()) + impl_->offset;
  }
  void* raw() const {
    if (!is_cpu()) host_access_fail();
    return data_ptr();
  }
  // The address at the view's offset wherever the data lives (a device pointer for a device
  // tensor): for the device backends and the copies, never for host reads.
  void* data_ptr() const {
    return static_cast<uint8_t*>(impl_->storage->data()) + impl_->offset * dtype_size(dtype());
  }
  // Element reads by flat row-major index (slow; for tests and small tensors). On a device tensor
  // these copy what they read to the host (the loss and metrics read-back of a training step).
  double item() const;
  double at(int64_t flat_index) const;
  std::vector<float> to_vector() const;  // any float dtype, any layout
  std::vector<double> to_vector_f64() const;
  std::vector<int64_t> to_vector_i64() const;

  // Autograd.
  bool requires_grad() const { return impl_->requires_grad; }
  Tensor& set_requires_grad(bool on);
  Tensor grad() const { return Tensor(impl_->grad); }
  void set_grad(const Tensor& g) { impl_->grad = g.impl_; }
  void zero_grad() { impl_->grad.reset(); }
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  void register_hook(GradHook hook) { impl_->hooks.push_back(std::move(hook)); }
  // Runs backward from this tensor; a scalar gets gradient 1 unless one is given.
  void backward(const Tensor& grad = Tensor()) const;
  // Same data, cut from the graph.
  Tensor detach() const;
  // Deep copy (contiguous, no graph).
  Tensor clone() const;
  // Copies values of src (same shape, any layout, dtype converted) into this tensor, in place,
  // outside the graph (optimizers, loading checkpoints).
  void copy_(const Tensor& src);
  void fill_(double value);
  Tensor to(DType dtype) const;  // conversion on the same device, no graph
  // A copy on `device` (the tensor itself when it is already there), outside the graph.
  Tensor to(Device device) const;
  Tensor cpu() const { return to(Device::cpu()); }

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  [[noreturn]] void host_access_fail() const;
  void copy_across(const Tensor& src);  // copy_ when either side is on a device
  std::shared_ptr<TensorImpl> impl_;
};

// A view sharing storage (no autograd; the ops in engine/ops wrap these with gradients).
Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);

}  // namespace lethe
