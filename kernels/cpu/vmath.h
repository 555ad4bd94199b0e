// Vectorised float math for the CPU backend: exp (softmax, attention) and GELU in its exact (erf)
// form. std::exp and std::erf do not vectorise (the scalar GELU took 15% of a vit-small training
// step); these loops do — baseline SSE2 in vmath.cpp, AVX2+FMA in vmath_avx2.cpp, chosen at run
// time. Accuracy, measured by tests/kernels/test_vmath.cpp against double precision:
//   exp: relative error < 2e-7 for x in [−87, 88] (measured 8.3e-8); below −87 the result is
//   ≤ 1.7e-38, not 0.
//   GELU: forward relative error < 1e-5 for |x| ≤ 6 (measured 4.2e-6), gradient absolute error
//   < 2e-6 (measured 2.1e-7).
#pragma once
#include <cstdint>

namespace lethe::kernels::cpu {

// y = exp(x − shift); returns the sum of y (float accumulation). y may equal x.
float exp_shifted_sum(const float* x, float shift, float* y, int64_t n);

void gelu_forward(const float* x, float* y, int64_t n);
// dx = dy · (Φ(x) + x·φ(x))
void gelu_backward(const float* x, const float* dy, float* dx, int64_t n);

}  // namespace lethe::kernels::cpu
