// Supervised training of a Classifier on a Dataset: the epoch loop `lethe train` runs, and that
// unlearning methods (retrain, fine-tune, ...) reuse. Inputs are in [0,1] pixel space; the model
// sees them through a data::Normalization. Evaluation (logits, accuracy) is eval/predict.h.
#pragma once
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/normalization.h"
#include "data/transforms.h"
#include "engine/dist/communicator.h"
#include "engine/optim/optimizer.h"
#include "engine/profile/progress.h"
#include "models/classifier.h"
#include "models/prefix_cache.h"

namespace lethe::data {
struct Batch;  // data/loader.h
}

namespace lethe::train {

struct EpochStats {
  double loss = 0;  // mean training loss
  double acc = 0;   // training accuracy on the batches seen (percent, train mode)
  double seconds = 0;
  double samples_per_s = 0;
  int64_t rows = 0;  // rows this rank trained on (data-parallel: its slices; else all)
};

// Where a loop stands inside an epoch: the steps taken and the running figures of its stats, so a
// run continued from here ends with the bits, and the log line, of one that never stopped.
struct EpochPosition {
  int64_t step = 0;
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
};

struct EpochOptions {
  int64_t batch = 128;
  data::Augment augment;
  uint64_t seed = 0;
  double label_smoothing = 0;
  bool drop_last = false;
  bool shuffle = true;  // false: the rows in the order given (one epoch, one fixed batching)
  // Hooks for unlearning methods (all optional):
  // the training label of dataset row `index` (true label y) in this epoch (random labels);
  std::function<int64_t(int64_t index, int64_t y, int64_t epoch)> relabel;
  // -1 turns descent into ascent on the loss (gradient ascent);
  double loss_sign = 1;
  // a term added to the batch loss before backward (e.g. γ·‖θ‖₁);
  std::function<Tensor()> extra_loss;
  // called after every optimizer step (e.g. restoring masked parameters).
  std::function<void()> after_step;
  // called with the batch right before its step begins (before zero_grad), e.g. to snapshot
  // the parameters so that the step's update can be recorded (amnesiac unlearning).
  std::function<void(const data::Batch&)> before_step;
  // replaces the batch's inputs (in [0,1]) by the ones the step trains on (adversarial training:
  // train/adversarial.h); called after relabel and before_step.
  std::function<Tensor(const Tensor& x01, const Tensor& y)> perturb;
  // Cached prefix features of every row trained on (models/prefix_cache.h): batches carry the
  // features instead of images and only the suffix runs. Needs no augmentation and no perturb.
  const models::PrefixCache* cache = nullptr;
  // Data-parallel over this group (engine/dist): `batch` is the global batch, shuffled by the
  // same seed on every rank; each rank trains its slice and the gradients are averaged before
  // every optimizer step (dist::GradientReducer), so N ranks take the steps one rank would.
  // loss/acc of the returned stats are over the whole epoch of all ranks. nullptr = this process
  // alone.
  const dist::Communicator* comm = nullptr;
  // Data-parallel only: BatchNorm layers normalize by the global batch's statistics
  // (engine/dist/sync_batch_norm.h) instead of each rank's slice's (the default, as DDP).
  bool sync_bn = false;
  // The loop's name in a numerical-fault message (train/numerics.h).
  std::string check_name = "train";
  // Mid-epoch checkpoints (train/epoch_checkpoint.h): `save_position` is called every
  // `checkpoint_every` steps (0: never) and when SIGINT/SIGTERM stops the loop; `resume_at`
  // skips the steps a checkpoint already holds (their batches are drawn, not trained on).
  int64_t checkpoint_every = 0;
  std::function<void(const EpochPosition&)> save_position;
  std::optional<EpochPosition> resume_at;
};

// One pass over `indices` of `d` with optimizer steps; the model is put in train mode.
// `progress` (optional) is advanced per batch.
EpochStats train_epoch(models::Classifier& model, optim::Optimizer& opt, const data::Dataset& d,
                       const std::vector<int64_t>& indices, const data::Normalization& norm,
                       const EpochOptions& o, int64_t epoch, profile::Progress* progress);

// "crop,flip" | "crop" | "flip" | "none" for a dataset (crop padding: 4 for ≥ 32 px, else 2).
data::Augment parse_augment(const std::string& spec, const data::Dataset& d);

}  // namespace lethe::train
