// timm-style multi-head self-attention, composed from registry ops (linear, matmul, softmax,
// views) so that every backend's kernels and the autograd rules are reused, not duplicated.
#include <cmath>

#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"

namespace lethe::ops {

Tensor multi_head_attention(const Tensor& x, const Tensor& qkv_w, const Tensor& qkv_b,
                            const Tensor& proj_w, const Tensor& proj_b, int64_t heads) {
  LETHE_CHECK(x.defined() && x.dim() == 3, "multi_head_attention: input must be [B,N,C], got ",
              x.defined() ? shape_str(x.shape()) : "undefined");
  int64_t B = x.size(0), N = x.size(1), C = x.size(2);
  LETHE_CHECK(heads >= 1 && C % heads == 0, "multi_head_attention: dim ", C,
              " not divisible by heads ", heads);
  LETHE_CHECK(qkv_w.defined() && qkv_w.dim() == 2 && qkv_w.size(0) == 3 * C && qkv_w.size(1) == C,
              "multi_head_attention: qkv weight must be [", 3 * C, ",", C, "], got ",
              shape_str(qkv_w.shape()));
  int64_t D = C / heads;
  Tensor qkv = linear(x, qkv_w, qkv_b);                               // [B,N,3C]
  qkv = permute(reshape(qkv, {B, N, 3, heads, D}), {2, 0, 3, 1, 4});  // [3,B,H,N,D]
  Tensor q = contiguous(slice(qkv, 0, 0, 1));
  Tensor k = contiguous(slice(qkv, 0, 1, 2));
  Tensor v = contiguous(slice(qkv, 0, 2, 3));
  q = reshape(q, {B, heads, N, D});
  k = reshape(k, {B, heads, N, D});
  v = reshape(v, {B, heads, N, D});
  Tensor att = mul(matmul(q, transpose(k, -2, -1)), 1.0 / std::sqrt(static_cast<double>(D)));
  att = softmax(att, -1);
  Tensor o = matmul(att, v);  // [B,H,N,D]
  o = reshape(contiguous(transpose(o, 1, 2)), {B, N, C});
  return linear(o, proj_w, proj_b);
}

}  // namespace lethe::ops
