// l1: ℓ1-sparse unlearning (Jia et al., "Model Sparsity Can Simplify Machine Unlearning", NeurIPS
// 2023; reference code FT_l1 / FT_prune) — fine-tune on D_R with CE + γ_e·‖θ‖₁, γ_e = α(1 − e/E)
// decaying linearly to 0 over the epochs. Defaults from that code: α 5e-4 (--opt alpha=...), lr
// 0.01, 10 epochs, SGD momentum 0.9, weight decay 5e-4, constant lr, training augmentation.
#include "engine/ops/ops.h"
#include "unlearn/common.h"
#include "unlearn/prefix.h"
#include "unlearn/registry.h"
#include "unlearn/scope.h"

namespace lethe::unlearn {
namespace {

// ‖θ‖₁ over the trainable parameters (the reference sums over all of them; frozen ones would
// contribute a constant with no gradient, so only the scope matters).
Tensor l1_norm_of(const std::vector<Tensor>& params) {
  Tensor total;
  for (const Tensor& p : params) {
    Tensor n = ops::l1_norm(p);
    total = total.defined() ? ops::add(total, n) : n;
  }
  return total;
}

double l1_value(const std::vector<Tensor>& params) {
  NoGradGuard ng;
  return params.empty() ? 0.0 : l1_norm_of(params).item();
}

class L1Sparse : public Method {
 public:
  std::string name() const override { return "l1"; }
  bool supports_no_retain() const override { return false; }
  void run(UnlearnContext& ctx) override {
    require_retain(ctx, name());
    const double alpha = ctx.opt.extra_or("alpha", 5e-4);
    LETHE_CHECK(alpha >= 0, "--opt alpha=", alpha, ": must be ≥ 0");
    const double lr = ctx.opt.lr_or(0.01);
    const int64_t epochs = ctx.opt.epochs_or(10);
    std::vector<Tensor> params = trainable_parameters(*ctx.model);
    auto opt = make_sgd(ctx, lr, 0.9, 5e-4);
    double gamma = alpha;
    train::EpochOptions eo = epoch_options(ctx, /*augment=*/true);
    eo.extra_loss = [&params, &gamma]() { return ops::mul(l1_norm_of(params), gamma); };
    const double l1_before = l1_value(params);
    attach_prefix_cache(ctx, eo, ctx.split.retain);

    auto scope = ctx.timer->scope("fine-tune");
    for (int64_t e = 0; e < epochs; ++e) {
      // The reference's schedule: α(1 − e/E) for the whole epoch e (E = 10 → α, 0.9α, …, 0.1α).
      gamma = alpha * (1.0 - static_cast<double>(e) / static_cast<double>(epochs));
      profile::Progress prog("l1 " + std::to_string(e + 1) + "/" + std::to_string(epochs),
                             static_cast<int64_t>(ctx.split.retain.size()));
      train::EpochStats st = train::train_epoch(*ctx.model, *opt, *ctx.train, ctx.split.retain,
                                                ctx.norm, eo, e, &prog);
      char status[96];
      std::snprintf(status, sizeof status, "loss %.4f acc %.2f%% gamma %.2e", st.loss, st.acc,
                    gamma);
      prog.finish(status);
    }
    ctx.report["alpha"] = alpha;
    ctx.report["l1_before"] = l1_before;
    ctx.report["l1_after"] = l1_value(params);
    ctx.report["lr"] = lr;
    ctx.report["epochs"] = epochs;
  }
};

}  // namespace

std::unique_ptr<Method> make_l1_sparse() {
  return std::make_unique<L1Sparse>();
}

}  // namespace lethe::unlearn
