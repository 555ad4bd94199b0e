// GELU in its exact (erf) form over float arrays, for the CPU backend. std::erf does not
// vectorise and the scalar loop took 15% of a vit-small training step; these loops do (baseline
// SSE2 in gelu.cpp, AVX2+FMA in gelu_avx2.cpp, chosen at run time). Against double-precision erf
// (tests/kernels/test_gelu.cpp): forward relative error < 1e-5 for |x| ≤ 6 (measured 4.2e-6),
// gradient absolute error < 2e-6 (measured 2.1e-7).
#pragma once
#include <cstdint>

namespace lethe::kernels::cpu {

void gelu_forward(const float* x, float* y, int64_t n);
// dx = dy · (Φ(x) + x·φ(x))
void gelu_backward(const float* x, const float* dy, float* dx, int64_t n);

}  // namespace lethe::kernels::cpu
