// Cross-entropy from logits with label smoothing and mean/sum/none reduction.
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"

namespace lethe::ops {
using namespace detail;

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction r,
                     double label_smoothing) {
  check_float("cross_entropy", logits, "logits");
  LETHE_CHECK(logits.dim() == 2, "cross_entropy: logits must be [N,C], got ",
              shape_str(logits.shape()));
  LETHE_CHECK(target.defined() && target.dtype() == DType::I64 && target.dim() == 1 &&
                  target.size(0) == logits.size(0),
              "cross_entropy: target must be i64 [", logits.size(0), "], got ",
              target.defined() ? dtype_name(target.dtype()) : "undefined", " ",
              target.defined() ? shape_str(target.shape()) : "");
  LETHE_CHECK(label_smoothing >= 0 && label_smoothing <= 1,
              "cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
  int64_t N = logits.size(0), C = logits.size(1);
  Tensor td = dense(target);
  // Host targets are checked here; on a device, reading them back would cost a copy and a
  // synchronisation per step, so the kernels guard instead (an out-of-range target's loss and
  // gradient are NaN). The data loaders check labels when a dataset is loaded.
  if (td.is_cpu()) {
    const int64_t* tp = td.data<int64_t>();
    for (int64_t i = 0; i < N; ++i)
      LETHE_CHECK(tp[i] >= 0 && tp[i] < C, "cross_entropy: target ", tp[i], " at position ", i,
                  " out of range for ", C, " classes");
  }
  Tensor xd = dense(logits);
  Tensor loss = Tensor::empty({N}, logits.dtype(), device_of({&xd, &td}));
  be().cross_entropy_forward(xd, td, loss, label_smoothing);
  Tensor per =
      record(loss, "cross_entropy", {logits}, [=](const Tensor& g, const std::vector<bool>&) {
        Tensor dx = like(xd);
        be().cross_entropy_backward(xd, td, dense(g), dx, label_smoothing);
        return std::vector<Tensor>{dx};
      });
  switch (r) {
    case Reduction::None:
      return per;
    case Reduction::Sum:
      return sum(per);
    case Reduction::Mean:
      return mean(per);
  }
  return per;
}

}  // namespace lethe::ops
