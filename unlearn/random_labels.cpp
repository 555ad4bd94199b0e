// rl: random labels (Golatkar et al. 2020). Two schedules (--opt schedule=):
//   mixed (default; AMUN's setting): one shuffled stream of D_F ∪ D_R (D_F alone with
//     --no-retain), D_F relabelled uniformly among the K−1 wrong classes each epoch — as the
//     SalUn reference code does for CIFAR-10, except that it draws among all K.
//   salun: as the SalUn reference code's RL for CIFAR-100/TinyImageNet: every epoch a pass over
//     D_F alone with labels drawn uniformly over all K classes (the true one included), then a
//     pass over D_R with its true labels; one optimizer, one constant lr.
// Defaults from the SalUn code: lr 0.01 constant, 10 epochs, SGD momentum 0.9, weight decay 5e-4,
// training augmentation.
#include <algorithm>

#include "data/random.h"
#include "unlearn/common.h"
#include "unlearn/prefix.h"
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

// schedule=salun's draw: uniform over all k classes (np.random.randint(0, K) in the SalUn code).
int64_t rl_label_any(uint64_t seed, int64_t index, int64_t epoch, int64_t k) {
  uint64_t key = data::stream_key(seed, data::kRandomLabels, static_cast<uint64_t>(epoch));
  return static_cast<int64_t>(
      data::uniform_below(key, static_cast<uint64_t>(index), static_cast<uint64_t>(k)));
}

namespace {

class RandomLabels : public Method {
 public:
  std::string name() const override { return "rl"; }
  void run(UnlearnContext& ctx) override {
    const int64_t k = ctx.model_config.num_classes;
    LETHE_CHECK(k >= 2, "--method rl needs at least 2 classes, the model has ", k);
    const std::string schedule = ctx.opt.extra_text_or("schedule", "mixed");
    LETHE_CHECK(schedule == "mixed" || schedule == "salun", "--opt schedule=", schedule,
                ": rl knows mixed (one stream of D_F ∪ D_R, the default) and salun (a D_F pass, "
                "then a D_R pass)");
    std::vector<uint8_t> is_forget(static_cast<size_t>(ctx.train->size()), 0);
    for (int64_t i : ctx.split.forget) is_forget[static_cast<size_t>(i)] = 1;

    const uint64_t seed = ctx.opt.seed;
    const bool any = schedule == "salun";
    train::EpochOptions eo = epoch_options(ctx, /*augment=*/true);
    int64_t drawn = 0, hit_true = 0;  // observed draws, for the report
    eo.relabel = [&](int64_t index, int64_t y, int64_t epoch) -> int64_t {
      if (!is_forget[static_cast<size_t>(index)]) return y;
      int64_t label =
          any ? rl_label_any(seed, index, epoch, k) : rl_label(seed, index, y, epoch, k);
      ++drawn;
      hit_true += label == y;
      return label;
    };
    int64_t steps = 0;  // optimizer steps actually taken, per pass kind
    eo.after_step = [&steps] { ++steps; };

    std::vector<int64_t> rows = ctx.split.retain;  // empty with --no-retain
    rows.insert(rows.end(), ctx.split.forget.begin(), ctx.split.forget.end());
    std::sort(rows.begin(), rows.end());
    const double lr = ctx.opt.lr_or(0.01);
    const int64_t epochs = ctx.opt.epochs_or(10);
    auto opt = make_sgd(ctx, lr, 0.9, 5e-4);
    if (!any) {
      run_epochs(ctx, *opt, rows, eo, epochs, lr, /*cosine=*/false, "random-label");
      ctx.report["steps"] = steps;
    } else {
      // One cache (when it applies) holds both passes' rows.
      attach_prefix_cache(ctx, eo, rows);
      int64_t forget_steps = 0, retain_steps = 0;
      auto scope = ctx.timer->scope("random-label");
      // --resume: the checkpoint counts passes (two per epoch), the unit this loop finishes.
      const std::string phase = "random-label salun passes";
      const int64_t start = ctx.checkpoint ? ctx.checkpoint->restore(phase, *ctx.model, *opt) : 0;
      for (int64_t e = 0; e < epochs; ++e) {
        for (bool forget_pass : {true, false}) {
          const int64_t pass = 2 * e + (forget_pass ? 0 : 1);
          const std::vector<int64_t>& idx = forget_pass ? ctx.split.forget : ctx.split.retain;
          if (idx.empty() || pass < start) continue;
          if (ctx.checkpoint)
            ctx.checkpoint->hook_epoch(eo, phase, pass, pass == start, *ctx.model, *opt);
          const int64_t before = steps;
          std::string phase = std::string(forget_pass ? "forget pass " : "retain pass ") +
                              std::to_string(e + 1) + "/" + std::to_string(epochs);
          profile::Progress prog(phase, static_cast<int64_t>(idx.size()));
          train::EpochStats st =
              train::train_epoch(*ctx.model, *opt, *ctx.train, idx, ctx.norm, eo, e, &prog);
          char status[96];
          std::snprintf(status, sizeof status, "loss %.4f acc %.2f%%", st.loss, st.acc);
          prog.finish(status);
          (forget_pass ? forget_steps : retain_steps) += steps - before;
          if (ctx.checkpoint) ctx.checkpoint->save(phase, pass + 1, *ctx.model, *opt);
        }
      }
      ctx.report["forget_steps"] = forget_steps;
      ctx.report["retain_steps"] = retain_steps;
      ctx.report["steps"] = steps;
    }
    ctx.report["schedule"] = schedule;
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
