// conv2d with stride and padding (square kernels not required). The backward computes only
// the gradients that are needed: the first layer of a network never computes d(image) unless
// the image itself requires a gradient (attacks).
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"

namespace lethe::ops {
using namespace detail;

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t padding) {
  check_float("conv2d", x, "input");
  check_float("conv2d", w, "weight");
  check_same_dtype("conv2d", x, w);
  LETHE_CHECK(x.dim() == 4, "conv2d: input must be [N,C,H,W], got ", shape_str(x.shape()));
  LETHE_CHECK(w.dim() == 4, "conv2d: weight must be [O,C,KH,KW], got ", shape_str(w.shape()));
  LETHE_CHECK(x.size(1) == w.size(1), "conv2d: input ", shape_str(x.shape()), " has ", x.size(1),
              " channels but weight ", shape_str(w.shape()), " expects ", w.size(1));
  LETHE_CHECK(stride >= 1 && padding >= 0, "conv2d: invalid stride ", stride, " or padding ",
              padding);
  if (b.defined())
    LETHE_CHECK(b.dim() == 1 && b.size(0) == w.size(0), "conv2d: bias ", shape_str(b.shape()),
                " does not match ", w.size(0), " output channels");
  Conv2dArgs a{stride, stride, padding, padding};
  int64_t OH = (x.size(2) + 2 * padding - w.size(2)) / stride + 1;
  int64_t OW = (x.size(3) + 2 * padding - w.size(3)) / stride + 1;
  LETHE_CHECK(x.size(2) + 2 * padding >= w.size(2) && x.size(3) + 2 * padding >= w.size(3),
              "conv2d: kernel ", shape_str(w.shape()), " larger than padded input ",
              shape_str(x.shape()), " (padding ", padding, ")");
  Tensor xd = dense(x), wd = dense(w), bd = dense(b);
  Tensor y = Tensor::empty({x.size(0), w.size(0), OH, OW}, x.dtype(), device_of({&x, &w}));
  be().conv2d_forward(xd, wd, bd, y, a);
  return record(y, "conv2d", {x, w, b}, [=](const Tensor& g, const std::vector<bool>& n) {
    Tensor gd = dense(g);
    std::vector<Tensor> out(3);
    if (n[0]) {
      out[0] = like(xd);
      be().conv2d_backward_input(gd, wd, out[0], a);
    }
    if (n[1] || n[2]) {
      Tensor dw = like(wd);
      Tensor db = bd.defined() ? like(bd) : Tensor();
      be().conv2d_backward_weight(gd, xd, dw, db, a);
      if (n[1]) out[1] = dw;
      if (n[2]) out[2] = db;
    }
    return out;
  });
}

}  // namespace lethe::ops
