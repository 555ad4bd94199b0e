// matmul (2-D and batched with broadcast batch dimensions) and linear, both on backend bmm.
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"

namespace lethe::ops {
using namespace detail;

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_float("matmul", a, "a");
  check_float("matmul", b, "b");
  check_same_dtype("matmul", a, b);
  LETHE_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul: needs ≥2-d operands, got ",
              shape_str(a.shape()), " and ", shape_str(b.shape()));
  int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  LETHE_CHECK(b.size(-2) == K, "matmul: inner dimensions differ: ", shape_str(a.shape()), " × ",
              shape_str(b.shape()));
  // Broadcast the batch dimensions, then run as [B, M, K] × [B, K, N].
  Shape ba(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  size_t nb = std::max(ba.size(), bb.size());
  Shape batch(nb);
  for (size_t i = 0; i < nb; ++i) {
    int64_t da = i < nb - ba.size() ? 1 : ba[i - (nb - ba.size())];
    int64_t db = i < nb - bb.size() ? 1 : bb[i - (nb - bb.size())];
    LETHE_CHECK(da == db || da == 1 || db == 1, "matmul: batch dimensions of ",
                shape_str(a.shape()), " and ", shape_str(b.shape()), " do not broadcast");
    batch[i] = da == 1 ? db : da;
  }
  int64_t B = shape_numel(batch);
  Shape sa = batch, sb = batch, so = batch;
  sa.insert(sa.end(), {M, K});
  sb.insert(sb.end(), {K, N});
  so.insert(so.end(), {M, N});
  Tensor a3 = dense(expand_to(a.detach(), sa));
  bool b_shared = shape_numel(bb) == 1;  // one right operand for every batch (linear layers)
  Tensor b3 = b_shared ? dense(b) : dense(expand_to(b.detach(), sb));
  Tensor c = Tensor::empty(so, a.dtype(), device_of({&a3, &b3}));
  Tensor a_v = make_view(a3, {B, M, K}, {M * K, K, 1}, a3.offset());
  Tensor b_v = make_view(b3, {b_shared ? 1 : B, K, N}, {K * N, N, 1}, b3.offset());
  Tensor c_v = make_view(c, {B, M, N}, {M * N, N, 1}, 0);
  be().bmm(a_v, b_v, c_v, false, false, false);
  Shape a_shape = a.shape(), b_shape = b.shape();
  return record(c, "matmul", {a, b}, [=](const Tensor& g, const std::vector<bool>& n) {
    Tensor gd = dense(g);
    Tensor g_v = make_view(gd, {B, M, N}, {M * N, N, 1}, gd.offset());
    std::vector<Tensor> out(2);
    if (n[0]) {  // dA = dC · Bᵀ
      Tensor da = Tensor::empty(sa, g.dtype(), gd.device());
      Tensor da_v = make_view(da, {B, M, K}, {M * K, K, 1}, 0);
      be().bmm(g_v, b_v, da_v, false, true, false);
      out[0] = sum_to(da, a_shape);
    }
    if (n[1]) {  // dB = Aᵀ · dC
      Tensor db = Tensor::empty(sb, g.dtype(), gd.device());
      Tensor db_v = make_view(db, {B, K, N}, {K * N, N, 1}, 0);
      if (b_shared) {
        // Sum over the batch inside one GEMM: [K, B·M] × [B·M, N].
        Tensor a2 = make_view(a3, {1, B * M, K}, {B * M * K, K, 1}, a3.offset());
        Tensor g2 = make_view(gd, {1, B * M, N}, {B * M * N, N, 1}, gd.offset());
        Tensor d1 = Tensor::empty({1, K, N}, g.dtype(), gd.device());
        be().bmm(a2, g2, d1, true, false, false);
        out[1] = reshape(d1, b_shape);
      } else {
        be().bmm(a_v, g_v, db_v, true, false, false);
        out[1] = sum_to(db, b_shape);
      }
    }
    return out;
  });
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  check_float("linear", x, "x");
  check_float("linear", w, "weight");
  LETHE_CHECK(w.dim() == 2, "linear: weight must be 2-d, got ", shape_str(w.shape()));
  LETHE_CHECK(x.dim() >= 1 && x.size(-1) == w.size(1), "linear: input ", shape_str(x.shape()),
              " does not match weight ", shape_str(w.shape()), " (in_features ", w.size(1), ")");
  if (b.defined())
    LETHE_CHECK(b.dim() == 1 && b.size(0) == w.size(0), "linear: bias ", shape_str(b.shape()),
                " does not match weight ", shape_str(w.shape()));
  check_same_dtype("linear", x, w);
  int64_t in = w.size(1), out_f = w.size(0), R = x.numel() / std::max<int64_t>(in, 1);
  Tensor xd = dense(x), wd = dense(w);
  Shape ys = x.shape();
  ys.back() = out_f;
  Tensor y = Tensor::empty(ys, x.dtype(), device_of({&xd, &wd, &b}));
  Tensor x_v = make_view(xd, {1, R, in}, {R * in, in, 1}, xd.offset());
  Tensor w_v = make_view(wd, {1, out_f, in}, {out_f * in, in, 1}, wd.offset());
  Tensor y_v = make_view(y, {1, R, out_f}, {R * out_f, out_f, 1}, 0);
  if (b.defined()) {
    // Bias first, then accumulate the GEMM onto it.
    Tensor bd = dense(b);
    Tensor bb = make_view(bd, {R, out_f}, {0, 1}, bd.offset());
    Tensor y2 = make_view(y, {R, out_f}, {out_f, 1}, 0);
    be().copy(bb, y2);
    be().bmm(x_v, w_v, y_v, false, true, true);
  } else {
    be().bmm(x_v, w_v, y_v, false, true, false);
  }
  return record(y, "linear", {x, w, b}, [=](const Tensor& g, const std::vector<bool>& n) {
    Tensor gd = dense(g);
    Tensor g_v = make_view(gd, {1, R, out_f}, {R * out_f, out_f, 1}, gd.offset());
    std::vector<Tensor> out(3);
    if (n[0]) {  // dx = g · W
      Tensor dx = Tensor::empty(xd.shape(), g.dtype(), gd.device());
      Tensor dx_v = make_view(dx, {1, R, in}, {R * in, in, 1}, 0);
      be().bmm(g_v, w_v, dx_v, false, false, false);
      out[0] = dx;
    }
    if (n[1]) {  // dW = gᵀ · x
      Tensor dw = Tensor::empty({out_f, in}, g.dtype(), gd.device());
      Tensor dw_v = make_view(dw, {1, out_f, in}, {out_f * in, in, 1}, 0);
      be().bmm(g_v, x_v, dw_v, true, false, false);
      out[1] = dw;
    }
    if (n[2]) {
      Tensor g2 = make_view(gd, {R, out_f}, {out_f, 1}, gd.offset());
      Tensor db = Tensor::empty({1, out_f}, g.dtype(), gd.device());
      be().reduce_sum(g2, db);
      out[2] = reshape(db, {out_f});
    }
    return out;
  });
}

}  // namespace lethe::ops
