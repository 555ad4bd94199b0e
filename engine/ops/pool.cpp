// Max, average and adaptive average pooling on [N,C,H,W].
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"

namespace lethe::ops {
using namespace detail;

namespace {
Pool2dArgs pool_args(const char* op, const Tensor& x, int64_t k, int64_t s, int64_t p) {
  check_float(op, x, "input");
  LETHE_CHECK(x.dim() == 4, op, ": input must be [N,C,H,W], got ", shape_str(x.shape()));
  LETHE_CHECK(k >= 1 && s >= 1 && p >= 0 && 2 * p <= k, op, ": invalid kernel ", k, ", stride ", s,
              ", padding ", p, " (padding must be at most half the kernel)");
  LETHE_CHECK(x.size(2) + 2 * p >= k && x.size(3) + 2 * p >= k, op, ": kernel ", k,
              " larger than the padded input ", shape_str(x.shape()));
  return Pool2dArgs{k, k, s, s, p, p};
}
Shape pool_out(const Tensor& x, const Pool2dArgs& a) {
  return {x.size(0), x.size(1), (x.size(2) + 2 * a.pad_h - a.kernel_h) / a.stride_h + 1,
          (x.size(3) + 2 * a.pad_w - a.kernel_w) / a.stride_w + 1};
}
}  // namespace

Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  Pool2dArgs a = pool_args("max_pool2d", x, kernel, stride, padding);
  Tensor xd = dense(x);
  Shape os = pool_out(x, a);
  Tensor y = Tensor::empty(os, x.dtype(), x.device());
  Tensor idx = Tensor::empty(os, DType::I64, x.device());
  be().max_pool2d_forward(xd, y, idx, a);
  Shape in_shape = x.shape();
  return record(y, "max_pool2d", {x}, [=](const Tensor& g, const std::vector<bool>&) {
    Tensor dx = Tensor::empty(in_shape, g.dtype(), g.device());
    be().max_pool2d_backward(dense(g), idx, dx);
    return std::vector<Tensor>{dx};
  });
}

Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  Pool2dArgs a = pool_args("avg_pool2d", x, kernel, stride, padding);
  Tensor y = Tensor::empty(pool_out(x, a), x.dtype(), x.device());
  be().avg_pool2d_forward(dense(x), y, a);
  Shape in_shape = x.shape();
  return record(y, "avg_pool2d", {x}, [=](const Tensor& g, const std::vector<bool>&) {
    Tensor dx = Tensor::empty(in_shape, g.dtype(), g.device());
    be().avg_pool2d_backward(dense(g), dx, a);
    return std::vector<Tensor>{dx};
  });
}

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w) {
  check_float("adaptive_avg_pool2d", x, "input");
  LETHE_CHECK(x.dim() == 4, "adaptive_avg_pool2d: input must be [N,C,H,W], got ",
              shape_str(x.shape()));
  LETHE_CHECK(out_h >= 1 && out_w >= 1 && x.size(2) >= 1 && x.size(3) >= 1,
              "adaptive_avg_pool2d: invalid output size ", out_h, "x", out_w, " for input ",
              shape_str(x.shape()));
  Tensor y = Tensor::empty({x.size(0), x.size(1), out_h, out_w}, x.dtype(), x.device());
  be().adaptive_avg_pool2d_forward(dense(x), y);
  Shape in_shape = x.shape();
  return record(y, "adaptive_avg_pool2d", {x}, [=](const Tensor& g, const std::vector<bool>&) {
    Tensor dx = Tensor::empty(in_shape, g.dtype(), g.device());
    be().adaptive_avg_pool2d_backward(dense(g), dx);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace lethe::ops
