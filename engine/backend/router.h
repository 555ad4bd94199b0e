// The dispatch point of engine/ops: every op calls the backend entry points through the Router,
// which picks the backend from the tensors themselves. Host tensors run on current_backend()
// (a device backend stages them; the op harness compares backends this way). Tensors on a
// device run on that device's backend, whatever backend is current, so a CPU backend is never
// handed a device pointer; tensors of two different devices in one call are an error.
#pragma once
#include <initializer_list>

#include "engine/backend/backend.h"

namespace lethe {

class Router final : public Backend {
 public:
  // The backend for a call on these tensors (undefined ones are ignored), checked as above.
  static Backend& target(std::initializer_list<const Tensor*> ts);
  // The device of the first device tensor among ts, else the host.
  static Device device_of(std::initializer_list<const Tensor*> ts);

  const char* name() const override { return current_backend().name(); }
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
  void sgd_step(Tensor& p, const Tensor& g, Tensor& buf, const SgdStep& s) override;
  void adam_step(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, Tensor& vmax,
                 const AdamStep& s) override;
};

// The one Router (stateless).
Router& router();

}  // namespace lethe
