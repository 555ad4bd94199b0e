// DeviceBackend entry points of the elementwise family (unary, binary, reduce_sum, copy,
// dropout, select): stage the host tensors, launch kernels/cuda/elementwise.cu, dropout.cu and
// select.cu on the backend's stream, download. f64 goes to cpu_ref, except copy, which moves
// bytes of any dtype on the device.
#include <algorithm>
#include <cstring>

#include "engine/backend/cuda/device_backend.h"
#include "engine/backend/dispatch.h"
#include "engine/core/error.h"
#include "kernels/cuda/dropout.cuh"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/cuda/select.cuh"

namespace lethe::LETHE_KNS {
namespace {

const float* cf(const DeviceBuffer& b) {
  return b.as<const float>();
}
float* mf(const DeviceBuffer& b) {
  return b.as<float>();
}

}  // namespace

void DeviceBackend::unary(UnaryOp op, const Tensor& x, Tensor& y, const UnaryParams& p) {
  if (!all_f32({&x, &y})) return ref_.unary(op, x, y, p);
  DeviceBuffer dx = upload(x), dy = output_buffer(y);
  elem_unary_f32(op, p, cf(dx), mf(dy), x.numel(), 256, backend_stream());
  download(dy, y);
}

void DeviceBackend::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                                   Tensor& dx, const UnaryParams& p) {
  if (!all_f32({&x, &y, &dy, &dx})) return ref_.unary_backward(op, x, y, dy, dx, p);
  DeviceBuffer bx = upload(x), by = upload(y), bdy = upload(dy), bdx = output_buffer(dx);
  elem_unary_backward_f32(op, p, cf(bx), cf(by), cf(bdy), mf(bdx), dy.numel(), 256,
                          backend_stream());
  download(bdx, dx);
}

void DeviceBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& c) {
  if (!all_f32({&a, &b, &c})) return ref_.binary(op, a, b, c);
  const Shape& cs = c.shape();
  LETHE_CHECK(cs.size() <= static_cast<size_t>(kElemMaxRank), LETHE_DEVICE_NAME,
              " backend: binary of rank ", cs.size(), " (at most ", kElemMaxRank, ")");
  Shape sa = broadcast_strides(a.shape(), cs), sb = broadcast_strides(b.shape(), cs);
  DeviceBuffer da = upload(a), db = upload(b), dc = output_buffer(c);
  elem_binary_f32(op, cf(da), cf(db), mf(dc), cs.data(), sa.data(), sb.data(),
                  static_cast<int>(cs.size()), 256, backend_stream());
  download(dc, c);
}

void DeviceBackend::reduce_sum(const Tensor& x, Tensor& y) {
  if (!all_f32({&x, &y})) return ref_.reduce_sum(x, y);
  LETHE_CHECK(x.dim() == y.dim() && x.dim() <= kElemMaxRank, LETHE_DEVICE_NAME,
              " backend: reduce_sum of ", shape_str(x.shape()), " into ", shape_str(y.shape()));
  DeviceBuffer dx = upload(x), dy = output_buffer(y);
  elem_reduce_sum_f32(cf(dx), mf(dy), x.shape().data(), y.shape().data(), static_cast<int>(x.dim()),
                      256, 64, backend_stream());
  download(dy, y);
}

void DeviceBackend::copy(const Tensor& src, Tensor& dst) {
  LETHE_CHECK(src.dtype() == dst.dtype() && src.shape() == dst.shape(), "copy: mismatch");
  LETHE_CHECK(dst.is_contiguous(), LETHE_DEVICE_NAME, " backend: copy into a strided tensor");
  LETHE_CHECK(src.dim() <= kElemMaxRank, LETHE_DEVICE_NAME, " backend: copy of rank ", src.dim(),
              " (at most ", kElemMaxRank, ")");
  const int64_t n = src.numel();
  if (n == 0) return;
  const size_t es = dtype_size(src.dtype());
  if (on_device(src)) {  // the view reads the tensor's own device memory
    DeviceBuffer dd = output_buffer(dst);
    elem_copy_strided(src.impl()->storage->data(), dd.get(), static_cast<int>(es),
                      src.shape().data(), src.strides().data(), static_cast<int>(src.dim()),
                      src.offset(), 256, backend_stream());
    return download(dd, dst);
  }
  // The storage span the view touches: [lo, hi] in elements.
  int64_t lo = src.offset(), hi = src.offset();
  for (int64_t d = 0; d < src.dim(); ++d) {
    const int64_t ext = (src.shape()[d] - 1) * src.strides()[d];
    (ext < 0 ? lo : hi) += ext;
  }
  LETHE_CHECK(lo >= 0 && static_cast<size_t>(hi + 1) * es <= src.impl()->storage->bytes(),
              LETHE_DEVICE_NAME, " backend: copy: the view leaves its storage");
  const size_t span = static_cast<size_t>(hi - lo + 1) * es;
  const uint8_t* base = static_cast<const uint8_t*>(src.impl()->storage->data());
  DeviceBuffer ds(span);
  LETHE_CUDA_CHECK(cudaMemcpy(ds.get(), base + lo * es, span, cudaMemcpyHostToDevice));
  DeviceBuffer dd = output_buffer(dst);
  elem_copy_strided(ds.get(), dd.get(), static_cast<int>(es), src.shape().data(),
                    src.strides().data(), static_cast<int>(src.dim()), src.offset() - lo, 256,
                    backend_stream());
  download(dd, dst);
}

void DeviceBackend::dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, double p,
                                    uint64_t seed) {
  if (!all_f32({&x, &y})) return ref_.dropout_forward(x, y, mask, p, seed);
  LETHE_CHECK(mask.dtype() == DType::U8, LETHE_DEVICE_NAME, " backend: dropout mask must be u8");
  DeviceBuffer dx = upload(x), dy = output_buffer(y), dm = output_buffer(mask);
  dropout_forward_f32(cf(dx), mf(dy), dm.as<uint8_t>(), x.numel(), p, seed, 256, backend_stream());
  download(dy, y);
  download(dm, mask);
}

void DeviceBackend::dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, double p) {
  if (!all_f32({&dy, &dx})) return ref_.dropout_backward(dy, mask, dx, p);
  LETHE_CHECK(mask.dtype() == DType::U8, LETHE_DEVICE_NAME, " backend: dropout mask must be u8");
  DeviceBuffer ddy = upload(dy), dm = upload(mask), ddx = output_buffer(dx);
  dropout_backward_f32(cf(ddy), dm.as<const uint8_t>(), mf(ddx), dy.numel(), p, 256,
                       backend_stream());
  download(ddx, dx);
}

void DeviceBackend::select(const Tensor& mask, const Tensor& a, const Tensor& b, Tensor& out) {
  if (!all_f32({&a, &b, &out})) return ref_.select(mask, a, b, out);
  LETHE_CHECK(mask.dtype() == DType::U8, LETHE_DEVICE_NAME, " backend: select mask must be u8");
  DeviceBuffer dm = upload(mask), da = upload(a), db = upload(b), dout = output_buffer(out);
  select_f32(dm.as<const uint8_t>(), cf(da), cf(db), mf(dout), a.numel(), 256, backend_stream());
  download(dout, out);
}

}  // namespace lethe::LETHE_KNS
