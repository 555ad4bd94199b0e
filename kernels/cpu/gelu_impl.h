// Branch-free scalar GELU that compilers vectorise; included by gelu.cpp and gelu_avx2.cpp only,
// each compiling it for its own ISA. Everything here has internal linkage (anonymous namespace)
// so the two copies never merge at link time (an AVX2 copy must not serve the baseline path).
//
// erfc(z), z ≥ 0: the Chebyshev fit of Numerical Recipes (2nd ed., §6.2, "erfcc"), fractional
// error < 1.2e-7: erfc(z) = t·exp(−z² + P(t)), t = 1/(1 + z/2).
// exp(x): Cephes' expf scheme — x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for an exact
// n·ln2), a degree-6 polynomial for e^r, 2^n built in the exponent bits. Inputs are clamped to
// [−87, 88] so 2^n stays a normal float; below −87 the result (≤ 1.7e-38) is far under any value
// the callers keep.
#pragma once
#include <bit>
#include <cstdint>

namespace lethe::kernels::cpu {
namespace {

inline float exp_clamped(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  // Round to nearest by the 1.5·2^23 trick (no SSE4.1 round instruction needed).
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

inline float erfc_nonneg(float z) {
  const float t = 1.0f / (1.0f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  return t * exp_clamped(p - z * z);
}

// Φ(x) = erfc(−x/√2)/2, evaluated on the side where it is small so the tail keeps its relative
// accuracy.
inline float normal_cdf(float x) {
  const float half_tail = 0.5f * erfc_nonneg((x < 0.0f ? -x : x) * 0.70710678118654752f);
  return x >= 0.0f ? 1.0f - half_tail : half_tail;
}

inline void gelu_forward_loop(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * normal_cdf(x[i]);
}

inline void gelu_backward_loop(const float* __restrict x, const float* __restrict dy,
                               float* __restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float pdf = 0.39894228040143268f * exp_clamped(-0.5f * v * v);
    dx[i] = dy[i] * (normal_cdf(v) + v * pdf);
  }
}

}  // namespace
}  // namespace lethe::kernels::cpu
