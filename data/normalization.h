// The per-channel normalization a model sees its [0,1] pixel inputs through. It is applied inside
// the graph (not in the loader) so that attacks can differentiate with respect to pixels; runs
// record it in their checkpoint metadata and config.json, and every layer above data/ reads it
// from there.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "engine/core/tensor.h"

namespace lethe::data {

struct Normalization {
  std::vector<float> mean, std;  // per channel (images) or empty (identity)
  Tensor apply(const Tensor& x01) const;
  nlohmann::json to_json() const;
  static Normalization from_json(const nlohmann::json& j);
  static Normalization from_dataset(const Dataset& d);  // channel statistics of d
  // What a run recorded: the checkpoint's "normalize" metadata, else config.json's "normalize".
  static Normalization from_run(const std::map<std::string, std::string>& checkpoint_metadata,
                                const nlohmann::json& config);
};

}  // namespace lethe::data
