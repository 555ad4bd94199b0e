// be: Boundary Expanding (Chen et al., "Boundary Unlearning", CVPR 2023) — widen the head by a
// K+1-th "shadow" class, train D_F toward it so the forget samples leave their true classes'
// regions, then prune the shadow output (the head keeps K outputs). Defaults from the authors'
// code: lr 1e-5, SGD momentum 0.9, no weight decay, 10 passes; shadow row ~ N(0, 1e-3), bias 0.
#include "data/loader.h"
#include "data/random.h"
#include "engine/nn/init.h"
#include "engine/ops/ops.h"
#include "eval/predict.h"
#include "unlearn/common.h"
#include "unlearn/prefix.h"
#include "unlearn/registry.h"
#include "unlearn/scope.h"

namespace lethe::unlearn {
namespace {

class BoundaryExpanding : public Method {
 public:
  std::string name() const override { return "be"; }
  void run(UnlearnContext& ctx) override {
    const double lr = ctx.opt.lr_or(1e-5);
    const int64_t epochs = ctx.opt.epochs_or(10);
    models::Classifier& model = *ctx.model;
    const std::string head = model.head_prefix();
    Tensor w = model.find_tensor(head + ".weight"), b = model.find_tensor(head + ".bias");
    LETHE_CHECK(w.defined() && w.dim() == 2, "--method be: the model has no linear head '", head,
                ".weight'");
    const int64_t k = w.size(0), f = w.size(1);

    // The shadow output: its own leaf tensors, always trained (they are discarded afterwards),
    // initialized as the authors' init_params does for a Linear (weight N(0, 1e-3), bias 0).
    nn::Generator gen(data::stream_key(ctx.opt.seed, data::kBoundaryExpandingShadow));
    // Drawn on the host (the generator's stream), then kept where the model lives.
    const Device dev = model.device();
    Tensor w_shadow = Tensor::zeros({1, f});
    nn::normal_(w_shadow, 0.0, 1e-3, gen);
    w_shadow = w_shadow.to(dev);
    w_shadow.set_requires_grad(true);
    Tensor b_shadow;
    if (b.defined()) {
      b_shadow = Tensor::zeros({1}, DType::F32, dev);
      b_shadow.set_requires_grad(true);
    }
    // One optimizer over the scoped parameters and the shadow row. The widened head is
    // concat(W, w_shadow): its first K rows are the head's own parameter, so the gradient flows
    // into W (when in scope) and the optimizer updates it in place; pruning back to K outputs is
    // just dropping the shadow row.
    std::vector<Tensor> params = trainable_parameters(model);
    params.push_back(w_shadow);
    if (b_shadow.defined()) params.push_back(b_shadow);
    optim::SgdOptions so;
    so.lr = lr;
    so.momentum = 0.9;
    optim::SGD opt(params, so);

    note_uncached(ctx, "expand: the widened head trains through the whole forward (not cached)");
    data::LoaderOptions lo;
    lo.batch_size = ctx.opt.batch;
    lo.shuffle = true;
    lo.augment = epoch_options(ctx, /*augment=*/true).augment;
    lo.seed = ctx.opt.seed;
    data::Loader loader(*ctx.train, ctx.split.forget, lo);
    int64_t to_shadow = 0, seen = 0;  // the last pass's forget samples predicted as the shadow
    {
      auto scope = ctx.timer->scope("expand");
      model.train(true);
      for (int64_t e = 0; e < epochs; ++e) {
        profile::Progress prog("expand " + std::to_string(e + 1) + "/" + std::to_string(epochs),
                               static_cast<int64_t>(ctx.split.forget.size()));
        loader.start_epoch(e);
        data::Batch batch;
        double loss_sum = 0;
        int64_t n_sum = 0;
        to_shadow = seen = 0;
        while (loader.next(batch)) {
          const int64_t n = batch.y.numel();
          if (n < 2) continue;  // batch norm needs > 1 sample in train mode
          batch.move_to(dev);
          opt.zero_grad();
          Tensor feats = model.forward_features(ctx.norm.apply(batch.x));
          Tensor w_ext = ops::concat({w, w_shadow}, 0);
          Tensor b_ext = b.defined() ? ops::concat({b, b_shadow}, 0) : Tensor();
          Tensor logits = ops::linear(feats, w_ext, b_ext);
          Tensor target = Tensor::full({n}, static_cast<double>(k), DType::I64, dev);
          Tensor loss = ops::cross_entropy(logits, target);
          loss.backward();
          opt.step();
          loss_sum += loss.item() * n;
          n_sum += n;
          for (int64_t p : eval::argmax_rows(logits)) to_shadow += p == k;
          seen += n;
          char status[96];
          std::snprintf(status, sizeof status, "loss %.4f shadow %.2f%%", loss_sum / n_sum,
                        100.0 * to_shadow / seen);
          prog.advance(n, status);
        }
        prog.finish();
      }
    }
    ctx.report["shadow_share_last_pass"] = seen > 0 ? 100.0 * to_shadow / seen : 0.0;
    ctx.report["classes"] = k;
    ctx.report["lr"] = lr;
    ctx.report["epochs"] = epochs;
  }
};

}  // namespace

std::unique_ptr<Method> make_boundary_expanding() {
  return std::make_unique<BoundaryExpanding>();
}

}  // namespace lethe::unlearn
