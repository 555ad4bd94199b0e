// 2-d pooling over P = N·C planes of H×W.
// Forward passes: a thread per output element (grid-stride over P·OH·OW, consecutive threads on
// consecutive outputs of a row, so writes coalesce and window reads overlap in cache); the window
// is small (k×k), read straight from global memory.
// max_pool2d backward gets only the argmax indices (no window), so it zeroes dx and scatters each
// dy with atomicAdd (several outputs may share an argmax when windows overlap). avg_pool2d and
// adaptive_avg_pool2d backward are deterministic gathers: a thread per input element sums, in
// (oh, ow) order, dy/count over exactly the outputs whose windows cover it (index ranges
// inverted from the forward window formulas), so no atomics and no zero pass.
// The windows are kernels/common/pool_window.h, shared with the CPU kernels and cpu_ref.
#include "kernels/cuda/pool.cuh"

#include "kernels/common/pool_window.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace lethe::LETHE_KNS {
namespace {

using kernels::adaptive_end;
using kernels::adaptive_start;
using kernels::PoolWindow;

struct Out3 {
  int64_t p, oh, ow;
};
__device__ __forceinline__ Out3 split3(int64_t e, int64_t OH, int64_t OW) {
  const int64_t ow = e % OW, t = e / OW;
  return {t / OH, t % OH, ow};
}

#define LETHE_POOL_LOOP(e, total)                                                            \
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < (total); \
       e += static_cast<int64_t>(gridDim.x) * blockDim.x)

__global__ void maxpool_fwd(const float* __restrict__ x, float* __restrict__ y,
                            int64_t* __restrict__ idx, int64_t P, int64_t H, int64_t W, int64_t OH,
                            int64_t OW, Pool2dArgs a) {
  LETHE_POOL_LOOP(e, P * OH * OW) {
    const Out3 o = split3(e, OH, OW);
    const float* plane = x + o.p * H * W;
    const PoolWindow w = kernels::max_pool_window(o.oh, o.ow, H, W, a);
    float best = -INFINITY;
    int64_t bi = -1;
    for (int64_t ih = w.h0; ih < w.h1; ++ih)
      for (int64_t iw = w.w0; iw < w.w1; ++iw) {
        const float v = plane[ih * W + iw];
        if (v > best || bi < 0 || v != v) {  // NaN propagates, as in cpu_ref
          best = v;
          bi = ih * W + iw;
        }
      }
    y[e] = best;
    idx[e] = bi;
  }
}

__global__ void fill_zero(float* __restrict__ p, int64_t n) {
  LETHE_POOL_LOOP(e, n) p[e] = 0.0f;
}

__global__ void maxpool_bwd_scatter(const float* __restrict__ dy, const int64_t* __restrict__ idx,
                                    float* __restrict__ dx, int64_t P, int64_t HW, int64_t OHW) {
  LETHE_POOL_LOOP(e, P * OHW) {
    const int64_t i = idx[e];
    if (i >= 0 && i < HW) atomicAdd(dx + (e / OHW) * HW + i, dy[e]);
  }
}

__global__ void avgpool_fwd(const float* __restrict__ x, float* __restrict__ y, int64_t P,
                            int64_t H, int64_t W, int64_t OH, int64_t OW, Pool2dArgs a) {
  LETHE_POOL_LOOP(e, P * OH * OW) {
    const Out3 o = split3(e, OH, OW);
    const PoolWindow w = kernels::avg_pool_window(o.oh, o.ow, H, W, a);
    const float* plane = x + o.p * H * W;
    float s = 0.0f;
    for (int64_t ih = w.h0; ih < w.h1; ++ih)
      for (int64_t iw = w.w0; iw < w.w1; ++iw) s += plane[ih * W + iw];
    y[e] = s / static_cast<float>(w.count);
  }
}

// Outputs o along one axis whose window [o·s − p, o·s − p + k) contains i, clamped to [0, O).
__device__ __forceinline__ void covering(int64_t i, int64_t k, int64_t s, int64_t p, int64_t O,
                                         int64_t& lo, int64_t& hi) {
  const int64_t a = i + p - k;  // o·s > a
  lo = a < 0 ? 0 : a / s + 1;
  hi = (i + p) / s;  // o·s ≤ i + p
  if (hi > O - 1) hi = O - 1;
}

__global__ void avgpool_bwd(const float* __restrict__ dy, float* __restrict__ dx, int64_t P,
                            int64_t H, int64_t W, int64_t OH, int64_t OW, Pool2dArgs a) {
  LETHE_POOL_LOOP(e, P * H * W) {
    const Out3 i = split3(e, H, W);
    int64_t oh0, oh1, ow0, ow1;
    covering(i.oh, a.kernel_h, a.stride_h, a.pad_h, OH, oh0, oh1);
    covering(i.ow, a.kernel_w, a.stride_w, a.pad_w, OW, ow0, ow1);
    const float* g = dy + i.p * OH * OW;
    float s = 0.0f;
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const PoolWindow w = kernels::avg_pool_window(oh, ow, H, W, a);
        s += g[oh * OW + ow] / static_cast<float>(w.count);
      }
    dx[e] = s;
  }
}

__global__ void adaptive_fwd(const float* __restrict__ x, float* __restrict__ y, int64_t P,
                             int64_t H, int64_t W, int64_t OH, int64_t OW) {
  LETHE_POOL_LOOP(e, P * OH * OW) {
    const Out3 o = split3(e, OH, OW);
    const PoolWindow w = kernels::adaptive_pool_window(o.oh, o.ow, H, W, OH, OW);
    const float* plane = x + o.p * H * W;
    float s = 0.0f;
    for (int64_t ih = w.h0; ih < w.h1; ++ih)
      for (int64_t iw = w.w0; iw < w.w1; ++iw) s += plane[ih * W + iw];
    y[e] = s / static_cast<float>(w.count);
  }
}

// Outputs o with adaptive_start(o) ≤ i < adaptive_end(o): o ∈ [⌊i·out/in⌋, ⌈(i+1)·out/in⌉ − 1].
__device__ __forceinline__ void ad_covering(int64_t i, int64_t in, int64_t out, int64_t& lo,
                                            int64_t& hi) {
  lo = (i * out) / in;
  hi = ((i + 1) * out + in - 1) / in - 1;
  if (hi > out - 1) hi = out - 1;
}

// Launched with up to 1024 threads: without the bound ptxas used 72 registers, and
// 72 × 1024 > 65,536 fails the launch; with it, 64 and no spills.
__global__ void __launch_bounds__(1024)
    adaptive_bwd(const float* __restrict__ dy, float* __restrict__ dx, int64_t P, int64_t H,
                 int64_t W, int64_t OH, int64_t OW) {
  LETHE_POOL_LOOP(e, P * H * W) {
    const Out3 i = split3(e, H, W);
    int64_t oh0, oh1, ow0, ow1;
    ad_covering(i.oh, H, OH, oh0, oh1);
    ad_covering(i.ow, W, OW, ow0, ow1);
    const float* g = dy + i.p * OH * OW;
    float s = 0.0f;
    for (int64_t oh = oh0; oh <= oh1; ++oh) {
      const float ch = static_cast<float>(adaptive_end(oh, H, OH) - adaptive_start(oh, H, OH));
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const float cw = static_cast<float>(adaptive_end(ow, W, OW) - adaptive_start(ow, W, OW));
        s += g[oh * OW + ow] / (ch * cw);
      }
    }
    dx[e] = s;
  }
}

#undef LETHE_POOL_LOOP

}  // namespace

void max_pool2d_forward(const float* x, float* y, int64_t* idx, int64_t P, int64_t H, int64_t W,
                        int64_t OH, int64_t OW, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                        int64_t ph, int64_t pw, cudaStream_t stream, int threads) {
  check_threads(threads, "max_pool2d_forward");
  const int64_t total = P * OH * OW;
  if (total == 0) return;
  LETHE_LAUNCH(maxpool_fwd, grid_for(total, threads), threads, 0, stream, x, y, idx, P, H, W, OH,
               OW, Pool2dArgs{kh, kw, sh, sw, ph, pw});
}

void max_pool2d_backward(const float* dy, const int64_t* idx, float* dx, int64_t P, int64_t H,
                         int64_t W, int64_t OH, int64_t OW, cudaStream_t stream, int threads) {
  check_threads(threads, "max_pool2d_backward");
  if (P * H * W == 0) return;
  LETHE_LAUNCH(fill_zero, grid_for(P * H * W, threads), threads, 0, stream, dx, P * H * W);
  if (P * OH * OW == 0) return;
  LETHE_LAUNCH(maxpool_bwd_scatter, grid_for(P * OH * OW, threads), threads, 0, stream, dy, idx, dx,
               P, H * W, OH * OW);
}

void avg_pool2d_forward(const float* x, float* y, int64_t P, int64_t H, int64_t W, int64_t OH,
                        int64_t OW, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
                        int64_t pw, cudaStream_t stream, int threads) {
  check_threads(threads, "avg_pool2d_forward");
  const int64_t total = P * OH * OW;
  if (total == 0) return;
  LETHE_LAUNCH(avgpool_fwd, grid_for(total, threads), threads, 0, stream, x, y, P, H, W, OH, OW,
               Pool2dArgs{kh, kw, sh, sw, ph, pw});
}

void avg_pool2d_backward(const float* dy, float* dx, int64_t P, int64_t H, int64_t W, int64_t OH,
                         int64_t OW, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
                         int64_t pw, cudaStream_t stream, int threads) {
  check_threads(threads, "avg_pool2d_backward");
  const int64_t total = P * H * W;
  if (total == 0) return;
  LETHE_LAUNCH(avgpool_bwd, grid_for(total, threads), threads, 0, stream, dy, dx, P, H, W, OH, OW,
               Pool2dArgs{kh, kw, sh, sw, ph, pw});
}

void adaptive_avg_pool2d_forward(const float* x, float* y, int64_t P, int64_t H, int64_t W,
                                 int64_t OH, int64_t OW, cudaStream_t stream, int threads) {
  check_threads(threads, "adaptive_avg_pool2d_forward");
  const int64_t total = P * OH * OW;
  if (total == 0) return;
  LETHE_LAUNCH(adaptive_fwd, grid_for(total, threads), threads, 0, stream, x, y, P, H, W, OH, OW);
}

void adaptive_avg_pool2d_backward(const float* dy, float* dx, int64_t P, int64_t H, int64_t W,
                                  int64_t OH, int64_t OW, cudaStream_t stream, int threads) {
  check_threads(threads, "adaptive_avg_pool2d_backward");
  const int64_t total = P * H * W;
  if (total == 0) return;
  if (OH == 0 || OW == 0) {
    LETHE_LAUNCH(fill_zero, grid_for(total, threads), threads, 0, stream, dx, total);
    return;
  }
  LETHE_LAUNCH(adaptive_bwd, grid_for(total, threads), threads, 0, stream, dy, dx, P, H, W, OH, OW);
}

}  // namespace lethe::LETHE_KNS
