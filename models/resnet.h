// ResNet with torchvision's semantics and tensor names (BasicBlock for 18/34, Bottleneck v1.5
// with the stride on the 3×3 conv for 50), a `width` option and a CIFAR or ImageNet stem.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/nn/layers.h"
#include "models/classifier.h"

namespace lethe::models {

struct ResNetOptions {
  std::string block = "basic";              // "basic" (expansion 1) or "bottleneck" (expansion 4)
  std::vector<int64_t> layers{2, 2, 2, 2};  // blocks per stage (4 stages)
  int64_t width = 64;                       // stage channels width, 2w, 4w, 8w (64 = torchvision)
  std::string stem = "cifar";  // "cifar": 3×3/1 conv; "imagenet": 7×7/2 conv + 3×3/2 max-pool
  int64_t in_chans = 3;
  int64_t num_classes = 10;
};

// torchvision BasicBlock: conv1 (3×3, stride) bn1 relu conv2 (3×3) bn2, + identity/downsample.
class BasicBlock : public nn::Module {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlock(int64_t inplanes, int64_t planes, int64_t stride, bool downsample);
  std::string type_name() const override { return "BasicBlock"; }
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
  std::shared_ptr<nn::Sequential> downsample;  // null when the shortcut is the identity
};

// torchvision Bottleneck (v1.5): conv1 1×1, conv2 3×3 with the stride, conv3 1×1 to 4·planes.
class Bottleneck : public nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;
  Bottleneck(int64_t inplanes, int64_t planes, int64_t stride, bool downsample);
  std::string type_name() const override { return "Bottleneck"; }
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<nn::Conv2d> conv1, conv2, conv3;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2, bn3;
  std::shared_ptr<nn::Sequential> downsample;
};

class ResNet : public Classifier {
 public:
  explicit ResNet(const ResNetOptions& opt);
  std::string type_name() const override { return "ResNet"; }
  Tensor forward_features(const Tensor& x) override;
  Tensor forward_head(const Tensor& f) override;
  int64_t num_features() const override { return fc->in_features; }
  std::string head_prefix() const override { return "fc"; }
  std::vector<std::string> block_paths() const override;
  Tensor forward_prefix(const Tensor& x, int64_t cut) override;
  Tensor forward_suffix(const Tensor& h, int64_t cut) override;
  const ResNetOptions& options() const { return opt_; }

  std::shared_ptr<nn::Conv2d> conv1;
  std::shared_ptr<nn::BatchNorm2d> bn1;
  std::shared_ptr<nn::Sequential> layer1, layer2, layer3, layer4;
  std::shared_ptr<nn::Linear> fc;

 private:
  ResNetOptions opt_;
};

}  // namespace lethe::models
