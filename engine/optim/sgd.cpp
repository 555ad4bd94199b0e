// SGD with momentum, dampening, Nesterov and L2 weight decay, step for step as torch.optim.SGD.
// The update is one fused entry point of the parameter's backend (Backend::sgd_step): the CPU
// kernels for host parameters, kernels/cuda/optim.cu for device-resident ones; both share the
// math of kernels/common/optim.h.
#include "engine/backend/router.h"
#include "engine/optim/optimizer.h"

namespace lethe::optim {

SGD::SGD(std::vector<Tensor> params, const SgdOptions& opt)
    : Optimizer(std::move(params), opt.lr), opt_(opt) {
  LETHE_CHECK(opt.momentum >= 0, "sgd: momentum must be >= 0, got ", opt.momentum);
  LETHE_CHECK(opt.weight_decay >= 0, "sgd: weight decay must be >= 0, got ", opt.weight_decay);
  LETHE_CHECK(!opt.nesterov || (opt.momentum > 0 && opt.dampening == 0),
              "sgd: Nesterov momentum requires a momentum and zero dampening");
}

void SGD::update() {
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor g = usable_grad(i);
    if (!g.defined()) continue;
    ++steps_[i];
    Tensor buf;
    bool first = false;
    if (opt_.momentum != 0) {
      Tensor& buf_t = state_on_device(i, "momentum_buffer");
      // PyTorch's first step stores the gradient itself (no dampening).
      first = !buf_t.defined();
      if (first) buf_t = Tensor::empty(params_[i].shape(), DType::F32, params_[i].device());
      buf = buf_t;
    }
    router().sgd_step(
        params_[i], g, buf,
        SgdStep{lr_, opt_.momentum, opt_.dampening, opt_.weight_decay, opt_.nesterov, first});
  }
}

}  // namespace lethe::optim
