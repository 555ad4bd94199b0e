// Resumable runs (issue 20, item 2): at every epoch boundary a loop saves its model state (every
// parameter and buffer), its optimizer state (moments, step counts) and the number of epochs
// done to one safetensors file, written to a temporary name and renamed, so a kill at any moment
// leaves either the previous checkpoint or the new one. Nothing else needs saving for a
// bit-identical continuation: the learning rate is a function of the epoch, and every random
// draw of a loop (shuffles, augmentation, forget splits, AMUN's order) is Philox keyed by
// (seed, purpose, epoch) — the "RNG counters" and the loader position are the epoch number.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/nn/module.h"
#include "engine/optim/optimizer.h"

namespace lethe::train {

class EpochCheckpoint {
 public:
  // `path`: the checkpoint file; `identity`: the options that must be the same on resume (the
  // run's resolved options, minus those that do not change the result's bits).
  EpochCheckpoint(std::string path, nlohmann::json identity);

  // Epochs of `phase` already done according to the file (0 when there is no file, or it holds
  // another phase); when > 0 the model and optimizer state are loaded from it. A file written by
  // different options is an error naming the first option that differs.
  int64_t restore(const std::string& phase, nn::Module& model, optim::Optimizer& opt) const;
  // Epochs of `phase` the file records as done, without loading anything (0 without a file).
  int64_t epochs_done(const std::string& phase) const;
  // Atomically records that `epochs_done` epochs of `phase` are done.
  void save(const std::string& phase, int64_t epochs_done, const nn::Module& model,
            const optim::Optimizer& opt) const;
  // Deletes the file (the run finished and wrote its results).
  void remove() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  nlohmann::json identity_;
};

}  // namespace lethe::train
