// GELU dispatch: the AVX2 copy where the CPU has AVX2 and FMA (the GEMM's ISA choice says so),
// else the baseline copy of the same loops.
#include "kernels/cpu/gelu.h"

#include "kernels/cpu/gelu_impl.h"
#include "kernels/cpu/gemm.h"

namespace lethe::kernels::cpu {

namespace detail {
void gelu_forward_avx2(const float* x, float* y, int64_t n);
void gelu_backward_avx2(const float* x, const float* dy, float* dx, int64_t n);
}  // namespace detail

void gelu_forward(const float* x, float* y, int64_t n) {
  if (gemm_isa() != GemmIsa::Scalar) return detail::gelu_forward_avx2(x, y, n);
  gelu_forward_loop(x, y, n);
}

void gelu_backward(const float* x, const float* dy, float* dx, int64_t n) {
  if (gemm_isa() != GemmIsa::Scalar) return detail::gelu_backward_avx2(x, dy, dx, n);
  gelu_backward_loop(x, dy, dx, n);
}

}  // namespace lethe::kernels::cpu
