// Adam and AdamW (amsgrad optional), step for step as torch.optim.Adam / AdamW (single-tensor
// path): bias corrections per parameter step count, denom = sqrt(v)/sqrt(bc2) + eps. The update
// is one fused entry point of the parameter's backend (Backend::adam_step): the CPU kernels for
// host parameters, kernels/cuda/optim.cu for device-resident ones (math: kernels/common/optim.h).
#include "engine/backend/router.h"
#include "engine/optim/optimizer.h"

namespace lethe::optim {

Adam::Adam(std::vector<Tensor> params, const AdamOptions& opt)
    : Adam(std::move(params), opt, false) {}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& opt, bool decoupled)
    : Optimizer(std::move(params), opt.lr), opt_(opt), decoupled_(decoupled) {
  const char* who = decoupled ? "adamw" : "adam";
  LETHE_CHECK(opt.beta1 >= 0 && opt.beta1 < 1 && opt.beta2 >= 0 && opt.beta2 < 1, who,
              ": betas must be in [0, 1), got (", opt.beta1, ", ", opt.beta2, ")");
  LETHE_CHECK(opt.eps >= 0, who, ": eps must be >= 0, got ", opt.eps);
  LETHE_CHECK(opt.weight_decay >= 0, who, ": weight decay must be >= 0, got ", opt.weight_decay);
}

void Adam::update() {
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor g = usable_grad(i);
    if (!g.defined()) continue;
    const Device dev = params_[i].device();
    Tensor& m = state_on_device(i, "exp_avg");
    Tensor& v = state_on_device(i, "exp_avg_sq");
    if (!m.defined()) {
      m = Tensor::zeros(params_[i].shape(), DType::F32, dev);
      v = Tensor::zeros(params_[i].shape(), DType::F32, dev);
    }
    Tensor vmax;
    if (opt_.amsgrad) {
      Tensor& vm = state_on_device(i, "max_exp_avg_sq");
      if (!vm.defined()) vm = Tensor::zeros(params_[i].shape(), DType::F32, dev);
      vmax = vm;
    }
    const int64_t t = ++steps_[i];
    router().adam_step(
        params_[i], g, m, v, vmax,
        AdamStep{lr_, opt_.beta1, opt_.beta2, opt_.eps, opt_.weight_decay, decoupled_, t});
  }
}

}  // namespace lethe::optim
