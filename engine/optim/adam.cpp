// Adam and AdamW (amsgrad optional), step for step as torch.optim.Adam / AdamW (single-tensor
// path): bias corrections per parameter step count, denom = sqrt(v)/sqrt(bc2) + eps.
#include <algorithm>
#include <cmath>

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

void Adam::step() {
  const double b1 = opt_.beta1, b2 = opt_.beta2;
  const float eps = static_cast<float>(opt_.eps);
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
    // Scalars in double as Python computes them, then used in float like PyTorch's kernels.
    const double bc1 = 1.0 - std::pow(b1, static_cast<double>(t));
    const double bc2 = 1.0 - std::pow(b2, static_cast<double>(t));
    const float step_size = static_cast<float>(lr_ / bc1);
    const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
    const float decay = decoupled_ ? static_cast<float>(1.0 - lr_ * opt_.weight_decay) : 1.0f;
    const float l2 = decoupled_ ? 0.0f : static_cast<float>(opt_.weight_decay);
    const float fb1 = static_cast<float>(b1), fb2 = static_cast<float>(b2);
    const float ob1 = static_cast<float>(1.0 - b1), ob2 = static_cast<float>(1.0 - b2);
#pragma omp parallel for if (n > 65536)
    for (int64_t k = 0; k < n; ++k) {
      float pk = p[k] * decay;
      float gk = gp[k] + l2 * pk;
      m[k] = fb1 * m[k] + ob1 * gk;
      v[k] = fb2 * v[k] + ob2 * gk * gk;
      float vk = v[k];
      if (vmax) vk = vmax[k] = std::max(vmax[k], vk);
      float denom = std::sqrt(vk) / bc2_sqrt + eps;
      p[k] = pk - step_size * (m[k] / denom);
    }
  }
}

}  // namespace lethe::optim
