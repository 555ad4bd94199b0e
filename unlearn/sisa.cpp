// sisa: exact unlearning by sharding (Bourtoule et al., "Machine Unlearning", IEEE S&P 2021).
// The original run was trained with `lethe train --sisa S:R` (train/sisa_train.h): S shard
// models, each trained over R cumulative slices with a checkpoint after every slice. To delete
// points, only the shards that held them are retrained, each from the checkpoint of the last
// slice before the earliest deleted point (the untrained init when that point is in slice 1),
// on the shard's remaining indices, with the original recipe and seeds — so the result is the
// model that SISA training without the points would have produced from that checkpoint.
//
// Outputs: the output run directory gets a complete SISA layout (sisa/manifest.json and every
// shard's checkpoints: new files for the retrained slices, hard links — or copies across file
// systems — for the untouched ones), so it is self-contained; the original run directory is
// only read. ctx.model becomes the shards' ensemble (majority vote, or `--opt
// aggregate=softmax`), so metrics.json's accuracies are the ensemble's; the model.safetensors
// that `lethe unlearn` writes is shard 0's model (the ensemble's state dict is shard 0's).
// ctx.report holds the share of work redone: samples × epochs retrained over those of the
// original SISA training, and over a monolithic retrain (retain set × --epochs).
//
// Options: the layer scope limits which parameters of a retrained shard are trained (the rest
// stay at the checkpoint's values, which never saw the deleted points, so unlearning stays
// exact); --epochs/--lr/--seed do not apply (the original recipe is repeated, which exactness
// needs); --no-retain is refused: retraining needs the shard's remaining data.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "engine/dist/communicator.h"
#include "models/checkpoint.h"
#include "train/sisa_train.h"
#include "unlearn/registry.h"
#include "unlearn/scope.h"

namespace lethe::unlearn {
namespace {
namespace fs = std::filesystem;

// A hard link costs no space and is safe: checkpoints are replaced by rename, never rewritten in
// place, so the original run's files cannot change through the link.
void link_or_copy(const std::string& from, const std::string& to) {
  fs::create_directories(fs::path(to).parent_path());
  if (fs::exists(to)) return;
  std::error_code ec;
  fs::create_hard_link(from, to, ec);
  if (ec) fs::copy_file(from, to);
}

class Sisa : public Method {
 public:
  std::string name() const override { return "sisa"; }
  bool supports_no_retain() const override { return false; }

  void run(UnlearnContext& ctx) override {
    LETHE_CHECK(!ctx.opt.no_retain, "--method sisa retrains shards on their remaining data and ",
                "cannot run with --no-retain");
    LETHE_CHECK(!ctx.out_dir.empty(), "--method sisa: no output run directory");
    const Device dev = ctx.model->device();  // shard models are retrained where ctx.model lives
    if (!manifest_) start(ctx);
    // Shards restart from their own checkpoints, whose prefixes are not the original's.
    ctx.cache_report = {{"used", false},
                        {"reason", "sisa retrains shard models from their checkpoints"}};
    train::SisaManifest& m = *manifest_;
    const std::string out = ctx.out_dir;
    train::TrainConfig cfg = train::train_config_from_json(ctx.original_config);
    std::string agg = ctx.opt.extra.contains("aggregate")
                          ? ctx.opt.extra.at("aggregate").get<std::string>()
                          : std::string("vote");
    auto aggregate = train::SisaEnsemble::parse_aggregate(agg);

    std::vector<char> forget(static_cast<size_t>(ctx.train->size()), 0);
    for (int64_t i : ctx.split.forget) forget.at(static_cast<size_t>(i)) = 1;
    int64_t in_training = 0, redone = 0;
    nlohmann::json retrained = nlohmann::json::array();
    const std::map<std::string, std::string> meta = {{"normalize", ctx.norm.to_json().dump()}};
    // Several ranks: every rank updates the whole manifest (the same arithmetic), shard s is
    // retrained by rank s mod N alone (bit-identical to one rank at equal --threads), and rank 0
    // writes the manifest once every shard's checkpoints are on disk.
    const dist::Communicator& comm = dist::current();
    {
      auto scope = ctx.timer->scope("retrain-shards");
      for (int64_t s = 0; s < m.num_shards(); ++s) {
        // The earliest slice holding a deleted point; slices before it never saw one.
        int64_t r0 = -1;
        for (int64_t r = 0; r < m.num_slices(); ++r) {
          auto& ix = m.shards[s].slices[r].indices;
          size_t before = ix.size();
          ix.erase(std::remove_if(ix.begin(), ix.end(),
                                  [&](int64_t i) { return forget[static_cast<size_t>(i)] != 0; }),
                   ix.end());
          if (ix.size() != before && r0 < 0) r0 = r;
          in_training += static_cast<int64_t>(before - ix.size());
        }
        if (r0 < 0) continue;
        const std::string base = r0 == 0 ? m.shards[s].init : m.shards[s].slices[r0 - 1].checkpoint;
        const bool mine = s % comm.size() == comm.rank();
        std::shared_ptr<models::Classifier> model;
        if (mine) {
          model = models::load_checkpoint(dir_ + "/" + base).model;
          model->to(dev);
          apply_scope(*model, ctx.opt.layers);
          std::fprintf(stderr, "sisa: %sretraining shard %lld from %s (slices %lld..%lld)\n",
                       dist::rank_prefix().c_str(), static_cast<long long>(s), base.c_str(),
                       static_cast<long long>(r0 + 1), static_cast<long long>(m.num_slices()));
        }
        for (int64_t r = r0; r < m.num_slices(); ++r) {
          std::vector<int64_t> seen = m.seen(s, r);
          train::SisaSlice& x = m.shards[s].slices[r];
          x.hash = train::indices_hash(seen);
          x.checkpoint = train::sisa_slice_path(s, r + 1, x.hash);
          if (!mine) {
            redone += static_cast<int64_t>(seen.size()) * m.epochs_per_slice;  // done elsewhere
            continue;
          }
          redone += train::sisa_train_stage(*model, *ctx.train, seen, ctx.norm, cfg,
                                            m.epochs_per_slice, m.seed, s, r);
          fs::create_directories(fs::path(out + "/" + x.checkpoint).parent_path());
          models::save_checkpoint(out + "/" + x.checkpoint, *model, ctx.model_config, meta);
        }
        retrained.push_back(
            {{"shard", s}, {"from", base}, {"first_slice", r0 + 1}, {"rank", s % comm.size()}});
      }
      comm.barrier();  // every retrained shard is on disk
      // Every checkpoint the manifest names now lives in the output directory.
      std::set<std::string> referenced;
      for (const auto& sh : m.shards) {
        referenced.insert(sh.init);
        for (const auto& x : sh.slices) referenced.insert(x.checkpoint);
      }
      if (comm.is_root()) {
        for (const std::string& rel : referenced)
          if (dir_ != out) link_or_copy(dir_ + "/" + rel, out + "/" + rel);
        train::write_sisa_manifest(out, m, aggregate);
        // Checkpoints this run wrote that a later request superseded.
        for (const auto& e : fs::recursive_directory_iterator(out + "/sisa"))
          if (e.is_regular_file() && e.path().extension() == ".safetensors" &&
              !referenced.count(fs::relative(e.path(), out).generic_string()))
            fs::remove(e.path());
      }
      comm.barrier();  // the output's sisa/ is complete before any rank reads it
      dir_ = out;
    }

    std::vector<std::shared_ptr<models::Classifier>> members;
    int64_t retain = 0;
    for (int64_t s = 0; s < m.num_shards(); ++s) {
      members.push_back(
          models::load_checkpoint(out + "/" + m.shards[s].slices.back().checkpoint).model);
      members.back()->to(dev);
      retain += static_cast<int64_t>(m.seen(s, m.num_slices() - 1).size());
    }
    ctx.model = std::make_shared<train::SisaEnsemble>(members, aggregate);

    redone_ += redone;
    double monolithic = static_cast<double>(retain) * static_cast<double>(cfg.epochs);
    requests_.push_back({{"shards_retrained", retrained},
                         {"forget_in_training", in_training},
                         {"work_redone_samples_epochs", redone}});
    ctx.report = {
        {"shards", m.num_shards()},
        {"slices", m.num_slices()},
        {"epochs_per_slice", m.epochs_per_slice},
        {"aggregate", agg},
        {"requests", requests_},
        {"work_redone_samples_epochs", redone_},
        {"work_full_samples_epochs", full_work_},
        {"share_of_work_redone", full_work_ > 0 ? static_cast<double>(redone_) / full_work_ : 0.0},
        {"share_vs_monolithic_retrain", monolithic > 0 ? redone_ / monolithic : 0.0},
        {"model_safetensors", "shard 0's model; the ensemble is in sisa/"}};
  }

 private:
  // First request: the original run's manifest; later requests continue from the output's.
  void start(const UnlearnContext& ctx) {
    manifest_ = train::read_sisa_manifest(ctx.original_dir);
    LETHE_CHECK(manifest_->train_size == ctx.train->size(), ctx.original_dir,
                "/sisa/manifest.json: made for a training set of ", manifest_->train_size,
                " rows, but the run's data has ", ctx.train->size());
    std::error_code ec;
    LETHE_CHECK(!fs::equivalent(ctx.original_dir, ctx.out_dir, ec), "--method sisa: --out ",
                ctx.out_dir, " is the original run directory, which must stay unmodified");
    if (ctx.opt.epochs >= 0 || ctx.opt.lr > 0)
      std::fprintf(stderr,
                   "sisa: --epochs/--lr ignored: shards are retrained with the original recipe, "
                   "which exact unlearning needs\n");
    // The output's sisa/ belongs to this run (an --overwrite may have left an older one).
    if (dist::current().is_root()) fs::remove_all(ctx.out_dir + "/sisa");
    dist::current().barrier();
    dir_ = ctx.original_dir;
    full_work_ = manifest_->total_work();
  }

  std::optional<train::SisaManifest> manifest_;  // the current state, across --requests
  std::string dir_;                              // where the manifest's files live
  int64_t full_work_ = 0, redone_ = 0;
  nlohmann::json requests_ = nlohmann::json::array();
};

}  // namespace

std::unique_ptr<Method> make_sisa() {
  return std::make_unique<Sisa>();
}

}  // namespace lethe::unlearn
