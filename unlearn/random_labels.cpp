// rl: random labels (Golatkar et al. 2020, as in the SalUn reference code): one shuffled stream
// of D_F ∪ D_R (D_F alone with --no-retain), D_F relabelled uniformly among the K−1 wrong classes
// each epoch (the reference draws among all K). Defaults from that code: lr 0.01 constant,
// 10 epochs, SGD momentum 0.9, weight decay 5e-4, training augmentation.
#include <algorithm>

#include "data/random.h"
#include "unlearn/common.h"
#include "unlearn/registry.h"

namespace lethe::unlearn {

// The label of forget row `index` (true label y) in `epoch`: a function of (seed, epoch, row)
// only, so it does not depend on batch order or size; the offset 1 + r skips the true class.
// (External linkage so tests can check the draw.)
int64_t rl_label(uint64_t seed, int64_t index, int64_t y, int64_t epoch, int64_t k) {
  uint64_t key = data::stream_key(seed, data::kRandomLabels, static_cast<uint64_t>(epoch));
  auto r = static_cast<int64_t>(
      data::uniform_below(key, static_cast<uint64_t>(index), static_cast<uint64_t>(k - 1)));
  return (y + 1 + r) % k;
}

namespace {

class RandomLabels : public Method {
 public:
  std::string name() const override { return "rl"; }
  void run(UnlearnContext& ctx) override {
    const int64_t k = ctx.model_config.num_classes;
    LETHE_CHECK(k >= 2, "--method rl needs at least 2 classes, the model has ", k);
    std::vector<uint8_t> is_forget(static_cast<size_t>(ctx.train->size()), 0);
    for (int64_t i : ctx.split.forget) is_forget[static_cast<size_t>(i)] = 1;

    const uint64_t seed = ctx.opt.seed;
    train::EpochOptions eo = epoch_options(ctx, /*augment=*/true);
    int64_t drawn = 0, hit_true = 0;  // observed draws, for the report (hit_true stays 0)
    eo.relabel = [&](int64_t index, int64_t y, int64_t epoch) -> int64_t {
      if (!is_forget[static_cast<size_t>(index)]) return y;
      int64_t label = rl_label(seed, index, y, epoch, k);
      ++drawn;
      hit_true += label == y;
      return label;
    };

    std::vector<int64_t> rows = ctx.split.retain;  // empty with --no-retain
    rows.insert(rows.end(), ctx.split.forget.begin(), ctx.split.forget.end());
    std::sort(rows.begin(), rows.end());
    const double lr = ctx.opt.lr_or(0.01);
    const int64_t epochs = ctx.opt.epochs_or(10);
    auto opt = make_sgd(ctx, lr, 0.9, 5e-4);
    run_epochs(ctx, *opt, rows, eo, epochs, lr, /*cosine=*/false, "random-label");
    ctx.report["relabelled_per_epoch"] = ctx.split.forget.size();
    ctx.report["labels_drawn"] = drawn;
    ctx.report["labels_equal_to_true"] = hit_true;
    ctx.report["stream_rows"] = rows.size();
    ctx.report["lr"] = lr;
    ctx.report["epochs"] = epochs;
  }
};

}  // namespace

std::unique_ptr<Method> make_random_labels() {
  return std::make_unique<RandomLabels>();
}

}  // namespace lethe::unlearn
