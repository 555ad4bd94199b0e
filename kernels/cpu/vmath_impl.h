// Branch-free exp and GELU that compilers vectorise; included by vmath.cpp and vmath_avx2.cpp only,
// each compiling it for its own ISA. Everything here has internal linkage (anonymous namespace) so
// the two copies never merge at link time (an AVX2 copy must not serve the baseline path).
//
// erfc(z), z ≥ 0: the Chebyshev fit of Numerical Recipes (2nd ed., §6.2, "erfcc"), fractional
// error < 1.2e-7: erfc(z) = t·exp(−z² + P(t)), t = 1/(1 + z/2).
// exp(x): Cephes' expf scheme — x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for an exact
// n·ln2), a degree-6 polynomial for e^r, 2^n built in the exponent bits. Inputs are clamped to
// [−87, 88] so 2^n stays a normal float; below −87 the result (≤ 1.7e-38) is far under any value
// the callers keep.
//
// Why blocks: one element's evaluation is a ~40-deep chain of dependent FMAs, and a plain
// vectorised loop leaves the out-of-order window about two vectors of it (5.3 ns per element on
// a Zen 1 core). Each step below is its own loop over kBlock values, so the compiler emits
// kBlock/lanes independent vector operations side by side (2.9 ns per element, same results).
#pragma once
#include <bit>
#include <cstdint>

namespace lethe::kernels::cpu {
namespace {

constexpr int kBlock = 32;  // 4 AVX2 vectors per step; 16 and 64 measured slower

#define LETHE_VMATH_EACH for (int i = 0; i < kBlock; ++i)

// a ← exp(a), elementwise.
inline void exp_block(float* __restrict a) {
  float n[kBlock], r[kBlock], p[kBlock];
  LETHE_VMATH_EACH {
    const float x = a[i] < -87.0f ? -87.0f : a[i];
    a[i] = x > 88.0f ? 88.0f : x;
  }
  // Round to nearest by the 1.5·2^23 trick (no SSE4.1 round instruction needed).
  LETHE_VMATH_EACH n[i] = (a[i] * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  LETHE_VMATH_EACH r[i] = a[i] - n[i] * 0.693359375f;
  LETHE_VMATH_EACH r[i] = r[i] + n[i] * 2.12194440e-4f;
  LETHE_VMATH_EACH p[i] = 1.9875691500e-4f * r[i] + 1.3981999507e-3f;
  LETHE_VMATH_EACH p[i] = p[i] * r[i] + 8.3334519073e-3f;
  LETHE_VMATH_EACH p[i] = p[i] * r[i] + 4.1665795894e-2f;
  LETHE_VMATH_EACH p[i] = p[i] * r[i] + 1.6666665459e-1f;
  LETHE_VMATH_EACH p[i] = p[i] * r[i] + 5.0000001201e-1f;
  LETHE_VMATH_EACH p[i] = p[i] * r[i] * r[i] + r[i] + 1.0f;
  LETHE_VMATH_EACH a[i] = p[i] * std::bit_cast<float>((static_cast<int32_t>(n[i]) + 127) << 23);
}

// c ← Φ(x) = erfc(−x/√2)/2, evaluated on the side where it is small so the tail keeps its
// relative accuracy.
inline void normal_cdf_block(const float* __restrict x, float* __restrict c) {
  float z[kBlock], t[kBlock], p[kBlock];
  LETHE_VMATH_EACH z[i] = (x[i] < 0.0f ? -x[i] : x[i]) * 0.70710678118654752f;
  LETHE_VMATH_EACH t[i] = 1.0f / (1.0f + 0.5f * z[i]);
  LETHE_VMATH_EACH p[i] = 0.17087277f * t[i] - 0.82215223f;
  LETHE_VMATH_EACH p[i] = p[i] * t[i] + 1.48851587f;
  LETHE_VMATH_EACH p[i] = p[i] * t[i] - 1.13520398f;
  LETHE_VMATH_EACH p[i] = p[i] * t[i] + 0.27886807f;
  LETHE_VMATH_EACH p[i] = p[i] * t[i] - 0.18628806f;
  LETHE_VMATH_EACH p[i] = p[i] * t[i] + 0.09678418f;
  LETHE_VMATH_EACH p[i] = p[i] * t[i] + 0.37409196f;
  LETHE_VMATH_EACH p[i] = p[i] * t[i] + 1.00002368f;
  LETHE_VMATH_EACH p[i] = p[i] * t[i] - 1.26551223f;
  LETHE_VMATH_EACH p[i] = p[i] - z[i] * z[i];
  exp_block(p);
  LETHE_VMATH_EACH {
    const float half_tail = 0.5f * t[i] * p[i];
    c[i] = x[i] >= 0.0f ? 1.0f - half_tail : half_tail;
  }
}

// y = x·Φ(x) on one full block.
inline void gelu_forward_block(const float* __restrict x, float* __restrict y) {
  float c[kBlock];
  normal_cdf_block(x, c);
  LETHE_VMATH_EACH y[i] = x[i] * c[i];
}

// dx = dy·(Φ(x) + x·φ(x)) on one full block.
inline void gelu_backward_block(const float* __restrict x, const float* __restrict dy,
                                float* __restrict dx) {
  float c[kBlock], e[kBlock];
  normal_cdf_block(x, c);
  LETHE_VMATH_EACH e[i] = -0.5f * x[i] * x[i];
  exp_block(e);
  LETHE_VMATH_EACH dx[i] = dy[i] * (c[i] + x[i] * 0.39894228040143268f * e[i]);
}

// y = exp(x − shift) on one full block, acc += y. x is read whole before y is written, so y may
// alias x.
inline void exp_shifted_block(const float* x, float shift, float* y, float* __restrict acc) {
  float t[kBlock];
  LETHE_VMATH_EACH t[i] = x[i] - shift;
  exp_block(t);
  LETHE_VMATH_EACH {
    y[i] = t[i];
    acc[i] += t[i];
  }
}

#undef LETHE_VMATH_EACH

// y = exp(x − shift) over n values (y may alias x); returns Σ y, summed per lane then across.
inline float exp_shifted_sum_loop(const float* x, float shift, float* y, int64_t n) {
  float acc[kBlock] = {};
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) exp_shifted_block(x + i, shift, y + i, acc);
  float s = 0;
  for (int j = 0; j < kBlock; ++j) s += acc[j];
  if (i == n) return s;
  float xt[kBlock], yt[kBlock], unused[kBlock] = {};
  for (int j = 0; j < kBlock; ++j) xt[j] = i + j < n ? x[i + j] : shift;  // padding: exp(0)
  exp_shifted_block(xt, shift, yt, unused);
  for (int64_t j = i; j < n; ++j) {
    y[j] = yt[j - i];
    s += yt[j - i];
  }
  return s;
}

inline void gelu_forward_loop(const float* __restrict x, float* __restrict y, int64_t n) {
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) gelu_forward_block(x + i, y + i);
  if (i == n) return;
  float xt[kBlock] = {}, yt[kBlock];  // the ragged tail, padded with zeros
  for (int64_t j = i; j < n; ++j) xt[j - i] = x[j];
  gelu_forward_block(xt, yt);
  for (int64_t j = i; j < n; ++j) y[j] = yt[j - i];
}

inline void gelu_backward_loop(const float* __restrict x, const float* __restrict dy,
                               float* __restrict dx, int64_t n) {
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) gelu_backward_block(x + i, dy + i, dx + i);
  if (i == n) return;
  float xt[kBlock] = {}, dyt[kBlock] = {}, dxt[kBlock];
  for (int64_t j = i; j < n; ++j) {
    xt[j - i] = x[j];
    dyt[j - i] = dy[j];
  }
  gelu_backward_block(xt, dyt, dxt);
  for (int64_t j = i; j < n; ++j) dx[j] = dxt[j - i];
}

}  // namespace
}  // namespace lethe::kernels::cpu
