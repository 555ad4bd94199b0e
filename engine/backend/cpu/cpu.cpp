// The fast CPU backend's entry points (see cpu.h): each checks the dtype (f64 goes to cpu_ref),
// takes the tensors' pointers and sizes, and calls one kernel of kernels/cpu, which owns the loops
// and their threading.
#include "engine/backend/cpu/cpu.h"

#include <vector>

#include "engine/backend/cpu/cpu_common.h"
#include "engine/backend/dispatch.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/norm.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/softmax.h"

namespace lethe {
namespace {

namespace kc = kernels::cpu;
using namespace cpu_detail;

// x [N, C, H, W] as (planes N·C, H, W); y's H, W are the outputs'.
struct Planes {
  int64_t P, H, W, OH, OW;
};
Planes planes(const Tensor& x, const Tensor& y) {
  return {x.size(0) * x.size(1), x.size(2), x.size(3), y.size(2), y.size(3)};
}

}  // namespace

void CpuBackend::bmm(const Tensor& a, const Tensor& b, Tensor& c, bool ta, bool tb,
                     bool accumulate) {
  if (!f32(c)) return CpuRefBackend::bmm(a, b, c, ta, tb, accumulate);
  int64_t B = c.size(0), M = c.size(1), N = c.size(2);
  int64_t K = ta ? a.size(1) : a.size(2);
  int64_t Bb = b.size(0);
  const float *A = cf(a), *Bp = cf(b);
  float* C = mf(c);
  int64_t lda = ta ? M : K, ldb = tb ? K : N;
  float beta = accumulate ? 1.f : 0.f;
  auto one = [&](int64_t i) {
    kc::sgemm(ta, tb, M, N, K, 1.f, A + i * M * K, lda, Bp + (Bb == 1 ? 0 : i) * K * N, ldb, beta,
              C + i * M * N, N);
  };
  // Many small products (attention heads): one per thread; a few large ones: GEMM's threads.
  if (B >= 2 && M * N * K < (1 << 21)) {
#pragma omp parallel for schedule(dynamic) if (nthreads() > 1)
    for (int64_t i = 0; i < B; ++i) one(i);
  } else {
    for (int64_t i = 0; i < B; ++i) one(i);
  }
}

void CpuBackend::batch_norm_forward_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                          Tensor& y, Tensor& mean, Tensor& var, double eps) {
  if (!f32(x)) return CpuRefBackend::batch_norm_forward_train(x, weight, bias, y, mean, var, eps);
  auto [N, C, S] = ncs(x);
  kc::batchnorm_forward_train(cf(x), cf(weight), cf(bias), mf(y), mf(mean), mf(var), N, C, S, eps);
}

void CpuBackend::batch_norm_forward_eval(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                         const Tensor& mean, const Tensor& var, Tensor& y,
                                         double eps) {
  if (!f32(x)) return CpuRefBackend::batch_norm_forward_eval(x, weight, bias, mean, var, y, eps);
  auto [N, C, S] = ncs(x);
  kc::batchnorm_forward_eval(cf(x), cf(weight), cf(bias), cf(mean), cf(var), mf(y), N, C, S, eps);
}

void CpuBackend::batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                     const Tensor& mean, const Tensor& var, double eps,
                                     bool training, Tensor& dx, Tensor& dweight, Tensor& dbias) {
  if (!f32(x))
    return CpuRefBackend::batch_norm_backward(dy, x, weight, mean, var, eps, training, dx, dweight,
                                              dbias);
  auto [N, C, S] = ncs(x);
  kc::batchnorm_backward(cf(dy), cf(x), cf(weight), cf(mean), cf(var), N, C, S, eps, training,
                         mf(dx), mf(dweight), mf(dbias));
}

void CpuBackend::layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                    Tensor& y, Tensor& mean, Tensor& rstd, double eps) {
  if (!f32(x)) return CpuRefBackend::layer_norm_forward(x, weight, bias, y, mean, rstd, eps);
  kc::layernorm_forward(cf(x), cf(weight), cf(bias), mf(y), mf(mean), mf(rstd), x.size(0),
                        x.size(1), eps);
}

void CpuBackend::layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                     const Tensor& mean, const Tensor& rstd, Tensor& dx,
                                     Tensor& dweight, Tensor& dbias) {
  if (!f32(x))
    return CpuRefBackend::layer_norm_backward(dy, x, weight, mean, rstd, dx, dweight, dbias);
  kc::layernorm_backward(cf(dy), cf(x), cf(weight), cf(mean), cf(rstd), mf(dx), mf(dweight),
                         mf(dbias), x.size(0), x.size(1));
}

void CpuBackend::unary(UnaryOp op, const Tensor& x, Tensor& y, const UnaryParams& p) {
  if (!f32(x)) return CpuRefBackend::unary(op, x, y, p);
  kc::unary(op, p, cf(x), mf(y), x.numel());
}

void CpuBackend::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                                Tensor& dx, const UnaryParams& p) {
  if (!f32(dy)) return CpuRefBackend::unary_backward(op, x, y, dy, dx, p);
  kc::unary_backward(op, p, cf(x), cf(y), cf(dy), mf(dx), dy.numel());
}

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& c) {
  if (!f32(c)) return CpuRefBackend::binary(op, a, b, c);
  const int64_t n = c.numel();
  if (a.numel() == n && b.numel() == n) return kc::binary(op, cf(a), cf(b), mf(c), n);
  const Shape& cs = c.shape();
  const Shape sa = broadcast_strides(a.shape(), cs), sb = broadcast_strides(b.shape(), cs);
  kc::binary_broadcast(op, cf(a), cf(b), mf(c), cs.data(), sa.data(), sb.data(),
                       static_cast<int>(c.dim()));
}

void CpuBackend::reduce_sum(const Tensor& x, Tensor& y) {
  if (!f32(x)) return CpuRefBackend::reduce_sum(x, y);
  kc::reduce_sum(cf(x), mf(y), x.shape().data(), y.shape().data(), static_cast<int>(x.dim()));
}

void CpuBackend::copy(const Tensor& src, Tensor& dst) {
  if (!f32(src) || !f32(dst)) return CpuRefBackend::copy(src, dst);
  LETHE_CHECK(src.shape() == dst.shape(), "copy: shape mismatch");
  const float* base = static_cast<const float*>(src.impl()->storage->data());
  kc::copy_strided(base + src.offset(), mf(dst), src.shape().data(), src.strides().data(),
                   static_cast<int>(src.dim()));
}

void CpuBackend::softmax_forward(const Tensor& x, Tensor& y, bool log) {
  if (!f32(x)) return CpuRefBackend::softmax_forward(x, y, log);
  kc::softmax_forward(cf(x), mf(y), x.size(0), x.size(1), log);
}

void CpuBackend::softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, bool log) {
  if (!f32(y)) return CpuRefBackend::softmax_backward(y, dy, dx, log);
  kc::softmax_backward(cf(y), cf(dy), mf(dx), y.size(0), y.size(1), log);
}

void CpuBackend::cross_entropy_forward(const Tensor& logits, const Tensor& target, Tensor& loss,
                                       double smoothing) {
  if (!f32(logits)) return CpuRefBackend::cross_entropy_forward(logits, target, loss, smoothing);
  kc::cross_entropy_forward(cf(logits), target.data<int64_t>(), mf(loss), logits.size(0),
                            logits.size(1), static_cast<float>(smoothing));
}

void CpuBackend::cross_entropy_backward(const Tensor& logits, const Tensor& target,
                                        const Tensor& dloss, Tensor& dx, double smoothing) {
  if (!f32(logits))
    return CpuRefBackend::cross_entropy_backward(logits, target, dloss, dx, smoothing);
  kc::cross_entropy_backward(cf(logits), target.data<int64_t>(), cf(dloss), mf(dx), logits.size(0),
                             logits.size(1), static_cast<float>(smoothing));
}

void CpuBackend::max_pool2d_forward(const Tensor& x, Tensor& y, Tensor& idx, const Pool2dArgs& a) {
  if (!f32(x)) return CpuRefBackend::max_pool2d_forward(x, y, idx, a);
  const Planes s = planes(x, y);
  kc::max_pool2d_forward(cf(x), mf(y), idx.data<int64_t>(), s.P, s.H, s.W, s.OH, s.OW, a);
}

void CpuBackend::max_pool2d_backward(const Tensor& dy, const Tensor& idx, Tensor& dx) {
  if (!f32(dy)) return CpuRefBackend::max_pool2d_backward(dy, idx, dx);
  const Planes s = planes(dx, dy);
  kc::max_pool2d_backward(cf(dy), idx.data<int64_t>(), mf(dx), s.P, s.H * s.W, s.OH * s.OW);
}

void CpuBackend::avg_pool2d_forward(const Tensor& x, Tensor& y, const Pool2dArgs& a) {
  if (!f32(x)) return CpuRefBackend::avg_pool2d_forward(x, y, a);
  const Planes s = planes(x, y);
  kc::avg_pool2d_forward(cf(x), mf(y), s.P, s.H, s.W, s.OH, s.OW, a);
}

void CpuBackend::avg_pool2d_backward(const Tensor& dy, Tensor& dx, const Pool2dArgs& a) {
  if (!f32(dy)) return CpuRefBackend::avg_pool2d_backward(dy, dx, a);
  const Planes s = planes(dx, dy);
  kc::avg_pool2d_backward(cf(dy), mf(dx), s.P, s.H, s.W, s.OH, s.OW, a);
}

void CpuBackend::adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) {
  if (!f32(x)) return CpuRefBackend::adaptive_avg_pool2d_forward(x, y);
  const Planes s = planes(x, y);
  kc::adaptive_avg_pool2d_forward(cf(x), mf(y), s.P, s.H, s.W, s.OH, s.OW);
}

void CpuBackend::adaptive_avg_pool2d_backward(const Tensor& dy, Tensor& dx) {
  if (!f32(dy)) return CpuRefBackend::adaptive_avg_pool2d_backward(dy, dx);
  const Planes s = planes(dx, dy);
  kc::adaptive_avg_pool2d_backward(cf(dy), mf(dx), s.P, s.H, s.W, s.OH, s.OW);
}

void CpuBackend::dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, double p,
                                 uint64_t seed) {
  if (!f32(x)) return CpuRefBackend::dropout_forward(x, y, mask, p, seed);
  kc::dropout_forward(cf(x), mf(y), mask.data<uint8_t>(), x.numel(), p, seed);
}

void CpuBackend::dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, double p) {
  if (!f32(dy)) return CpuRefBackend::dropout_backward(dy, mask, dx, p);
  kc::dropout_backward(cf(dy), mask.data<uint8_t>(), mf(dx), dy.numel(), p);
}

void CpuBackend::select(const Tensor& mask, const Tensor& a, const Tensor& b, Tensor& out) {
  if (!f32(a)) return CpuRefBackend::select(mask, a, b, out);
  kc::select(mask.data<uint8_t>(), cf(a), cf(b), mf(out), a.numel());
}

}  // namespace lethe
