// The layers models are built from, with PyTorch's parameter names, shapes and default
// initialization (drawn from a Generator, the default one unless given).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "engine/nn/init.h"
#include "engine/nn/module.h"

namespace lethe::nn {

// y = x Wᵀ + b; W [out, in] ~ U(±1/sqrt(in)), b ~ U(±1/sqrt(in)) (nn.Linear's init).
class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, bool bias = true, Generator& g = default_generator());
  std::string type_name() const override { return "Linear"; }
  Tensor forward(const Tensor& x) override;
  // Redraws weight and bias as nn.Linear.reset_parameters does.
  void reset_parameters(Generator& g = default_generator());

  int64_t in_features, out_features;
  Tensor weight, bias;  // bias undefined when disabled
};

// Square kernel, equal stride and padding on both axes; W [out, in, k, k] with nn.Conv2d's init.
class Conv2d : public Module {
 public:
  Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0,
         bool bias = true, Generator& g = default_generator());
  std::string type_name() const override { return "Conv2d"; }
  Tensor forward(const Tensor& x) override;
  void reset_parameters(Generator& g = default_generator());

  int64_t in_channels, out_channels, kernel_size, stride, padding;
  Tensor weight, bias;
};

// Per-channel batch norm of [N, C, ...]: weight 1, bias 0, running_mean 0, running_var 1 and
// num_batches_tracked (i64, shape []), which counts training forwards as PyTorch does.
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, double eps = 1e-5, double momentum = 0.1);
  std::string type_name() const override { return "BatchNorm2d"; }
  Tensor forward(const Tensor& x) override;
  void reset_running_stats();

  int64_t num_features;
  double eps, momentum;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
};

// Normalizes the last dimension D: weight 1, bias 0.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5);
  std::string type_name() const override { return "LayerNorm"; }
  Tensor forward(const Tensor& x) override;

  int64_t normalized_dim;
  double eps;
  Tensor weight, bias;
};

class ReLU : public Module {
 public:
  std::string type_name() const override { return "ReLU"; }
  Tensor forward(const Tensor& x) override;
};

// Exact erf GELU.
class GELU : public Module {
 public:
  std::string type_name() const override { return "GELU"; }
  Tensor forward(const Tensor& x) override;
};

class Identity : public Module {
 public:
  std::string type_name() const override { return "Identity"; }
  Tensor forward(const Tensor& x) override { return x; }
};

// stride < 0 means stride = kernel (PyTorch's default).
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(int64_t kernel, int64_t stride = -1, int64_t padding = 0);
  std::string type_name() const override { return "MaxPool2d"; }
  Tensor forward(const Tensor& x) override;
  int64_t kernel_size, stride, padding;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(int64_t kernel, int64_t stride = -1, int64_t padding = 0);
  std::string type_name() const override { return "AvgPool2d"; }
  Tensor forward(const Tensor& x) override;
  int64_t kernel_size, stride, padding;
};

class AdaptiveAvgPool2d : public Module {
 public:
  AdaptiveAvgPool2d(int64_t out_h, int64_t out_w);
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  Tensor forward(const Tensor& x) override;
  int64_t out_h, out_w;
};

// Flattens dimensions start_dim.. into one (nn.Flatten's default start_dim = 1).
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1) : start_dim(start_dim) {}
  std::string type_name() const override { return "Flatten"; }
  Tensor forward(const Tensor& x) override;
  int64_t start_dim;
};

// Inverted dropout. Each module owns a stream key (drawn from the generator at construction)
// and counts its training forwards, so every forward draws a fresh mask and a run is
// reproducible from the global seed. Identity in eval mode.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator& g = default_generator());
  std::string type_name() const override { return "Dropout"; }
  Tensor forward(const Tensor& x) override;
  // Restarts the mask sequence from a given key.
  void set_seed(uint64_t key) {
    key_ = key;
    calls_ = 0;
  }
  double p;

 private:
  uint64_t key_;
  uint64_t calls_ = 0;
};

// timm's Attention: children qkv (Linear dim -> 3·dim) and proj (Linear dim -> dim), so the
// names are qkv.weight, qkv.bias, proj.weight, proj.bias. Input [B, N, dim].
class MultiHeadSelfAttention : public Module {
 public:
  MultiHeadSelfAttention(int64_t dim, int64_t heads, bool qkv_bias = true,
                         Generator& g = default_generator());
  std::string type_name() const override { return "MultiHeadSelfAttention"; }
  Tensor forward(const Tensor& x) override;

  int64_t dim, heads;
  std::shared_ptr<Linear> qkv, proj;
};

}  // namespace lethe::nn
