// Amnesiac recording (Graves, Nagisetti & Ganesh, "Amnesiac Machine Learning", AAAI 2021): while
// training, store the parameter update θ_after − θ_before of every batch that holds a tracked
// sample, so that unlearning (unlearn/amnesiac.cpp) can subtract the updates of the batches that
// held the samples to forget, then repair the model with a short fine-tune on the rest.
//
// Run-directory layout written by `lethe train --amnesiac [--amnesiac-track SPEC]`:
//   amnesiac/e<epoch>-b<batch>.safetensors   one f32 delta per parameter (PyTorch names); epoch
//                                            and batch count from 0 in training order
//   amnesiac/index.json                      every recorded batch: file, epoch, batch, and the
//                                            dataset indices it held; the tracked samples
// Only parameters are recorded, as in the paper: batch-norm running statistics are buffers, not
// updates, and are left to the repair fine-tune. One delta is the size of the model, so storage
// is batches × model size: the recorder states the bound before training (and refuses when the
// disk cannot hold it) and the bytes written after, on stderr.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/classifier.h"
#include "train/train_run.h"

namespace lethe::train {

class AmnesiacRecorder {
 public:
  // `tracked`: sorted dataset indices whose batches are recorded; `track_spec` is recorded in the
  // index ("" = every training sample).
  AmnesiacRecorder(std::string run_dir, models::Classifier& model, std::vector<int64_t> tracked,
                   std::string track_spec, int64_t train_size);
  // Adds the hooks to the epoch options: before_step snapshots the parameters when the batch
  // holds a tracked sample, after_step (run after any hook already present) writes the delta.
  void install(EpochOptions& eo);
  // Writes amnesiac/index.json and returns a summary for metrics.json.
  nlohmann::json finish();

  int64_t bytes_written() const { return bytes_; }
  int64_t batches_recorded() const { return static_cast<int64_t>(records_.size()); }

 private:
  void before(const data::Batch& b);
  void after();

  std::string dir_;
  models::Classifier& model_;
  std::vector<int64_t> tracked_;
  std::vector<char> is_tracked_;  // by dataset index
  std::string spec_;
  int64_t train_size_;
  nlohmann::json records_ = nlohmann::json::array();
  int64_t bytes_ = 0;
  // The batch in flight: its snapshot (empty when the batch is not recorded).
  std::vector<std::pair<std::string, Tensor>> before_;
  std::vector<int64_t> pending_indices_;
  int64_t epoch_ = -1, batch_in_epoch_ = 0;
  bool pending_ = false;
};

// The recorder of a training run: resolves the track SPEC against `train_idx`, states the
// storage bound on stderr and refuses (before any training) when the disk cannot hold it.
std::unique_ptr<AmnesiacRecorder> make_amnesiac_recorder(const std::string& run_dir,
                                                         models::Classifier& model,
                                                         const data::Dataset& train,
                                                         const std::vector<int64_t>& train_idx,
                                                         const TrainConfig& cfg);

struct AmnesiacBatch {
  std::string file;  // relative to the run directory
  int64_t epoch = 0, batch = 0;
  std::vector<int64_t> indices;  // every dataset index the batch held
};

struct AmnesiacIndex {
  std::string track;             // the --amnesiac-track SPEC ("" = all)
  std::vector<int64_t> tracked;  // sorted
  int64_t train_size = 0;
  int64_t bytes = 0;
  std::vector<AmnesiacBatch> batches;
};

// Reads <dir>/amnesiac/index.json; a missing directory is an error naming it and `lethe train
// --amnesiac`.
AmnesiacIndex read_amnesiac_index(const std::string& run_dir);

}  // namespace lethe::train
