// Device-side reduction helpers shared by batchnorm.cu, layernorm.cu and softmax.cu (device code:
// included only by .cu files). Warp reductions are shuffle trees; block reductions put one value
// per warp in a 32-float shared array and let every warp reduce it again, so all threads of the
// block get the same bits. Blocks are 1-D with a multiple of 32 threads.
#pragma once
#include <cmath>

#include "kernels/cuda/compat.h"

namespace lethe::LETHE_KNS::normk {

constexpr unsigned kFullMask = 0xffffffffu;

struct SumOp {
  __device__ __forceinline__ float operator()(float a, float b) const { return a + b; }
  __device__ static float identity() { return 0.0f; }
};
struct MaxOp {
  __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
  __device__ static float identity() { return -INFINITY; }
};

// Butterfly (xor) tree: every lane ends with the same value (each step is commutative).
template <class Op>
__device__ __forceinline__ float warp_allreduce(float v, Op op) {
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

// Every thread of the block gets the reduction. red: shared float[32]. The leading barrier lets
// a block call this repeatedly with the same red array.
template <class Op>
__device__ __forceinline__ float block_allreduce(float v, Op op, float* red) {
  v = warp_allreduce(v, op);
  const int lane = static_cast<int>(threadIdx.x & 31u), warp = static_cast<int>(threadIdx.x >> 5);
  const int nwarps = static_cast<int>(blockDim.x >> 5);
  __syncthreads();
  if (lane == 0) red[warp] = v;
  __syncthreads();
  v = lane < nwarps ? red[lane] : Op::identity();
  return warp_allreduce(v, op);
}

// A row handled by one warp (kBlock = false) or by the whole block (kBlock = true): rank and
// size index the row's elements among the group's threads.
template <bool kBlock>
struct RowGroup {
  int rank, size;
  float* red;  // shared float[32] (block groups only)
  template <class Op>
  __device__ __forceinline__ float allreduce(float v, Op op) const {
    if constexpr (kBlock)
      return block_allreduce(v, op, red);
    else
      return warp_allreduce(v, op);
  }
  __device__ __forceinline__ float sum(float v) const { return allreduce(v, SumOp{}); }
  __device__ __forceinline__ float max(float v) const { return allreduce(v, MaxOp{}); }
};

// The group (warp or block) owning a row of a row-per-warp / row-per-block launch over R rows
// (see row_grid) and the row index; false if the warp has no row (uniform over the group: a
// whole warp leaves together).
template <bool kBlock>
__device__ __forceinline__ bool row_of(int64_t R, float* red, RowGroup<kBlock>& g, int64_t& r) {
  if constexpr (kBlock) {
    g = RowGroup<kBlock>{static_cast<int>(threadIdx.x), static_cast<int>(blockDim.x), red};
    r = blockIdx.x;
  } else {
    g = RowGroup<kBlock>{static_cast<int>(threadIdx.x & 31u), 32, red};
    r = static_cast<int64_t>(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
  }
  return r < R;
}

// Welford/Chan running statistics: count, mean, sum of squared deviations.
struct Welford {
  float n, mean, m2;
};
__device__ __forceinline__ void welford_push(Welford& w, float v) {
  w.n += 1.0f;
  const float d = v - w.mean;
  w.mean += d / w.n;
  w.m2 += d * (v - w.mean);
}
__device__ __forceinline__ Welford welford_merge(Welford a, Welford b) {
  const float n = a.n + b.n;
  if (n == 0.0f) return a;
  const float d = b.mean - a.mean, f = b.n / n;
  return {n, a.mean + d * f, a.m2 + b.m2 + d * d * a.n * f};
}
// Tree over the warp with shfl_down: lane 0 holds the merge of all 32 lanes.
__device__ __forceinline__ Welford warp_welford(Welford w) {
  for (int o = 16; o > 0; o >>= 1) {
    Welford b{__shfl_down_sync(kFullMask, w.n, o), __shfl_down_sync(kFullMask, w.mean, o),
              __shfl_down_sync(kFullMask, w.m2, o)};
    w = welford_merge(w, b);
  }
  return w;
}
// Lane 0 of warp 0 holds the merge over the block. red: shared float[3][32].
__device__ __forceinline__ Welford block_welford(Welford w, float (*red)[32]) {
  w = warp_welford(w);
  const int lane = static_cast<int>(threadIdx.x & 31u), warp = static_cast<int>(threadIdx.x >> 5);
  const int nwarps = static_cast<int>(blockDim.x >> 5);
  if (lane == 0) {
    red[0][warp] = w.n;
    red[1][warp] = w.mean;
    red[2][warp] = w.m2;
  }
  __syncthreads();
  if (warp == 0) {
    w = lane < nwarps ? Welford{red[0][lane], red[1][lane], red[2][lane]}
                      : Welford{0.0f, 0.0f, 0.0f};
    w = warp_welford(w);
  }
  return w;
}

// Sum over the warp with shfl_down: lane 0 holds the total.
__device__ __forceinline__ float warp_sum_down(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(kFullMask, v, o);
  return v;
}

// Blocks of a row-per-warp (threads/32 rows per block) or row-per-block launch over R rows.
inline unsigned row_grid(int64_t R, int threads, bool block) {
  return static_cast<unsigned>(block ? R : LETHE_CEIL_DIV(R, threads / 32));
}

}  // namespace lethe::LETHE_KNS::normk
