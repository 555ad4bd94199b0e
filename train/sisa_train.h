// SISA training (Bourtoule et al., "Machine Unlearning", IEEE S&P 2021): Sharded, Isolated,
// Sliced, Aggregated. The training set is split into S disjoint shards, one model per shard;
// each shard is split into R slices and its model is trained incrementally on slices 1..r,
// with a checkpoint after every slice. Deleting a point then only needs its shard retrained,
// starting from the checkpoint taken before the slice that held it (unlearn/sisa.cpp).
// Prediction aggregates the shard models: majority vote (the paper's default) or the average
// of their softmax outputs.
//
// Run-directory layout written by `lethe train --sisa S:R`:
//   sisa/manifest.json                         shards, slices, each slice's indices, checkpoints
//   sisa/shard-<s>/init.safetensors            the shard model before any data (s from 0)
//   sisa/shard-<s>/slice-<r>-<hash>.safetensors  after slices 1..r (r from 1); hash = FNV-1a
//                                              of the sorted indices the model has seen
//   model.safetensors                          shard 0's final model (a loadable single model;
//                                              the ensemble itself lives in sisa/)
// metrics.json reports the ensemble's accuracies (vote), plus softmax averaging and per shard.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/classifier.h"
#include "models/ensemble.h"
#include "models/registry.h"
#include "train/train_run.h"

namespace lethe::train {

struct SisaSpec {
  int64_t shards = 0, slices = 0;
};
// "S:R" with S ≥ 1, R ≥ 1; errors name --sisa.
SisaSpec parse_sisa_spec(const std::string& spec);

// Epochs each cumulative stage (slices 1..r) is trained for. The paper keeps the total cost of
// a shard equal to `epochs` passes over the whole shard: stage r sees r/R of the shard, so
// e' · Σ r/R = e' (R+1)/2 = epochs gives e' = 2·epochs/(R+1), rounded up (at least 1).
int64_t sisa_epochs_per_slice(int64_t epochs, int64_t slices);

// 16 hex digits of the 64-bit FNV-1a hash of a sorted index list (names a checkpoint by the
// data its model has seen).
std::string indices_hash(const std::vector<int64_t>& sorted);

struct SisaSlice {
  std::vector<int64_t> indices;  // this slice's own training indices, sorted
  std::string hash;              // of the cumulative indices of slices 1..r
  std::string checkpoint;        // relative to the run directory
};

struct SisaShard {
  std::string init;  // the untrained model, relative to the run directory
  std::vector<SisaSlice> slices;
};

struct SisaManifest {
  int64_t epochs_per_slice = 1;
  uint64_t seed = 0;       // the training run's seed: fixes inits, shuffles and augmentation
  int64_t train_size = 0;  // rows of the run's training set (a consistency check)
  std::vector<SisaShard> shards;

  int64_t num_shards() const { return static_cast<int64_t>(shards.size()); }
  int64_t num_slices() const { return shards.empty() ? 0 : shards[0].slices.size(); }
  // The sorted indices of slices 0..r (0-based r) of shard s: what checkpoint r has seen.
  std::vector<int64_t> seen(int64_t s, int64_t r) const;
  // Samples × epochs processed to train shard s from slice r (0-based) to the end.
  int64_t work(int64_t s, int64_t from_slice = 0) const;
  int64_t total_work() const;
  nlohmann::json to_json() const;
  static SisaManifest from_json(const nlohmann::json& j, const std::string& where);
};

// The deterministic partition: a seeded permutation of `train_idx` dealt into S shards of
// near-equal size (contiguous runs of the permutation), each cut into R slices the same way.
SisaManifest sisa_partition(const std::vector<int64_t>& train_idx, int64_t shards, int64_t slices,
                            uint64_t seed, int64_t epochs_per_slice);

// Relative file names of the layout above.
std::string sisa_init_path(int64_t shard);
std::string sisa_slice_path(int64_t shard, int64_t slice, const std::string& hash);

// Reads <dir>/sisa/manifest.json; a missing directory is an error naming it and `lethe train
// --sisa`.
SisaManifest read_sisa_manifest(const std::string& run_dir);
// Writes sisa/manifest.json and the run's ensemble.json (the last checkpoint of every shard).
void write_sisa_manifest(const std::string& run_dir, const SisaManifest& m,
                         models::Ensemble::Aggregate agg = models::Ensemble::Aggregate::Vote);

// The model of shard s before training: seeded by (seed, s) alone, so it can be rebuilt.
std::shared_ptr<models::Classifier> sisa_init_model(const models::ModelConfig& mc, uint64_t seed,
                                                    int64_t shard);

// One stage: trains `model` in place on `seen` (the cumulative slices 1..slice) for
// `epochs` epochs with the recipe of `cfg` (optimizer and schedule restarted for the stage;
// shuffling and augmentation seeded by (seed, shard, slice)). Only the model's parameters that
// require a gradient are trained. Deterministic: the same model, indices and seed give the same
// result bit for bit, which is what makes SISA unlearning exact and testable. Returns samples ×
// epochs processed.
int64_t sisa_train_stage(models::Classifier& model, const data::Dataset& train,
                         const std::vector<int64_t>& seen, const data::Normalization& norm,
                         const TrainConfig& cfg, int64_t epochs, uint64_t seed, int64_t shard,
                         int64_t slice);

// The aggregate of the shard models as one Classifier (models/ensemble.h), so the usual
// evaluation code measures the ensemble; a SISA run directory's ensemble.json names its members.
using SisaEnsemble = models::Ensemble;

struct SisaTrainResult {
  std::vector<std::shared_ptr<models::Classifier>> models;  // final model of each shard
  SisaManifest manifest;
  nlohmann::json report;  // for metrics.json["sisa"]
};

// The whole SISA training of a run: partition, S × R stages, checkpoints and manifest under
// <dir>/sisa/, one log.jsonl line per stage; per-shard and softmax-averaged test accuracy on
// `test` in the report.
SisaTrainResult train_sisa(const std::string& dir, const data::Dataset& train,
                           const std::vector<int64_t>& train_idx, const data::Normalization& norm,
                           const models::ModelConfig& mc, const TrainConfig& cfg,
                           const data::Dataset& test);

}  // namespace lethe::train
