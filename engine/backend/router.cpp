#include "engine/backend/router.h"

namespace lethe {

Router& router() {
  static Router r;
  return r;
}

Device Router::device_of(std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (t->defined() && !t->is_cpu()) return t->device();
  return Device();
}

Backend& Router::target(std::initializer_list<const Tensor*> ts) {
  Device d;
  for (const Tensor* t : ts) {
    if (!t->defined() || t->is_cpu()) continue;
    if (d.is_cpu())
      d = t->device();
    else
      LETHE_CHECK(d == t->device(), "op on tensors of two devices ('", d.name(), "' and '",
                  t->device().name(), "'): move one with .to(device)");
  }
  return d.is_cpu() ? current_backend() : d.memory()->backend();
}

void Router::bmm(const Tensor& a, const Tensor& b, Tensor& c, bool ta, bool tb, bool accumulate) {
  target({&a, &b, &c}).bmm(a, b, c, ta, tb, accumulate);
}
void Router::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                            const Conv2dArgs& a) {
  target({&x, &w, &bias, &y}).conv2d_forward(x, w, bias, y, a);
}
void Router::conv2d_backward_input(const Tensor& dy, const Tensor& w, Tensor& dx,
                                   const Conv2dArgs& a) {
  target({&dy, &w, &dx}).conv2d_backward_input(dy, w, dx, a);
}
void Router::conv2d_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dw, Tensor& db,
                                    const Conv2dArgs& a) {
  target({&dy, &x, &dw, &db}).conv2d_backward_weight(dy, x, dw, db, a);
}
void Router::batch_norm_forward_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                      Tensor& y, Tensor& mean, Tensor& var, double eps) {
  target({&x, &weight, &bias, &y, &mean, &var})
      .batch_norm_forward_train(x, weight, bias, y, mean, var, eps);
}
void Router::batch_norm_forward_eval(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                     const Tensor& mean, const Tensor& var, Tensor& y, double eps) {
  target({&x, &weight, &bias, &mean, &var, &y})
      .batch_norm_forward_eval(x, weight, bias, mean, var, y, eps);
}
void Router::batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                 const Tensor& mean, const Tensor& var, double eps, bool training,
                                 Tensor& dx, Tensor& dweight, Tensor& dbias) {
  target({&dy, &x, &weight, &mean, &var, &dx, &dweight, &dbias})
      .batch_norm_backward(dy, x, weight, mean, var, eps, training, dx, dweight, dbias);
}
void Router::layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                Tensor& y, Tensor& mean, Tensor& rstd, double eps) {
  target({&x, &weight, &bias, &y, &mean, &rstd})
      .layer_norm_forward(x, weight, bias, y, mean, rstd, eps);
}
void Router::layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                 const Tensor& mean, const Tensor& rstd, Tensor& dx,
                                 Tensor& dweight, Tensor& dbias) {
  target({&dy, &x, &weight, &mean, &rstd, &dx, &dweight, &dbias})
      .layer_norm_backward(dy, x, weight, mean, rstd, dx, dweight, dbias);
}
void Router::unary(UnaryOp op, const Tensor& x, Tensor& y, const UnaryParams& p) {
  target({&x, &y}).unary(op, x, y, p);
}
void Router::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                            Tensor& dx, const UnaryParams& p) {
  target({&x, &y, &dy, &dx}).unary_backward(op, x, y, dy, dx, p);
}
void Router::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& c) {
  target({&a, &b, &c}).binary(op, a, b, c);
}
void Router::reduce_sum(const Tensor& x, Tensor& y) {
  target({&x, &y}).reduce_sum(x, y);
}
void Router::copy(const Tensor& src, Tensor& dst) {
  target({&src, &dst}).copy(src, dst);
}
void Router::attention_forward(const Tensor& qkv, int64_t heads, double scale, Tensor& o,
                               Tensor& p) {
  target({&qkv, &o, &p}).attention_forward(qkv, heads, scale, o, p);
}
void Router::attention_backward(const Tensor& qkv, const Tensor& p, const Tensor& dout,
                                int64_t heads, double scale, Tensor& dqkv) {
  target({&qkv, &p, &dout, &dqkv}).attention_backward(qkv, p, dout, heads, scale, dqkv);
}
void Router::softmax_forward(const Tensor& x, Tensor& y, bool log) {
  target({&x, &y}).softmax_forward(x, y, log);
}
void Router::softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, bool log) {
  target({&y, &dy, &dx}).softmax_backward(y, dy, dx, log);
}
void Router::cross_entropy_forward(const Tensor& logits, const Tensor& target_, Tensor& loss,
                                   double smoothing) {
  target({&logits, &target_, &loss}).cross_entropy_forward(logits, target_, loss, smoothing);
}
void Router::cross_entropy_backward(const Tensor& logits, const Tensor& target_,
                                    const Tensor& dloss, Tensor& dx, double smoothing) {
  target({&logits, &target_, &dloss, &dx})
      .cross_entropy_backward(logits, target_, dloss, dx, smoothing);
}
void Router::max_pool2d_forward(const Tensor& x, Tensor& y, Tensor& idx, const Pool2dArgs& a) {
  target({&x, &y, &idx}).max_pool2d_forward(x, y, idx, a);
}
void Router::max_pool2d_backward(const Tensor& dy, const Tensor& idx, Tensor& dx) {
  target({&dy, &idx, &dx}).max_pool2d_backward(dy, idx, dx);
}
void Router::avg_pool2d_forward(const Tensor& x, Tensor& y, const Pool2dArgs& a) {
  target({&x, &y}).avg_pool2d_forward(x, y, a);
}
void Router::avg_pool2d_backward(const Tensor& dy, Tensor& dx, const Pool2dArgs& a) {
  target({&dy, &dx}).avg_pool2d_backward(dy, dx, a);
}
void Router::adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) {
  target({&x, &y}).adaptive_avg_pool2d_forward(x, y);
}
void Router::adaptive_avg_pool2d_backward(const Tensor& dy, Tensor& dx) {
  target({&dy, &dx}).adaptive_avg_pool2d_backward(dy, dx);
}
void Router::dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, double p, uint64_t seed) {
  target({&x, &y, &mask}).dropout_forward(x, y, mask, p, seed);
}
void Router::dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, double p) {
  target({&dy, &mask, &dx}).dropout_backward(dy, mask, dx, p);
}

void Router::select(const Tensor& mask, const Tensor& a, const Tensor& b, Tensor& out) {
  target({&mask, &a, &b, &out}).select(mask, a, b, out);
}

void Router::sgd_step(Tensor& p, const Tensor& g, Tensor& buf, const SgdStep& s) {
  target({&p, &g, &buf}).sgd_step(p, g, buf, s);
}
void Router::adam_step(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, Tensor& vmax,
                       const AdamStep& s) {
  target({&p, &g, &m, &v, &vmax}).adam_step(p, g, m, v, vmax, s);
}

}  // namespace lethe
