// Softmax and cross-entropy CPU kernels (see softmax.h).
#include "kernels/cpu/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/common/softmax.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vmath.h"

namespace lethe::kernels::cpu {
namespace {

float row_max(const float* row, int64_t C) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t c = 0; c < C; ++c) mx = std::max(mx, row[c]);
  return mx;
}

}  // namespace

void softmax_forward(const float* x, float* y, int64_t R, int64_t C, bool log) {
#pragma omp parallel for if (parallel_worth(R * C))
  for (int64_t r = 0; r < R; ++r) {
    const float* row = x + r * C;
    float* o = y + r * C;
    const float mx = row_max(row, C);
    const float s = exp_shifted_sum(row, mx, o, C);
    if (log) {
      float ls = std::log(s);
      for (int64_t c = 0; c < C; ++c) o[c] = row[c] - mx - ls;
    } else {
      float inv = 1.f / s;
      for (int64_t c = 0; c < C; ++c) o[c] *= inv;
    }
  }
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t R, int64_t C, bool log) {
#pragma omp parallel for if (parallel_worth(R * C))
  for (int64_t r = 0; r < R; ++r) {
    const float *yr = y + r * C, *g = dy + r * C;
    float* o = dx + r * C;
    float s = 0;
    for (int64_t c = 0; c < C; ++c) s += log ? g[c] : g[c] * yr[c];
    for (int64_t c = 0; c < C; ++c) o[c] = log ? g[c] - std::exp(yr[c]) * s : yr[c] * (g[c] - s);
  }
}

void cross_entropy_forward(const float* logits, const int64_t* target, float* loss, int64_t N,
                           int64_t C, float smoothing) {
#pragma omp parallel for if (parallel_worth(N * C))
  for (int64_t n = 0; n < N; ++n) {
    const float* row = logits + n * C;
    const float mx = row_max(row, C);
    float s = 0, shifted = 0;  // Σ exp(x − max), Σ (x − max)
    for (int64_t c = 0; c < C; ++c) {
      s += std::exp(row[c] - mx);
      shifted += row[c] - mx;
    }
    loss[n] = ce_smoothed_loss(mx, std::log(s), shifted, row[target[n]], C, smoothing);
  }
}

void cross_entropy_backward(const float* logits, const int64_t* target, const float* dloss,
                            float* dx, int64_t N, int64_t C, float smoothing) {
#pragma omp parallel for if (parallel_worth(N * C))
  for (int64_t n = 0; n < N; ++n) {
    const float* row = logits + n * C;
    float* o = dx + n * C;
    const float mx = row_max(row, C);
    float s = 0;
    for (int64_t c = 0; c < C; ++c) {
      o[c] = std::exp(row[c] - mx);
      s += o[c];
    }
    const float inv = 1.f / s;
    for (int64_t c = 0; c < C; ++c) {
      o[c] = ce_smoothed_grad(o[c] * inv, c == target[n], C, smoothing, dloss[n]);
    }
  }
}

}  // namespace lethe::kernels::cpu
