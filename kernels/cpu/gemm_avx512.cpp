// AVX-512 SGEMM micro-kernel: a 12×32 tile of C held in 24 zmm accumulators.
// Per k step it loads one 32-float row of the packed B panel (two aligned zmm loads), broadcasts
// 12 values of the packed A panel and issues 24 independent FMAs. 24 chains cover the FMA latency
// (4 cycles) times the 2 FMA pipes with room to spare, and leave 8 registers for B and broadcasts.
// Only this file (and gemm_avx2.cpp) is compiled with the wide ISA; gemm.cpp calls it only
// after CPUID confirmed AVX-512.
#include <immintrin.h>

#include <cstdint>

namespace lethe::kernels::cpu::detail {

namespace {

constexpr int kMr = 12;
constexpr int kNr = 32;

// One k step: rank-1 update of the tile with row k of the A panel (kMr values, broadcast) and of
// the B panel (kNr values, two aligned loads). One step per loop iteration keeps GCC's register
// allocation clean (unrolling the k loop made it spill accumulators).
#define LETHE_GEMM_STEP()                                    \
  do {                                                       \
    const __m512 b0 = _mm512_load_ps(bp);                    \
    const __m512 b1 = _mm512_load_ps(bp + 16);               \
    _Pragma("GCC unroll 16") for (int i = 0; i < kMr; ++i) { \
      const __m512 a = _mm512_set1_ps(ap[i]);                \
      c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);                 \
      c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);                 \
    }                                                        \
    ap += kMr;                                               \
    bp += kNr;                                               \
  } while (0)

inline __m512 update(__m512 acc, const float* c, __mmask16 mask, __m512 alpha, __m512 beta,
                     bool read_c) {
  if (!read_c) return _mm512_mul_ps(acc, alpha);
  const __m512 old = _mm512_maskz_loadu_ps(mask, c);
  return _mm512_fmadd_ps(acc, alpha, _mm512_mul_ps(old, beta));
}

}  // namespace

// C[m×n] (row stride ldc) = alpha * Ap·Bp + beta * C for m ≤ 12, n ≤ 32.
// ap: kc×12 packed (k-major), bp: kc×32 packed (k-major, 64-byte aligned). beta == 0: C not read.
void sgemm_ukernel_avx512_12x32(int64_t kc, const float* __restrict ap, const float* __restrict bp,
                                float* c, int64_t ldc, int m, int n, float alpha, float beta) {
  __m512 c0[kMr], c1[kMr];
#pragma GCC unroll 16
  for (int i = 0; i < kMr; ++i) {
    c0[i] = _mm512_setzero_ps();
    c1[i] = _mm512_setzero_ps();
  }
  // Pull the C tile towards L1 while the first k steps run, one row every two steps, so the misses
  // overlap with FMAs instead of stalling the stores at the end. A 128-byte row that is not
  // 64-byte aligned touches three lines; missing the middle one cost ~10% at n = 2048.
  int64_t k = 0;
  {
    const char* pc = reinterpret_cast<const char*>(c);
    for (int i = 0; i < m && k + 2 <= kc; ++i, k += 2, pc += ldc * 4) {
      _mm_prefetch(pc, _MM_HINT_T0);
      _mm_prefetch(pc + 64, _MM_HINT_T0);
      _mm_prefetch(pc + 127, _MM_HINT_T0);
      LETHE_GEMM_STEP();
      LETHE_GEMM_STEP();
    }
  }
  for (; k < kc; ++k) {
    // Packed A streams from L2 (B comes in sequentially and the hardware prefetcher keeps up).
    _mm_prefetch(reinterpret_cast<const char*>(ap + 8 * kMr), _MM_HINT_T0);
    LETHE_GEMM_STEP();
  }

  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  const bool read_c = beta != 0.0f;
  const __mmask16 m0 = n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1u);
  const __mmask16 m1 = n >= 32 ? __mmask16(0xFFFF) : n > 16 ? __mmask16((1u << (n - 16)) - 1u) : 0;
  if (n == kNr) {
#pragma GCC unroll 16
    for (int i = 0; i < kMr; ++i) {
      if (i < m) {
        float* row = c + i * ldc;
        _mm512_storeu_ps(row, update(c0[i], row, m0, va, vb, read_c));
        _mm512_storeu_ps(row + 16, update(c1[i], row + 16, m1, va, vb, read_c));
      }
    }
  } else {
    // Partial tile: masked loads/stores never touch columns ≥ n.
#pragma GCC unroll 16
    for (int i = 0; i < kMr; ++i) {
      if (i < m) {
        float* row = c + i * ldc;
        _mm512_mask_storeu_ps(row, m0, update(c0[i], row, m0, va, vb, read_c));
        if (m1) _mm512_mask_storeu_ps(row + 16, m1, update(c1[i], row + 16, m1, va, vb, read_c));
      }
    }
  }
}

#undef LETHE_GEMM_STEP

}  // namespace lethe::kernels::cpu::detail
