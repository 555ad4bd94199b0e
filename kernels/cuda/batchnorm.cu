// Batch norm over (N, S) per channel of x [N,C,S] (S = H·W).
// Statistics: grid (C, splits) blocks of `threads`; each block runs a per-thread Welford over its
// contiguous slice of the channel's N·S elements, shifted by the channel's first element (walking
// (n, i) incrementally, no division per element), merges the threads with Chan's formula through a
// shfl_down tree and one shared array per block, and writes one partial (count, mean, M2). A
// one-warp-per-channel pass merges the `splits` partials in a fixed order (deterministic) and turns
// them into mean, biased variance and per-channel affine coefficients. Backward reduces Σdy and
// Σdy·(x−mean) and Σ(x−mean) the same way. Elementwise pass: out = a·u + b·(x − mean) + c with
// per-channel (mean, a, b, c) — forward (u absent), backward in training (u = dy, b and c carry the
// mean/var terms) and eval — over planes (grid (chunks of S, planes)) when S fills a block, else
// flat with 32/64-bit index math.
#include "kernels/cuda/batchnorm.cuh"

#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/cuda/norm_reduce.cuh"

namespace lethe::LETHE_KNS {
namespace {

using normk::Welford;

// Coefficient record per channel: mean, a (dy), b (x − mean), c (constant), and lo: the output
// centres on (x − mean) − lo. Forward: mean + lo is the mean split in two floats, so x − mean is
// exact near the mean and y keeps float precision when |mean| ≫ σ. Backward in training: lo = δ,
// how far the saved float mean sits from the batch mean (Σ(x − mean)/count).
constexpr int kCoef = 5;

// The (n, i) walk over a channel's elements j ∈ [j0, j1) with stride blockDim.x.
struct ChannelWalk {
  int64_t j, n, i, q, r;
  __device__ __forceinline__ ChannelWalk(int64_t j_start, int64_t S, int64_t step)
      : j(j_start), n(j_start / S), i(j_start % S), q(step / S), r(step % S) {}
  __device__ __forceinline__ void advance(int64_t step, int64_t S) {
    j += step;
    n += q;
    i += r;
    if (i >= S) {
      i -= S;
      ++n;
    }
  }
};

__device__ __forceinline__ void split_range(int64_t M, int64_t& j0, int64_t& j1) {
  const int64_t splits = gridDim.y, per = (M + splits - 1) / splits;
  j0 = static_cast<int64_t>(blockIdx.y) * per;
  j1 = j0 + per < M ? j0 + per : M;
}

__global__ void bn_partial_stats(const float* __restrict__ x, int64_t N, int64_t C, int64_t S,
                                 float* __restrict__ part) {
  LETHE_SHARED(float, red, [3][32]);
  const int64_t c = blockIdx.x, M = N * S, step = blockDim.x;
  int64_t j0, j1;
  split_range(M, j0, j1);
  // Shifted data (shift = the channel's first element, the same in every block): the running
  // means stay O(σ), so their rounding does not grow with |mean|.
  const float shift = x[c * S];
  Welford w{0.0f, 0.0f, 0.0f};
  for (ChannelWalk k(j0 + threadIdx.x, S, step); k.j < j1; k.advance(step, S))
    normk::welford_push(w, x[(k.n * C + c) * S + k.i] - shift);
  w = normk::block_welford(w, red);
  if (threadIdx.x == 0) {
    float* p = part + (c * gridDim.y + blockIdx.y) * 3;
    p[0] = w.n;
    p[1] = w.mean;
    p[2] = w.m2;
  }
}

// One warp per channel: merges the splits' partials, writes mean/var and forward coefficients.
__global__ void bn_finalize_stats(const float* __restrict__ x, int64_t S,
                                  const float* __restrict__ part, int splits,
                                  const float* __restrict__ weight, const float* __restrict__ bias,
                                  float eps, float* __restrict__ mean, float* __restrict__ var,
                                  float* __restrict__ coef) {
  const int64_t c = blockIdx.x;
  const int lane = static_cast<int>(threadIdx.x);
  Welford w{0.0f, 0.0f, 0.0f};
  for (int s = lane; s < splits; s += 32) {
    const float* p = part + (c * splits + s) * 3;
    w = normk::welford_merge(w, Welford{p[0], p[1], p[2]});
  }
  w = normk::warp_welford(w);
  if (lane == 0) {
    const float v = w.m2 / w.n, shift = x[c * S], mu = shift + w.mean;
    mean[c] = mu;
    var[c] = v;
    const float inv = 1.0f / sqrtf(v + eps);
    float* k = coef + c * kCoef;
    k[0] = mu;
    k[1] = 0.0f;
    k[2] = (weight ? weight[c] : 1.0f) * inv;
    k[3] = bias ? bias[c] : 0.0f;
    k[4] = (shift - mu) + w.mean;  // the rounding of shift + w.mean (Fast2Sum, |shift| ≥ |w.mean|
                                   // when the mean is large; harmless when it is not)
  }
}

// Thread per channel: coefficients from given statistics. backward: dx = g·inv·dy.
__global__ void bn_coef_eval(const float* __restrict__ weight, const float* __restrict__ bias,
                             const float* __restrict__ mean, const float* __restrict__ var,
                             float eps, int64_t C, bool backward, float* __restrict__ coef) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const float scale = (weight ? weight[c] : 1.0f) / sqrtf(var[c] + eps);
  float* k = coef + c * kCoef;
  k[0] = mean[c];
  k[1] = backward ? scale : 0.0f;
  k[2] = backward ? 0.0f : scale;
  k[3] = backward ? 0.0f : (bias ? bias[c] : 0.0f);
  k[4] = 0.0f;
}

// Σdy, Σdy·(x − mean) and Σ(x − mean) over a block's slice of the channel.
__global__ void bn_partial_grad(const float* __restrict__ dy, const float* __restrict__ x,
                                const float* __restrict__ mean, int64_t N, int64_t C, int64_t S,
                                float* __restrict__ part) {
  LETHE_SHARED(float, red, [3][32]);
  const int64_t c = blockIdx.x, M = N * S, step = blockDim.x;
  int64_t j0, j1;
  split_range(M, j0, j1);
  const float mu = mean[c];
  float s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
  for (ChannelWalk k(j0 + threadIdx.x, S, step); k.j < j1; k.advance(step, S)) {
    const int64_t e = (k.n * C + c) * S + k.i;
    const float g = dy[e], d = x[e] - mu;
    s1 += g;
    s2 += g * d;
    s3 += d;
  }
  s1 = normk::warp_sum_down(s1);
  s2 = normk::warp_sum_down(s2);
  s3 = normk::warp_sum_down(s3);
  const int lane = static_cast<int>(threadIdx.x & 31u), warp = static_cast<int>(threadIdx.x >> 5);
  const int nwarps = static_cast<int>(blockDim.x >> 5);
  if (lane == 0) {
    red[0][warp] = s1;
    red[1][warp] = s2;
    red[2][warp] = s3;
  }
  __syncthreads();
  if (warp == 0) {
    s1 = normk::warp_sum_down(lane < nwarps ? red[0][lane] : 0.0f);
    s2 = normk::warp_sum_down(lane < nwarps ? red[1][lane] : 0.0f);
    s3 = normk::warp_sum_down(lane < nwarps ? red[2][lane] : 0.0f);
    if (lane == 0) {
      float* p = part + (c * gridDim.y + blockIdx.y) * 3;
      p[0] = s1;
      p[1] = s2;
      p[2] = s3;
    }
  }
}

// One warp per channel: Σdy, Σdy·x̂ from the partials; dweight, dbias and dx coefficients.
// In training x̂ centres on the batch mean: the float mean's offset δ = Σ(x − mean)/count is
// taken out (Σdy·(x − mean − δ) = Σdy·(x − mean) − δ·Σdy).
__global__ void bn_finalize_grad(const float* __restrict__ part, int splits,
                                 const float* __restrict__ weight, const float* __restrict__ mean,
                                 const float* __restrict__ var, float eps, float count,
                                 bool training, float* __restrict__ dweight,
                                 float* __restrict__ dbias, float* __restrict__ coef) {
  const int64_t c = blockIdx.x;
  const int lane = static_cast<int>(threadIdx.x);
  float s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
  for (int s = lane; s < splits; s += 32) {
    s1 += part[(c * splits + s) * 3];
    s2 += part[(c * splits + s) * 3 + 1];
    s3 += part[(c * splits + s) * 3 + 2];
  }
  s1 = normk::warp_sum_down(s1);
  s2 = normk::warp_sum_down(s2);
  s3 = normk::warp_sum_down(s3);
  if (lane == 0) {
    const float inv = 1.0f / sqrtf(var[c] + eps);
    const float delta = training && count > 0.0f ? s3 / count : 0.0f;
    const float sdyx = (s2 - delta * s1) * inv;  // Σ dy · x̂
    if (dweight) dweight[c] = sdyx;
    if (dbias) dbias[c] = s1;
    const float a = (weight ? weight[c] : 1.0f) * inv;
    float* k = coef + c * kCoef;
    k[0] = mean[c];
    k[1] = a;
    k[2] = training ? -a * inv * sdyx / count : 0.0f;
    k[3] = training ? -a * s1 / count : 0.0f;
    k[4] = delta;
  }
}

__device__ __forceinline__ float bn_out(const float* k, float xv, const float* u, int64_t e) {
  float o = k[2] * ((xv - k[0]) - k[4]) + k[3];
  if (u) o += k[1] * u[e];
  return o;
}

// grid (chunks of S, planes N·C, grid-strided in both).
__global__ void bn_affine_planes(const float* __restrict__ x, const float* __restrict__ u,
                                 const float* __restrict__ coef, int64_t C, int64_t S,
                                 int64_t planes, float* __restrict__ out) {
  for (int64_t p = blockIdx.y; p < planes; p += gridDim.y) {
    const float* k = coef + (p % C) * kCoef;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < S;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
      const int64_t e = p * S + i;
      out[e] = bn_out(k, x[e], u, e);
    }
  }
}

// Flat grid-stride; Index is uint32_t when the tensor allows (cheaper division).
template <class Index>
__global__ void bn_affine_flat(const float* __restrict__ x, const float* __restrict__ u,
                               const float* __restrict__ coef, Index C, Index S, Index total,
                               float* __restrict__ out) {
  for (Index e = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<Index>(gridDim.x) * blockDim.x) {
    const float* k = coef + ((e / S) % C) * kCoef;
    out[e] = bn_out(k, x[e], u, static_cast<int64_t>(e));
  }
}

void launch_affine(const float* x, const float* u, const float* coef, int64_t N, int64_t C,
                   int64_t S, float* out, cudaStream_t stream, int threads) {
  const int64_t planes = N * C, total = planes * S;
  if (total == 0) return;
  if (S >= threads) {
    const int64_t chunks = LETHE_CEIL_DIV(S, threads);
    dim3 grid(static_cast<unsigned>(chunks < 1024 ? chunks : 1024),
              static_cast<unsigned>(planes < 65535 ? planes : 65535));
    LETHE_LAUNCH(bn_affine_planes, grid, threads, 0, stream, x, u, coef, C, S, planes, out);
  } else {
    const unsigned grid = grid_for(total, threads);
    if (total < (int64_t{1} << 31)) {
      auto k = bn_affine_flat<uint32_t>;
      LETHE_LAUNCH(k, grid, threads, 0, stream, x, u, coef, static_cast<uint32_t>(C),
                   static_cast<uint32_t>(S), static_cast<uint32_t>(total), out);
    } else {
      auto k = bn_affine_flat<uint64_t>;
      LETHE_LAUNCH(k, grid, threads, 0, stream, x, u, coef, static_cast<uint64_t>(C),
                   static_cast<uint64_t>(S), static_cast<uint64_t>(total), out);
    }
  }
}

}  // namespace

int batchnorm_resolve_splits(int64_t N, int64_t C, int64_t S, int threads, int splits) {
  if (splits > 0) return splits < 65535 ? splits : 65535;
  const int64_t M = N * S;
  const int64_t by_size = LETHE_CEIL_DIV(M, int64_t{threads} * 8);      // ≥ 8 elements a thread
  const int64_t by_grid = LETHE_CEIL_DIV(int64_t{512}, C > 0 ? C : 1);  // ~512 blocks in all
  int64_t s = by_size < by_grid ? by_size : by_grid;
  if (s < 1) s = 1;
  if (s > 1024) s = 1024;
  return static_cast<int>(s);
}

int64_t batchnorm_workspace_floats(int64_t N, int64_t C, int64_t S, int threads, int splits) {
  return C * batchnorm_resolve_splits(N, C, S, threads, splits) * 3 + C * kCoef;
}

int64_t batchnorm_eval_workspace_floats(int64_t C) {
  return C * kCoef;
}

void batchnorm_forward_train(const float* x, const float* weight, const float* bias, float* y,
                             float* mean, float* var, int64_t N, int64_t C, int64_t S, float eps,
                             float* workspace, cudaStream_t stream, int threads, int splits) {
  check_threads(threads, "batchnorm_forward_train");
  if (C == 0 || N * S == 0) return;  // no elements: no statistics
  splits = batchnorm_resolve_splits(N, C, S, threads, splits);
  float* part = workspace;
  float* coef = workspace + C * splits * 3;
  LETHE_LAUNCH(bn_partial_stats, dim3(static_cast<unsigned>(C), static_cast<unsigned>(splits)),
               threads, 0, stream, x, N, C, S, part);
  LETHE_LAUNCH(bn_finalize_stats, static_cast<unsigned>(C), 32, 0, stream, x, S, part, splits,
               weight, bias, eps, mean, var, coef);
  launch_affine(x, nullptr, coef, N, C, S, y, stream, threads);
}

void batchnorm_forward_eval(const float* x, const float* weight, const float* bias,
                            const float* mean, const float* var, float* y, int64_t N, int64_t C,
                            int64_t S, float eps, float* workspace, cudaStream_t stream,
                            int threads) {
  check_threads(threads, "batchnorm_forward_eval");
  if (C == 0) return;
  float* coef = workspace;
  LETHE_LAUNCH(bn_coef_eval, static_cast<unsigned>(LETHE_CEIL_DIV(C, threads)), threads, 0, stream,
               weight, bias, mean, var, eps, C, false, coef);
  launch_affine(x, nullptr, coef, N, C, S, y, stream, threads);
}

void batchnorm_backward(const float* dy, const float* x, const float* weight, const float* mean,
                        const float* var, int64_t N, int64_t C, int64_t S, float eps, bool training,
                        float* dx, float* dweight, float* dbias, float* workspace,
                        cudaStream_t stream, int threads, int splits) {
  check_threads(threads, "batchnorm_backward");
  if (C == 0 || (!dx && !dweight && !dbias)) return;
  splits = batchnorm_resolve_splits(N, C, S, threads, splits);
  float* part = workspace;
  float* coef = workspace + C * splits * 3;
  if (!training && !dweight && !dbias) {
    LETHE_LAUNCH(bn_coef_eval, static_cast<unsigned>(LETHE_CEIL_DIV(C, threads)), threads, 0,
                 stream, weight, nullptr, mean, var, eps, C, true, coef);
  } else {
    LETHE_LAUNCH(bn_partial_grad, dim3(static_cast<unsigned>(C), static_cast<unsigned>(splits)),
                 threads, 0, stream, dy, x, mean, N, C, S, part);
    LETHE_LAUNCH(bn_finalize_grad, static_cast<unsigned>(C), 32, 0, stream, part, splits, weight,
                 mean, var, eps, static_cast<float>(N * S), training, dweight, dbias, coef);
  }
  if (dx) launch_affine(x, dy, coef, N, C, S, dx, stream, threads);
}

}  // namespace lethe::LETHE_KNS
