// amnesiac: Amnesiac Machine Learning (Graves, Nagisetti & Ganesh, AAAI 2021). The original run
// was trained with `lethe train --amnesiac` (train/amnesiac.h), which stored the parameter update
// of every batch holding a tracked sample. Unlearning subtracts the stored updates of every batch
// that held a sample to forget, θ ← θ − Σ_b Δθ_b, then repairs the damage with a short fine-tune
// on D_R (default 1 epoch, lr 0.01, SGD momentum 0.9, weight decay 5e-4; skipped with
// --no-retain or --epochs 0). The repair trains as the original did: an original trained with
// --adv-train is repaired on the same adversarial examples — a plain repair fine-tunes its
// robustness away (Fashion-MNIST, 1% deleted: PGD gap 7.1 → 20.7, docs/EXPERIMENTS.md).
//
// The sum is accumulated in double per coordinate and subtracted once, so the result is the
// exact θ − Σ Δθ rounded once to f32 (independent of the number of batches). Only in-scope
// parameters (--layers) are changed, by the subtraction and by the fine-tune. Batch-norm running
// statistics are not updates and are not undone (as in the paper); the fine-tune refreshes
// them. Over --requests, a batch already undone is not subtracted again.
#include <cstdio>
#include <map>
#include <set>

#include "engine/autograd/autograd.h"
#include "engine/io/tensor_io.h"
#include "train/adversarial.h"
#include "train/amnesiac.h"
#include "unlearn/common.h"
#include "unlearn/registry.h"

namespace lethe::unlearn {
namespace {

class Amnesiac : public Method {
 public:
  std::string name() const override { return "amnesiac"; }
  bool supports_no_retain() const override { return true; }

  void run(UnlearnContext& ctx) override {
    train::AmnesiacIndex ix = train::read_amnesiac_index(ctx.original_dir);
    LETHE_CHECK(ix.train_size == ctx.train->size(), ctx.original_dir,
                "/amnesiac/index.json: recorded for a training set of ", ix.train_size,
                " rows, but the run's data has ", ctx.train->size());
    std::vector<char> forget(static_cast<size_t>(ctx.train->size()), 0);
    for (int64_t i : ctx.split.forget) forget.at(static_cast<size_t>(i)) = 1;
    std::vector<char> tracked(forget.size(), 0);
    for (int64_t i : ix.tracked) tracked.at(static_cast<size_t>(i)) = 1;
    // With every training sample tracked, an untracked forget sample was never trained on
    // (e.g. --exclude): nothing to undo. With a track SPEC, its updates were never stored.
    int64_t untracked = 0;
    for (int64_t i : ctx.split.forget)
      if (!tracked[static_cast<size_t>(i)]) {
        LETHE_CHECK(ix.track.empty(), "--method amnesiac: forget sample ", i,
                    " was not tracked when ", ctx.original_dir, " was trained (--amnesiac-track ",
                    ix.track, "), so its updates cannot be undone");
        ++untracked;
      }

    // Scoped parameters by name; the rest stay frozen at the original values.
    std::map<std::string, Tensor> params;
    for (auto& [n, p] : ctx.model->named_parameters())
      if (p.requires_grad()) params.emplace(n, p);
    std::map<std::string, std::vector<double>> sum;
    int64_t undone = 0;
    {
      auto scope = ctx.timer->scope("undo");
      for (const train::AmnesiacBatch& b : ix.batches) {
        if (undone_.count(b.file)) continue;
        bool hit = false;
        for (int64_t i : b.indices) hit = hit || forget.at(static_cast<size_t>(i));
        if (!hit) continue;
        const std::string path = ctx.original_dir + "/" + b.file;
        io::NamedTensors nt = io::load_tensors(path);
        for (const auto& [n, p] : params) {
          auto it = nt.tensors.find(n);
          LETHE_CHECK(it != nt.tensors.end(), path, ": no update for parameter ", n);
          LETHE_CHECK(it->second.shape() == p.shape(), path, ": the update of ", n, " is ",
                      shape_str(it->second.shape()), ", the model's parameter ",
                      shape_str(p.shape()));
          std::vector<double>& acc = sum[n];
          acc.resize(static_cast<size_t>(p.numel()), 0.0);
          std::vector<float> d = it->second.to_vector();
          for (size_t k = 0; k < d.size(); ++k) acc[k] += d[k];
        }
        undone_.insert(b.file);
        ++undone;
      }
      for (auto& [n, acc] : sum) {
        // Parameters are contiguous f32 leaves; the update is applied outside autograd, as an
        // optimizer step would be, in double on the host: the stored updates are read from disk
        // there anyway, and a device-resident parameter makes one round trip per request.
        Tensor& param = params.at(n);
        NoGradGuard ng;
        std::vector<float> p = param.to_vector();
        for (size_t k = 0; k < acc.size(); ++k)
          p[k] = static_cast<float>(static_cast<double>(p[k]) - acc[k]);
        param.copy_(Tensor::from_vector(param.shape(), p));
      }
    }
    std::fprintf(stderr, "amnesiac: undid %lld of %zu recorded batch updates\n",
                 static_cast<long long>(undone), ix.batches.size());

    const std::string adv_train = ctx.original_config.value("adv_train", std::string());
    int64_t epochs = ctx.opt.epochs_or(1);
    double lr = ctx.opt.lr_or(0.01);
    bool fine_tune = !ctx.opt.no_retain && !ctx.split.retain.empty() && epochs > 0;
    if (fine_tune) {
      auto opt = make_sgd(ctx, lr);
      train::EpochOptions eo = epoch_options(ctx, true);
      if (!adv_train.empty())
        eo.perturb = train::make_adversarial_perturb(*ctx.model, ctx.norm, adv_train,
                                                     ctx.train->is_image(), ctx.opt.seed);
      run_epochs(ctx, *opt, ctx.split.retain, eo, epochs, lr, false, "fine-tune");
    }
    batches_undone_ += undone;
    ctx.report = {{"batches_undone", batches_undone_},
                  {"batches_recorded", ix.batches.size()},
                  {"forget_never_trained", untracked},
                  {"recorded_bytes", ix.bytes},
                  {"fine_tune_epochs", fine_tune ? epochs : 0},
                  {"fine_tune_lr", lr},
                  {"fine_tune_adv_train", fine_tune ? adv_train : std::string()}};
  }

 private:
  std::set<std::string> undone_;  // batch files already subtracted (successive requests)
  int64_t batches_undone_ = 0;
};

}  // namespace

std::unique_ptr<Method> make_amnesiac() {
  return std::make_unique<Amnesiac>();
}

}  // namespace lethe::unlearn
