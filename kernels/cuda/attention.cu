// Fused attention forward (FlashAttention-style, one query row per thread).
// Grid (ceil(T / threads), min(BH, 65535)): a block owns `threads` consecutive queries of one
// batch·head (grid-stride over batch·head along y). Each thread keeps its scaled query row and
// its output accumulator in registers (arrays of DMAX ∈ {16, 32, 64} >= d, fully unrolled). Keys
// and values stream through shared memory in tiles of kBK = 32 rows (16 when d > 32; [kBK][d] each,
// loaded cooperatively and coalesced); every thread reads the same K/V element at once (a
// broadcast, no bank conflicts). Per tile: the kBK scores go to registers, then one online-softmax
// update (running max m and sum l; the accumulator is rescaled by e^(m_old − m_new) once per tile).
// The T×T matrix never exists; out = acc / l. Dynamic shared memory: 2·kBK·d floats.
#include <cmath>
#include <cstdint>

#include "kernels/cuda/attention.cuh"

namespace lethe::LETHE_KNS {
namespace {

// Full unrolling of the register-array loops (g++ spells the pragma differently).
#if defined(__CUDACC__)
#define LETHE_ATT_UNROLL _Pragma("unroll")
#else
#define LETHE_ATT_UNROLL _Pragma("GCC unroll 64")
#endif

// Keys per shared-memory tile: 32, or 16 for d > 32 (the kBK scores live in registers next to
// the 2·DMAX of q and acc; 16 keeps DMAX = 64 inside 255 registers without spills).
template <int DMAX>
constexpr int kBK = DMAX > 32 ? 16 : 32;

template <int DMAX>
__global__ __launch_bounds__(256) void attention_fwd_kernel(const float* __restrict__ q,
                                                            const float* __restrict__ k,
                                                            const float* __restrict__ v,
                                                            float* __restrict__ out, int64_t BH,
                                                            int64_t T, int d, float scale) {
  constexpr int BK = kBK<DMAX>;
  LETHE_DYNAMIC_SHARED(float, smem);
  float* ks = smem;           // [BK][d]
  float* vs = smem + BK * d;  // [BK][d]
  const int64_t qi = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const bool active = qi < T;
  for (int64_t bh = blockIdx.y; bh < BH; bh += gridDim.y) {
    const float* qb = q + bh * T * d;
    const float* kb = k + bh * T * d;
    const float* vb = v + bh * T * d;
    float qr[DMAX], acc[DMAX];
    LETHE_ATT_UNROLL
    for (int c = 0; c < DMAX; ++c) {
      qr[c] = (active && c < d) ? qb[qi * d + c] * scale : 0.f;
      acc[c] = 0.f;
    }
    float m = -INFINITY, l = 0.f;
    for (int64_t k0 = 0; k0 < T; k0 += BK) {
      const int nk = static_cast<int>(T - k0 < BK ? T - k0 : BK);
      for (int idx = static_cast<int>(threadIdx.x); idx < nk * d; idx += blockDim.x) {
        ks[idx] = kb[k0 * d + idx];
        vs[idx] = vb[k0 * d + idx];
      }
      __syncthreads();
      if (active) {
        float sc[BK];
        float tmax = -INFINITY;
        LETHE_ATT_UNROLL
        for (int j = 0; j < BK; ++j) {
          float s = -INFINITY;
          if (j < nk) {
            s = 0.f;
            LETHE_ATT_UNROLL
            for (int c = 0; c < DMAX; ++c)
              if (c < d) s += qr[c] * ks[j * d + c];
            tmax = s > tmax ? s : tmax;
          }
          sc[j] = s;
        }
        const float mnew = m > tmax ? m : tmax;
        const float f = expf(m - mnew);  // 0 on the first tile (m = −inf)
        l *= f;
        LETHE_ATT_UNROLL
        for (int c = 0; c < DMAX; ++c) acc[c] *= f;
        LETHE_ATT_UNROLL
        for (int j = 0; j < BK; ++j) {
          if (j < nk) {
            const float p = expf(sc[j] - mnew);
            l += p;
            LETHE_ATT_UNROLL
            for (int c = 0; c < DMAX; ++c)
              if (c < d) acc[c] += p * vs[j * d + c];
          }
        }
        m = mnew;
      }
      __syncthreads();  // the tile is overwritten next
    }
    if (active) {
      float* ob = out + bh * T * d + qi * d;
      const float inv = 1.f / l;
      LETHE_ATT_UNROLL
      for (int c = 0; c < DMAX; ++c)
        if (c < d) ob[c] = acc[c] * inv;
    }
  }
}

}  // namespace

void attention_forward_f32(const float* q, const float* k, const float* v, float* out, int64_t BH,
                           int64_t T, int d, float scale, int threads, cudaStream_t stream) {
  if (threads < 32 || threads > 256 || threads % 32 != 0)
    throw std::runtime_error(
        "attention_forward_f32: threads must be a multiple of 32 in [32, 256]");
  if (d < 1 || d > 64) throw std::runtime_error("attention_forward_f32: d must be in [1, 64]");
  if (BH <= 0 || T <= 0) return;
  dim3 grid(static_cast<unsigned>(LETHE_CEIL_DIV(T, static_cast<int64_t>(threads))),
            static_cast<unsigned>(BH < 65535 ? BH : 65535));
  const size_t shmem = 2u * (d <= 32 ? kBK<32> : kBK<64>)*static_cast<size_t>(d) * sizeof(float);
  if (d <= 16) {
    auto kern = attention_fwd_kernel<16>;
    LETHE_LAUNCH(kern, grid, threads, shmem, stream, q, k, v, out, BH, T, d, scale);
  } else if (d <= 32) {
    auto kern = attention_fwd_kernel<32>;
    LETHE_LAUNCH(kern, grid, threads, shmem, stream, q, k, v, out, BH, T, d, scale);
  } else {
    auto kern = attention_fwd_kernel<64>;
    LETHE_LAUNCH(kern, grid, threads, shmem, stream, q, k, v, out, BH, T, d, scale);
  }
}

}  // namespace lethe::LETHE_KNS
