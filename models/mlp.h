// MLP (Linear + ReLU hidden layers, then a Linear head) and logistic regression (the head
// alone) for tabular data or flattened images. Tensor names, as a PyTorch module with
// `self.layers = nn.Sequential(Linear, ReLU, Linear, ReLU, ...)` and `self.head = nn.Linear`
// would give: layers.0.weight, layers.0.bias, layers.2.weight, ..., head.weight, head.bias.
// Logistic regression has only head.weight and head.bias.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/nn/layers.h"
#include "models/classifier.h"

namespace lethe::models {

struct MlpOptions {
  int64_t in_features = 1;                // inputs [N, in_features] or [N, ...] flattened to it
  std::vector<int64_t> hidden{256, 256};  // empty = logistic regression
  int64_t num_classes = 10;
};

class Mlp : public Classifier {
 public:
  explicit Mlp(const MlpOptions& opt);
  std::string type_name() const override { return opt_.hidden.empty() ? "LogReg" : "Mlp"; }
  // Output of the last hidden ReLU (the flattened input for logistic regression).
  Tensor forward_features(const Tensor& x) override;
  Tensor forward_head(const Tensor& f) override;
  int64_t num_features() const override { return head->in_features; }
  std::string head_prefix() const override { return "head"; }
  std::vector<std::string> block_paths() const override;
  Tensor forward_prefix(const Tensor& x, int64_t cut) override;
  Tensor forward_suffix(const Tensor& h, int64_t cut) override;
  const MlpOptions& options() const { return opt_; }

  std::shared_ptr<nn::Sequential> layers;
  std::shared_ptr<nn::Linear> head;

 private:
  MlpOptions opt_;
};

}  // namespace lethe::models
