// The bodies of norm_impl.h compiled with AVX2 (4 doubles per vector); norm.cpp dispatches here.
#include "kernels/cpu/norm_impl.h"

namespace lethe::kernels::cpu::detail {

void batchnorm_forward_train_avx2(const float* x, const float* weight, const float* bias, float* y,
                                  float* mean, float* var, int64_t N, int64_t C, int64_t S,
                                  double eps) {
  batchnorm_forward_train_impl(x, weight, bias, y, mean, var, N, C, S, eps);
}

void batchnorm_forward_eval_avx2(const float* x, const float* weight, const float* bias,
                                 const float* mean, const float* var, float* y, int64_t N,
                                 int64_t C, int64_t S, double eps) {
  batchnorm_forward_eval_impl(x, weight, bias, mean, var, y, N, C, S, eps);
}

void batchnorm_backward_avx2(const float* dy, const float* x, const float* weight,
                             const float* mean, const float* var, int64_t N, int64_t C, int64_t S,
                             double eps, bool training, float* dx, float* dweight, float* dbias) {
  batchnorm_backward_impl(dy, x, weight, mean, var, N, C, S, eps, training, dx, dweight, dbias);
}

void layernorm_forward_avx2(const float* x, const float* weight, const float* bias, float* y,
                            float* mean, float* rstd, int64_t R, int64_t D, double eps) {
  layernorm_forward_impl(x, weight, bias, y, mean, rstd, R, D, eps);
}

void layernorm_backward_avx2(const float* dy, const float* x, const float* weight,
                             const float* mean, const float* rstd, float* dx, float* dweight,
                             float* dbias, int64_t R, int64_t D) {
  layernorm_backward_impl(dy, x, weight, mean, rstd, dx, dweight, dbias, R, D);
}

}  // namespace lethe::kernels::cpu::detail
