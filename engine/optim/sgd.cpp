// SGD with momentum, dampening, Nesterov and L2 weight decay, step for step as torch.optim.SGD.
#include "engine/optim/optimizer.h"

namespace lethe::optim {

SGD::SGD(std::vector<Tensor> params, const SgdOptions& opt)
    : Optimizer(std::move(params), opt.lr), opt_(opt) {
  LETHE_CHECK(opt.momentum >= 0, "sgd: momentum must be >= 0, got ", opt.momentum);
  LETHE_CHECK(opt.weight_decay >= 0, "sgd: weight decay must be >= 0, got ", opt.weight_decay);
  LETHE_CHECK(!opt.nesterov || (opt.momentum > 0 && opt.dampening == 0),
              "sgd: Nesterov momentum requires a momentum and zero dampening");
}

void SGD::step() {
  const float lr = static_cast<float>(lr_), wd = static_cast<float>(opt_.weight_decay);
  const float mom = static_cast<float>(opt_.momentum);
  const float damp = 1.0f - static_cast<float>(opt_.dampening);
  const bool nesterov = opt_.nesterov;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor g = usable_grad(i);
    if (!g.defined()) continue;
    const int64_t n = params_[i].numel();
    float* p = params_[i].data<float>();
    const float* gp = g.data<float>();
    ++steps_[i];
    if (opt_.momentum == 0) {
#pragma omp parallel for if (n > 65536)
      for (int64_t k = 0; k < n; ++k) p[k] -= lr * (gp[k] + wd * p[k]);
      continue;
    }
    Tensor& buf_t = state_[i]["momentum_buffer"];
    // PyTorch's first step stores the gradient itself (no dampening).
    const bool first = !buf_t.defined();
    if (first) buf_t = Tensor::empty(params_[i].shape());
    float* buf = buf_t.data<float>();
#pragma omp parallel for if (n > 65536)
    for (int64_t k = 0; k < n; ++k) {
      float d = gp[k] + wd * p[k];
      buf[k] = first ? d : mom * buf[k] + damp * d;
      d = nesterov ? d + mom * buf[k] : buf[k];
      p[k] -= lr * d;
    }
  }
}

}  // namespace lethe::optim
