// The per-element optimizer updates (torch.optim.SGD, Adam, AdamW), the single definition the
// CPU kernels (kernels/cpu/optim.cpp, called by engine/optim) and the CUDA kernels
// (kernels/cuda/optim.cu) use. The step's scalars (bias corrections, step size) are computed once
// per tensor on the host in double, as Python does, then used in float as PyTorch's kernels do.
//
// Bit-identity: an element's update is the same sequence of float operations on every backend,
// so the CPU kernels and the CUDA kernels on the SIMT emulator (both g++, baseline x86-64 ISA,
// no FMA instructions to contract into) agree bit for bit. nvcc contracts a·b + c into FMA
// (--fmad=true), so on a real GPU a step may differ from the CPU's in the last bit.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/hd.h"

namespace lethe::kernels {

// ---- SGD: g += wd·p; buf = g on the first step, else momentum·buf + (1 − dampening)·g;
// g = g + momentum·buf (Nesterov) or buf; p −= lr·g. ----
struct SgdScalars {
  float lr, wd, mom, damp;  // damp = 1 − dampening
  int nesterov, first;      // first: the momentum buffer's first step (buf = g, no dampening)
};
inline SgdScalars sgd_scalars(double lr, double momentum, double dampening, double weight_decay,
                              bool nesterov, bool first) {
  return {static_cast<float>(lr),
          static_cast<float>(weight_decay),
          static_cast<float>(momentum),
          1.0f - static_cast<float>(dampening),
          nesterov ? 1 : 0,
          first ? 1 : 0};
}
// Without momentum (no buffer).
LETHE_HD inline float sgd_plain_update(float p, float g, const SgdScalars& s) {
  return p - s.lr * (g + s.wd * p);
}
// With momentum: updates p and its buffer element.
LETHE_HD inline void sgd_momentum_update(float& p, float g, float& buf, const SgdScalars& s) {
  const float pk = p;
  float d = g + s.wd * pk;
  const float b = s.first ? d : s.mom * buf + s.damp * d;
  buf = b;
  d = s.nesterov ? d + s.mom * b : b;
  p = pk - s.lr * d;
}

// ---- Adam (L2 weight decay: g += wd·p) and AdamW (decoupled: p *= 1 − lr·wd first):
// m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; amsgrad: vmax = max(vmax, v), used for v;
// denom = sqrt(v)/sqrt(1−β2^t) + eps; p −= lr/(1−β1^t) · m/denom. ----
struct AdamScalars {
  float step_size, bc2_sqrt, eps, decay, l2, b1, b2, ob1, ob2;
};
// t: the parameter's step count, 1-based (after incrementing).
inline AdamScalars adam_scalars(double lr, double beta1, double beta2, double eps,
                                double weight_decay, bool decoupled, int64_t t) {
  const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(t));
  const double bc2 = 1.0 - std::pow(beta2, static_cast<double>(t));
  AdamScalars s;
  s.step_size = static_cast<float>(lr / bc1);
  s.bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  s.eps = static_cast<float>(eps);
  s.decay = decoupled ? static_cast<float>(1.0 - lr * weight_decay) : 1.0f;
  s.l2 = decoupled ? 0.0f : static_cast<float>(weight_decay);
  s.b1 = static_cast<float>(beta1);
  s.b2 = static_cast<float>(beta2);
  s.ob1 = static_cast<float>(1.0 - beta1);
  s.ob2 = static_cast<float>(1.0 - beta2);
  return s;
}
// Updates p, m, v and, when vmax is not null (amsgrad), *vmax.
LETHE_HD inline void adam_update(float& p, float g, float& m, float& v, float* vmax,
                                 const AdamScalars& s) {
  const float pk = p * s.decay;
  const float gk = g + s.l2 * pk;
  const float mk = s.b1 * m + s.ob1 * gk;
  float vk = s.b2 * v + s.ob2 * gk * gk;
  m = mk;
  v = vk;
  if (vmax) {
    const float mx = *vmax;
    vk = mx < vk ? vk : mx;  // std::max(vmax, v)
    *vmax = vk;
  }
  const float denom = std::sqrt(vk) / s.bc2_sqrt + s.eps;
  p = pk - s.step_size * (mk / denom);
}

}  // namespace lethe::kernels
