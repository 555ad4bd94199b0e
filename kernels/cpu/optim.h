// Optimizer updates on float32 arrays, CPU kernels: one pass over one parameter tensor with the
// per-element math of kernels/common/optim.h (shared with kernels/cuda/optim.cu, so a step is
// bit-identical to the emulated CUDA kernel's). Elements are independent: threads split the
// array (kernels/cpu/parallel.h) without changing any result.
#pragma once
#include <cstdint>

#include "kernels/common/optim.h"

namespace lethe::kernels::cpu {

// SGD on n elements of p with gradient g; buf: the momentum buffer, or null without momentum.
void sgd_step(float* p, const float* g, float* buf, int64_t n, const SgdScalars& s);
// Adam / AdamW (the scalars say which); vmax: amsgrad's running maximum of v, or null.
void adam_step(float* p, const float* g, float* m, float* v, float* vmax, int64_t n,
               const AdamScalars& s);

}  // namespace lethe::kernels::cpu
