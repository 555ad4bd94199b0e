// salun: SalUn (Fan et al., ICLR 2024) — a weight-saliency mask (top --opt ratio=0.5 of |∇θ ℓ_F|,
// unlearn/saliency.h), then random-label unlearning restricted to it. Defaults from the SalUn
// reference code (random forgetting, CIFAR-10): lr 0.013 constant, 10 epochs, SGD momentum 0.9,
// weight decay 5e-4, batch 128, training augmentation.
#include <algorithm>

#include "data/random.h"
#include "unlearn/common.h"
#include "unlearn/prefix.h"
#include "unlearn/registry.h"
#include "unlearn/saliency.h"

namespace lethe::unlearn {
namespace {

class SalUn : public Method {
 public:
  std::string name() const override { return "salun"; }
  void run(UnlearnContext& ctx) override {
    double ratio = saliency_ratio(ctx);
    SaliencyMask mask;
    {
      auto s = ctx.timer->scope("mask");
      mask = saliency_mask(ctx, ratio);
    }
    note_uncached(ctx, "saliency mask (one pass over D_F through the whole network)");
    const double lr = ctx.opt.lr_or(0.013);
    auto opt = make_sgd(ctx, lr);
    MaskEnforcer enforce(mask, *opt);

    // D_F rows get a label drawn uniformly among the K−1 wrong classes, redrawn every epoch
    // (the suite's rl semantics; the reference draws once over all K classes).
    std::vector<uint8_t> is_forget(static_cast<size_t>(ctx.train->size()), 0);
    for (int64_t i : ctx.split.forget) is_forget[static_cast<size_t>(i)] = 1;
    const int64_t k = ctx.train->num_classes;
    LETHE_CHECK(k >= 2, "--method salun needs at least 2 classes");
    const uint64_t seed = ctx.opt.seed;
    train::EpochOptions eo = epoch_options(ctx, true);
    eo.relabel = [&is_forget, k, seed](int64_t index, int64_t y, int64_t epoch) -> int64_t {
      if (!is_forget[static_cast<size_t>(index)]) return y;
      uint64_t key = data::stream_key(seed, data::kSalunLabels, static_cast<uint64_t>(epoch));
      auto r = static_cast<int64_t>(
          data::uniform_below(key, static_cast<uint64_t>(index), static_cast<uint64_t>(k - 1)));
      return (y + 1 + r) % k;
    };
    eo.after_step = [&enforce] { enforce.after_step(); };

    std::vector<int64_t> rows = ctx.split.retain;  // empty with --no-retain
    rows.insert(rows.end(), ctx.split.forget.begin(), ctx.split.forget.end());
    std::sort(rows.begin(), rows.end());
    run_epochs(ctx, *opt, rows, eo, ctx.opt.epochs_or(10), lr, /*cosine=*/false, "random-label");
    ctx.report["saliency_mask"] = mask.to_json();
  }
};

}  // namespace

std::unique_ptr<Method> make_salun() {
  return std::make_unique<SalUn>();
}

}  // namespace lethe::unlearn
