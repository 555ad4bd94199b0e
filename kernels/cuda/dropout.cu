// Inverted dropout. Philox4x32-10 yields four 32-bit words per counter and element i uses word
// i%4 of counter i/4, so each thread of a grid-stride loop owns one counter: one Philox call
// for four consecutive elements, which it writes as a float4 / one 32-bit mask word when the
// pointers are aligned (a scalar path covers the unaligned case and the final partial group).
// The mask is bytewise identical to cpu_ref's; y = x · 1/(1−p) computed in float.
// Launch: 1-D grid-stride, `threads` per block (multiple of 32), one thread per 4 elements.
#include <cstdint>

#include "kernels/cuda/dropout.cuh"

namespace lethe::LETHE_KNS {
namespace {

__global__ void dropout_fwd_kernel(const float* __restrict__ x, float* __restrict__ y,
                                   uint8_t* __restrict__ mask, int64_t n, float p, float scale,
                                   uint64_t seed, int vec) {
  const int64_t groups = LETHE_CEIL_DIV(n, int64_t{4});
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < groups;
       c += step) {
    const rng::Philox4 r = rng::philox4x32(static_cast<uint64_t>(c), seed);
    const int64_t i0 = c * 4;
    if (vec && i0 + 4 <= n) {
      const float4 v = reinterpret_cast<const float4*>(x)[c];
      const bool k0 = rng::u01(r.v[0]) >= p, k1 = rng::u01(r.v[1]) >= p;
      const bool k2 = rng::u01(r.v[2]) >= p, k3 = rng::u01(r.v[3]) >= p;
      float4 o;
      o.x = k0 ? v.x * scale : 0.f;
      o.y = k1 ? v.y * scale : 0.f;
      o.z = k2 ? v.z * scale : 0.f;
      o.w = k3 ? v.w * scale : 0.f;
      reinterpret_cast<float4*>(y)[c] = o;
      // Little-endian byte order: byte j of the word is mask[i0 + j].
      reinterpret_cast<uint32_t*>(mask)[c] =
          static_cast<uint32_t>(k0) | (static_cast<uint32_t>(k1) << 8) |
          (static_cast<uint32_t>(k2) << 16) | (static_cast<uint32_t>(k3) << 24);
    } else {
      for (int j = 0; j < 4 && i0 + j < n; ++j) {
        const bool keep = rng::u01(r.v[j]) >= p;
        mask[i0 + j] = keep ? 1 : 0;
        y[i0 + j] = keep ? x[i0 + j] * scale : 0.f;
      }
    }
  }
}

__global__ void dropout_bwd_kernel(const float* __restrict__ dy, const uint8_t* __restrict__ mask,
                                   float* __restrict__ dx, int64_t n, float scale, int vec) {
  const int64_t groups = LETHE_CEIL_DIV(n, int64_t{4});
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < groups;
       c += step) {
    const int64_t i0 = c * 4;
    if (vec && i0 + 4 <= n) {
      const float4 g = reinterpret_cast<const float4*>(dy)[c];
      const uint32_t m = reinterpret_cast<const uint32_t*>(mask)[c];
      float4 o;
      o.x = (m & 0xffu) ? g.x * scale : 0.f;
      o.y = (m & 0xff00u) ? g.y * scale : 0.f;
      o.z = (m & 0xff0000u) ? g.z * scale : 0.f;
      o.w = (m & 0xff000000u) ? g.w * scale : 0.f;
      reinterpret_cast<float4*>(dx)[c] = o;
    } else {
      for (int j = 0; j < 4 && i0 + j < n; ++j)
        dx[i0 + j] = mask[i0 + j] ? dy[i0 + j] * scale : 0.f;
    }
  }
}

}  // namespace

void dropout_forward_f32(const float* x, float* y, uint8_t* mask, int64_t n, double p,
                         uint64_t seed, int threads, cudaStream_t stream) {
  check_threads(threads, "dropout_forward_f32");
  if (n <= 0) return;
  const int vec = is_aligned(x, 16) && is_aligned(y, 16) && is_aligned(mask, 4);
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  auto k = dropout_fwd_kernel;
  LETHE_LAUNCH(k, grid_for(LETHE_CEIL_DIV(n, int64_t{4}), threads), threads, 0, stream, x, y, mask,
               n, static_cast<float>(p), scale, seed, vec);
}

void dropout_backward_f32(const float* dy, const uint8_t* mask, float* dx, int64_t n, double p,
                          int threads, cudaStream_t stream) {
  check_threads(threads, "dropout_backward_f32");
  if (n <= 0) return;
  const int vec = is_aligned(dy, 16) && is_aligned(dx, 16) && is_aligned(mask, 4);
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  auto k = dropout_bwd_kernel;
  LETHE_LAUNCH(k, grid_for(LETHE_CEIL_DIV(n, int64_t{4}), threads), threads, 0, stream, dy, mask,
               dx, n, scale, vec);
}

}  // namespace lethe::LETHE_KNS
