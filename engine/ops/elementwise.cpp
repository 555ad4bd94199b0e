// Elementwise ops: unary functors (kernels/common/functors.h) and broadcasting binary ops.
#include <algorithm>

#include "engine/backend/dispatch.h"
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"

namespace lethe::ops {
using namespace detail;

namespace {

Shape broadcast_shape(const char* op, const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    LETHE_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ",
                shape_str(b), " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor unary_op(const char* name, UnaryOp op, const Tensor& x, UnaryParams p = {}) {
  check_float(name, x, "x");
  Tensor xd = dense(x);
  Tensor y = like(xd);
  be().unary(op, xd, y, p);
  // The closure keeps only what the functor's bwd reads (ReLU: its output; GELU: its input), so
  // the other tensor can be freed once its last user is done; an unread argument gets dy.
  // It must not hold `y` itself: y owns the node, which would own y (a cycle).
  const unsigned saves = with_unary(op, p, [](auto f) { return decltype(f)::saves; });
  Tensor xs = (saves & fn::kSaveX) ? xd : Tensor();
  Tensor ys = (saves & fn::kSaveY) ? y.detach() : Tensor();
  return record(y, name, {x}, [=](const Tensor& g, const std::vector<bool>&) {
    Tensor gd = dense(g);
    Tensor dx = like(gd);
    be().unary_backward(op, xs.defined() ? xs : gd, ys.defined() ? ys : gd, gd, dx, p);
    return std::vector<Tensor>{dx};
  });
}

Tensor binary_raw(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
  check_float(name, a, "a");
  check_float(name, b, "b");
  check_same_dtype(name, a, b);
  Shape s = broadcast_shape(name, a.shape(), b.shape());
  Tensor c = Tensor::empty(s, a.dtype(), device_of({&a, &b}));
  be().binary(op, dense(a), dense(b), c);
  return c;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor c = binary_raw("add", BinaryOp::Add, a, b);
  Shape sa = a.shape(), sb = b.shape();
  return record(c, "add", {a, b}, [=](const Tensor& g, const std::vector<bool>& n) {
    return std::vector<Tensor>{n[0] ? sum_to(g, sa) : Tensor(), n[1] ? sum_to(g, sb) : Tensor()};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor c = binary_raw("sub", BinaryOp::Sub, a, b);
  Shape sa = a.shape(), sb = b.shape();
  return record(c, "sub", {a, b}, [=](const Tensor& g, const std::vector<bool>& n) {
    return std::vector<Tensor>{n[0] ? sum_to(g, sa) : Tensor(),
                               n[1] ? sum_to(neg(g), sb) : Tensor()};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor c = binary_raw("mul", BinaryOp::Mul, a, b);
  Tensor ad = a.detach(), bd = b.detach();
  return record(c, "mul", {a, b}, [=](const Tensor& g, const std::vector<bool>& n) {
    return std::vector<Tensor>{n[0] ? sum_to(mul(g, bd), ad.shape()) : Tensor(),
                               n[1] ? sum_to(mul(g, ad), bd.shape()) : Tensor()};
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor c = binary_raw("div", BinaryOp::Div, a, b);
  Tensor ad = a.detach(), bd = b.detach(), cd = c.detach();
  return record(c, "div", {a, b}, [=](const Tensor& g, const std::vector<bool>& n) {
    // d(a/b)/db = -(a/b)/b
    return std::vector<Tensor>{n[0] ? sum_to(div(g, bd), ad.shape()) : Tensor(),
                               n[1] ? sum_to(neg(div(mul(g, cd), bd)), bd.shape()) : Tensor()};
  });
}

namespace {
// max/min: the gradient goes to the selected input (to a on ties, as torch.maximum splits
// ties evenly; ties are measure-zero in practice and skipped by the gradient checker).
Tensor select_op(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
  Tensor c = binary_raw(name, op, a, b);
  Tensor ad = a.detach(), bd = b.detach(), cd = c.detach();
  return record(c, name, {a, b}, [=](const Tensor& g, const std::vector<bool>& n) {
    // mask_a = 1 where c == a: computed as 1 - sign(|c - a|).
    Tensor one = Tensor::scalar(1.0, g.dtype(), g.device());
    Tensor ma = sub(one, sign(abs(sub(cd, expand_to(ad, cd.shape())))));
    Tensor mb = sub(one, ma);
    return std::vector<Tensor>{n[0] ? sum_to(mul(g, ma), ad.shape()) : Tensor(),
                               n[1] ? sum_to(mul(g, mb), bd.shape()) : Tensor()};
  });
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  return select_op("maximum", BinaryOp::Max, a, b);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return select_op("minimum", BinaryOp::Min, a, b);
}

Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b) {
  check_float("where", a, "a");
  LETHE_CHECK(mask.dtype() == DType::U8, "where: the mask must be u8, got ",
              dtype_name(mask.dtype()));
  LETHE_CHECK(a.dtype() == b.dtype(), "where: a and b differ in dtype");
  LETHE_CHECK(mask.shape() == a.shape() && a.shape() == b.shape(), "where: shapes ",
              shape_str(mask.shape()), ", ", shape_str(a.shape()), " and ", shape_str(b.shape()),
              " differ (no broadcasting)");
  Tensor md = dense(mask), ad = dense(a), bd = dense(b);
  Tensor out = like(ad);
  be().select(md, ad, bd, out);
  return record(out, "where", {a, b}, [=](const Tensor& g, const std::vector<bool>& n) {
    Tensor gd = dense(g);
    Tensor zero = Tensor::zeros(gd.shape(), gd.dtype(), gd.device());
    auto pick = [&](const Tensor& t, const Tensor& f) {
      Tensor r = like(gd);
      be().select(md, t, f, r);
      return r;
    };
    return std::vector<Tensor>{n[0] ? pick(gd, zero) : Tensor(), n[1] ? pick(zero, gd) : Tensor()};
  });
}

Tensor add(const Tensor& a, double s) {
  return unary_op("add_scalar", UnaryOp::AddScalar, a, {s, 0});
}
Tensor mul(const Tensor& a, double s) {
  return unary_op("mul_scalar", UnaryOp::Scale, a, {s, 0});
}
Tensor neg(const Tensor& x) {
  return unary_op("neg", UnaryOp::Neg, x);
}
Tensor abs(const Tensor& x) {
  return unary_op("abs", UnaryOp::Abs, x);
}
Tensor sign(const Tensor& x) {
  return unary_op("sign", UnaryOp::Sign, x);
}
Tensor sqrt(const Tensor& x) {
  return unary_op("sqrt", UnaryOp::Sqrt, x);
}
Tensor exp(const Tensor& x) {
  return unary_op("exp", UnaryOp::Exp, x);
}
Tensor log(const Tensor& x) {
  return unary_op("log", UnaryOp::Log, x);
}
Tensor square(const Tensor& x) {
  return unary_op("square", UnaryOp::Square, x);
}
Tensor pow(const Tensor& x, double p) {
  return unary_op("pow", UnaryOp::Pow, x, {p, 0});
}
Tensor clamp(const Tensor& x, double lo, double hi) {
  LETHE_CHECK(lo <= hi, "clamp: lo ", lo, " > hi ", hi);
  return unary_op("clamp", UnaryOp::Clamp, x, {lo, hi});
}
Tensor sigmoid(const Tensor& x) {
  return unary_op("sigmoid", UnaryOp::Sigmoid, x);
}
Tensor tanh(const Tensor& x) {
  return unary_op("tanh", UnaryOp::Tanh, x);
}
Tensor reciprocal(const Tensor& x) {
  return unary_op("reciprocal", UnaryOp::Reciprocal, x);
}
Tensor relu(const Tensor& x) {
  return unary_op("relu", UnaryOp::Relu, x);
}
Tensor gelu(const Tensor& x) {
  return unary_op("gelu", UnaryOp::Gelu, x);
}

}  // namespace lethe::ops
