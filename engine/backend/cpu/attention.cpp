// Fused attention on the CPU: one task per (batch, head), each running its three or five small
// GEMMs single-threaded straight on the packed qkv [B,N,3C] (leading dimension 3C) and writing o
// [B,N,C] (leading dimension C) or dqkv in place — no head split or merge copies, the 1/√D scale
// folded into the GEMM's alpha (forward) or the softmax gradient pass (backward), softmax rows
// through the vectorised exp. Reads qkv (and p, dout backward); writes o and p (forward) or dqkv.
// The (b, h) tasks write disjoint column slices, so threads never share an output element.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "engine/backend/attention.h"
#include "engine/backend/cpu/cpu.h"
#include "engine/backend/cpu/cpu_common.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/vmath.h"

namespace lethe {

namespace kc = kernels::cpu;
using namespace cpu_detail;

void CpuBackend::attention_forward(const Tensor& qkv, int64_t heads, double scale, Tensor& o,
                                   Tensor& p) {
  if (!f32(qkv)) return Backend::attention_forward(qkv, heads, scale, o, p);
  const auto [B, N, C, H, D] = attention_shape(qkv, heads);
  const int64_t C3 = 3 * C;
  const float* X = cf(qkv);
  float *O = mf(o), *P = mf(p);
  const float alpha = static_cast<float>(scale);
#pragma omp parallel for schedule(dynamic) if (B * H > 1 && nthreads() > 1)
  for (int64_t bh = 0; bh < B * H; ++bh) {
    const int64_t b = bh / H, h = bh % H;
    const float* q = X + b * N * C3 + h * D;
    float* s = P + bh * N * N;
    kc::sgemm(false, true, N, N, D, alpha, q, C3, q + C, C3, 0.f, s, N);  // s = scale·q kᵀ
    for (int64_t i = 0; i < N; ++i) {
      float* row = s + i * N;
      const float mx = *std::max_element(row, row + N);
      const float inv = 1.f / kc::exp_shifted_sum(row, mx, row, N);
      for (int64_t j = 0; j < N; ++j) row[j] *= inv;
    }
    kc::sgemm(false, false, N, D, N, 1.f, s, N, q + 2 * C, C3, 0.f, O + b * N * C + h * D, C);
  }
}

void CpuBackend::attention_backward(const Tensor& qkv, const Tensor& p, const Tensor& dout,
                                    int64_t heads, double scale, Tensor& dqkv) {
  if (!f32(qkv)) return Backend::attention_backward(qkv, p, dout, heads, scale, dqkv);
  const auto [B, N, C, H, D] = attention_shape(qkv, heads);
  const int64_t C3 = 3 * C;
  const float *X = cf(qkv), *P = cf(p), *G = cf(dout);
  float* DX = mf(dqkv);
  const float sc = static_cast<float>(scale);
#pragma omp parallel if (B * H > 1 && nthreads() > 1)
  {
    std::vector<float> ds(static_cast<size_t>(N * N));  // per thread: dp, then ds in place
#pragma omp for schedule(dynamic)
    for (int64_t bh = 0; bh < B * H; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      const float* q = X + b * N * C3 + h * D;
      const float* pr = P + bh * N * N;
      const float* g = G + b * N * C + h * D;
      float* dq = DX + b * N * C3 + h * D;
      kc::sgemm(true, false, N, D, N, 1.f, pr, N, g, C, 0.f, dq + 2 * C, C3);  // dv = pᵀ·do
      kc::sgemm(false, true, N, N, D, 1.f, g, C, q + 2 * C, C3, 0.f, ds.data(), N);  // dp = do·vᵀ
      for (int64_t i = 0; i < N; ++i) {  // ds = scale · p ∘ (dp − Σ_j dp·p)
        const float* pi = pr + i * N;
        float* di = ds.data() + i * N;
        float dot = 0;
        for (int64_t j = 0; j < N; ++j) dot += pi[j] * di[j];
        for (int64_t j = 0; j < N; ++j) di[j] = sc * pi[j] * (di[j] - dot);
      }
      kc::sgemm(false, false, N, D, N, 1.f, ds.data(), N, q + C, C3, 0.f, dq, C3);  // dq = ds·k
      kc::sgemm(true, false, N, D, N, 1.f, ds.data(), N, q, C3, 0.f, dq + C, C3);   // dk = dsᵀ·q
    }
  }
}

}  // namespace lethe
