// scrub: SCRUB (Kurmanji, Triantafillou, Hayes & Triantafillou, "Towards Unbounded Machine
// Unlearning", NeurIPS 2023). A student (the model) starts as the teacher (a frozen copy of the
// original, eval mode) and alternates max-steps, which push its softened outputs away from the
// teacher's on D_F (ascent on KL(p_t ‖ p_s) at temperature T), with min-steps on D_R
// (γ·CE + α·KL toward the teacher). Defaults from the authors' small-scale CIFAR-10 code: SGD lr
// 5e-4, momentum 0.9, weight decay 5e-4 (one optimizer for both kinds of step), 3 epochs of which
// the first 2 (--opt msteps) make a max pass, T 4 (--opt kd_t), γ 0.99 (--opt gamma), α 0.001
// (--opt alpha), forget batch 32 (--opt forget_batch), retain batch --batch (128); their lr decay
// steps (epochs 3, 5, 9: "epoch > step") do not fire within 3 epochs, and their SWA smoothing
// starts at epoch 10, so neither is reproduced. Scope-aware: only the scoped parameters move, and
// with fixed inputs both student and teacher run on the cached prefix features.
#include <cmath>
#include <cstdio>
#include <map>

#include "data/loader.h"
#include "engine/nn/init.h"
#include "engine/ops/ops.h"
#include "train/numerics.h"
#include "unlearn/common.h"
#include "unlearn/prefix.h"
#include "unlearn/registry.h"

namespace lethe::unlearn {
namespace {

// KL(softmax(t/T) ‖ softmax(s/T)) summed over the batch's rows, × T² / N (the authors' DistillKL).
Tensor distill_kl(const Tensor& student, const Tensor& teacher, double temperature) {
  Tensor log_pt = ops::log_softmax(ops::mul(teacher.detach(), 1.0 / temperature), 1);
  Tensor log_ps = ops::log_softmax(ops::mul(student, 1.0 / temperature), 1);
  Tensor kl = ops::sum(ops::mul(ops::exp(log_pt), ops::sub(log_pt, log_ps)));
  return ops::mul(kl, temperature * temperature / static_cast<double>(student.size(0)));
}

// An independent frozen copy of the model in eval mode; building it must not consume draws from
// the default generator (later model builds in the process would change).
std::shared_ptr<models::Classifier> teacher_copy(const UnlearnContext& ctx) {
  nn::Generator saved = nn::default_generator();
  std::shared_ptr<models::Classifier> m = models::build_model(ctx.model_config);
  nn::default_generator() = saved;
  std::map<std::string, Tensor> sd;
  for (auto& [n, t] : ctx.model->state_dict()) sd.emplace(n, t);
  m->load_state_dict(sd);
  m->set_requires_grad(false);
  m->eval();
  return m;
}

class Scrub : public Method {
 public:
  std::string name() const override { return "scrub"; }
  bool supports_no_retain() const override { return false; }
  void run(UnlearnContext& ctx) override {
    require_retain(ctx, name());
    LETHE_CHECK(!ctx.split.forget.empty(), "--method scrub: the forget set is empty");
    const double lr = ctx.opt.lr_or(5e-4);
    const int64_t epochs = ctx.opt.epochs_or(3);
    const auto msteps = static_cast<int64_t>(ctx.opt.extra_or("msteps", 2));
    const double temperature = ctx.opt.extra_or("kd_t", 4);
    const double gamma = ctx.opt.extra_or("gamma", 0.99);
    const double alpha = ctx.opt.extra_or("alpha", 0.001);
    const auto forget_batch = static_cast<int64_t>(ctx.opt.extra_or("forget_batch", 32));
    LETHE_CHECK(temperature > 0, "--opt kd_t=", temperature, ": must be > 0");
    LETHE_CHECK(msteps >= 0, "--opt msteps=", msteps, ": must be ≥ 0");
    LETHE_CHECK(forget_batch >= 2, "--opt forget_batch=", forget_batch, ": must be ≥ 2");

    std::shared_ptr<models::Classifier> teacher = teacher_copy(ctx);
    models::Classifier& student = *ctx.model;
    train::EpochOptions eo = epoch_options(ctx, /*augment=*/true);
    std::vector<int64_t> rows = ctx.split.retain;
    rows.insert(rows.end(), ctx.split.forget.begin(), ctx.split.forget.end());
    // The teacher's prefix is the student's frozen prefix, so one cache serves both.
    const models::PrefixCache* cache = prefix_cache_for(ctx, rows, inputs_not_fixed(eo, ctx));
    auto opt = make_sgd(ctx, lr, 0.9, 5e-4);

    // One pass over `indices`: ascent on the KL (max) or descent on γ·CE + α·KL (min).
    auto pass = [&](const std::vector<int64_t>& indices, int64_t batch, bool maximize,
                    int64_t epoch, const std::string& phase) {
      auto scope = ctx.timer->scope(phase);
      data::LoaderOptions lo;
      lo.batch_size = batch;
      lo.shuffle = true;
      lo.seed = ctx.opt.seed + (maximize ? 1 : 0);  // D_F and D_R shuffled by distinct streams
      lo.augment = eo.augment;
      if (cache) lo.x_source = [cache](const std::vector<int64_t>& r) { return cache->gather(r); };
      data::Loader loader(*ctx.train, indices, lo);
      loader.start_epoch(epoch);
      profile::Progress prog(phase + " " + std::to_string(epoch + 1) + "/" + std::to_string(epochs),
                             static_cast<int64_t>(indices.size()));
      student.train(true);
      double kl_sum = 0, ce_sum = 0;
      int64_t seen = 0, step = 0;
      data::Batch b;
      while (loader.next(b)) {
        const int64_t n = b.y.numel();
        if (n < 2) continue;  // batch norm needs > 1 sample in train mode
        Tensor t_logits;
        {
          NoGradGuard ng;
          t_logits = cache ? teacher->forward_suffix(b.x, cache->cut())
                           : teacher->forward(ctx.norm.apply(b.x));
        }
        opt->zero_grad();
        Tensor kl, ce;
        auto objective = [&] {
          Tensor s_logits = cache ? student.forward_suffix(b.x, cache->cut())
                                  : student.forward(ctx.norm.apply(b.x));
          kl = distill_kl(s_logits, t_logits, temperature);
          if (maximize) return ops::neg(kl);
          ce = ops::cross_entropy(s_logits, b.y);
          return ops::add(ops::mul(ce, gamma), ops::mul(kl, alpha));
        };
        const train::StepCheck at{"unlearn scrub", epoch, step++};
        Tensor loss;
        train::anomaly_at_step(at, [&] {
          loss = objective();
          loss.backward();
        });
        if (!maximize) ce_sum += ce.item() * n;
        (void)train::checked_loss(at, loss, student, b.x, objective);
        opt->step();
        kl_sum += kl.item() * n;
        seen += n;
        char status[96];
        std::snprintf(status, sizeof status, "kl %.4f", kl_sum / seen);
        prog.advance(n, status);
      }
      char status[96];
      std::snprintf(status, sizeof status, "kl %.4f%s", seen ? kl_sum / seen : 0.0,
                    maximize ? "" : (" ce " + std::to_string(seen ? ce_sum / seen : 0.0)).c_str());
      prog.finish(status);
      return nlohmann::json{
          {"epoch", epoch + 1},
          {"kl", seen ? kl_sum / seen : 0.0},
          {"ce", maximize || !seen ? nlohmann::json() : nlohmann::json(ce_sum / seen)}};
    };

    nlohmann::json max_log = nlohmann::json::array(), min_log = nlohmann::json::array();
    for (int64_t e = 0; e < epochs; ++e) {
      opt->set_lr(lr);
      if (e < msteps)
        max_log.push_back(pass(ctx.split.forget, forget_batch, true, e, "max-forget"));
      min_log.push_back(pass(ctx.split.retain, ctx.opt.batch, false, e, "min-retain"));
    }
    ctx.report["max_passes"] = max_log;
    ctx.report["min_passes"] = min_log;
    ctx.report["lr"] = lr;
    ctx.report["epochs"] = epochs;
    ctx.report["msteps"] = msteps;
    ctx.report["kd_t"] = temperature;
    ctx.report["gamma"] = gamma;
    ctx.report["alpha"] = alpha;
    ctx.report["forget_batch"] = forget_batch;
  }
};

}  // namespace

std::unique_ptr<Method> make_scrub() {
  return std::make_unique<Scrub>();
}

}  // namespace lethe::unlearn
