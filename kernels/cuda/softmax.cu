// Softmax, log-softmax and fused cross-entropy over the last dimension of [R,C].
// A row belongs to one warp (blocks of `threads` hold threads/32 rows; for C ≤ 1024) or to a
// whole block (wide rows): the group's threads stride the row (coalesced), reduce with
// butterfly shuffles (plus one 32-float shared exchange for blocks) so every thread holds the
// row's max and Σexp(x − max); the output pass re-reads the row (from cache). Cross-entropy
// needs max, Σexp(x − max) and Σx per row and writes one loss per row (forward) or the row of
// dloss·(softmax − smoothed one-hot) (backward); the row's target is read once by every thread.
// The loss and gradient formulas are kernels/common/softmax.h, shared with the CPU kernels.
#include "kernels/cuda/softmax.cuh"

#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/common/softmax.h"
#include "kernels/cuda/norm_reduce.cuh"

namespace lethe::LETHE_KNS {
namespace {

using normk::row_grid;
using normk::row_of;
using normk::RowGroup;

// Row max and log Σexp(x − max).
template <bool kBlock>
__device__ __forceinline__ void row_lse(const RowGroup<kBlock>& g, const float* row, int64_t C,
                                        float& mx, float& log_sum) {
  float m = -INFINITY;
  for (int64_t c = g.rank; c < C; c += g.size) m = fmaxf(m, row[c]);
  mx = g.max(m);
  float s = 0.0f;
  for (int64_t c = g.rank; c < C; c += g.size) s += expf(row[c] - mx);
  log_sum = logf(g.sum(s));
}

template <bool kBlock, bool kLog>
__global__ void softmax_fwd(const float* __restrict__ x, float* __restrict__ y, int64_t R,
                            int64_t C) {
  LETHE_SHARED(float, red, [32]);
  RowGroup<kBlock> g{0, 0, nullptr};
  int64_t r;
  if (!row_of<kBlock>(R, red, g, r)) return;
  const float* row = x + r * C;
  float mx, ls;
  row_lse(g, row, C, mx, ls);
  float* out = y + r * C;
  for (int64_t c = g.rank; c < C; c += g.size)
    out[c] = kLog ? row[c] - mx - ls : expf(row[c] - mx - ls);
}

template <bool kBlock, bool kLog>
__global__ void softmax_bwd(const float* __restrict__ y, const float* __restrict__ dy,
                            float* __restrict__ dx, int64_t R, int64_t C) {
  LETHE_SHARED(float, red, [32]);
  RowGroup<kBlock> g{0, 0, nullptr};
  int64_t r;
  if (!row_of<kBlock>(R, red, g, r)) return;
  const float *yr = y + r * C, *gr = dy + r * C;
  float s = 0.0f;
  for (int64_t c = g.rank; c < C; c += g.size) s += kLog ? gr[c] : gr[c] * yr[c];
  s = g.sum(s);
  float* out = dx + r * C;
  for (int64_t c = g.rank; c < C; c += g.size)
    out[c] = kLog ? gr[c] - expf(yr[c]) * s : yr[c] * (gr[c] - s);
}

template <bool kBlock>
__global__ void ce_fwd(const float* __restrict__ logits, const int64_t* __restrict__ target,
                       float* __restrict__ loss, int64_t N, int64_t C, float smoothing) {
  LETHE_SHARED(float, red, [32]);
  RowGroup<kBlock> g{0, 0, nullptr};
  int64_t r;
  if (!row_of<kBlock>(N, red, g, r)) return;
  const float* row = logits + r * C;
  float mx, ls;
  row_lse(g, row, C, mx, ls);
  float sx = 0.0f;  // Σ (x − max): keeps the smoothing term free of cancellation
  for (int64_t c = g.rank; c < C; c += g.size) sx += row[c] - mx;
  sx = g.sum(sx);
  if (g.rank == 0) {
    const int64_t t = target[r];
    const float xt = (t >= 0 && t < C) ? row[t] : NAN;
    loss[r] = kernels::ce_smoothed_loss(mx, ls, sx, xt, C, smoothing);
  }
}

template <bool kBlock>
__global__ void ce_bwd(const float* __restrict__ logits, const int64_t* __restrict__ target,
                       const float* __restrict__ dloss, float* __restrict__ dx, int64_t N,
                       int64_t C, float smoothing) {
  LETHE_SHARED(float, red, [32]);
  RowGroup<kBlock> g{0, 0, nullptr};
  int64_t r;
  if (!row_of<kBlock>(N, red, g, r)) return;
  const float* row = logits + r * C;
  float mx, ls;
  row_lse(g, row, C, mx, ls);
  const int64_t t = target[r];
  const float gl = (t >= 0 && t < C) ? dloss[r] : NAN;
  float* out = dx + r * C;
  for (int64_t c = g.rank; c < C; c += g.size)
    out[c] = kernels::ce_smoothed_grad(expf(row[c] - mx - ls), c == t, C, smoothing, gl);
}

bool block_rows(int64_t C, int row_mode) {
  return row_mode == kSmRowBlock || (row_mode == kSmRowAuto && C > 1024);
}

}  // namespace

void softmax_forward(const float* x, float* y, int64_t R, int64_t C, bool log, cudaStream_t stream,
                     int threads, int row_mode) {
  check_threads(threads, "softmax_forward");
  if (R == 0 || C == 0) return;
  const bool blk = block_rows(C, row_mode);
  const unsigned grid = row_grid(R, threads, blk);
  if (blk && log) {
    auto k = softmax_fwd<true, true>;
    LETHE_LAUNCH(k, grid, threads, 0, stream, x, y, R, C);
  } else if (blk) {
    auto k = softmax_fwd<true, false>;
    LETHE_LAUNCH(k, grid, threads, 0, stream, x, y, R, C);
  } else if (log) {
    auto k = softmax_fwd<false, true>;
    LETHE_LAUNCH(k, grid, threads, 0, stream, x, y, R, C);
  } else {
    auto k = softmax_fwd<false, false>;
    LETHE_LAUNCH(k, grid, threads, 0, stream, x, y, R, C);
  }
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t R, int64_t C, bool log,
                      cudaStream_t stream, int threads, int row_mode) {
  check_threads(threads, "softmax_backward");
  if (R == 0 || C == 0) return;
  const bool blk = block_rows(C, row_mode);
  const unsigned grid = row_grid(R, threads, blk);
  if (blk && log) {
    auto k = softmax_bwd<true, true>;
    LETHE_LAUNCH(k, grid, threads, 0, stream, y, dy, dx, R, C);
  } else if (blk) {
    auto k = softmax_bwd<true, false>;
    LETHE_LAUNCH(k, grid, threads, 0, stream, y, dy, dx, R, C);
  } else if (log) {
    auto k = softmax_bwd<false, true>;
    LETHE_LAUNCH(k, grid, threads, 0, stream, y, dy, dx, R, C);
  } else {
    auto k = softmax_bwd<false, false>;
    LETHE_LAUNCH(k, grid, threads, 0, stream, y, dy, dx, R, C);
  }
}

void cross_entropy_forward(const float* logits, const int64_t* target, float* loss, int64_t N,
                           int64_t C, float smoothing, cudaStream_t stream, int threads,
                           int row_mode) {
  check_threads(threads, "cross_entropy_forward");
  if (N == 0 || C == 0) return;
  const bool blk = block_rows(C, row_mode);
  const unsigned grid = row_grid(N, threads, blk);
  if (blk) {
    auto k = ce_fwd<true>;
    LETHE_LAUNCH(k, grid, threads, 0, stream, logits, target, loss, N, C, smoothing);
  } else {
    auto k = ce_fwd<false>;
    LETHE_LAUNCH(k, grid, threads, 0, stream, logits, target, loss, N, C, smoothing);
  }
}

void cross_entropy_backward(const float* logits, const int64_t* target, const float* dloss,
                            float* dx, int64_t N, int64_t C, float smoothing, cudaStream_t stream,
                            int threads, int row_mode) {
  check_threads(threads, "cross_entropy_backward");
  if (N == 0 || C == 0) return;
  const bool blk = block_rows(C, row_mode);
  const unsigned grid = row_grid(N, threads, blk);
  if (blk) {
    auto k = ce_bwd<true>;
    LETHE_LAUNCH(k, grid, threads, 0, stream, logits, target, dloss, dx, N, C, smoothing);
  } else {
    auto k = ce_bwd<false>;
    LETHE_LAUNCH(k, grid, threads, 0, stream, logits, target, dloss, dx, N, C, smoothing);
  }
}

}  // namespace lethe::LETHE_KNS
