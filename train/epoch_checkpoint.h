// Resumable runs (issue 20, item 2): at every epoch boundary a loop saves its model state (every
// parameter and buffer), its optimizer state (moments, step counts) and the number of epochs
// done to one safetensors file, written to a temporary name and renamed, so a kill at any moment
// leaves either the previous checkpoint or the new one. Nothing else needs saving for a
// bit-identical continuation: the learning rate is a function of the epoch, and every random
// draw of a loop (shuffles, augmentation, forget splits, AMUN's order) is Philox keyed by
// (seed, purpose, epoch) — the "RNG counters" and the loader position are the epoch number.
// Long epochs also checkpoint inside the epoch, every N steps (--checkpoint-every N) and when
// SIGINT/SIGTERM stops the run: the file then adds the steps taken in the unfinished epoch and
// the running sums of its stats (train::EpochPosition); the continued epoch draws the batches
// of those steps without training on them, so the position too is a function of (seed, epoch).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "engine/nn/module.h"
#include "engine/optim/optimizer.h"
#include "train/trainer.h"

namespace lethe::train {

class EpochCheckpoint {
 public:
  // `path`: the checkpoint file; `identity`: the options that must be the same on resume (the
  // run's resolved options, minus those that do not change the result's bits); `every_steps`:
  // also save inside an epoch every that many steps (0: at epoch boundaries and stops only).
  EpochCheckpoint(std::string path, nlohmann::json identity, int64_t every_steps = 0);

  // Epochs of `phase` already done according to the file (0 when there is no file, or it holds
  // another phase); when > 0 the model and optimizer state are loaded from it. A file written by
  // different options is an error naming the first option that differs.
  int64_t restore(const std::string& phase, nn::Module& model, optim::Optimizer& opt) const;
  // Epochs of `phase` the file records as done, without loading anything (0 without a file).
  int64_t epochs_done(const std::string& phase) const;
  // Atomically records that `epochs_done` epochs of `phase` are done (and, with `within`, that
  // the next epoch stands at that position).
  void save(const std::string& phase, int64_t epochs_done, const nn::Module& model,
            const optim::Optimizer& opt, const EpochPosition* within = nullptr) const;
  // The position inside epoch `epochs_done(phase)` the file records (none: at its start).
  std::optional<EpochPosition> position(const std::string& phase) const;
  // Hooks the epoch loop of `phase`'s epoch `epoch` (0-based): when `resumed` (the first epoch
  // after restore()), continue at the file's position if it stands inside this epoch; save
  // positions every `every_steps` steps and on a stop.
  void hook_epoch(EpochOptions& eo, const std::string& phase, int64_t epoch, bool resumed,
                  const nn::Module& model, const optim::Optimizer& opt) const;
  // Deletes the file (the run finished and wrote its results).
  void remove() const;
  const std::string& path() const { return path_; }
  int64_t every_steps() const { return every_steps_; }

 private:
  std::string path_;
  nlohmann::json identity_;
  int64_t every_steps_ = 0;
};

}  // namespace lethe::train
