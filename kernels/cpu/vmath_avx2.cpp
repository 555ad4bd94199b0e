// The loops of vmath_impl.h compiled with AVX2+FMA (8 lanes); vmath.cpp dispatches here.
#include "kernels/cpu/vmath_impl.h"

namespace lethe::kernels::cpu::detail {

float exp_shifted_sum_avx2(const float* x, float shift, float* y, int64_t n) {
  return exp_shifted_sum_loop(x, shift, y, n);
}
void gelu_forward_avx2(const float* x, float* y, int64_t n) {
  gelu_forward_loop(x, y, n);
}
void gelu_backward_avx2(const float* x, const float* dy, float* dx, int64_t n) {
  gelu_backward_loop(x, dy, dx, n);
}

}  // namespace lethe::kernels::cpu::detail
