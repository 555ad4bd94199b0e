// vmath dispatch: the AVX2 copy where the CPU has AVX2 and FMA (the GEMM's ISA choice says so),
// else the baseline copy of the same loops.
#include "kernels/cpu/vmath.h"

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/vmath_impl.h"

namespace lethe::kernels::cpu {

namespace detail {
float exp_shifted_sum_avx2(const float* x, float shift, float* y, int64_t n);
void gelu_forward_avx2(const float* x, float* y, int64_t n);
void gelu_backward_avx2(const float* x, const float* dy, float* dx, int64_t n);
}  // namespace detail

float exp_shifted_sum(const float* x, float shift, float* y, int64_t n) {
  if (gemm_isa() != GemmIsa::Scalar) return detail::exp_shifted_sum_avx2(x, shift, y, n);
  return exp_shifted_sum_loop(x, shift, y, n);
}

void gelu_forward(const float* x, float* y, int64_t n) {
  if (gemm_isa() != GemmIsa::Scalar) return detail::gelu_forward_avx2(x, y, n);
  gelu_forward_loop(x, y, n);
}

void gelu_backward(const float* x, const float* dy, float* dx, int64_t n) {
  if (gemm_isa() != GemmIsa::Scalar) return detail::gelu_backward_avx2(x, dy, dx, n);
  gelu_backward_loop(x, dy, dx, n);
}

}  // namespace lethe::kernels::cpu
