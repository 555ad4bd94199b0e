// The default attention of every backend: composed from that backend's own bmm, softmax, unary
// and strided copy, so a backend without a fused kernel (cpu_ref, emu, cuda) is still correct and
// covered by the harness through the ops it is made of. Costs three head-split copies, a scale
// pass and a head-merge copy per direction; cpu overrides it with a fused loop. Temporaries live
// where qkv lives (device memory for device-resident tensors).
#include "engine/backend/attention.h"

#include "engine/backend/backend.h"

namespace lethe {
namespace {

// slot s (0 q, 1 k, 2 v) of a [B,N,3,H,D] tensor as a [B,H,N,D] view.
Tensor head_slot(const Tensor& packed, const AttentionShape& a, int64_t s) {
  return make_view(packed, {a.B, a.H, a.N, a.D}, {a.N * 3 * a.C, a.D, 3 * a.C, 1},
                   packed.offset() + s * a.C);
}

// [B·H, rows, cols] view of a contiguous [B,H,rows,cols] tensor (plus offset).
Tensor batched(const Tensor& t, int64_t bh, int64_t rows, int64_t cols, int64_t offset = 0) {
  return make_view(t, {bh, rows, cols}, {rows * cols, cols, 1}, t.offset() + offset);
}

// [3,B,H,N,D] contiguous: the q, k, v slots of a [B,N,3,H,D] tensor with the heads split out.
Tensor split_heads(Backend& be, const Tensor& packed, const AttentionShape& a) {
  Tensor out = Tensor::empty({3, a.B, a.H, a.N, a.D}, packed.dtype(), packed.device());
  for (int64_t s = 0; s < 3; ++s) {
    Tensor dst = make_view(out, {a.B, a.H, a.N, a.D}, {a.H * a.N * a.D, a.N * a.D, a.D, 1},
                           s * a.B * a.H * a.N * a.D);
    be.copy(head_slot(packed, a, s), dst);
  }
  return out;
}

}  // namespace

void Backend::attention_forward(const Tensor& qkv, int64_t heads, double scale, Tensor& o,
                                Tensor& p) {
  const AttentionShape a = attention_shape(qkv, heads);
  const int64_t BH = a.B * a.H;
  const DType dt = qkv.dtype();
  Tensor qkv_h = split_heads(*this, qkv, a);
  const int64_t slot = BH * a.N * a.D;
  Tensor q = batched(qkv_h, BH, a.N, a.D), k = batched(qkv_h, BH, a.N, a.D, slot),
         v = batched(qkv_h, BH, a.N, a.D, 2 * slot);
  Tensor s = Tensor::empty({BH, a.N, a.N}, dt, qkv.device());
  bmm(q, k, s, false, true, false);
  Tensor scaled = Tensor::empty({BH * a.N, a.N}, dt, qkv.device());
  Tensor s2 = make_view(s, {BH * a.N, a.N}, {a.N, 1}, 0);
  unary(UnaryOp::Scale, s2, scaled, UnaryParams{scale, 0});
  Tensor p2 = make_view(p, {BH * a.N, a.N}, {a.N, 1}, p.offset());
  softmax_forward(scaled, p2, false);
  Tensor oh = Tensor::empty({BH, a.N, a.D}, dt, qkv.device());
  bmm(batched(p, BH, a.N, a.N), v, oh, false, false, false);
  // [B,H,N,D] -> o [B,N,H,D]
  Tensor oh_t = make_view(oh, {a.B, a.N, a.H, a.D}, {a.H * a.N * a.D, a.D, a.N * a.D, 1}, 0);
  Tensor o4 = make_view(o, {a.B, a.N, a.H, a.D}, {a.N * a.C, a.C, a.D, 1}, o.offset());
  copy(oh_t, o4);
}

void Backend::attention_backward(const Tensor& qkv, const Tensor& p, const Tensor& dout,
                                 int64_t heads, double scale, Tensor& dqkv) {
  const AttentionShape a = attention_shape(qkv, heads);
  const int64_t BH = a.B * a.H, slot = BH * a.N * a.D;
  const DType dt = qkv.dtype();
  Tensor qkv_h = split_heads(*this, qkv, a);
  Tensor q = batched(qkv_h, BH, a.N, a.D), k = batched(qkv_h, BH, a.N, a.D, slot),
         v = batched(qkv_h, BH, a.N, a.D, 2 * slot);
  // dout [B,N,H,D] -> [B,H,N,D]
  Tensor do_h = Tensor::empty({a.B, a.H, a.N, a.D}, dt, qkv.device());
  copy(make_view(dout, {a.B, a.H, a.N, a.D}, {a.N * a.C, a.D, a.C, 1}, dout.offset()), do_h);
  do_h = batched(do_h, BH, a.N, a.D);
  Tensor d_h =
      Tensor::empty({3, a.B, a.H, a.N, a.D}, dt, qkv.device());  // dq, dk, dv with heads split
  Tensor dq = batched(d_h, BH, a.N, a.D), dk = batched(d_h, BH, a.N, a.D, slot),
         dv = batched(d_h, BH, a.N, a.D, 2 * slot);
  Tensor p3 = batched(p, BH, a.N, a.N);
  bmm(p3, do_h, dv, true, false, false);  // dv = pᵀ · do
  Tensor dp = Tensor::empty({BH * a.N, a.N}, dt, qkv.device());
  Tensor dp3 = batched(dp, BH, a.N, a.N);
  bmm(do_h, v, dp3, false, true, false);  // dp = do · vᵀ
  Tensor ds = Tensor::empty({BH * a.N, a.N}, dt, qkv.device());
  softmax_backward(make_view(p, {BH * a.N, a.N}, {a.N, 1}, p.offset()), dp, ds, false);
  Tensor ds_scaled = Tensor::empty({BH, a.N, a.N}, dt, qkv.device());
  Tensor ds_scaled2 = make_view(ds_scaled, {BH * a.N, a.N}, {a.N, 1}, 0);
  unary(UnaryOp::Scale, ds, ds_scaled2, UnaryParams{scale, 0});
  bmm(ds_scaled, k, dq, false, false, false);  // dq = ds · k
  bmm(ds_scaled, q, dk, true, false, false);   // dk = dsᵀ · q
  // [3,B,H,N,D] -> dqkv [B,N,3,H,D]
  Tensor d_t =
      make_view(d_h, {a.B, a.N, 3, a.H, a.D}, {a.H * a.N * a.D, a.D, slot, a.N * a.D, 1}, 0);
  Tensor dqkv5 = make_view(dqkv, {a.B, a.N, 3, a.H, a.D}, {a.N * 3 * a.C, 3 * a.C, a.C, a.D, 1},
                           dqkv.offset());
  copy(d_t, dqkv5);
}

}  // namespace lethe
