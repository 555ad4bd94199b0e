// Batch norm (training with running statistics, eval) and layer norm over the last axis.
#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"

namespace lethe::ops {
using namespace detail;

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                  const Tensor& running_mean, const Tensor& running_var, bool training,
                  double momentum, double eps) {
  check_float("batch_norm", x, "input");
  LETHE_CHECK(x.dim() >= 2, "batch_norm: input must be [N,C,...], got ", shape_str(x.shape()));
  int64_t C = x.size(1);
  auto check_vec = [&](const Tensor& t, const char* arg) {
    if (!t.defined()) return;
    LETHE_CHECK(t.dim() == 1 && t.size(0) == C, "batch_norm: ", arg, " ", shape_str(t.shape()),
                " does not match ", C, " channels of input ", shape_str(x.shape()));
    check_same_dtype("batch_norm", x, t);
  };
  check_vec(weight, "weight");
  check_vec(bias, "bias");
  check_vec(running_mean, "running_mean");
  check_vec(running_var, "running_var");
  Tensor xd = dense(x), wd = dense(weight), bd = dense(bias);
  Tensor y = like(xd);
  Tensor mean = Tensor::empty({C}, x.dtype(), xd.device()),
         var = Tensor::empty({C}, x.dtype(), xd.device());
  if (training) {
    int64_t m = x.numel() / std::max<int64_t>(C, 1);
    LETHE_CHECK(m > 1, "batch_norm: training needs more than one value per channel, got input ",
                shape_str(x.shape()));
    be().batch_norm_forward_train(xd, wd, bd, y, mean, var, eps);
    if (running_mean.defined() && running_var.defined()) {
      // PyTorch: running = (1-momentum)·running + momentum·batch, with the unbiased variance.
      NoGradGuard ng;
      double unbias = static_cast<double>(m) / static_cast<double>(m - 1);
      Tensor nm = add(mul(running_mean.detach(), 1 - momentum), mul(mean, momentum));
      Tensor nv = add(mul(running_var.detach(), 1 - momentum), mul(var, momentum * unbias));
      Tensor(running_mean).copy_(nm);
      Tensor(running_var).copy_(nv);
    }
  } else {
    LETHE_CHECK(running_mean.defined() && running_var.defined(),
                "batch_norm: eval mode needs running_mean and running_var");
    mean = dense(running_mean);
    var = dense(running_var);
    be().batch_norm_forward_eval(xd, wd, bd, mean, var, y, eps);
  }
  return record(y, "batch_norm", {x, weight, bias},
                [=](const Tensor& g, const std::vector<bool>& n) {
                  Tensor dx = n[0] ? like(xd) : Tensor();
                  Tensor dw = n[1] ? like(wd) : Tensor();
                  Tensor db = n[2] ? like(bd) : Tensor();
                  be().batch_norm_backward(dense(g), xd, wd, mean, var, eps, training, dx, dw, db);
                  return std::vector<Tensor>{dx, dw, db};
                });
}

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  check_float("layer_norm", x, "input");
  LETHE_CHECK(x.dim() >= 1, "layer_norm: input must have at least 1 dimension");
  int64_t D = x.size(-1), R = x.numel() / std::max<int64_t>(D, 1);
  for (const Tensor* t : {&weight, &bias})
    if (t->defined())
      LETHE_CHECK(t->dim() == 1 && t->size(0) == D, "layer_norm: parameter ", shape_str(t->shape()),
                  " does not match the last dimension of input ", shape_str(x.shape()));
  Tensor xd = dense(x), wd = dense(weight), bd = dense(bias);
  Tensor y = like(xd);
  Tensor mean = Tensor::empty({R}, x.dtype(), xd.device()),
         rstd = Tensor::empty({R}, x.dtype(), xd.device());
  Tensor x2 = make_view(xd, {R, D}, {D, 1}, xd.offset());
  Tensor y2 = make_view(y, {R, D}, {D, 1}, 0);
  be().layer_norm_forward(x2, wd, bd, y2, mean, rstd, eps);
  return record(y, "layer_norm", {x, weight, bias},
                [=](const Tensor& g, const std::vector<bool>& n) {
                  Tensor gd = dense(g);
                  Tensor dx = n[0] ? like(xd) : Tensor();
                  Tensor dw = n[1] ? like(wd) : Tensor();
                  Tensor db = n[2] ? like(bd) : Tensor();
                  Tensor dx2 = n[0] ? make_view(dx, {R, D}, {D, 1}, 0) : Tensor();
                  be().layer_norm_backward(make_view(gd, {R, D}, {D, 1}, gd.offset()), x2, wd, mean,
                                           rstd, dx2, dw, db);
                  return std::vector<Tensor>{dx, dw, db};
                });
}

}  // namespace lethe::ops
