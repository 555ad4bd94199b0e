// Model configs and the registry by name: ModelConfig (JSON in checkpoint metadata, the format
// of the golden reference files), presets by NAME, and build_model.
//
// JSON per arch (every key shown is required; "name" is optional; unknown keys are errors so a
// config is never half understood):
//   {"arch":"resnet","block":"basic|bottleneck","layers":[2,2,2,2],"width":64,
//    "stem":"cifar|imagenet","in_chans":3,"num_classes":10}
//   {"arch":"vit","img":32,"patch":4,"in_chans":3,"dim":192,"depth":6,"heads":3,
//    "mlp_ratio":4.0,"num_classes":10}
//   {"arch":"mlp","in_features":784,"hidden":[256,256],"num_classes":10}
//   {"arch":"logreg","in_features":784,"num_classes":10}
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/classifier.h"

namespace lethe::models {

struct ModelConfig {
  std::string name;  // registry NAME ("resnet18", "vit-tiny", ...) or the arch for custom ones
  std::string arch;  // "resnet" | "vit" | "mlp" | "logreg"
  int64_t in_chans = 3;
  int64_t num_classes = 10;
  // resnet
  std::string block = "basic";
  std::vector<int64_t> layers{2, 2, 2, 2};
  int64_t width = 64;
  std::string stem = "cifar";
  // vit
  int64_t img = 32, patch = 4, dim = 192, depth = 6, heads = 3;
  double mlp_ratio = 4.0;
  // mlp / logreg (inputs are flattened to in_features)
  int64_t in_features = 1;
  std::vector<int64_t> hidden{256, 256};

  // Only the keys of this arch (plus "name").
  nlohmann::json to_json() const;
  // Validates keys and types; a lethe::Error names the key at fault.
  static ModelConfig from_json(const nlohmann::json& j);
  static ModelConfig from_json_string(const std::string& s);
};

// Valid NAMEs for config_for.
const std::vector<std::string>& model_names();

// The config of a named model for data with the given channels, image size and classes.
// For tabular data pass in_channels = number of features and image_size = 1 (mlp, logreg).
// `overrides` (a JSON object) replaces keys of the arch (e.g. {"width":16,"stem":"imagenet"},
// {"hidden":[512]}); null values are ignored, unknown keys are errors.
ModelConfig config_for(const std::string& name, int64_t in_channels, int64_t image_size,
                       int64_t num_classes, const nlohmann::json& overrides = nlohmann::json());

// A freshly initialized model (weights drawn from nn::default_generator()).
std::shared_ptr<Classifier> build_model(const ModelConfig& cfg);

}  // namespace lethe::models
