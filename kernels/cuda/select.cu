// Elementwise select, out = mask ? a : b. Memory-bound (9 bytes per element): each thread of a
// 1-D grid-stride loop handles 4 consecutive elements, as one float4 of each operand and one
// 32-bit mask word when every pointer is aligned, else element by element. Reads mask, a, b;
// writes out (which may be a or b: each element is read before it is written, by one thread).
// Launch: `threads` per block (multiple of 32), one thread per 4 elements.
#include <cstdint>

#include "kernels/cuda/select.cuh"

namespace lethe::LETHE_KNS {
namespace {

__global__ void select_kernel(const uint8_t* mask, const float* a, const float* b, float* out,
                              int64_t n, int vec) {
  const int64_t groups = LETHE_CEIL_DIV(n, int64_t{4});
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < groups;
       c += step) {
    const int64_t i0 = c * 4;
    if (vec && i0 + 4 <= n) {
      const uint32_t m = reinterpret_cast<const uint32_t*>(mask)[c];
      const float4 va = reinterpret_cast<const float4*>(a)[c];
      const float4 vb = reinterpret_cast<const float4*>(b)[c];
      float4 o;
      // Little-endian: byte j of the word is mask[i0 + j].
      o.x = (m & 0xffu) ? va.x : vb.x;
      o.y = (m & 0xff00u) ? va.y : vb.y;
      o.z = (m & 0xff0000u) ? va.z : vb.z;
      o.w = (m & 0xff000000u) ? va.w : vb.w;
      reinterpret_cast<float4*>(out)[c] = o;
    } else {
      for (int j = 0; j < 4 && i0 + j < n; ++j) out[i0 + j] = mask[i0 + j] ? a[i0 + j] : b[i0 + j];
    }
  }
}

}  // namespace

void select_f32(const uint8_t* mask, const float* a, const float* b, float* out, int64_t n,
                int threads, cudaStream_t stream) {
  check_threads(threads, "select_f32");
  if (n <= 0) return;
  const int vec =
      is_aligned(a, 16) && is_aligned(b, 16) && is_aligned(out, 16) && is_aligned(mask, 4);
  auto k = select_kernel;
  LETHE_LAUNCH(k, grid_for(LETHE_CEIL_DIV(n, int64_t{4}), threads), threads, 0, stream, mask, a, b,
               out, n, vec);
}

}  // namespace lethe::LETHE_KNS
