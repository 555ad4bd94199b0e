// AVX2+FMA SGEMM micro-kernel: a 6×16 tile of C in 12 ymm accumulators (two ymm per row).
// Per k step: two aligned loads of the packed B row, 6 broadcasts of packed A, 12 FMAs. 12
// independent chains hide the FMA latency of 2 pipes × 4-5 cycles, and 12 + 2 + 2 fits the 16
// ymm registers. Only this file (and gemm_avx512.cpp) is compiled with the wide ISA.
#include <immintrin.h>

#include <cstdint>

namespace lethe::kernels::cpu::detail {

namespace {

constexpr int kMr = 6;
constexpr int kNr = 16;

#define LETHE_GEMM_STEP(OFF)                                    \
  do {                                                          \
    const __m256 b0 = _mm256_load_ps(bp + (OFF)*kNr);           \
    const __m256 b1 = _mm256_load_ps(bp + (OFF)*kNr + 8);       \
    _Pragma("GCC unroll 8") for (int i = 0; i < kMr; ++i) {     \
      const __m256 a = _mm256_broadcast_ss(ap + (OFF)*kMr + i); \
      c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);                    \
      c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);                    \
    }                                                           \
  } while (0)

}  // namespace

// C[m×n] (row stride ldc) = alpha * Ap·Bp + beta * C for m ≤ 6, n ≤ 16.
// ap: kc×6 packed (k-major), bp: kc×16 packed (k-major, 32-byte aligned). beta == 0: C not read.
void sgemm_ukernel_avx2_6x16(int64_t kc, const float* __restrict ap, const float* __restrict bp,
                             float* c, int64_t ldc, int m, int n, float alpha, float beta) {
  __m256 c0[kMr], c1[kMr];
#pragma GCC unroll 8
  for (int i = 0; i < kMr; ++i) {
    c0[i] = _mm256_setzero_ps();
    c1[i] = _mm256_setzero_ps();
  }
  // Pull the C tile (a 64-byte row may straddle two lines) towards L1 while the first k steps
  // run, one row per two steps, so the misses overlap with FMAs instead of stalling the stores.
  int64_t k = 0;
  {
    const char* pc = reinterpret_cast<const char*>(c);
    for (int i = 0; i < m && k + 2 <= kc; ++i, k += 2, pc += ldc * 4) {
      _mm_prefetch(pc, _MM_HINT_T0);
      _mm_prefetch(pc + 63, _MM_HINT_T0);
      LETHE_GEMM_STEP(0);
      LETHE_GEMM_STEP(1);
      ap += 2 * kMr;
      bp += 2 * kNr;
    }
  }
  // One step per iteration: unrolling the k loop made GCC spill an accumulator (16 ymm only).
  for (; k < kc; ++k) {
    _mm_prefetch(reinterpret_cast<const char*>(ap + 8 * kMr), _MM_HINT_T0);
    LETHE_GEMM_STEP(0);
    ap += kMr;
    bp += kNr;
  }

  const __m256 va = _mm256_set1_ps(alpha);
  const __m256 vb = _mm256_set1_ps(beta);
  if (m == kMr && n == kNr) {
#pragma GCC unroll 8
    for (int i = 0; i < kMr; ++i) {
      float* row = c + i * ldc;
      __m256 r0 = _mm256_mul_ps(c0[i], va), r1 = _mm256_mul_ps(c1[i], va);
      if (beta != 0.0f) {
        r0 = _mm256_fmadd_ps(_mm256_loadu_ps(row), vb, r0);
        r1 = _mm256_fmadd_ps(_mm256_loadu_ps(row + 8), vb, r1);
      }
      _mm256_storeu_ps(row, r0);
      _mm256_storeu_ps(row + 8, r1);
    }
    return;
  }
  // Partial tile: go through a scratch tile so that nothing outside m×n is read or written.
  alignas(32) float tile[kMr * kNr];
#pragma GCC unroll 8
  for (int i = 0; i < kMr; ++i) {
    _mm256_store_ps(tile + i * kNr, _mm256_mul_ps(c0[i], va));
    _mm256_store_ps(tile + i * kNr + 8, _mm256_mul_ps(c1[i], va));
  }
  for (int i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    if (beta != 0.0f) {
      for (int j = 0; j < n; ++j) row[j] = tile[i * kNr + j] + beta * row[j];
    } else {
      for (int j = 0; j < n; ++j) row[j] = tile[i * kNr + j];
    }
  }
}

#undef LETHE_GEMM_STEP

}  // namespace lethe::kernels::cpu::detail
