// Tensor helpers the backends share when they turn tensors into kernel arguments. The op kinds
// and their functor dispatch (with_unary, with_binary) are kernels/common/op_kinds.h.
#pragma once
#include "engine/backend/backend.h"
#include "kernels/common/op_kinds.h"

namespace lethe {

// Broadcast strides of a contiguous tensor of shape `in` against output shape `out`
// (right-aligned; 0 where the input dimension is missing or 1).
inline Shape broadcast_strides(const Shape& in, const Shape& out) {
  Shape st(out.size(), 0);
  Shape cs = contiguous_strides(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i)
    st[off + i] = (in[i] == 1 && out[off + i] != 1) ? 0 : cs[i];
  return st;
}

// x [N, C, ...] viewed as [N, C, S], S the product of the trailing dimensions (batch norm).
struct NCS {
  int64_t n, c, s;
};
inline NCS ncs(const Tensor& x) {
  int64_t s = 1;
  for (int64_t d = 2; d < x.dim(); ++d) s *= x.size(d);
  return {x.size(0), x.size(1), s};
}

}  // namespace lethe
