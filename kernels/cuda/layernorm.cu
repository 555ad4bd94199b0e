// Layer norm over the last dimension D of x [R,D].
// Forward and dx: a row per warp (blocks of `threads` hold threads/32 rows; lanes stride the row,
// butterfly-shuffle sums) or, for wide rows, a row per block (shuffles plus a 32-float shared
// exchange). Statistics are two-pass (mean of x − x[0], then Σ(x−mean)²) over the row, re-read
// from L1/L2 rather than one-pass sums, so large means do not cancel; the mean is carried as
// hi + lo floats in the forward. The backward first finds each row's δ = mean(x − saved float
// mean) (a row pass into the workspace) and centres x̂ on mean + δ in dx and dweight, so the
// float rounding of the saved mean does not enter the gradients.
// dweight/dbias are column sums over rows: grid (⌈D/32⌉, splits) blocks of 32×(threads/32); lane
// x owns a column (coalesced row reads), thread rows stride the split's rows, and a transposed
// shared tile [32][33] is reduced by warps; with splits > 1 the partials [splits][D] go to the
// workspace and a thread-per-column pass adds them in split order (deterministic, no atomics).
#include "kernels/cuda/layernorm.cuh"

#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/cuda/norm_reduce.cuh"

namespace lethe::LETHE_KNS {
namespace {

using normk::row_grid;
using normk::row_of;
using normk::RowGroup;

template <bool kBlock>
__global__ void ln_forward(const float* __restrict__ x, const float* __restrict__ weight,
                           const float* __restrict__ bias, float* __restrict__ y,
                           float* __restrict__ mean, float* __restrict__ rstd, int64_t R, int64_t D,
                           float eps) {
  LETHE_SHARED(float, red, [32]);
  RowGroup<kBlock> g{0, 0, nullptr};
  int64_t r;
  if (!row_of<kBlock>(R, red, g, r)) return;
  const float* row = x + r * D;
  // Sums shifted by the row's first element keep their rounding O(σ), not O(|mean|); the mean
  // is then kept as hi + lo (Fast2Sum) so x − mean stays exact near the mean.
  const float x0 = D > 0 ? row[0] : 0.0f;
  float s = 0.0f;
  for (int64_t d = g.rank; d < D; d += g.size) s += row[d] - x0;
  const float off = g.sum(s) / static_cast<float>(D);
  const float mu = x0 + off, lo = (x0 - mu) + off;
  float v = 0.0f;
  for (int64_t d = g.rank; d < D; d += g.size) {
    const float t = (row[d] - mu) - lo;
    v += t * t;
  }
  const float inv = 1.0f / sqrtf(g.sum(v) / static_cast<float>(D) + eps);
  if (g.rank == 0) {
    mean[r] = mu;
    rstd[r] = inv;
  }
  float* out = y + r * D;
  for (int64_t d = g.rank; d < D; d += g.size) {
    float t = ((row[d] - mu) - lo) * inv;
    if (weight) t *= weight[d];
    if (bias) t += bias[d];
    out[d] = t;
  }
}

// δ[r] = Σ_d (x[r,d] − mean[r]) / D: how far the saved float mean sits from the mean the forward
// centred on (its hi + lo); the backward centres x̂ on mean + δ. Row ownership as the forward.
template <bool kBlock>
__global__ void ln_row_delta(const float* __restrict__ x, const float* __restrict__ mean, int64_t R,
                             int64_t D, float* __restrict__ delta) {
  LETHE_SHARED(float, red, [32]);
  RowGroup<kBlock> g{0, 0, nullptr};
  int64_t r;
  if (!row_of<kBlock>(R, red, g, r)) return;
  const float* xr = x + r * D;
  const float mu = mean[r];
  float s = 0.0f;
  for (int64_t d = g.rank; d < D; d += g.size) s += xr[d] - mu;
  const float t = g.sum(s) / static_cast<float>(D);
  if (g.rank == 0) delta[r] = t;
}

template <bool kBlock>
__global__ void ln_backward_dx(const float* __restrict__ dy, const float* __restrict__ x,
                               const float* __restrict__ weight, const float* __restrict__ mean,
                               const float* __restrict__ delta, const float* __restrict__ rstd,
                               float* __restrict__ dx, int64_t R, int64_t D) {
  LETHE_SHARED(float, red, [32]);
  RowGroup<kBlock> g{0, 0, nullptr};
  int64_t r;
  if (!row_of<kBlock>(R, red, g, r)) return;
  const float *xr = x + r * D, *gr = dy + r * D;
  const float mu = mean[r], dl = delta[r], inv = rstd[r];
  float s1 = 0.0f, s2 = 0.0f;
  for (int64_t d = g.rank; d < D; d += g.size) {
    const float gw = gr[d] * (weight ? weight[d] : 1.0f);
    s1 += gw;
    s2 += gw * ((xr[d] - mu) - dl) * inv;
  }
  const float m1 = g.sum(s1) / static_cast<float>(D), m2 = g.sum(s2) / static_cast<float>(D);
  float* out = dx + r * D;
  for (int64_t d = g.rank; d < D; d += g.size) {
    const float gw = gr[d] * (weight ? weight[d] : 1.0f);
    out[d] = inv * (gw - m1 - ((xr[d] - mu) - dl) * inv * m2);
  }
}

// Block (32, by): column blockIdx.x·32 + threadIdx.x, rows of split blockIdx.y strided by by.
// Writes dw/db at [blockIdx.y·D + d] (the outputs themselves when there is one split).
__global__ void ln_backward_params(const float* __restrict__ dy, const float* __restrict__ x,
                                   const float* __restrict__ mean, const float* __restrict__ delta,
                                   const float* __restrict__ rstd, int64_t R, int64_t D,
                                   float* __restrict__ dw, float* __restrict__ db) {
  LETHE_SHARED(float, tw, [32][33]);
  LETHE_SHARED(float, tb, [32][33]);
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int by = static_cast<int>(blockDim.y);
  const int64_t d = static_cast<int64_t>(blockIdx.x) * 32 + tx;
  const int64_t per = (R + gridDim.y - 1) / gridDim.y;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * per;
  const int64_t r1 = r0 + per < R ? r0 + per : R;
  float sw = 0.0f, sb = 0.0f;
  if (d < D) {
    for (int64_t r = r0 + ty; r < r1; r += by) {
      const float g = dy[r * D + d];
      sw += g * ((x[r * D + d] - mean[r]) - delta[r]) * rstd[r];
      sb += g;
    }
  }
  tw[ty][tx] = sw;
  tb[ty][tx] = sb;
  __syncthreads();
  // Warp ty reduces columns ty, ty + by, ...: lane l holds thread-row l's partial.
  for (int col = ty; col < 32; col += by) {
    float a = tx < by ? tw[tx][col] : 0.0f;
    float b = tx < by ? tb[tx][col] : 0.0f;
    a = normk::warp_sum_down(a);
    b = normk::warp_sum_down(b);
    const int64_t dc = static_cast<int64_t>(blockIdx.x) * 32 + col;
    if (tx == 0 && dc < D) {
      if (dw) dw[blockIdx.y * D + dc] = a;
      if (db) db[blockIdx.y * D + dc] = b;
    }
  }
}

// Thread per column: adds the splits' partials in order.
__global__ void ln_params_final(const float* __restrict__ pw, const float* __restrict__ pb,
                                int splits, int64_t D, float* __restrict__ dw,
                                float* __restrict__ db) {
  const int64_t d = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (d >= D) return;
  float a = 0.0f, b = 0.0f;
  for (int s = 0; s < splits; ++s) {
    a += pw[s * D + d];
    b += pb[s * D + d];
  }
  if (dw) dw[d] = a;
  if (db) db[d] = b;
}

bool block_rows(int64_t D, int row_mode) {
  return row_mode == kRowBlock || (row_mode == kRowAuto && D > 1024);
}

}  // namespace

void layernorm_forward(const float* x, const float* weight, const float* bias, float* y,
                       float* mean, float* rstd, int64_t R, int64_t D, float eps,
                       cudaStream_t stream, int threads, int row_mode) {
  check_threads(threads, "layernorm_forward");
  if (R == 0) return;
  const bool blk = block_rows(D, row_mode);
  if (blk) {
    auto k = ln_forward<true>;
    LETHE_LAUNCH(k, row_grid(R, threads, blk), threads, 0, stream, x, weight, bias, y, mean, rstd,
                 R, D, eps);
  } else {
    auto k = ln_forward<false>;
    LETHE_LAUNCH(k, row_grid(R, threads, blk), threads, 0, stream, x, weight, bias, y, mean, rstd,
                 R, D, eps);
  }
}

int layernorm_resolve_splits(int64_t R, int64_t D, int threads, int splits) {
  if (splits > 0) return splits < 65535 ? splits : 65535;
  const int64_t by = threads / 32, cols = LETHE_CEIL_DIV(D, 32);
  const int64_t by_size = LETHE_CEIL_DIV(R, by * 16);          // ≥ 16 rows a thread
  const int64_t by_grid = LETHE_CEIL_DIV(int64_t{256}, cols);  // ~256 blocks in all
  int64_t s = by_size < by_grid ? by_size : by_grid;
  if (s < 1) s = 1;
  if (s > 1024) s = 1024;
  return static_cast<int>(s);
}

int64_t layernorm_workspace_floats(int64_t R, int64_t D, int threads, int splits) {
  const int s = layernorm_resolve_splits(R, D, threads, splits);
  return R + (s > 1 ? 2 * s * D : 0);  // δ per row, then the split partials
}

void layernorm_backward(const float* dy, const float* x, const float* weight, const float* mean,
                        const float* rstd, float* dx, float* dweight, float* dbias, int64_t R,
                        int64_t D, float* workspace, cudaStream_t stream, int threads, int row_mode,
                        int splits) {
  check_threads(threads, "layernorm_backward");
  if (R == 0 || D == 0) {
    if (D > 0 && (dweight || dbias)) {  // no rows: the column sums are zero
      if (dweight) LETHE_CUDA_CHECK(cudaMemsetAsync(dweight, 0, D * sizeof(float), stream));
      if (dbias) LETHE_CUDA_CHECK(cudaMemsetAsync(dbias, 0, D * sizeof(float), stream));
    }
    return;
  }
  if (!dx && !dweight && !dbias) return;
  float* delta = workspace;
  const bool blk = block_rows(D, row_mode);
  if (blk) {
    auto k = ln_row_delta<true>;
    LETHE_LAUNCH(k, row_grid(R, threads, blk), threads, 0, stream, x, mean, R, D, delta);
  } else {
    auto k = ln_row_delta<false>;
    LETHE_LAUNCH(k, row_grid(R, threads, blk), threads, 0, stream, x, mean, R, D, delta);
  }
  if (dx) {
    if (blk) {
      auto k = ln_backward_dx<true>;
      LETHE_LAUNCH(k, row_grid(R, threads, blk), threads, 0, stream, dy, x, weight, mean, delta,
                   rstd, dx, R, D);
    } else {
      auto k = ln_backward_dx<false>;
      LETHE_LAUNCH(k, row_grid(R, threads, blk), threads, 0, stream, dy, x, weight, mean, delta,
                   rstd, dx, R, D);
    }
  }
  if (!dweight && !dbias) return;
  splits = layernorm_resolve_splits(R, D, threads, splits);
  dim3 grid(static_cast<unsigned>(LETHE_CEIL_DIV(D, 32)), static_cast<unsigned>(splits));
  dim3 block(32, static_cast<unsigned>(threads / 32));
  if (splits == 1) {
    LETHE_LAUNCH(ln_backward_params, grid, block, 0, stream, dy, x, mean, delta, rstd, R, D,
                 dweight, dbias);
    return;
  }
  float *pw = workspace + R, *pb = pw + static_cast<int64_t>(splits) * D;
  LETHE_LAUNCH(ln_backward_params, grid, block, 0, stream, dy, x, mean, delta, rstd, R, D, pw, pb);
  LETHE_LAUNCH(ln_params_final, static_cast<unsigned>(LETHE_CEIL_DIV(D, 256)), 256, 0, stream, pw,
               pb, splits, D, dweight, dbias);
}

}  // namespace lethe::LETHE_KNS
