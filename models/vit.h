// Vision Transformer with timm's VisionTransformer names and semantics: conv patch embedding,
// class token, learned position embedding, pre-norm blocks (fused qkv attention, exact-erf GELU
// MLP), LayerNorm eps 1e-6, head on the class token; no dropout.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/nn/layers.h"
#include "models/classifier.h"

namespace lethe::models {

struct ViTOptions {
  int64_t img = 32;
  int64_t patch = 4;
  int64_t in_chans = 3;
  int64_t num_classes = 10;
  int64_t dim = 192;
  int64_t depth = 6;
  int64_t heads = 3;
  double mlp_ratio = 4.0;
};

// timm PatchEmbed: proj = Conv2d(patch×patch, stride patch); [B,C,H,W] -> [B, N, dim].
class PatchEmbed : public nn::Module {
 public:
  PatchEmbed(int64_t img, int64_t patch, int64_t in_chans, int64_t dim);
  std::string type_name() const override { return "PatchEmbed"; }
  Tensor forward(const Tensor& x) override;
  int64_t img, patch, num_patches;
  std::shared_ptr<nn::Conv2d> proj;
};

// timm Mlp: fc1 -> GELU -> fc2.
class VitMlp : public nn::Module {
 public:
  VitMlp(int64_t dim, int64_t hidden);
  std::string type_name() const override { return "Mlp"; }
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Linear> fc1, fc2;
};

// timm Block: x + attn(norm1(x)), then x + mlp(norm2(x)).
class VitBlock : public nn::Module {
 public:
  VitBlock(int64_t dim, int64_t heads, double mlp_ratio);
  std::string type_name() const override { return "Block"; }
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::LayerNorm> norm1, norm2;
  std::shared_ptr<nn::MultiHeadSelfAttention> attn;
  std::shared_ptr<VitMlp> mlp;
};

class VisionTransformer : public Classifier {
 public:
  explicit VisionTransformer(const ViTOptions& opt);
  std::string type_name() const override { return "VisionTransformer"; }
  // Class-token output after the final norm, [N, dim].
  Tensor forward_features(const Tensor& x) override;
  Tensor forward_head(const Tensor& f) override;
  int64_t num_features() const override { return opt_.dim; }
  std::string head_prefix() const override { return "head"; }
  std::vector<std::string> block_paths() const override;
  Tensor forward_prefix(const Tensor& x, int64_t cut) override;
  Tensor forward_suffix(const Tensor& h, int64_t cut) override;
  const ViTOptions& options() const { return opt_; }

  Tensor cls_token, pos_embed;  // [1, 1, dim], [1, 1 + N, dim]
  std::shared_ptr<PatchEmbed> patch_embed;
  std::shared_ptr<nn::Sequential> blocks;
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Linear> head;

 private:
  ViTOptions opt_;
};

}  // namespace lethe::models
