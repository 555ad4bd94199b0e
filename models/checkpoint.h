// Model checkpoints: model.safetensors with the state dict under PyTorch names and the model
// config in __metadata__ ("model": config JSON, "format": "lethe"), so the file alone rebuilds
// its model. Files exported from PyTorch with the same "model" metadata load the same way.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "engine/nn/module.h"
#include "models/classifier.h"
#include "models/registry.h"

namespace lethe::models {

struct Checkpoint {
  ModelConfig config;
  std::shared_ptr<Classifier> model;
  std::map<std::string, std::string> metadata;  // all of the file's __metadata__
};

// Writes the module's state dict atomically (temporary file, then rename). `extra_metadata`
// adds keys; "model" and "format" are always Lethe's.
void save_checkpoint(const std::string& path, const nn::Module& module, const ModelConfig& config,
                     const std::map<std::string, std::string>& extra_metadata = {});

// Rebuilds the model from the "model" metadata and loads its state strictly: a missing, extra
// or misshapen tensor is a lethe::Error naming the file and the tensor.
Checkpoint load_checkpoint(const std::string& path);

// The config in a file's metadata; `where` (the file) prefixes errors.
ModelConfig config_from_metadata(const std::map<std::string, std::string>& metadata,
                                 const std::string& where);

// Strict load_state_dict that also accepts a one-element tensor of shape [1] for a scalar
// (num_batches_tracked: PyTorch stores [], some exporters write [1]); errors start with `where`.
void load_model_state(nn::Module& module, const std::map<std::string, Tensor>& tensors,
                      const std::string& where);

}  // namespace lethe::models
