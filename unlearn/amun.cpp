// amun: AMUN (Ebrahimpour-Boroojeny et al., "AMUN: Adversarial Machine UNlearning", 2025) — per
// forget sample, the nearest adversarial example found by the minimal-ε L2 search, labelled with
// the model's wrong prediction, then fine-tuning on D_R ∪ D_F ∪ D_A. Defaults from the reference
// code and the issue: lr 0.01 ×0.1 per epoch, 10 epochs, SGD momentum 0.9, weight decay 5e-4,
// batch 128; search ε0 0.04, 50 steps of ε/10 per level, ε doubling (at most 12 times).
// --opt train_on=forget_adv|adv trains on D_F ∪ D_A or D_A alone instead (the paper's ablation).
#include "unlearn/amun.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "data/loader.h"
#include "data/random.h"
#include "engine/core/stop_signal.h"
#include "engine/ops/ops.h"
#include "eval/predict.h"
#include "train/numerics.h"
#include "unlearn/common.h"
#include "unlearn/prefix.h"
#include "unlearn/registry.h"

namespace lethe::unlearn {

AdversarialSet amun_adversarial_set(UnlearnContext& ctx) {
  LETHE_CHECK(!ctx.split.forget.empty(), "--method amun: the forget set is empty");
  AdversarialSet a;
  a.sources = ctx.split.forget;
  data::LoaderOptions lo;
  lo.batch_size = ctx.opt.batch;
  lo.shuffle = false;
  lo.background = false;
  data::Loader loader(*ctx.train, a.sources, lo);
  data::Batch b = loader.make_batch(a.sources, 0);  // the clean forget images, in [0,1]
  eval::MinEpsOptions mo;
  mo.eps0 = ctx.opt.extra_or("eps0", 0.04);
  mo.steps = static_cast<int64_t>(ctx.opt.extra_or("steps", 50));
  mo.max_doublings = static_cast<int64_t>(ctx.opt.extra_or("doublings", 12));
  mo.batch = ctx.opt.batch;
  mo.box.clamp = ctx.train->is_image();  // tabular rows are standardized, not in [0,1]
  a.search = eval::minimal_eps_search(*ctx.model, ctx.norm, b.x, b.y, mo);
  // D_A is training data from here on: it moves to the model's device once.
  const Device dev = ctx.model->device();
  a.x = a.search.adv.to(dev);
  a.y = Tensor::from_vector_i64({static_cast<int64_t>(a.sources.size())}, a.search.pred).to(dev);
  return a;
}

AdversarialSet amun_feature_adversarial_set(UnlearnContext& ctx, const models::PrefixCache& cache) {
  LETHE_CHECK(!ctx.split.forget.empty(), "--method amun: the forget set is empty");
  AdversarialSet a;
  a.sources = ctx.split.forget;
  const int64_t* yl = ctx.train->labels.data<int64_t>();
  std::vector<int64_t> yv;
  for (int64_t r : a.sources) yv.push_back(yl[r]);
  Tensor y = Tensor::from_vector_i64({static_cast<int64_t>(yv.size())}, yv);
  eval::MinEpsOptions mo;
  mo.eps0 = ctx.opt.extra_or("eps0", 0.04);
  mo.steps = static_cast<int64_t>(ctx.opt.extra_or("steps", 50));
  mo.max_doublings = static_cast<int64_t>(ctx.opt.extra_or("doublings", 12));
  mo.batch = ctx.opt.batch;
  mo.box.clamp = false;  // features have no box
  models::SuffixView suffix(ctx.model, cache.cut());
  a.search =
      eval::minimal_eps_search(suffix, data::Normalization{}, cache.gather(a.sources), y, mo);
  a.x = a.search.adv;
  a.y = Tensor::from_vector_i64({static_cast<int64_t>(a.sources.size())}, a.search.pred);
  return a;
}

nlohmann::json summarize_search(const eval::MinEpsResult& r) {
  auto stats = [](std::vector<double> v) {
    if (v.empty()) return nlohmann::json::object();
    double sum = 0;
    for (double x : v) sum += x;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    double med = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    return nlohmann::json{{"mean", sum / n}, {"median", med}, {"max", v.back()}, {"min", v[0]}};
  };
  return {{"count", r.eps.size()},
          {"eps", stats(r.eps)},
          {"l2_distance", stats(r.dist)},
          {"never_flipped", r.never_flipped},
          {"input_gradient_rows", r.gradient_rows}};
}

namespace {

// SGD over one seeded shuffled stream of dataset rows (augmented as the original run) and D_A
// rows (never augmented); D_A is not a dataset, so batches are built here.
void train_mixed(UnlearnContext& ctx, optim::SGD& opt, const std::vector<int64_t>& rows,
                 const AdversarialSet& adv, int64_t epochs, double lr, double gamma,
                 int64_t lr_step, MaskEnforcer* enforce, bool adv_in_features) {
  models::Classifier& model = *ctx.model;
  data::LoaderOptions lo;
  lo.batch_size = ctx.opt.batch;
  lo.shuffle = false;
  lo.background = false;
  lo.augment = epoch_options(ctx, true).augment;
  lo.seed = ctx.opt.seed;
  // D_R ∪ D_F and D_A are fixed inputs once the search is done: without augmentation both run
  // on cached prefix features (D_A's computed here, once).
  models::PrefixCache* cache =
      prefix_cache_for(ctx, rows, inputs_not_fixed(epoch_options(ctx, true), ctx));
  std::optional<models::PrefixCache> adv_cache;
  LETHE_CHECK(cache || !adv_in_features, "--opt search=features: the prefix cache went unused (",
              ctx.cache_report.value("reason", std::string("?")), ")");
  if (cache && !adv_in_features) {
    adv_cache.emplace(cache->cut(), (ctx.opt.cache_mb << 20) - cache->bytes());
    auto s = ctx.timer->scope("prefix cache");
    if (!adv_cache->add_inputs(model, adv.x, 0, ctx.norm, ctx.opt.batch)) {
      std::fprintf(stderr, "prefix cache: D_A exceeds --cache-mb; running uncached\n");
      ctx.cache_report = {{"used", false}, {"reason", "D_A's features exceed --cache-mb"}};
      cache = nullptr;
      adv_cache.reset();
    } else {
      ctx.cache_report["adversarial_rows"] = adv_cache->rows();
      ctx.cache_report["adversarial_bytes"] = adv_cache->bytes();
    }
  }
  auto scope = ctx.timer->scope("fine-tune");  // after the cache, which is its own phase
  data::Loader loader(*ctx.train, rows, lo);
  const auto nd = static_cast<int64_t>(rows.size());
  const int64_t na = adv.x.size(0), n = nd + na;
  // --resume: the adversarial set above is recomputed (seeded, so the same); the fine-tune
  // continues after its last saved epoch.
  const int64_t start = ctx.checkpoint ? ctx.checkpoint->restore("amun fine-tune", model, opt) : 0;
  for (int64_t e = start; e < epochs; ++e) {
    opt.set_lr(lr * std::pow(gamma, static_cast<double>(e / lr_step)));
    model.train(true);
    std::vector<int64_t> order = data::permutation(
        n, data::stream_key(ctx.opt.seed, data::kAmunOrder, static_cast<uint64_t>(e)));
    profile::Progress prog("fine-tune " + std::to_string(e + 1) + "/" + std::to_string(epochs), n);
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    // A mid-epoch checkpoint (train/epoch_checkpoint.h) of this epoch: its steps are skipped.
    std::optional<train::EpochPosition> resume_at;
    if (ctx.checkpoint && e == start) resume_at = ctx.checkpoint->position("amun fine-tune");
    if (resume_at) {
      std::fprintf(stderr, "amun fine-tune: resuming after step %lld of epoch %lld\n",
                   static_cast<long long>(resume_at->step), static_cast<long long>(e + 1));
      loss_sum = resume_at->loss_sum;
      correct = resume_at->correct;
      seen = resume_at->seen;
    }
    char status[96] = "";
    for (int64_t s = 0; s < n; s += ctx.opt.batch) {
      const int64_t step = s / ctx.opt.batch;
      if (resume_at && step < resume_at->step) continue;
      std::vector<int64_t> drows, arows;
      for (int64_t i = s; i < std::min(n, s + ctx.opt.batch); ++i)
        if (order[i] < nd)
          drows.push_back(rows[order[i]]);
        else
          arows.push_back(order[i] - nd);
      if (drows.size() + arows.size() < 2) continue;  // batch norm needs > 1 sample
      std::vector<Tensor> xs, ys;
      if (!drows.empty()) {
        if (cache) {
          xs.push_back(cache->gather(drows));
          const int64_t* yl = ctx.train->labels.data<int64_t>();
          std::vector<int64_t> yv;
          for (int64_t r : drows) yv.push_back(yl[r]);
          ys.push_back(
              Tensor::from_vector_i64({static_cast<int64_t>(yv.size())}, yv).to(model.device()));
        } else {
          data::Batch b = loader.make_batch(drows, e);
          b.move_to(model.device());
          xs.push_back(b.x);
          ys.push_back(b.y);
        }
      }
      if (!arows.empty()) {
        xs.push_back(cache && !adv_in_features ? adv_cache->gather(arows)
                                               : ops::index_select(adv.x, arows));
        ys.push_back(ops::index_select(adv.y, arows));
      }
      Tensor x = xs.size() == 1 ? xs[0] : ops::concat(xs, 0);
      Tensor y = ys.size() == 1 ? ys[0] : ops::concat(ys, 0);
      opt.zero_grad();
      Tensor logits, loss;
      auto objective = [&] {
        logits = cache ? model.forward_suffix(x, cache->cut()) : model.forward(ctx.norm.apply(x));
        return loss = ops::cross_entropy(logits, y);
      };
      const train::StepCheck at{"unlearn amun", e, step};
      train::anomaly_at_step(at, [&] { objective().backward(); });
      const double loss_v = train::checked_loss(at, loss, model, x, objective);
      opt.step();
      if (enforce) enforce->after_step();
      int64_t bn = y.numel();
      loss_sum += loss_v * bn;
      std::vector<int64_t> pred = eval::argmax_rows(logits), yv = y.to_vector_i64();
      for (int64_t i = 0; i < bn; ++i) correct += pred[i] == yv[i];
      seen += bn;
      // SIGINT/SIGTERM stop between steps, with a checkpoint of the position when --resume
      // keeps one; --checkpoint-every saves it periodically (not after an epoch's last step).
      const int sig = stop_requested();
      const int64_t every = ctx.checkpoint ? ctx.checkpoint->every_steps() : 0;
      if (ctx.checkpoint &&
          (sig || (every > 0 && (step + 1) % every == 0 && s + ctx.opt.batch < n))) {
        const train::EpochPosition pos{step + 1, loss_sum, correct, seen};
        ctx.checkpoint->save("amun fine-tune", e, model, opt, &pos);
      }
      if (sig)
        LETHE_FAIL(train::step_prefix(at), "stopped by ", signal_name(sig), "; --resume continues ",
                   ctx.checkpoint ? "after step " + std::to_string(step + 1) + " of epoch " +
                                        std::to_string(e + 1)
                                  : std::string("from the last completed epoch"));
      std::snprintf(status, sizeof status, "loss %.4f acc %.2f%%", loss_sum / seen,
                    100.0 * correct / seen);
      prog.advance(bn, status);
    }
    prog.finish(status);
    if (ctx.checkpoint) ctx.checkpoint->save("amun fine-tune", e + 1, model, opt);
  }
}

}  // namespace

void run_amun(UnlearnContext& ctx, const SaliencyMask* mask) {
  const std::string search = ctx.opt.extra.contains("search") && ctx.opt.extra["search"].is_string()
                                 ? ctx.opt.extra["search"].get<std::string>()
                                 : "input";
  LETHE_CHECK(search == "input" || search == "features", "--opt search=", search,
              ": use input (the paper's method) or features");
  const bool in_features = search == "features";
  // What the fine-tune trains on besides D_A (the paper's ablation, AMUN §5): all = D_R ∪ D_F
  // (the method; D_F alone with --no-retain), forget_adv = D_F, adv = nothing (D_A alone).
  const std::string train_on =
      ctx.opt.extra.contains("train_on") && ctx.opt.extra["train_on"].is_string()
          ? ctx.opt.extra["train_on"].get<std::string>()
          : "all";
  LETHE_CHECK(train_on == "all" || train_on == "forget_adv" || train_on == "adv",
              "--opt train_on=", train_on,
              ": use all (D ∪ D_A, the paper's method), forget_adv (D_F ∪ D_A) or adv (D_A alone)");
  std::vector<int64_t> rows = ctx.split.retain;  // empty with --no-retain
  rows.insert(rows.end(), ctx.split.forget.begin(), ctx.split.forget.end());
  std::sort(rows.begin(), rows.end());
  std::vector<int64_t> train_rows;
  if (train_on == "all") train_rows = rows;
  if (train_on == "forget_adv") {
    train_rows = ctx.split.forget;
    std::sort(train_rows.begin(), train_rows.end());
  }
  ctx.report["train_on"] = train_on;
  AdversarialSet adv;
  if (in_features) {
    // The search runs on the suffix alone, at the scope boundary: the prefix runs once per row.
    models::PrefixCache* cache =
        prefix_cache_for(ctx, rows, inputs_not_fixed(epoch_options(ctx, true), ctx));
    LETHE_CHECK(cache != nullptr, "--opt search=features needs the cached prefix features, which ",
                "are not available here: ", ctx.cache_report.value("reason", std::string("?")));
    auto s = ctx.timer->scope("adversarial search");
    adv = amun_feature_adversarial_set(ctx, *cache);
  } else {
    auto s = ctx.timer->scope("adversarial search");
    adv = amun_adversarial_set(ctx);
  }
  ctx.report["search"] = search;
  if (!in_features) note_uncached(ctx, "adversarial search (input space: the whole network)");
  nlohmann::json summary = summarize_search(adv.search);
  if (ctx.report.contains("adversarial_search")) {  // --requests N: keep every request's summary
    if (!ctx.report.contains("adversarial_search_requests"))
      ctx.report["adversarial_search_requests"] = {ctx.report["adversarial_search"]};
    ctx.report["adversarial_search_requests"].push_back(summary);
  }
  ctx.report["adversarial_search"] = summary;
  if (adv.search.never_flipped > 0)
    std::fprintf(stderr, "amun: %lld forget samples never flipped (kept with their last point)\n",
                 static_cast<long long>(adv.search.never_flipped));

  const double lr = ctx.opt.lr_or(0.01);
  const double gamma = ctx.opt.extra_or("lr_gamma", 0.1);
  const auto lr_step = static_cast<int64_t>(ctx.opt.extra_or("lr_step", 1));
  LETHE_CHECK(lr_step >= 1, "--opt lr_step must be ≥ 1");
  auto opt = make_sgd(ctx, lr, 0.9, 5e-4);
  std::unique_ptr<MaskEnforcer> enforce;
  if (mask) enforce = std::make_unique<MaskEnforcer>(*mask, *opt);
  train_mixed(ctx, *opt, train_rows, adv, ctx.opt.epochs_or(10), lr, gamma, lr_step, enforce.get(),
              in_features);
}

namespace {

class Amun : public Method {
 public:
  std::string name() const override { return "amun"; }
  void run(UnlearnContext& ctx) override { run_amun(ctx, nullptr); }
};

}  // namespace

std::unique_ptr<Method> make_amun() {
  return std::make_unique<Amun>();
}

}  // namespace lethe::unlearn
