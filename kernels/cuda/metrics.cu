// Row metrics of logits and per-sample L2 normalization.
// - row_metrics: one warp per row (blockDim/32 rows per block, grid-stride over rows). Each lane
//   reads columns lane, lane+32, ... (coalesced) once and keeps an online softmax state: running
//   max m with its first index, s = Σ e^(z−m) and t = Σ e^(z−m)(z−m); lanes merge states with
//   xor shuffles (rescaling by e^(m_i−M)). Then confidence = 1/s and entropy = log s − t/s, so
//   the row is read exactly once and nothing is staged in memory.
// - l2_normalize_rows: one block per row (grid-stride), sum of squares by warp shuffles plus a
//   [32] shared array of warp partials, the norm broadcast through shared memory, then a second
//   coalesced pass writes x / (norm + eps) (or / max(norm, eps)).
#include <cmath>
#include <cstdint>

#include "kernels/cuda/metrics.cuh"

namespace lethe::LETHE_KNS {
namespace {

struct SoftmaxState {
  float m;  // running max (−inf when empty)
  int arg;  // first index of the max
  float s;  // Σ e^(z−m)
  float t;  // Σ e^(z−m)·(z−m)
};

// Rescales state a to the max M (M >= a.m); an empty state contributes nothing.
__device__ __forceinline__ void rescale(const SoftmaxState& a, float M, float& s, float& t) {
  if (a.s == 0.f) {
    s = 0.f;
    t = 0.f;
    return;
  }
  const float f = expf(a.m - M);
  s = f * a.s;
  t = f * (a.t + (a.m - M) * a.s);
}

__device__ __forceinline__ SoftmaxState merge(const SoftmaxState& a, const SoftmaxState& b) {
  SoftmaxState r;
  r.m = a.m > b.m ? a.m : b.m;
  if (a.s == 0.f) return b;
  if (b.s == 0.f) return a;
  r.arg = a.m > b.m ? a.arg : (b.m > a.m ? b.arg : (a.arg < b.arg ? a.arg : b.arg));
  float sa, ta, sb, tb;
  rescale(a, r.m, sa, ta);
  rescale(b, r.m, sb, tb);
  r.s = sa + sb;
  r.t = ta + tb;
  return r;
}

__global__ void row_metrics_kernel(const float* __restrict__ z, int64_t N, int64_t C,
                                   int64_t* __restrict__ argmax, float* __restrict__ conf,
                                   float* __restrict__ ent) {
  const int lane = static_cast<int>(threadIdx.x & 31);
  const int64_t warps = blockDim.x >> 5;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * warps + (threadIdx.x >> 5); row < N;
       row += static_cast<int64_t>(gridDim.x) * warps) {
    const float* zr = z + row * C;
    SoftmaxState st{-INFINITY, 0, 0.f, 0.f};
    for (int64_t c = lane; c < C; c += 32) {
      const float v = zr[c];
      if (st.s == 0.f || v > st.m) {
        const float f = st.s == 0.f ? 0.f : expf(st.m - v);
        st.t = st.s == 0.f ? 0.f : f * (st.t + (st.m - v) * st.s);
        st.s = f * st.s + 1.f;
        st.m = v;
        st.arg = static_cast<int>(c);
      } else {
        const float d = v - st.m;
        const float e = expf(d);
        st.s += e;
        st.t += e * d;
      }
    }
    for (int off = 16; off > 0; off >>= 1) {
      SoftmaxState o;
      o.m = __shfl_xor_sync(0xffffffffu, st.m, off);
      o.arg = __shfl_xor_sync(0xffffffffu, st.arg, off);
      o.s = __shfl_xor_sync(0xffffffffu, st.s, off);
      o.t = __shfl_xor_sync(0xffffffffu, st.t, off);
      st = merge(st, o);
    }
    if (lane == 0) {
      if (argmax) argmax[row] = st.arg;
      if (conf) conf[row] = 1.f / st.s;
      if (ent) ent[row] = logf(st.s) - st.t / st.s;
    }
  }
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__global__ void l2_normalize_kernel(const float* __restrict__ x, float* __restrict__ y,
                                    float* __restrict__ norms, int64_t N, int64_t D, float eps,
                                    int additive) {
  LETHE_SHARED(float, part, [32]);
  LETHE_SHARED(float, denom, [1]);
  const int tid = static_cast<int>(threadIdx.x);
  const int nw = static_cast<int>(blockDim.x >> 5);
  for (int64_t row = blockIdx.x; row < N; row += gridDim.x) {
    const float* xr = x + row * D;
    float acc = 0.f;
    for (int64_t i = tid; i < D; i += blockDim.x) acc += xr[i] * xr[i];
    acc = warp_sum(acc);
    if ((tid & 31) == 0) part[tid >> 5] = acc;
    __syncthreads();
    if (tid < 32) {
      float v = tid < nw ? part[tid] : 0.f;
      v = warp_sum(v);
      if (tid == 0) {
        const float nrm = sqrtf(v);
        if (norms) norms[row] = nrm;
        denom[0] = additive ? nrm + eps : (nrm > eps ? nrm : eps);
      }
    }
    __syncthreads();
    const float dn = denom[0];
    float* yr = y + row * D;
    for (int64_t i = tid; i < D; i += blockDim.x) yr[i] = xr[i] / dn;
    __syncthreads();  // part/denom are rewritten by the next row
  }
}

}  // namespace

void row_metrics_f32(const float* logits, int64_t N, int64_t C, int64_t* argmax, float* confidence,
                     float* entropy, int threads, cudaStream_t stream) {
  check_threads(threads, "row_metrics_f32");
  if (N <= 0) return;
  if (C <= 0) throw std::runtime_error("row_metrics_f32: needs at least one class");
  const int64_t warps = threads / 32;
  int64_t g = LETHE_CEIL_DIV(N, warps);
  if (g > 65536) g = 65536;
  auto k = row_metrics_kernel;
  LETHE_LAUNCH(k, static_cast<int>(g), threads, 0, stream, logits, N, C, argmax, confidence,
               entropy);
}

void l2_normalize_rows_f32(const float* x, float* y, float* norms, int64_t N, int64_t D, double eps,
                           bool additive, int threads, cudaStream_t stream) {
  check_threads(threads, "l2_normalize_rows_f32");
  if (N <= 0) return;
  int64_t g = N > 65536 ? 65536 : N;
  auto k = l2_normalize_kernel;
  LETHE_LAUNCH(k, static_cast<int>(g), threads, 0, stream, x, y, norms, N, D,
               static_cast<float>(eps), static_cast<int>(additive));
}

}  // namespace lethe::LETHE_KNS
