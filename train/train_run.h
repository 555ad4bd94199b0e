// A complete training run as `lethe train` performs it: resolve options, load data, build the
// model, train, evaluate, and write the run directory (config.json, model.safetensors,
// metrics.json, log.jsonl, forget.txt when --exclude is given). Unlearning's `retrain` reuses it.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "train/epoch_checkpoint.h"
#include "train/trainer.h"

namespace lethe::train {

struct TrainConfig {
  std::string model = "resnet18";
  int64_t width = 0;  // 0 = the model's default
  std::string stem;   // "" = the model's default
  std::string data = "fashion-mnist";
  std::string out;
  int64_t epochs = 10;
  int64_t batch = 128;
  double lr = 0.1;
  std::string optimizer = "sgd";  // sgd | adamw
  double momentum = 0.9;
  std::string schedule = "cosine";
  int64_t warmup = 0;
  double wd = 5e-4;
  std::string augment = "crop,flip";
  double label_smoothing = 0;
  bool sync_bn = false;  // data-parallel: batch norm over the global batch (engine/dist)
  uint64_t seed = 0;
  int threads = 0;  // 0 = all cores
  std::string device = "cpu";
  std::string exclude;  // forget SPEC removed from the training set (exact retrain)
  int64_t subset = 0;   // train on N rows chosen by the seed (0 = all); see load_training_data
  bool overwrite = false;
  int64_t eval_every = 1;      // test accuracy in log.jsonl every N epochs (0: only at the end)
  std::string sisa;            // "S:R": S shard models over R slices (train/sisa_train.h)
  bool amnesiac = false;       // record per-batch updates (train/amnesiac.h)
  std::string amnesiac_track;  // forget SPEC of the samples whose batches are recorded ("" = all)
  std::string adv_train;  // attack spec: train on its adversarial batches (train/adversarial.h)
  // sgd: the epoch loop. newton: logreg solved in float64 to ||∇J|| ≤ 1e-10 with λ = wd
  // (train/linear_head.h); --fair and --perturb imply it.
  std::string solver = "sgd";
  std::string fair = "none";  // eo:lambda=L | dp:lambda=L | none (the paper's penalty)
  double perturb = 0;         // σ of Guo et al.'s objective perturbation b ~ N(0, σ²)
  // A trained run whose network is kept frozen while --solver newton solves its head over the
  // prefix's features (a network's fair head); "" = a fresh model (logreg only).
  std::string head_from;
  bool detect_anomaly = false;  // op-level NaN/Inf search (engine/nn/detect_anomaly.h)
  // Continue a killed run in `out` from its last epoch checkpoint (train/epoch_checkpoint.h).
  bool resume = false;
  // With --resume: also checkpoint every N steps inside an epoch (0: at epoch boundaries only).
  int64_t checkpoint_every = 0;
  // Refuse a --batch whose training step is estimated not to fit (train/memory_estimate.h):
  // this many bytes ("4G", ...); "" = the machine's available memory.
  std::string max_memory;

  nlohmann::json to_json() const;
};

// Throws a one-line error naming the first option out of range.
void check_config(const TrainConfig& c);

// TrainConfig back from a run's config.json (the recipe `retrain` repeats).
TrainConfig train_config_from_json(const nlohmann::json& j);

// The epoch loop of a training run on `indices` of `train` (optimizer, schedule, augmentation
// from cfg); after each epoch `on_epoch(epoch, stats)` is called (logging, test accuracy).
// `configure` (optional) may add hooks to the epoch options (amnesiac recording).
// With `checkpoint`, the loop starts after the epochs it records and saves one after every epoch.
void fit(models::Classifier& model, const data::Dataset& train, const std::vector<int64_t>& indices,
         const data::Normalization& norm, const TrainConfig& cfg,
         const std::function<void(int64_t, const EpochStats&, profile::Progress&)>& on_epoch,
         const std::function<void(EpochOptions&)>& configure = nullptr,
         const EpochCheckpoint* checkpoint = nullptr);

// Runs the whole job; returns metrics.json's content. Progress goes to stderr.
nlohmann::json run_training(const TrainConfig& cfg);

}  // namespace lethe::train
