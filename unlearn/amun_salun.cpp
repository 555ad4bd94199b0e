// amun-salun: AMUN (unlearn/amun.cpp) restricted to SalUn's weight-saliency mask (--opt ratio=0.5,
// unlearn/saliency.h) computed on the original model; masked-out coordinates are restored (and
// their momentum zeroed) after every step. Defaults as amun: lr 0.01 ×0.1 per epoch, 10 epochs.
#include "unlearn/amun.h"
#include "unlearn/prefix.h"
#include "unlearn/registry.h"
#include "unlearn/saliency.h"

namespace lethe::unlearn {
namespace {

class AmunSalun : public Method {
 public:
  std::string name() const override { return "amun-salun"; }
  void run(UnlearnContext& ctx) override {
    double ratio = saliency_ratio(ctx);
    SaliencyMask mask;
    {
      auto s = ctx.timer->scope("mask");
      mask = saliency_mask(ctx, ratio);
    }
    note_uncached(ctx, "saliency mask (one pass over D_F through the whole network)");
    ctx.report["saliency_mask"] = mask.to_json();
    run_amun(ctx, &mask);
  }
};

}  // namespace

std::unique_ptr<Method> make_amun_salun() {
  return std::make_unique<AmunSalun>();
}

}  // namespace lethe::unlearn
