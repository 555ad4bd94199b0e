// Sums and means over axes, and the L1/L2 norms used by sparsity and attacks.
#include <algorithm>

#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"

namespace lethe::ops {
using namespace detail;

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims_in, bool keepdim) {
  check_float("sum", x, "x");
  std::vector<bool> red(x.dim(), false);
  for (int64_t d : dims_in) red[norm_dim("sum", d, x.dim())] = true;
  Shape kept = x.shape(), out_shape;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (red[d]) kept[d] = 1;
    if (!red[d] || keepdim) out_shape.push_back(kept[d]);
  }
  Tensor y = Tensor::empty(kept, x.dtype(), x.device());
  be().reduce_sum(dense(x), y);
  if (!keepdim) y = make_view(y, out_shape, contiguous_strides(out_shape), 0);
  Shape in_shape = x.shape();
  return record(y, "sum", {x}, [=](const Tensor& g, const std::vector<bool>&) {
    Tensor gk = reshape(g, kept);
    return std::vector<Tensor>{expand_to(gk, in_shape)};
  });
}

Tensor sum(const Tensor& x) {
  std::vector<int64_t> all(x.dim());
  for (int64_t d = 0; d < x.dim(); ++d) all[d] = d;
  return sum(x, all, false);
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  int64_t n = 1;
  for (int64_t d : dims) n *= x.size(d);
  return mul(sum(x, dims, keepdim), 1.0 / static_cast<double>(std::max<int64_t>(n, 1)));
}

Tensor mean(const Tensor& x) {
  return mul(sum(x), 1.0 / static_cast<double>(std::max<int64_t>(x.numel(), 1)));
}

Tensor l1_norm(const Tensor& x) {
  return sum(abs(x));
}
Tensor l2_norm(const Tensor& x) {
  return sqrt(sum(square(x)));
}

}  // namespace lethe::ops
