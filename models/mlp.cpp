// MLP and logistic regression: construction (PyTorch's default Linear init) and forward.
#include "models/mlp.h"

#include "engine/ops/ops.h"

namespace lethe::models {

Mlp::Mlp(const MlpOptions& opt) : opt_(opt) {
  LETHE_CHECK(opt.in_features >= 1, "mlp: input features must be positive, got ", opt.in_features);
  LETHE_CHECK(opt.num_classes >= 1, "mlp: classes must be positive, got ", opt.num_classes);
  layers = register_module("layers", std::make_shared<nn::Sequential>());
  int64_t in = opt.in_features;
  for (int64_t h : opt.hidden) {
    LETHE_CHECK(h >= 1, "mlp: hidden sizes must be positive, got ", h);
    layers->push_back(std::make_shared<nn::Linear>(in, h));
    layers->push_back(std::make_shared<nn::ReLU>());
    in = h;
  }
  head = register_module("head", std::make_shared<nn::Linear>(in, opt.num_classes));
}

Tensor Mlp::forward_features(const Tensor& x) {
  LETHE_CHECK(x.defined() && x.dim() >= 2, "mlp: input must be [N, features...], got ",
              x.defined() ? shape_str(x.shape()) : "none");
  Tensor h = x.dim() == 2 ? x : ops::flatten(x, 1);
  LETHE_CHECK(h.size(1) == opt_.in_features, "mlp: input has ", h.size(1), " features, the model ",
              "expects ", opt_.in_features);
  return layers->forward(h);
}

Tensor Mlp::forward_head(const Tensor& f) {
  return head->forward(f);
}

// The blocks are the hidden Linear layers (layers.0, layers.2, ...); a cut before block c runs
// layers [0, 2c) in the prefix.
std::vector<std::string> Mlp::block_paths() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < opt_.hidden.size(); ++i) out.push_back("layers." + std::to_string(2 * i));
  return out;
}

Tensor Mlp::forward_prefix(const Tensor& x, int64_t cut) {
  check_cut(cut);
  if (cut == num_blocks()) return forward_features(x);
  Tensor h = x.dim() == 2 ? x : ops::flatten(x, 1);
  LETHE_CHECK(h.size(1) == opt_.in_features, "mlp: input has ", h.size(1), " features, the model ",
              "expects ", opt_.in_features);
  for (int64_t i = 0; i < 2 * cut; ++i) h = (*layers)[static_cast<size_t>(i)]->forward(h);
  return h;
}

Tensor Mlp::forward_suffix(const Tensor& h, int64_t cut) {
  check_cut(cut);
  if (cut == num_blocks()) return forward_head(h);
  Tensor t = h;
  for (size_t i = static_cast<size_t>(2 * cut); i < layers->size(); ++i)
    t = (*layers)[i]->forward(t);
  return forward_head(t);
}

}  // namespace lethe::models
