// The fast CPU backend: float32 kernels with OpenMP, GEMM from kernels/cpu (packed panels,
// AVX-512/AVX2 micro-kernels chosen at run time), convolution as im2col + GEMM over groups of
// images (conv.cpp), attention fused per head (attention.cpp).
// f64 tensors (used only by gradient checks) go to the reference implementation it derives from.
#pragma once
#include "engine/backend/cpu_ref/cpu_ref.h"

namespace lethe {

// Convolution grouping (conv.cpp): images with fewer than this many output pixels are laid side
// by side until one GEMM has at least this many columns. Tests move it to reach every path;
// 0 restores the default (256).
void set_cpu_conv_group_columns(int64_t columns);
int64_t cpu_conv_group_columns();
// Winograd F(2×2, 3×3) for 3×3 stride-1 convolutions with ≥ 16 channels (conv.cpp); on by
// default, off for comparisons.
void set_cpu_conv_winograd(bool enabled);
bool cpu_conv_winograd();

class CpuBackend : public CpuRefBackend {
 public:
  const char* name() const override { return "cpu"; }
  void bmm(const Tensor& a, const Tensor& b, Tensor& c, bool ta, bool tb, bool accumulate) override;
  void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                      const Conv2dArgs& a) override;
  void conv2d_backward_input(const Tensor& dy, const Tensor& w, Tensor& dx,
                             const Conv2dArgs& a) override;
  void conv2d_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dw, Tensor& db,
                              const Conv2dArgs& a) override;
  void batch_norm_forward_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                Tensor& y, Tensor& mean, Tensor& var, double eps) override;
  void batch_norm_forward_eval(const Tensor& x, const Tensor& weight, const Tensor& bias,
                               const Tensor& mean, const Tensor& var, Tensor& y,
                               double eps) override;
  void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                           const Tensor& mean, const Tensor& var, double eps, bool training,
                           Tensor& dx, Tensor& dweight, Tensor& dbias) override;
  void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& y,
                          Tensor& mean, Tensor& rstd, double eps) override;
  void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                           const Tensor& mean, const Tensor& rstd, Tensor& dx, Tensor& dweight,
                           Tensor& dbias) override;
  void unary(UnaryOp op, const Tensor& x, Tensor& y, const UnaryParams& p) override;
  void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx,
                      const UnaryParams& p) override;
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& c) override;
  void reduce_sum(const Tensor& x, Tensor& y) override;
  void copy(const Tensor& src, Tensor& dst) override;
  void attention_forward(const Tensor& qkv, int64_t heads, double scale, Tensor& o,
                         Tensor& p) override;
  void attention_backward(const Tensor& qkv, const Tensor& p, const Tensor& dout, int64_t heads,
                          double scale, Tensor& dqkv) override;
  void softmax_forward(const Tensor& x, Tensor& y, bool log) override;
  void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, bool log) override;
  void cross_entropy_forward(const Tensor& logits, const Tensor& target, Tensor& loss,
                             double smoothing) override;
  void cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& dloss,
                              Tensor& dx, double smoothing) override;
  void max_pool2d_forward(const Tensor& x, Tensor& y, Tensor& idx, const Pool2dArgs& a) override;
  void max_pool2d_backward(const Tensor& dy, const Tensor& idx, Tensor& dx) override;
  void avg_pool2d_forward(const Tensor& x, Tensor& y, const Pool2dArgs& a) override;
  void avg_pool2d_backward(const Tensor& dy, Tensor& dx, const Pool2dArgs& a) override;
  void adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) override;
  void adaptive_avg_pool2d_backward(const Tensor& dy, Tensor& dx) override;
  void dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, double p, uint64_t seed) override;
  void dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, double p) override;
  void select(const Tensor& mask, const Tensor& a, const Tensor& b, Tensor& out) override;
};

}  // namespace lethe
