// AVX2+FMA SGEMM micro-kernel: a 6×16 tile of C in 12 ymm accumulators (two ymm per row).
// Per k step: two aligned loads of the packed B row, 6 broadcasts of packed A, 12 FMAs. 12
// independent chains hide the FMA latency of 2 pipes × 4-5 cycles, and 12 + 2 + 2 fits the 16
// ymm registers. Only this file (and gemm_avx512.cpp) is compiled with the wide ISA.
// Also here: the AVX2 packing routines (gemm_pack.h), used by the AVX2 and AVX-512 paths.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/avx2_transpose.h"
#include "kernels/cpu/gemm_pack.h"

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

// C[m×n] = alpha · acc + beta · C from the 6×16 accumulators (beta == 0: C not read). A partial
// tile goes through a scratch tile so that nothing outside m×n is read or written.
inline void store_tile(const __m256 c0[kMr], const __m256 c1[kMr], float* c, int64_t ldc, int m,
                       int n, float alpha, float beta) {
  const __m256 va = _mm256_set1_ps(alpha);
  const __m256 vb = _mm256_set1_ps(beta);
  if (m == kMr && n == kNr) {
#pragma GCC unroll 8
    for (int i = 0; i < kMr; ++i) {
      float* row = c + i * ldc;
      // alpha == 1 (nearly every call) skips the scaling: 12 multiplies in a tile that may have
      // had only 16 k steps (Winograd's C = 16 products).
      __m256 r0 = c0[i], r1 = c1[i];
      if (alpha != 1.0f) r0 = _mm256_mul_ps(r0, va), r1 = _mm256_mul_ps(r1, va);
      if (beta != 0.0f) {
        r0 = _mm256_fmadd_ps(_mm256_loadu_ps(row), vb, r0);
        r1 = _mm256_fmadd_ps(_mm256_loadu_ps(row + 8), vb, r1);
      }
      _mm256_storeu_ps(row, r0);
      _mm256_storeu_ps(row + 8, r1);
    }
    return;
  }
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

  store_tile(c0, c1, c, ldc, m, n, alpha, beta);
}

// The same tile with A read in place: row i of A at a + i·lda, k contiguous (A not transposed),
// so sgemm need not pack A when each A panel is used by few column panels (N ≤ 64). Rows at and
// beyond m repeat row m − 1 (read, never stored), so nothing past the m valid rows is touched.
void sgemm_ukernel_avx2_6x16_rows(int64_t kc, const float* __restrict a, int64_t lda,
                                  const float* __restrict bp, float* c, int64_t ldc, int m, int n,
                                  float alpha, float beta) {
  const float* row[kMr];
#pragma GCC unroll 8
  for (int i = 0; i < kMr; ++i) row[i] = a + std::min(i, m - 1) * lda;
  __m256 c0[kMr], c1[kMr];
#pragma GCC unroll 8
  for (int i = 0; i < kMr; ++i) {
    c0[i] = _mm256_setzero_ps();
    c1[i] = _mm256_setzero_ps();
  }
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(bp + k * kNr);
    const __m256 b1 = _mm256_load_ps(bp + k * kNr + 8);
#pragma GCC unroll 8
    for (int i = 0; i < kMr; ++i) {
      const __m256 av = _mm256_broadcast_ss(row[i] + k);
      c0[i] = _mm256_fmadd_ps(av, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(av, b1, c1[i]);
    }
  }
  store_tile(c0, c1, c, ldc, m, n, alpha, beta);
}

#undef LETHE_GEMM_STEP

namespace {

// The first `n` (4, 6 or 8) floats of v to dst.
inline void store_first(float* dst, __m256 v, int n) {
  if (n == 8) {
    _mm256_storeu_ps(dst, v);
    return;
  }
  _mm_storeu_ps(dst, _mm256_castps256_ps128(v));
  if (n == 6) _mm_storel_pi(reinterpret_cast<__m64*>(dst + 4), _mm256_extractf128_ps(v, 1));
}

}  // namespace

// A not transposed: a full MR-row panel is MR row streams; per 8 k, each group of up to 8 rows is
// loaded (zero rows beyond MR), transposed, and stored as 8 k-rows of that group's width.
template <int MR>
void pack_a_avx2(bool trans, const float* a, int64_t lda, int64_t mc, int64_t kc, float* dst) {
  static_assert(MR == 6 || MR == 12, "groups of 8 rows, then 4 or 6");
  for (int64_t i0 = 0; i0 < mc; i0 += MR, dst += kc * MR) {
    const int64_t rows = std::min<int64_t>(MR, mc - i0);
    if (trans && rows == MR) {  // a contiguous run of MR per k: 4 + 2 (or 8 + 4) floats
      const float* src = a + i0;
      for (int64_t k = 0; k < kc; ++k) {
        const float* s = src + k * lda;
        float* d = dst + k * MR;
        if constexpr (MR == 12) {
          _mm256_storeu_ps(d, _mm256_loadu_ps(s));
          _mm_storeu_ps(d + 8, _mm_loadu_ps(s + 8));
        } else {
          _mm_storeu_ps(d, _mm_loadu_ps(s));
          _mm_storel_pi(reinterpret_cast<__m64*>(d + 4),
                        _mm_loadl_pi(_mm_setzero_ps(), reinterpret_cast<const __m64*>(s + 4)));
        }
      }
      continue;
    }
    if (trans || rows < MR || kc < 8) {  // an edge panel, or too short for a transpose
      pack_a<MR>(trans, trans ? a + i0 : a + i0 * lda, lda, rows, kc, dst);
      continue;
    }
    const float* src = a + i0 * lda;
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
      for (int g = 0; g < MR; g += 8) {
        const int width = std::min(8, MR - g);
        __m256 r[8];
        for (int i = 0; i < 8; ++i)
          r[i] = i < width ? _mm256_loadu_ps(src + (g + i) * lda + k) : _mm256_setzero_ps();
        transpose8(r);
        for (int i = 0; i < 8; ++i) store_first(dst + (k + i) * MR + g, r[i], width);
      }
    }
    for (; k < kc; ++k)
      for (int r = 0; r < MR; ++r) dst[k * MR + r] = src[r * lda + k];
  }
}

// B transposed: a full NR-column panel is NR column streams; per 8 k, each group of 8 columns is
// loaded, transposed and stored as 8 k-rows. B not transposed: 8-float copies per k.
template <int NR>
void pack_b_avx2(bool trans, const float* b, int64_t ldb, int64_t kc, int64_t nc, float* dst) {
  static_assert(NR % 8 == 0, "groups of 8 columns");
  for (int64_t j0 = 0; j0 < nc; j0 += NR, dst += kc * NR) {
    const int64_t cols = std::min<int64_t>(NR, nc - j0);
    if (cols < NR) {  // the edge panel, zero-padded by the portable code
      pack_b<NR>(trans, trans ? b + j0 * ldb : b + j0, ldb, kc, cols, dst);
      continue;
    }
    if (!trans) {
      const float* src = b + j0;
      for (int64_t k = 0; k < kc; ++k)
        for (int c = 0; c < NR; c += 8)
          _mm256_storeu_ps(dst + k * NR + c, _mm256_loadu_ps(src + k * ldb + c));
      continue;
    }
    const float* src = b + j0 * ldb;
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
      for (int g = 0; g < NR; g += 8) {
        __m256 r[8];
        for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + (g + i) * ldb + k);
        transpose8(r);
        for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (k + i) * NR + g, r[i]);
      }
    }
    for (; k < kc; ++k)
      for (int c = 0; c < NR; ++c) dst[k * NR + c] = src[c * ldb + k];
  }
}

template void pack_a_avx2<6>(bool, const float*, int64_t, int64_t, int64_t, float*);
template void pack_a_avx2<12>(bool, const float*, int64_t, int64_t, int64_t, float*);
template void pack_b_avx2<16>(bool, const float*, int64_t, int64_t, int64_t, float*);
template void pack_b_avx2<32>(bool, const float*, int64_t, int64_t, int64_t, float*);

}  // namespace lethe::kernels::cpu::detail
