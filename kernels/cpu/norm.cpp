// Batch norm and layer norm on the CPU: two-pass statistics in double lanes (see norm.h). The
// bodies are in norm_impl.h, compiled here for the baseline ISA and in norm_avx2.cpp for AVX2;
// the AVX2 copy (same bits, wider double vectors) serves the AVX2 and AVX-512 paths.
#include "kernels/cpu/norm.h"

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/norm_impl.h"

namespace lethe::kernels::cpu {

namespace detail {
void batchnorm_forward_train_avx2(const float* x, const float* weight, const float* bias, float* y,
                                  float* mean, float* var, int64_t N, int64_t C, int64_t S,
                                  double eps);
void batchnorm_forward_eval_avx2(const float* x, const float* weight, const float* bias,
                                 const float* mean, const float* var, float* y, int64_t N,
                                 int64_t C, int64_t S, double eps);
void batchnorm_backward_avx2(const float* dy, const float* x, const float* weight,
                             const float* mean, const float* var, int64_t N, int64_t C, int64_t S,
                             double eps, bool training, float* dx, float* dweight, float* dbias);
void layernorm_forward_avx2(const float* x, const float* weight, const float* bias, float* y,
                            float* mean, float* rstd, int64_t R, int64_t D, double eps);
void layernorm_backward_avx2(const float* dy, const float* x, const float* weight,
                             const float* mean, const float* rstd, float* dx, float* dweight,
                             float* dbias, int64_t R, int64_t D);
}  // namespace detail

namespace {
bool wide() {
  return gemm_isa() != GemmIsa::Scalar;
}
}  // namespace

void batchnorm_forward_train(const float* x, const float* weight, const float* bias, float* y,
                             float* mean, float* var, int64_t N, int64_t C, int64_t S, double eps) {
  if (wide())
    return detail::batchnorm_forward_train_avx2(x, weight, bias, y, mean, var, N, C, S, eps);
  batchnorm_forward_train_impl(x, weight, bias, y, mean, var, N, C, S, eps);
}

void batchnorm_forward_eval(const float* x, const float* weight, const float* bias,
                            const float* mean, const float* var, float* y, int64_t N, int64_t C,
                            int64_t S, double eps) {
  if (wide())
    return detail::batchnorm_forward_eval_avx2(x, weight, bias, mean, var, y, N, C, S, eps);
  batchnorm_forward_eval_impl(x, weight, bias, mean, var, y, N, C, S, eps);
}

void batchnorm_backward(const float* dy, const float* x, const float* weight, const float* mean,
                        const float* var, int64_t N, int64_t C, int64_t S, double eps,
                        bool training, float* dx, float* dweight, float* dbias) {
  if (wide())
    return detail::batchnorm_backward_avx2(dy, x, weight, mean, var, N, C, S, eps, training, dx,
                                           dweight, dbias);
  batchnorm_backward_impl(dy, x, weight, mean, var, N, C, S, eps, training, dx, dweight, dbias);
}

void layernorm_forward(const float* x, const float* weight, const float* bias, float* y,
                       float* mean, float* rstd, int64_t R, int64_t D, double eps) {
  if (wide()) return detail::layernorm_forward_avx2(x, weight, bias, y, mean, rstd, R, D, eps);
  layernorm_forward_impl(x, weight, bias, y, mean, rstd, R, D, eps);
}

void layernorm_backward(const float* dy, const float* x, const float* weight, const float* mean,
                        const float* rstd, float* dx, float* dweight, float* dbias, int64_t R,
                        int64_t D) {
  if (wide())
    return detail::layernorm_backward_avx2(dy, x, weight, mean, rstd, dx, dweight, dbias, R, D);
  layernorm_backward_impl(dy, x, weight, mean, rstd, dx, dweight, dbias, R, D);
}

}  // namespace lethe::kernels::cpu
