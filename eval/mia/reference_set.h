// The reference models of the LiRA/RMIA attacks as stored by `lethe train --reference-models M
// --out DIR` (train/reference_models.h) and read by `lethe eval --references DIR`:
//   DIR/config.json             the resolved training recipe, M, and the pool description
//   DIR/inclusion.safetensors   "inclusion" U8 [M, P]: 1 = reference model m trained on sample p
//   DIR/logits.safetensors      "logits" F32 [M, P, C]: each model's eval-mode logits on every
//                               pool sample (the cache the attacks read), "labels" I64 [P]
//   DIR/ref_K/model.safetensors each reference model (K from 0), so the logits can be recomputed
// The pool is the run's training rows (data::load_training_data with --subset) followed by its
// test rows: pool index = training index, or n_train + test index.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/spec.h"

namespace lethe::eval::mia {

// What identifies a pool: where its rows come from and a hash of their content.
struct PoolInfo {
  std::string data;
  int64_t subset = 0;
  uint64_t seed = 0;
  int64_t n_train = 0, n_test = 0;
  std::string hash;  // 16 hex digits, FNV-1a over both sets' samples and labels

  int64_t size() const { return n_train + n_test; }
  nlohmann::json to_json() const;
  static PoolInfo from_json(const nlohmann::json& j);
};

// The pool of a run's data split (its rows hashed).
PoolInfo pool_info(const data::DataSplit& ds, const std::string& data, int64_t subset,
                   uint64_t seed);

// Throws one line naming DIR and every field that differs when the target run's pool is not
// the reference models' pool. Rows are the same exactly when the sizes and content hash agree:
// the seed alone may differ (it only matters through the hash, e.g. via --subset).
void check_same_pool(const PoolInfo& references, const PoolInfo& target, const std::string& dir);

struct ReferenceSet {
  nlohmann::json config;  // DIR/config.json
  PoolInfo pool;
  int64_t models = 0, classes = 0;
  std::vector<uint8_t> inclusion;  // [M, P]
  std::vector<float> logits;       // [M, P, C]
  std::vector<int64_t> labels;     // [P]

  int64_t pool_size() const { return pool.size(); }
};

// Reads DIR; a missing or inconsistent file is an error naming it and `lethe train
// --reference-models`.
ReferenceSet read_reference_set(const std::string& dir);

// Writes inclusion.safetensors and logits.safetensors of `r` into DIR (config.json is the
// trainer's).
void write_reference_cache(const std::string& dir, const ReferenceSet& r);

}  // namespace lethe::eval::mia
