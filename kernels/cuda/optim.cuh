// Host launchers of kernels/cuda/optim.cu: fused in-place parameter updates, one pass over one
// parameter tensor, with the per-element math of kernels/common/optim.h (shared with the CPU
// kernels of engine/optim: bit-identical in the emulator).
#pragma once
#include <cstdint>

#include "kernels/cuda/compat.h"

namespace lethe::LETHE_KNS {

// torch.optim.SGD on n elements of p with gradient g. momentum == 0: p -= lr·(g + wd·p) (buf
// unused, may be null). Else buf is the momentum buffer; first = its first step (buf = d, no
// dampening); nesterov requires momentum > 0 and dampening == 0 (checked by engine/optim).
void sgd_step_f32(float* p, const float* g, float* buf, int64_t n, double lr, double momentum,
                  double dampening, double weight_decay, bool nesterov, bool first,
                  int threads = 256, cudaStream_t stream = nullptr);
// torch.optim.Adam (decoupled = false: L2 weight decay) / AdamW (decoupled = true) at step t
// (1-based, after incrementing). m, v: first/second moments; vmax: amsgrad's running maximum
// of v, or null without amsgrad.
void adam_step_f32(float* p, const float* g, float* m, float* v, float* vmax, int64_t n, double lr,
                   double beta1, double beta2, double eps, double weight_decay, bool decoupled,
                   int64_t t, int threads = 256, cudaStream_t stream = nullptr);

}  // namespace lethe::LETHE_KNS
