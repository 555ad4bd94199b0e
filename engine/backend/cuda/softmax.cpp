// DeviceBackend softmax and cross-entropy: stage, run kernels/cuda/softmax.cu, download.
// Targets are int64 (not part of the float32 check).
#include "kernels/cuda/softmax.cuh"
#include "engine/backend/cuda/device_backend.h"
#include "engine/core/error.h"

namespace lethe::LETHE_KNS {

void DeviceBackend::softmax_forward(const Tensor& x, Tensor& y, bool log) {
  if (!all_f32({&x, &y})) return ref_.softmax_forward(x, y, log);
  DeviceBuffer dx = upload(x), dy = output_buffer(y);
  lethe::LETHE_KNS::softmax_forward(dx.as<float>(), dy.as<float>(), x.size(0), x.size(1), log,
                                    backend_stream());
  download(dy, y);
}

void DeviceBackend::softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, bool log) {
  if (!all_f32({&y, &dy, &dx})) return ref_.softmax_backward(y, dy, dx, log);
  DeviceBuffer dyv = upload(y), dg = upload(dy), ddx = output_buffer(dx);
  lethe::LETHE_KNS::softmax_backward(dyv.as<float>(), dg.as<float>(), ddx.as<float>(), y.size(0),
                                     y.size(1), log, backend_stream());
  download(ddx, dx);
}

void DeviceBackend::cross_entropy_forward(const Tensor& logits, const Tensor& target, Tensor& loss,
                                          double smoothing) {
  if (!all_f32({&logits, &loss}))
    return ref_.cross_entropy_forward(logits, target, loss, smoothing);
  LETHE_CHECK(target.dtype() == DType::I64, LETHE_DEVICE_NAME,
              " backend: cross_entropy targets must be int64");
  DeviceBuffer dl = upload(logits), dt = upload(target), dloss = output_buffer(loss);
  lethe::LETHE_KNS::cross_entropy_forward(dl.as<float>(), dt.as<int64_t>(), dloss.as<float>(),
                                          logits.size(0), logits.size(1),
                                          static_cast<float>(smoothing), backend_stream());
  download(dloss, loss);
}

void DeviceBackend::cross_entropy_backward(const Tensor& logits, const Tensor& target,
                                           const Tensor& dloss, Tensor& dx, double smoothing) {
  if (!all_f32({&logits, &dloss, &dx}))
    return ref_.cross_entropy_backward(logits, target, dloss, dx, smoothing);
  LETHE_CHECK(target.dtype() == DType::I64, LETHE_DEVICE_NAME,
              " backend: cross_entropy targets must be int64");
  DeviceBuffer dl = upload(logits), dt = upload(target), dg = upload(dloss),
               ddx = output_buffer(dx);
  lethe::LETHE_KNS::cross_entropy_backward(dl.as<float>(), dt.as<int64_t>(), dg.as<float>(),
                                           ddx.as<float>(), logits.size(0), logits.size(1),
                                           static_cast<float>(smoothing), backend_stream());
  download(ddx, dx);
}

}  // namespace lethe::LETHE_KNS
