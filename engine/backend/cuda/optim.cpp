// DeviceBackend optimizer steps: the fused updates of kernels/cuda/optim.cu on device-resident
// parameters, gradients and state (nothing crosses the bus); host tensors take the CPU kernels of
// the base class, as before device residency.
#include "kernels/cuda/optim.cuh"
#include "engine/backend/cuda/device_backend.h"
#include "engine/core/error.h"

namespace lethe::LETHE_KNS {

namespace {
// All defined tensors on this device (true) or all on the host (false); a mix is an error.
bool resident(const char* what, std::initializer_list<const Tensor*> ts) {
  int dev = 0, host = 0;
  for (const Tensor* t : ts) {
    if (!t->defined()) continue;
    LETHE_CHECK(t->dtype() == DType::F32 && t->is_contiguous(), LETHE_DEVICE_NAME, " backend ",
                what, ": tensors must be contiguous f32");
    (on_device(*t) ? dev : host)++;
  }
  LETHE_CHECK(dev == 0 || host == 0, LETHE_DEVICE_NAME, " backend ", what,
              ": parameter, gradient and state must all live on the device");
  return dev > 0;
}
float* f(const Tensor& t) {
  return t.defined() ? static_cast<float*>(t.data_ptr()) : nullptr;
}
}  // namespace

void DeviceBackend::sgd_step(Tensor& p, const Tensor& g, Tensor& buf, const SgdStep& s) {
  if (!resident("sgd_step", {&p, &g, &buf})) return Backend::sgd_step(p, g, buf, s);
  sgd_step_f32(f(p), f(g), f(buf), p.numel(), s.lr, s.momentum, s.dampening, s.weight_decay,
               s.nesterov, s.first, 256, backend_stream());
}

void DeviceBackend::adam_step(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, Tensor& vmax,
                              const AdamStep& s) {
  if (!resident("adam_step", {&p, &g, &m, &v, &vmax}))
    return Backend::adam_step(p, g, m, v, vmax, s);
  adam_step_f32(f(p), f(g), f(m), f(v), f(vmax), p.numel(), s.lr, s.beta1, s.beta2, s.eps,
                s.weight_decay, s.decoupled, s.t, 256, backend_stream());
}

}  // namespace lethe::LETHE_KNS
