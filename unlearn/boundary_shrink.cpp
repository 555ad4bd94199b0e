// bs: Boundary Shrink (Chen et al., "Boundary Unlearning", CVPR 2023) — FGSM with bound 0.1 in
// [0,1] pixel space on a frozen copy of the original model (eval mode) finds each forget sample's
// nearest class across the decision boundary; the model is then trained on D_F toward those
// labels. Defaults from the authors' code: lr 1e-5, SGD momentum 0.9, no weight decay, 10 passes.
#include <algorithm>
#include <cmath>
#include <map>

#include "data/loader.h"
#include "engine/nn/init.h"
#include "engine/ops/ops.h"
#include "unlearn/common.h"
#include "unlearn/prefix.h"
#include "unlearn/registry.h"

namespace lethe::unlearn {
namespace {

int64_t argmax_row(const float* row, int64_t k, int64_t skip = -1) {
  int64_t best = -1;
  for (int64_t c = 0; c < k; ++c)
    if (c != skip && (best < 0 || row[c] > row[best])) best = c;
  return best;
}

// An independent copy of the model with every parameter frozen, in eval mode. Building it must
// not consume draws from the default generator (later model builds in the process would change).
std::shared_ptr<models::Classifier> frozen_copy(const UnlearnContext& ctx) {
  nn::Generator saved = nn::default_generator();
  std::shared_ptr<models::Classifier> m = models::build_model(ctx.model_config);
  nn::default_generator() = saved;
  std::map<std::string, Tensor> sd;
  for (auto& [n, t] : ctx.model->state_dict()) sd.emplace(n, t);
  m->to(ctx.model->device());
  m->load_state_dict(sd);
  m->set_requires_grad(false);
  m->eval();
  return m;
}

class BoundaryShrink : public Method {
 public:
  std::string name() const override { return "bs"; }
  void run(UnlearnContext& ctx) override {
    const double bound = ctx.opt.extra_or("bound", 0.1);
    LETHE_CHECK(bound > 0, "--opt bound=", bound, ": must be > 0");
    // The authors train toward the adversarial prediction even when FGSM failed to cross the
    // boundary (label = true label). nearest_wrong=1 takes the runner-up class then instead.
    const bool nearest_wrong = ctx.opt.extra_or("nearest_wrong", 0) != 0;
    const double lr = ctx.opt.lr_or(1e-5);
    const int64_t epochs = ctx.opt.epochs_or(10);
    const bool image = ctx.train->is_image();

    // The attack runs once, on clean (unaugmented) forget samples: the frozen model is in eval
    // mode and FGSM has no random start, so the authors' per-batch re-attack in every pass gives
    // the same labels on the same inputs. Training below therefore uses no augmentation.
    std::vector<int64_t> adv_label(static_cast<size_t>(ctx.train->size()), -1);
    int64_t moved = 0, forced = 0;
    {
      auto scope = ctx.timer->scope("attack");
      std::shared_ptr<models::Classifier> frozen = frozen_copy(ctx);
      data::LoaderOptions lo;
      lo.batch_size = ctx.opt.batch;
      lo.shuffle = false;
      data::Loader loader(*ctx.train, ctx.split.forget, lo);
      profile::Progress prog("fgsm", static_cast<int64_t>(ctx.split.forget.size()));
      data::Batch b;
      while (loader.next(b)) {
        b.move_to(frozen->device());
        Tensor x01 = b.x.detach().clone();
        x01.set_requires_grad(true);
        Tensor g;
        {
          EnableGradGuard eg;
          Tensor loss = ops::cross_entropy(frozen->forward(ctx.norm.apply(x01)), b.y);
          g = lethe::grad(loss, {x01})[0];
        }
        NoGradGuard ng;
        // x + bound·sign(∇x), clamped to [0,1] and rounded to 1/255 steps for images (as the
        // authors' FGSM); tabular features are not pixels and are left unclamped.
        std::vector<float> xv = b.x.to_vector(), gv = g.to_vector();
        for (size_t i = 0; i < xv.size(); ++i) {
          float s = gv[i] > 0 ? 1.f : (gv[i] < 0 ? -1.f : 0.f);
          float v = xv[i] + static_cast<float>(bound) * s;
          if (image) v = std::round(std::clamp(v, 0.f, 1.f) * 255.f) / 255.f;
          xv[i] = v;
        }
        // One pass over D_F computed on the host (the 1/255 rounding has no device op yet):
        // the gradient comes down and the adversarial batch goes up once per forget batch.
        Tensor x_adv = Tensor::from_vector(b.x.shape(), xv).to(frozen->device());
        Tensor logits = frozen->forward(ctx.norm.apply(x_adv));
        std::vector<float> lv = logits.to_vector();
        std::vector<int64_t> yv = b.y.to_vector_i64();
        const int64_t k = logits.size(1);
        for (size_t i = 0; i < yv.size(); ++i) {
          int64_t label = argmax_row(&lv[i * k], k);
          if (label != yv[i]) {
            ++moved;
          } else if (nearest_wrong) {
            label = argmax_row(&lv[i * k], k, yv[i]);
            ++forced;
          }
          adv_label[static_cast<size_t>(b.indices[i])] = label;
        }
        prog.advance(static_cast<int64_t>(yv.size()));
      }
      char status[96];
      std::snprintf(status, sizeof status, "%lld of %zu moved", static_cast<long long>(moved),
                    ctx.split.forget.size());
      prog.finish(status);
    }

    note_uncached(ctx, "FGSM attack (input space, on a frozen copy of the whole model)");
    train::EpochOptions eo = epoch_options(ctx, /*augment=*/false);
    eo.relabel = [&adv_label](int64_t index, int64_t, int64_t) {
      return adv_label[static_cast<size_t>(index)];
    };
    auto opt = make_sgd(ctx, lr, 0.9, 0.0);
    run_epochs(ctx, *opt, ctx.split.forget, eo, epochs, lr, /*cosine=*/false, "fine-tune");

    const auto n = static_cast<double>(ctx.split.forget.size());
    ctx.report["bound"] = bound;
    ctx.report["fgsm_moved"] = moved;
    ctx.report["fgsm_moved_share"] = n > 0 ? moved / n : 0.0;
    if (nearest_wrong) ctx.report["runner_up_labels"] = forced;
    ctx.report["lr"] = lr;
    ctx.report["epochs"] = epochs;
  }
};

}  // namespace

std::unique_ptr<Method> make_boundary_shrink() {
  return std::make_unique<BoundaryShrink>();
}

}  // namespace lethe::unlearn
