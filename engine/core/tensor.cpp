#include "engine/core/tensor.h"

#include <cstring>
#include <sstream>

#include "engine/autograd/autograd.h"
#include "engine/backend/backend.h"
#include "engine/core/allocator.h"
#include "kernels/common/philox.h"

namespace lethe {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
  os << "]";
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  data_ =
      device.is_cpu() ? Allocator::instance().allocate(bytes) : device.memory()->allocate(bytes);
}
Storage::~Storage() {
  if (device_.is_cpu())
    Allocator::instance().release(data_, bytes_);
  else
    device_.memory()->release(data_, bytes_);
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape)
    LETHE_CHECK(d >= 0, "tensor: negative dimension in shape ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(shape_numel(shape) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (device.is_cpu())
    std::memset(t.raw(), 0, t.nbytes());
  else
    t.fill_(0.0);
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) {
  return full(shape, 1.0, dtype, device);
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype, Device device) {
  return full({}, value, dtype, device);
}

void Tensor::host_access_fail() const {
  LETHE_FAIL("tensor: host access to the data of a ", dtype_name(dtype()), " ", shape_str(shape()),
             " tensor on device '", device().name(), "' (copy it to the host with .cpu() first)");
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& v) {
  LETHE_CHECK(static_cast<int64_t>(v.size()) == shape_numel(shape), "tensor: ", v.size(),
              " values for shape ", shape_str(shape));
  Tensor t = empty(shape, DType::F32);
  if (!v.empty()) std::memcpy(t.raw(), v.data(), v.size() * 4);
  return t;
}

Tensor Tensor::from_vector_f64(const Shape& shape, const std::vector<double>& v) {
  LETHE_CHECK(static_cast<int64_t>(v.size()) == shape_numel(shape), "tensor: ", v.size(),
              " values for shape ", shape_str(shape));
  Tensor t = empty(shape, DType::F64);
  if (!v.empty()) std::memcpy(t.raw(), v.data(), v.size() * 8);
  return t;
}

Tensor Tensor::from_vector_i64(const Shape& shape, const std::vector<int64_t>& v) {
  LETHE_CHECK(static_cast<int64_t>(v.size()) == shape_numel(shape), "tensor: ", v.size(),
              " values for shape ", shape_str(shape));
  Tensor t = empty(shape, DType::I64);
  if (!v.empty()) std::memcpy(t.raw(), v.data(), v.size() * 8);
  return t;
}

namespace {
template <class F>
Tensor fill_with(const Shape& shape, DType dtype, F f) {
  LETHE_CHECK(is_floating(dtype), "tensor: random fill needs a float dtype");
  Tensor t = Tensor::empty(shape, dtype);
  int64_t n = t.numel();
  if (dtype == DType::F32) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(f(i));
  } else {
    double* p = t.data<double>();
    for (int64_t i = 0; i < n; ++i) p[i] = f(i);
  }
  return t;
}
}  // namespace

Tensor Tensor::randn(const Shape& shape, uint64_t seed, DType dtype) {
  return fill_with(shape, dtype, [seed](int64_t i) { return rng::normal_at(seed, i); });
}

Tensor Tensor::uniform(const Shape& shape, double lo, double hi, uint64_t seed, DType dtype) {
  return fill_with(shape, dtype, [=](int64_t i) {
    rng::Philox4 r = rng::philox4x32(static_cast<uint64_t>(i), seed);
    double u = (static_cast<double>(r.v[0]) * 4294967296.0 + r.v[1]) / 18446744073709551616.0;
    return lo + (hi - lo) * u;
  });
}

int64_t Tensor::size(int64_t d) const {
  int64_t n = dim();
  if (d < 0) d += n;
  LETHE_CHECK(d >= 0 && d < n, "tensor: dimension ", d, " out of range for shape ",
              shape_str(shape()));
  return impl_->shape[d];
}

bool Tensor::is_contiguous() const {
  int64_t acc = 1;
  for (size_t i = impl_->shape.size(); i-- > 0;) {
    if (impl_->shape[i] != 1 && impl_->strides[i] != acc) return false;
    acc *= impl_->shape[i];
  }
  return true;
}

namespace {
// Storage index of the flat row-major element i of a strided view.
int64_t storage_index(const TensorImpl& t, int64_t i) {
  int64_t off = t.offset;
  for (size_t d = t.shape.size(); d-- > 0;) {
    int64_t s = t.shape[d];
    off += (i % s) * t.strides[d];
    i /= s;
  }
  return off;
}
}  // namespace

double Tensor::at(int64_t flat) const {
  LETHE_CHECK(flat >= 0 && flat < numel(), "tensor: index ", flat, " out of range for shape ",
              shape_str(shape()));
  int64_t k = storage_index(*impl_, flat);
  void* base = impl_->storage->data();
  alignas(8) uint8_t element[8];
  if (!is_cpu()) {  // read back just this element
    const size_t es = dtype_size(dtype());
    device().memory()->copy_to_host(element, static_cast<uint8_t*>(base) + k * es, es);
    base = element;
    k = 0;
  }
  switch (dtype()) {
    case DType::F32:
      return static_cast<float*>(base)[k];
    case DType::F64:
      return static_cast<double*>(base)[k];
    case DType::I64:
      return static_cast<double>(static_cast<int64_t*>(base)[k]);
    case DType::U8:
      return static_cast<uint8_t*>(base)[k];
  }
  return 0;
}

double Tensor::item() const {
  LETHE_CHECK(numel() == 1, "tensor: item() on a tensor of shape ", shape_str(shape()));
  return at(0);
}

std::vector<float> Tensor::to_vector() const {
  if (!is_cpu()) return cpu().to_vector();
  std::vector<float> v(numel());
  if (dtype() == DType::F32 && is_contiguous()) {
    if (!v.empty()) std::memcpy(v.data(), raw(), v.size() * 4);
    return v;
  }
  for (int64_t i = 0; i < numel(); ++i) v[i] = static_cast<float>(at(i));
  return v;
}

std::vector<double> Tensor::to_vector_f64() const {
  if (!is_cpu()) return cpu().to_vector_f64();
  std::vector<double> v(numel());
  for (int64_t i = 0; i < numel(); ++i) v[i] = at(i);
  return v;
}

std::vector<int64_t> Tensor::to_vector_i64() const {
  if (!is_cpu()) return cpu().to_vector_i64();
  std::vector<int64_t> v(numel());
  if (dtype() == DType::I64) {
    const int64_t* base = static_cast<const int64_t*>(impl_->storage->data());
    for (int64_t i = 0; i < numel(); ++i) v[i] = base[storage_index(*impl_, i)];
    return v;
  }
  for (int64_t i = 0; i < numel(); ++i) v[i] = static_cast<int64_t>(at(i));
  return v;
}

Tensor& Tensor::set_requires_grad(bool on) {
  LETHE_CHECK(!on || is_floating(dtype()), "tensor: requires_grad on a ", dtype_name(dtype()),
              " tensor");
  LETHE_CHECK(is_leaf(), "tensor: requires_grad can only be set on a leaf tensor");
  impl_->requires_grad = on;
  return *this;
}

void Tensor::backward(const Tensor& grad) const {
  run_backward(*this, grad);
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->shape = impl_->shape;
  impl->strides = impl_->strides;
  impl->offset = impl_->offset;
  impl->dtype = impl_->dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::clone() const {
  Tensor out = Tensor::empty(shape(), dtype(), device());
  out.copy_(*this);
  return out;
}

void Tensor::copy_(const Tensor& src) {
  LETHE_CHECK(src.shape() == shape(), "copy_: source shape ", shape_str(src.shape()),
              " does not match destination ", shape_str(shape()));
  const Device dd = device(), sd = src.device();
  if (!dd.is_cpu() || !sd.is_cpu()) return copy_across(src);
  if (src.dtype() == dtype() && src.is_contiguous() && is_contiguous()) {
    if (raw() != src.raw() && nbytes()) std::memmove(raw(), src.raw(), nbytes());
    return;
  }
  if (src.dtype() == dtype() && is_contiguous()) {
    Tensor dst = detach();
    current_backend().copy(src, dst);
    return;
  }
  if (src.dtype() == dtype()) {
    // Strided destination (slice and concat backward): row by row over the last dimension.
    size_t es = dtype_size(dtype());
    const Shape& s = shape();
    int64_t nd = dim(), n = numel();
    if (nd == 0 || n == 0) {
      if (n) std::memcpy(raw(), src.raw(), es);
      return;
    }
    int64_t inner = s[nd - 1], rows = n / inner;
    int64_t ds = strides()[nd - 1], ss = src.strides()[nd - 1];
    uint8_t* dbase = static_cast<uint8_t*>(impl_->storage->data());
    const uint8_t* sbase = static_cast<const uint8_t*>(src.impl()->storage->data());
    for (int64_t r = 0; r < rows; ++r) {
      int64_t rem = r, doff = offset(), soff = src.offset();
      for (int64_t d = nd - 2; d >= 0; --d) {
        int64_t k = rem % s[d];
        rem /= s[d];
        doff += k * strides()[d];
        soff += k * src.strides()[d];
      }
      if (ds == 1 && ss == 1) {
        std::memmove(dbase + doff * es, sbase + soff * es, inner * es);
      } else {
        for (int64_t i = 0; i < inner; ++i)
          std::memcpy(dbase + (doff + i * ds) * es, sbase + (soff + i * ss) * es, es);
      }
    }
    return;
  }
  // Mixed dtypes: element by element (rare: conversions, loading).
  void* base = impl_->storage->data();
  for (int64_t i = 0; i < numel(); ++i) {
    double v = src.at(i);
    int64_t k = storage_index(*impl_, i);
    switch (dtype()) {
      case DType::F32:
        static_cast<float*>(base)[k] = static_cast<float>(v);
        break;
      case DType::F64:
        static_cast<double*>(base)[k] = v;
        break;
      case DType::I64:
        static_cast<int64_t*>(base)[k] = static_cast<int64_t>(v);
        break;
      case DType::U8:
        static_cast<uint8_t*>(base)[k] = static_cast<uint8_t>(v);
        break;
    }
  }
}

void Tensor::copy_across(const Tensor& src) {
  const Device dd = device(), sd = src.device();
  if (numel() == 0) return;
  if (dd == sd && src.dtype() == dtype()) return dd.memory()->copy_view(src, *this);
  if (sd.is_cpu()) {
    // Host to device: one contiguous host buffer in the destination's dtype, one upload.
    Tensor h = src.dtype() == dtype() && src.is_contiguous() ? src : src.to(dtype());
    if (is_contiguous()) return dd.memory()->copy_to_device(data_ptr(), h.data_ptr(), nbytes());
    Tensor staged = Tensor::empty(shape(), dtype(), dd);
    dd.memory()->copy_to_device(staged.data_ptr(), h.data_ptr(), nbytes());
    return dd.memory()->copy_view(staged, *this);
  }
  if (dd.is_cpu()) {
    // Device to host: a contiguous device view, one download, then host conversion if any.
    Tensor s = src.is_contiguous() ? src : src.clone();
    if (is_contiguous() && src.dtype() == dtype())
      return sd.memory()->copy_to_host(data_ptr(), s.data_ptr(), nbytes());
    Tensor h = Tensor::empty(shape(), src.dtype());
    sd.memory()->copy_to_host(h.data_ptr(), s.data_ptr(), h.nbytes());
    return copy_(h);
  }
  // Another device or another dtype: through the host (the bus counters see it).
  copy_(src.cpu());
}

void Tensor::fill_(double value) {
  if (!is_cpu()) {
    if (numel()) device().memory()->fill(*this, value);
    return;
  }
  int64_t n = numel();
  if (is_contiguous()) {
    switch (dtype()) {
      case DType::F32: {
        float* p = data<float>();
        float v = static_cast<float>(value);
        for (int64_t i = 0; i < n; ++i) p[i] = v;
        return;
      }
      case DType::F64: {
        double* p = data<double>();
        for (int64_t i = 0; i < n; ++i) p[i] = value;
        return;
      }
      case DType::I64: {
        int64_t* p = data<int64_t>();
        for (int64_t i = 0; i < n; ++i) p[i] = static_cast<int64_t>(value);
        return;
      }
      case DType::U8:
        std::memset(raw(), static_cast<int>(value), n);
        return;
    }
  }
  Tensor tmp = Tensor::full(shape(), value, dtype());
  copy_(tmp);
}

Tensor Tensor::to(DType dt) const {
  if (dt == dtype()) return clone();
  Tensor out = Tensor::empty(shape(), dt, device());
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  Tensor out = Tensor::empty(shape(), dtype(), d);
  out.copy_(*this);
  return out;
}

Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

}  // namespace lethe
