// Softmax family and dropout (relu/gelu are unary functors, see elementwise.cpp).
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"

namespace lethe::ops {
using namespace detail;

namespace {
Tensor softmax_impl(const char* name, const Tensor& x, int64_t dim, bool log) {
  check_float(name, x, "x");
  LETHE_CHECK(x.dim() >= 1, name, ": needs at least 1 dimension, got a scalar");
  dim = norm_dim(name, dim, x.dim());
  if (dim != x.dim() - 1) {
    // Move `dim` last, apply, move back (rare in this engine's models).
    Tensor t = contiguous(transpose(x, dim, -1));
    return transpose(softmax_impl(name, t, -1, log), dim, -1);
  }
  int64_t C = x.size(-1), R = x.numel() / std::max<int64_t>(C, 1);
  Tensor xd = dense(x);
  Tensor y = like(xd);
  Tensor x2 = make_view(xd, {R, C}, {C, 1}, xd.offset());
  Tensor y2 = make_view(y, {R, C}, {C, 1}, 0);
  be().softmax_forward(x2, y2, log);
  return record(y, name, {x}, [=](const Tensor& g, const std::vector<bool>&) {
    Tensor gd = dense(g);
    Tensor dx = like(gd);
    Tensor dx2 = make_view(dx, {R, C}, {C, 1}, 0);
    be().softmax_backward(y2, make_view(gd, {R, C}, {C, 1}, gd.offset()), dx2, log);
    return std::vector<Tensor>{dx};
  });
}
}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  return softmax_impl("softmax", x, dim, false);
}
Tensor log_softmax(const Tensor& x, int64_t dim) {
  return softmax_impl("log_softmax", x, dim, true);
}

Tensor dropout(const Tensor& x, double p, bool training, uint64_t seed) {
  check_float("dropout", x, "x");
  LETHE_CHECK(p >= 0 && p < 1, "dropout: p must be in [0, 1), got ", p);
  if (!training || p == 0) return x;
  Tensor xd = dense(x);
  Tensor y = like(xd);
  Tensor mask = Tensor::empty(x.shape(), DType::U8, xd.device());
  be().dropout_forward(xd, y, mask, p, seed);
  return record(y, "dropout", {x}, [=](const Tensor& g, const std::vector<bool>&) {
    Tensor gd = dense(g);
    Tensor dx = like(gd);
    be().dropout_backward(gd, mask, dx, p);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace lethe::ops
