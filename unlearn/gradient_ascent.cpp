// ga: gradient ascent on the forget loss (Thudi et al. 2022, as run in the SalUn / ℓ1-sparse
// reference code, unlearn/GA.py) — SGD steps on −CE over D_F. Defaults from that code: lr 1e-4,
// 5 epochs, SGD momentum 0.9, weight decay 5e-4, constant lr, training augmentation. With D_R
// available (the suite's variant, issue 5), each epoch first makes one descent pass over D_R.
#include "engine/ops/ops.h"
#include "eval/predict.h"
#include "unlearn/common.h"
#include "unlearn/prefix.h"
#include "unlearn/registry.h"

namespace lethe::unlearn {
namespace {

// Mean cross-entropy of the model over `indices` (eval mode, no graph): the forget loss that
// ascent is meant to raise, recorded before and after for the report.
double mean_loss(UnlearnContext& ctx, const std::vector<int64_t>& indices) {
  if (indices.empty()) return 0;
  Tensor logits = eval::predict_logits(*ctx.model, *ctx.train, indices, ctx.norm);
  const int64_t* y = ctx.train->labels.data<int64_t>();
  std::vector<int64_t> labels(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) labels[i] = y[indices[i]];
  NoGradGuard ng;
  Tensor t = Tensor::from_vector_i64({static_cast<int64_t>(labels.size())}, labels);
  return ops::cross_entropy(logits, t).item();
}

class GradientAscent : public Method {
 public:
  std::string name() const override { return "ga"; }
  void run(UnlearnContext& ctx) override {
    const double lr = ctx.opt.lr_or(1e-4);
    const int64_t epochs = ctx.opt.epochs_or(5);
    const bool with_retain = !ctx.opt.no_retain && !ctx.split.retain.empty();
    // Two optimizers, so that momentum built while descending on D_R never carries into the
    // ascent steps (and the reverse): each pass continues only its own direction.
    auto ascent = make_sgd(ctx, lr, 0.9, 5e-4);
    auto descent = with_retain ? make_sgd(ctx, lr, 0.9, 5e-4) : nullptr;
    train::EpochOptions up = epoch_options(ctx, /*augment=*/true);
    up.loss_sign = -1;
    train::EpochOptions down = epoch_options(ctx, /*augment=*/true);
    std::vector<int64_t> rows = ctx.split.forget;
    if (with_retain) rows.insert(rows.end(), ctx.split.retain.begin(), ctx.split.retain.end());
    attach_prefix_cache(ctx, up, rows);
    down.cache = up.cache;

    double before = 0, after = 0;
    {
      // A measurement, not unlearning work: counted with evaluation, outside unlearn_s.
      auto s = ctx.timer->scope("evaluate");
      before = mean_loss(ctx, ctx.split.forget);
    }
    for (int64_t e = 0; e < epochs; ++e) {
      std::string tag = std::to_string(e + 1) + "/" + std::to_string(epochs);
      char status[96];
      if (with_retain) {
        auto s = ctx.timer->scope("retain-descent");
        profile::Progress prog("retain " + tag, static_cast<int64_t>(ctx.split.retain.size()));
        train::EpochStats st = train::train_epoch(*ctx.model, *descent, *ctx.train,
                                                  ctx.split.retain, ctx.norm, down, e, &prog);
        std::snprintf(status, sizeof status, "loss %.4f acc %.2f%%", st.loss, st.acc);
        prog.finish(status);
      }
      auto s = ctx.timer->scope("ascent");
      profile::Progress prog("ascent " + tag, static_cast<int64_t>(ctx.split.forget.size()));
      train::EpochStats st = train::train_epoch(*ctx.model, *ascent, *ctx.train, ctx.split.forget,
                                                ctx.norm, up, e, &prog);
      std::snprintf(status, sizeof status, "forget loss %.4f acc %.2f%%", st.loss, st.acc);
      prog.finish(status);
    }
    {
      auto s = ctx.timer->scope("evaluate");
      after = mean_loss(ctx, ctx.split.forget);
    }
    ctx.report["forget_loss_before"] = before;
    ctx.report["forget_loss_after"] = after;
    ctx.report["retain_descent"] = with_retain;
    ctx.report["lr"] = lr;
    ctx.report["epochs"] = epochs;
  }
};

}  // namespace

std::unique_ptr<Method> make_gradient_ascent() {
  return std::make_unique<GradientAscent>();
}

}  // namespace lethe::unlearn
