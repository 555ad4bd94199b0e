// Fused optimizer updates: one grid-stride pass per parameter tensor reads p, g and the state
// once and writes p and the state once (no temporaries, no separate weight-decay or bias-
// correction kernels). The scalars and the per-element update are kernels/common/optim.h, the
// same functions engine/optim's CPU kernels (kernels/cpu/optim.cpp) call: a step is bit-identical
// to the CPU's in the emulator (FMA contraction by nvcc is the only difference on real GPUs).
// Launch: 1-D grid-stride, `threads` per block (multiple of 32), one element per thread-iteration
// (coalesced: consecutive threads, consecutive elements of every array).
#include <cstdint>

#include "kernels/common/optim.h"
#include "kernels/cuda/optim.cuh"

namespace lethe::LETHE_KNS {
namespace {

using kernels::AdamScalars;
using kernels::SgdScalars;

__global__ void sgd_plain_kernel(float* __restrict__ p, const float* __restrict__ g, int64_t n,
                                 SgdScalars s) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += step)
    p[k] = kernels::sgd_plain_update(p[k], g[k], s);
}

__global__ void sgd_momentum_kernel(float* __restrict__ p, const float* __restrict__ g,
                                    float* __restrict__ buf, int64_t n, SgdScalars s) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += step)
    kernels::sgd_momentum_update(p[k], g[k], buf[k], s);
}

__global__ void adam_kernel(float* __restrict__ p, const float* __restrict__ g,
                            float* __restrict__ m, float* __restrict__ v, float* __restrict__ vmax,
                            int64_t n, AdamScalars s) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += step)
    kernels::adam_update(p[k], g[k], m[k], v[k], vmax ? vmax + k : nullptr, s);
}

}  // namespace

void sgd_step_f32(float* p, const float* g, float* buf, int64_t n, double lr, double momentum,
                  double dampening, double weight_decay, bool nesterov, bool first, int threads,
                  cudaStream_t stream) {
  check_threads(threads, "sgd_step_f32");
  if (n <= 0) return;
  const SgdScalars s = kernels::sgd_scalars(lr, momentum, dampening, weight_decay, nesterov, first);
  if (momentum == 0) {
    auto k = sgd_plain_kernel;
    LETHE_LAUNCH(k, grid_for(n, threads), threads, 0, stream, p, g, n, s);
    return;
  }
  auto k = sgd_momentum_kernel;
  LETHE_LAUNCH(k, grid_for(n, threads), threads, 0, stream, p, g, buf, n, s);
}

void adam_step_f32(float* p, const float* g, float* m, float* v, float* vmax, int64_t n, double lr,
                   double beta1, double beta2, double eps, double weight_decay, bool decoupled,
                   int64_t t, int threads, cudaStream_t stream) {
  check_threads(threads, "adam_step_f32");
  if (n <= 0) return;
  const AdamScalars s = kernels::adam_scalars(lr, beta1, beta2, eps, weight_decay, decoupled, t);
  auto k = adam_kernel;
  LETHE_LAUNCH(k, grid_for(n, threads), threads, 0, stream, p, g, m, v, vmax, n, s);
}

}  // namespace lethe::LETHE_KNS
