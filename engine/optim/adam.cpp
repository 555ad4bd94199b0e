// Adam and AdamW (amsgrad optional), step for step as torch.optim.Adam / AdamW (single-tensor
// path): bias corrections per parameter step count, denom = sqrt(v)/sqrt(bc2) + eps. The update
// itself is kernels/cpu/optim.h (math shared with the CUDA kernels: kernels/common/optim.h).
#include "engine/optim/optimizer.h"
#include "kernels/cpu/optim.h"

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

void Adam::step() {
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor g = usable_grad(i);
    if (!g.defined()) continue;
    const int64_t n = params_[i].numel();
    float* p = params_[i].data<float>();
    const float* gp = g.data<float>();
    ParamState& st = state_[i];
    if (!st.count("exp_avg")) {
      st["exp_avg"] = Tensor::zeros(params_[i].shape());
      st["exp_avg_sq"] = Tensor::zeros(params_[i].shape());
      if (opt_.amsgrad) st["max_exp_avg_sq"] = Tensor::zeros(params_[i].shape());
    }
    float* m = st["exp_avg"].data<float>();
    float* v = st["exp_avg_sq"].data<float>();
    float* vmax = opt_.amsgrad ? st["max_exp_avg_sq"].data<float>() : nullptr;
    const int64_t t = ++steps_[i];
    kernels::cpu::adam_step(p, gp, m, v, vmax, n,
                            kernels::adam_scalars(lr_, opt_.beta1, opt_.beta2, opt_.eps,
                                                  opt_.weight_decay, decoupled_, t));
  }
}

}  // namespace lethe::optim
