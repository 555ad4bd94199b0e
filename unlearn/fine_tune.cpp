// ft: fine-tune on D_R with cross-entropy (catastrophic forgetting of D_F). lr 0.01, 10 epochs,
// SGD momentum 0.9, weight decay 5e-4 as in the SalUn/ℓ1-sparse reference code. The lr schedule
// (--opt schedule=): cosine decay over the epochs (the default, this suite's choice since the
// method was added; no reference code uses it) or constant, as the SalUn/ℓ1-sparse code runs FT
// (its MultiStepLR milestones 91,136 never fall inside 10 epochs).
#include "unlearn/common.h"
#include "unlearn/registry.h"

namespace lethe::unlearn {
namespace {

class FineTune : public Method {
 public:
  std::string name() const override { return "ft"; }
  bool supports_no_retain() const override { return false; }
  void run(UnlearnContext& ctx) override {
    require_retain(ctx, name());
    const std::string schedule = ctx.opt.extra_text_or("schedule", "cosine");
    LETHE_CHECK(schedule == "cosine" || schedule == "constant", "--opt schedule=", schedule,
                ": ft knows cosine (the default) and constant (the SalUn/ℓ1-sparse code's)");
    double lr = ctx.opt.lr_or(0.01);
    auto opt = make_sgd(ctx, lr);
    // The lr of the first and the last optimizer step, read from the optimizer itself.
    double first_lr = -1, last_lr = -1;
    train::EpochOptions eo = epoch_options(ctx, true);
    eo.before_step = [&](const data::Batch&) {
      if (first_lr < 0) first_lr = opt->lr();
      last_lr = opt->lr();
    };
    run_epochs(ctx, *opt, ctx.split.retain, eo, ctx.opt.epochs_or(10), lr, schedule == "cosine",
               "fine-tune");
    ctx.report["lr_first_step"] = first_lr;
    ctx.report["lr_last_step"] = last_lr;
    ctx.report["schedule"] = schedule;
    ctx.report["lr"] = lr;
  }
};

}  // namespace

std::unique_ptr<Method> make_fine_tune() {
  return std::make_unique<FineTune>();
}
}  // namespace lethe::unlearn
