// ft: fine-tune on D_R with cross-entropy (catastrophic forgetting of D_F). Defaults from the
// SalUn/ℓ1-sparse reference code: lr 0.01, 10 epochs, SGD momentum 0.9, weight decay 5e-4.
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
    double lr = ctx.opt.lr_or(0.01);
    auto opt = make_sgd(ctx, lr);
    run_epochs(ctx, *opt, ctx.split.retain, epoch_options(ctx, true), ctx.opt.epochs_or(10), lr,
               true, "fine-tune");
  }
};

}  // namespace

std::unique_ptr<Method> make_fine_tune() {
  return std::make_unique<FineTune>();
}
}  // namespace lethe::unlearn
