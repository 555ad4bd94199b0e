// Optimizer CPU kernels (see optim.h).
#include "kernels/cpu/optim.h"

#include "kernels/cpu/parallel.h"

namespace lethe::kernels::cpu {

void sgd_step(float* __restrict p, const float* __restrict g, float* __restrict buf, int64_t n,
              const SgdScalars& s) {
  if (!buf) {
#pragma omp parallel for if (parallel_worth(n))
    for (int64_t k = 0; k < n; ++k) p[k] = sgd_plain_update(p[k], g[k], s);
    return;
  }
#pragma omp parallel for if (parallel_worth(n))
  for (int64_t k = 0; k < n; ++k) sgd_momentum_update(p[k], g[k], buf[k], s);
}

void adam_step(float* __restrict p, const float* __restrict g, float* __restrict m,
               float* __restrict v, float* __restrict vmax, int64_t n, const AdamScalars& s) {
  if (vmax) {
#pragma omp parallel for if (parallel_worth(n))
    for (int64_t k = 0; k < n; ++k) adam_update(p[k], g[k], m[k], v[k], vmax + k, s);
    return;
  }
#pragma omp parallel for if (parallel_worth(n))
  for (int64_t k = 0; k < n; ++k) adam_update(p[k], g[k], m[k], v[k], nullptr, s);
}

}  // namespace lethe::kernels::cpu
