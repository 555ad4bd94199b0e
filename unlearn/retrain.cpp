// retrain: the exact baseline — train from scratch on D_R with the original run's recipe
// (model, optimizer, schedule, augmentation, epochs; --epochs/--lr override). With a layer
// scope other than `all`, only the scoped parameters are re-initialized and retrained; the rest
// keep the original values (retraining the last layers from scratch). A run trained with
// --solver newton (a convex logreg) is solved again on D_R with its objective.
#include "engine/nn/init.h"
#include "models/checkpoint.h"
#include "train/linear_head.h"
#include "train/train_run.h"
#include "unlearn/prefix.h"
#include "unlearn/registry.h"
#include "unlearn/scope.h"

namespace lethe::unlearn {
namespace {

class Retrain : public Method {
 public:
  std::string name() const override { return "retrain"; }
  bool supports_no_retain() const override { return false; }
  void run(UnlearnContext& ctx) override {
    LETHE_CHECK(!ctx.opt.no_retain, "--method retrain needs the retain set (--no-retain given)");
    LETHE_CHECK(!ctx.split.retain.empty(), "--method retrain: the retain set is empty");
    train::TrainConfig cfg = train::train_config_from_json(ctx.original_config);
    if (cfg.solver == "newton") {
      // A convex run's recipe is its objective: solve it again on D_R (same λ, penalty, b).
      nn::manual_seed(ctx.opt.seed);
      // A network's head (--head-from) is re-solved over the same frozen network.
      std::shared_ptr<models::Classifier> fresh =
          cfg.head_from.empty()
              ? models::build_model(ctx.model_config)
              : models::load_checkpoint(cfg.head_from + "/model.safetensors").model;
      const int64_t p = fresh->num_features() + 1, k = ctx.train->num_classes;
      train::HeadObjective obj =
          train::head_objective_of_run(ctx.original_config, k == 2 ? p : k * p);
      auto scope = ctx.timer->scope("retrain");
      ctx.report["convex"] =
          train::fit_linear_head(*fresh, *ctx.train, ctx.split.retain, ctx.norm, obj, ctx.out_dir);
      ctx.model = fresh;
      return;
    }
    if (ctx.opt.epochs >= 0) cfg.epochs = ctx.opt.epochs;
    if (ctx.opt.lr > 0) cfg.lr = ctx.opt.lr;
    cfg.seed = ctx.opt.seed;
    nn::manual_seed(ctx.opt.seed);
    std::shared_ptr<models::Classifier> fresh = models::build_model(ctx.model_config);
    fresh->to(ctx.model->device());  // initialised on the host, trained where the original lives
    // Out-of-scope parameters (and every buffer outside the scope) keep the original values.
    std::vector<std::string> scoped = apply_scope(*fresh, ctx.opt.layers);
    std::map<std::string, Tensor> keep;
    auto is_scoped = [&](const std::string& n) {
      for (const std::string& s : scoped)
        if (s == n) return true;
      return false;
    };
    for (auto& [n, t] : ctx.model->state_dict()) {
      bool param_in_scope = is_scoped(n);
      // Buffers belong to the module of a scoped parameter when they share its prefix.
      std::string prefix = n.substr(0, n.rfind('.'));
      bool buffer_in_scope = false;
      for (const std::string& s : scoped)
        if (s.substr(0, s.rfind('.')) == prefix) buffer_in_scope = true;
      if (!param_in_scope && !buffer_in_scope) keep.emplace(n, t);
    }
    fresh->load_state_dict(keep, /*strict=*/false);
    // The fresh model's prefix is the original's (same values, frozen, eval mode), so the
    // original's cached prefix features are the fresh model's: the suffix alone is retrained on
    // the retain set's features, the suffix-level exact reference of a scoped study.
    models::PrefixCache* cache = nullptr;
    if (ctx.opt.layers != "all") {
      train::EpochOptions probe;
      probe.augment = train::parse_augment(cfg.augment, *ctx.train);
      cache = prefix_cache_for(ctx, ctx.split.retain,
                               !cfg.adv_train.empty() ? "adversarial training (" + cfg.adv_train +
                                                            ") perturbs every batch"
                                                      : inputs_not_fixed(probe, ctx));
    }
    auto scope = ctx.timer->scope("retrain");
    train::fit(
        *fresh, *ctx.train, ctx.split.retain, ctx.norm, cfg,
        [](int64_t, const train::EpochStats& st, profile::Progress& prog) {
          char status[96];
          std::snprintf(status, sizeof status, "loss %.4f acc %.2f%%", st.loss, st.acc);
          prog.finish(status);
        },
        [cache](train::EpochOptions& eo) { eo.cache = cache; });
    ctx.model = fresh;
  }
};

}  // namespace

std::unique_ptr<Method> make_retrain() {
  return std::make_unique<Retrain>();
}

}  // namespace lethe::unlearn
