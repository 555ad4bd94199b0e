// Classifier: the interface every model in models/ implements. forward(x) = forward_head(
// forward_features(x)), so last-layer unlearning and feature-based attacks can run the head alone.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/error.h"
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

  // Cuts split forward() into a prefix and a suffix, so that the output of a frozen prefix can be
  // computed once and cached (models/prefix_cache.h). Cut c < num_blocks() is the input of block
  // block_paths()[c]; c == num_blocks() is the features (the suffix is the head alone).
  // forward_suffix(forward_prefix(x, c), c) computes forward(x).
  virtual std::vector<std::string> block_paths() const { return {}; }
  int64_t num_blocks() const { return static_cast<int64_t>(block_paths().size()); }
  virtual Tensor forward_prefix(const Tensor& x, int64_t cut) {
    check_cut(cut);
    return forward_features(x);
  }
  virtual Tensor forward_suffix(const Tensor& h, int64_t cut) {
    check_cut(cut);
    return forward_head(h);
  }

 protected:
  // Models without blocks cut only at the features.
  void check_cut(int64_t cut) const {
    LETHE_CHECK(cut >= 0 && cut <= num_blocks(), type_name(), ": no cut ", cut, " (the model has ",
                num_blocks(), " blocks)");
  }
};

}  // namespace lethe::models
