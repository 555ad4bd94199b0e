// Fused optimizer updates: one grid-stride pass per parameter tensor reads p, g and the state
// once and writes p and the state once (no temporaries, no separate weight-decay or bias-
// correction kernels). Scalars (bias corrections, step size) are computed on the host in double
// as engine/optim does, then used in float exactly as its loops use them, so a step matches
// engine/optim's to rounding (FMA contraction on real GPUs is the only difference).
// Launch: 1-D grid-stride, `threads` per block (multiple of 32), one element per thread-iteration
// (coalesced: consecutive threads, consecutive elements of every array).
#include <cmath>
#include <cstdint>

#include "kernels/cuda/optim.cuh"

namespace lethe::LETHE_KNS {
namespace {

__global__ void sgd_plain_kernel(float* __restrict__ p, const float* __restrict__ g, int64_t n,
                                 float lr, float wd) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += step)
    p[k] -= lr * (g[k] + wd * p[k]);
}

__global__ void sgd_momentum_kernel(float* __restrict__ p, const float* __restrict__ g,
                                    float* __restrict__ buf, int64_t n, float lr, float wd,
                                    float mom, float damp, int nesterov, int first) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += step) {
    const float pk = p[k];
    float d = g[k] + wd * pk;
    const float b = first ? d : mom * buf[k] + damp * d;
    buf[k] = b;
    d = nesterov ? d + mom * b : b;
    p[k] = pk - lr * d;
  }
}

struct AdamScalars {
  float step_size, bc2_sqrt, eps, decay, l2, b1, b2, ob1, ob2;
};

__global__ void adam_kernel(float* __restrict__ p, const float* __restrict__ g,
                            float* __restrict__ m, float* __restrict__ v, float* __restrict__ vmax,
                            int64_t n, AdamScalars s) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += step) {
    const float pk = p[k] * s.decay;
    const float gk = g[k] + s.l2 * pk;
    const float mk = s.b1 * m[k] + s.ob1 * gk;
    float vk = s.b2 * v[k] + s.ob2 * gk * gk;
    m[k] = mk;
    v[k] = vk;
    if (vmax) {
      const float mx = vmax[k];
      vk = mx < vk ? vk : mx;  // std::max(vmax, v), as engine/optim
      vmax[k] = vk;
    }
    const float denom = sqrtf(vk) / s.bc2_sqrt + s.eps;
    p[k] = pk - s.step_size * (mk / denom);
  }
}

}  // namespace

void sgd_step_f32(float* p, const float* g, float* buf, int64_t n, double lr, double momentum,
                  double dampening, double weight_decay, bool nesterov, bool first, int threads,
                  cudaStream_t stream) {
  check_threads(threads, "sgd_step_f32");
  if (n <= 0) return;
  const float flr = static_cast<float>(lr), wd = static_cast<float>(weight_decay);
  if (momentum == 0) {
    auto k = sgd_plain_kernel;
    LETHE_LAUNCH(k, grid_for(n, threads), threads, 0, stream, p, g, n, flr, wd);
    return;
  }
  const float mom = static_cast<float>(momentum);
  const float damp = 1.0f - static_cast<float>(dampening);
  auto k = sgd_momentum_kernel;
  LETHE_LAUNCH(k, grid_for(n, threads), threads, 0, stream, p, g, buf, n, flr, wd, mom, damp,
               static_cast<int>(nesterov), static_cast<int>(first));
}

void adam_step_f32(float* p, const float* g, float* m, float* v, float* vmax, int64_t n, double lr,
                   double beta1, double beta2, double eps, double weight_decay, bool decoupled,
                   int64_t t, int threads, cudaStream_t stream) {
  check_threads(threads, "adam_step_f32");
  if (n <= 0) return;
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
  auto k = adam_kernel;
  LETHE_LAUNCH(k, grid_for(n, threads), threads, 0, stream, p, g, m, v, vmax, n, s);
}

}  // namespace lethe::LETHE_KNS
