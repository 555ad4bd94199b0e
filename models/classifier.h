// Classifier: the interface every model in models/ implements. forward(x) = forward_head(
// forward_features(x)), so last-layer unlearning and feature-based attacks can run the head alone.
#pragma once
#include <cstdint>
#include <string>

#include "engine/nn/module.h"

namespace lethe::models {

class Classifier : public nn::Module {
 public:
  // The pooled vector the head consumes, [N, num_features()]. (timm's forward_features returns
  // the token sequence; here pooling is part of the features so the head is one Linear.)
  virtual Tensor forward_features(const Tensor& x) = 0;
  // The classification head on features [N, num_features()] -> logits [N, classes].
  virtual Tensor forward_head(const Tensor& f) = 0;
  Tensor forward(const Tensor& x) override { return forward_head(forward_features(x)); }

  virtual int64_t num_features() const = 0;
  // Name prefix of the head's tensors ("fc" for ResNet, "head" for ViT and MLP).
  virtual std::string head_prefix() const = 0;
};

}  // namespace lethe::models
