// DeviceBackend pooling: stage, run kernels/cuda/pool.cu, download. max_pool2d's indices are
// int64 (not part of the float32 check).
#include "kernels/cuda/pool.cuh"
#include "engine/backend/cuda/device_backend.h"
#include "engine/core/error.h"

namespace lethe::LETHE_KNS {

void DeviceBackend::max_pool2d_forward(const Tensor& x, Tensor& y, Tensor& idx,
                                       const Pool2dArgs& a) {
  if (!all_f32({&x, &y})) return ref_.max_pool2d_forward(x, y, idx, a);
  LETHE_CHECK(idx.dtype() == DType::I64, LETHE_DEVICE_NAME,
              " backend: max_pool2d indices must be int64");
  DeviceBuffer dx = upload(x), dy = output_buffer(y), di = output_buffer(idx);
  lethe::LETHE_KNS::max_pool2d_forward(dx.as<float>(), dy.as<float>(), di.as<int64_t>(),
                                       x.size(0) * x.size(1), x.size(2), x.size(3), y.size(2),
                                       y.size(3), a.kernel_h, a.kernel_w, a.stride_h, a.stride_w,
                                       a.pad_h, a.pad_w, backend_stream());
  download(dy, y);
  download(di, idx);
}

void DeviceBackend::max_pool2d_backward(const Tensor& dy, const Tensor& idx, Tensor& dx) {
  if (!all_f32({&dy, &dx})) return ref_.max_pool2d_backward(dy, idx, dx);
  LETHE_CHECK(idx.dtype() == DType::I64, LETHE_DEVICE_NAME,
              " backend: max_pool2d indices must be int64");
  DeviceBuffer dg = upload(dy), di = upload(idx), ddx = output_buffer(dx);
  lethe::LETHE_KNS::max_pool2d_backward(dg.as<float>(), di.as<int64_t>(), ddx.as<float>(),
                                        dx.size(0) * dx.size(1), dx.size(2), dx.size(3), dy.size(2),
                                        dy.size(3), backend_stream());
  download(ddx, dx);
}

void DeviceBackend::avg_pool2d_forward(const Tensor& x, Tensor& y, const Pool2dArgs& a) {
  if (!all_f32({&x, &y})) return ref_.avg_pool2d_forward(x, y, a);
  DeviceBuffer dx = upload(x), dy = output_buffer(y);
  lethe::LETHE_KNS::avg_pool2d_forward(dx.as<float>(), dy.as<float>(), x.size(0) * x.size(1),
                                       x.size(2), x.size(3), y.size(2), y.size(3), a.kernel_h,
                                       a.kernel_w, a.stride_h, a.stride_w, a.pad_h, a.pad_w,
                                       backend_stream());
  download(dy, y);
}

void DeviceBackend::avg_pool2d_backward(const Tensor& dy, Tensor& dx, const Pool2dArgs& a) {
  if (!all_f32({&dy, &dx})) return ref_.avg_pool2d_backward(dy, dx, a);
  DeviceBuffer dg = upload(dy), ddx = output_buffer(dx);
  lethe::LETHE_KNS::avg_pool2d_backward(dg.as<float>(), ddx.as<float>(), dx.size(0) * dx.size(1),
                                        dx.size(2), dx.size(3), dy.size(2), dy.size(3), a.kernel_h,
                                        a.kernel_w, a.stride_h, a.stride_w, a.pad_h, a.pad_w,
                                        backend_stream());
  download(ddx, dx);
}

void DeviceBackend::adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) {
  if (!all_f32({&x, &y})) return ref_.adaptive_avg_pool2d_forward(x, y);
  DeviceBuffer dx = upload(x), dy = output_buffer(y);
  lethe::LETHE_KNS::adaptive_avg_pool2d_forward(dx.as<float>(), dy.as<float>(),
                                                x.size(0) * x.size(1), x.size(2), x.size(3),
                                                y.size(2), y.size(3), backend_stream());
  download(dy, y);
}

void DeviceBackend::adaptive_avg_pool2d_backward(const Tensor& dy, Tensor& dx) {
  if (!all_f32({&dy, &dx})) return ref_.adaptive_avg_pool2d_backward(dy, dx);
  DeviceBuffer dg = upload(dy), ddx = output_buffer(dx);
  lethe::LETHE_KNS::adaptive_avg_pool2d_backward(dg.as<float>(), ddx.as<float>(),
                                                 dx.size(0) * dx.size(1), dx.size(2), dx.size(3),
                                                 dy.size(2), dy.size(3), backend_stream());
  download(ddx, dx);
}

}  // namespace lethe::LETHE_KNS
