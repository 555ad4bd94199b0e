// timm-style multi-head self-attention: the qkv and output projections are linear ops; the core
// (split heads, softmax(q kᵀ/√D) v, merge heads) is one op over the packed qkv tensor, so a
// backend can fuse it (cpu does; the others run Backend's composition of bmm and softmax).
#include <cmath>

#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"

namespace lethe::ops {
using namespace detail;

Tensor attention(const Tensor& qkv, int64_t heads) {
  check_float("attention", qkv, "qkv");
  LETHE_CHECK(qkv.dim() == 3 && qkv.size(2) % 3 == 0, "attention: qkv must be [B,N,3C], got ",
              shape_str(qkv.shape()));
  const int64_t B = qkv.size(0), N = qkv.size(1), C = qkv.size(2) / 3;
  LETHE_CHECK(heads >= 1 && C % heads == 0, "attention: dim ", C, " not divisible by heads ",
              heads);
  const double scale = 1.0 / std::sqrt(static_cast<double>(C / heads));
  Tensor qd = dense(qkv);
  Tensor o = Tensor::empty({B, N, C}, qkv.dtype(), qkv.device());
  Tensor p = Tensor::empty({B, heads, N, N}, qkv.dtype(), qkv.device());  // kept for backward
  be().attention_forward(qd, heads, scale, o, p);
  return record(o, "attention", {qkv}, [=](const Tensor& g, const std::vector<bool>&) {
    Tensor dqkv = Tensor::empty(qd.shape(), g.dtype(), qd.device());
    be().attention_backward(qd, p, dense(g), heads, scale, dqkv);
    return std::vector<Tensor>{dqkv};
  });
}

Tensor multi_head_attention(const Tensor& x, const Tensor& qkv_w, const Tensor& qkv_b,
                            const Tensor& proj_w, const Tensor& proj_b, int64_t heads) {
  LETHE_CHECK(x.defined() && x.dim() == 3, "multi_head_attention: input must be [B,N,C], got ",
              x.defined() ? shape_str(x.shape()) : "undefined");
  const int64_t C = x.size(2);
  LETHE_CHECK(heads >= 1 && C % heads == 0, "multi_head_attention: dim ", C,
              " not divisible by heads ", heads);
  LETHE_CHECK(qkv_w.defined() && qkv_w.dim() == 2 && qkv_w.size(0) == 3 * C && qkv_w.size(1) == C,
              "multi_head_attention: qkv weight must be [", 3 * C, ",", C, "], got ",
              shape_str(qkv_w.shape()));
  return linear(attention(linear(x, qkv_w, qkv_b), heads), proj_w, proj_b);
}

}  // namespace lethe::ops
