// ResNet construction (torchvision layout and initialization) and forward.
#include "models/resnet.h"

#include "engine/ops/ops.h"

namespace lethe::models {

namespace {

std::shared_ptr<nn::BatchNorm2d> bn(int64_t c) {
  return std::make_shared<nn::BatchNorm2d>(c, 1e-5, 0.1);
}

// torchvision's downsample: Sequential(conv1x1(stride), BatchNorm2d), named "0" and "1".
std::shared_ptr<nn::Sequential> make_downsample(int64_t in, int64_t out, int64_t stride) {
  auto s = std::make_shared<nn::Sequential>();
  s->push_back(std::make_shared<nn::Conv2d>(in, out, 1, stride, 0, false));
  s->push_back(bn(out));
  return s;
}

}  // namespace

BasicBlock::BasicBlock(int64_t inplanes, int64_t planes, int64_t stride, bool ds) {
  conv1 =
      register_module("conv1", std::make_shared<nn::Conv2d>(inplanes, planes, 3, stride, 1, false));
  bn1 = register_module("bn1", bn(planes));
  conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(planes, planes, 3, 1, 1, false));
  bn2 = register_module("bn2", bn(planes));
  if (ds) downsample = register_module("downsample", make_downsample(inplanes, planes, stride));
}

Tensor BasicBlock::forward(const Tensor& x) {
  nn::ObservedForward obs(*this, x);
  Tensor out = ops::relu(bn1->forward(conv1->forward(x)));
  out = bn2->forward(conv2->forward(out));
  Tensor identity = downsample ? downsample->forward(x) : x;
  return obs.done(ops::relu(ops::add(out, identity)));
}

Bottleneck::Bottleneck(int64_t inplanes, int64_t planes, int64_t stride, bool ds) {
  // torchvision: width = planes · base_width/64 · groups = planes for the standard ResNet-50.
  conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(inplanes, planes, 1, 1, 0, false));
  bn1 = register_module("bn1", bn(planes));
  conv2 =
      register_module("conv2", std::make_shared<nn::Conv2d>(planes, planes, 3, stride, 1, false));
  bn2 = register_module("bn2", bn(planes));
  conv3 = register_module(
      "conv3", std::make_shared<nn::Conv2d>(planes, planes * kExpansion, 1, 1, 0, false));
  bn3 = register_module("bn3", bn(planes * kExpansion));
  if (ds)
    downsample =
        register_module("downsample", make_downsample(inplanes, planes * kExpansion, stride));
}

Tensor Bottleneck::forward(const Tensor& x) {
  nn::ObservedForward obs(*this, x);
  Tensor out = ops::relu(bn1->forward(conv1->forward(x)));
  out = ops::relu(bn2->forward(conv2->forward(out)));
  out = bn3->forward(conv3->forward(out));
  Tensor identity = downsample ? downsample->forward(x) : x;
  return obs.done(ops::relu(ops::add(out, identity)));
}

ResNet::ResNet(const ResNetOptions& opt) : opt_(opt) {
  LETHE_CHECK(opt.block == "basic" || opt.block == "bottleneck", "resnet: block must be ",
              "'basic' or 'bottleneck', got '", opt.block, "'");
  LETHE_CHECK(opt.stem == "cifar" || opt.stem == "imagenet",
              "resnet: stem must be 'cifar' or 'imagenet', got '", opt.stem, "'");
  LETHE_CHECK(opt.layers.size() == 4, "resnet: layers needs 4 block counts, got ",
              opt.layers.size());
  for (int64_t n : opt.layers)
    LETHE_CHECK(n >= 1, "resnet: every stage needs at least one block, got ", n);
  LETHE_CHECK(opt.width >= 1, "resnet: width must be positive, got ", opt.width);
  LETHE_CHECK(opt.in_chans >= 1, "resnet: input channels must be positive, got ", opt.in_chans);
  LETHE_CHECK(opt.num_classes >= 1, "resnet: classes must be positive, got ", opt.num_classes);

  const bool bottleneck = opt.block == "bottleneck";
  const int64_t expansion = bottleneck ? Bottleneck::kExpansion : BasicBlock::kExpansion;
  if (opt.stem == "imagenet")
    conv1 = register_module("conv1",
                            std::make_shared<nn::Conv2d>(opt.in_chans, opt.width, 7, 2, 3, false));
  else
    conv1 = register_module("conv1",
                            std::make_shared<nn::Conv2d>(opt.in_chans, opt.width, 3, 1, 1, false));
  bn1 = register_module("bn1", bn(opt.width));

  int64_t inplanes = opt.width;
  std::shared_ptr<nn::Sequential>* stages[4] = {&layer1, &layer2, &layer3, &layer4};
  for (int s = 0; s < 4; ++s) {
    const int64_t planes = opt.width << s;
    const int64_t stride = s == 0 ? 1 : 2;
    auto stage = std::make_shared<nn::Sequential>();
    for (int64_t b = 0; b < opt.layers[s]; ++b) {
      const int64_t st = b == 0 ? stride : 1;
      const bool ds = b == 0 && (stride != 1 || inplanes != planes * expansion);
      if (bottleneck)
        stage->push_back(std::make_shared<Bottleneck>(inplanes, planes, st, ds));
      else
        stage->push_back(std::make_shared<BasicBlock>(inplanes, planes, st, ds));
      inplanes = planes * expansion;
    }
    *stages[s] = register_module("layer" + std::to_string(s + 1), stage);
  }
  fc = register_module("fc", std::make_shared<nn::Linear>(inplanes, opt.num_classes));

  // torchvision: kaiming_normal_(fan_out, relu) on every conv; BN 1/0 (already); Linear keeps
  // its default init.
  apply([](nn::Module& m) {
    if (auto* c = dynamic_cast<nn::Conv2d*>(&m))
      nn::kaiming_normal_(c->weight, 0, nn::FanMode::FanOut, nn::Nonlinearity::Relu);
  });
}

Tensor ResNet::forward_features(const Tensor& x) {
  LETHE_CHECK(x.defined() && x.dim() == 4 && x.size(1) == opt_.in_chans, "resnet: input must be ",
              "[N, ", opt_.in_chans, ", H, W], got ", x.defined() ? shape_str(x.shape()) : "none");
  Tensor h = ops::relu(bn1->forward(conv1->forward(x)));
  if (opt_.stem == "imagenet") h = ops::max_pool2d(h, 3, 2, 1);
  h = layer4->forward(layer3->forward(layer2->forward(layer1->forward(h))));
  return ops::flatten(ops::adaptive_avg_pool2d(h, 1, 1), 1);
}

Tensor ResNet::forward_head(const Tensor& f) {
  return fc->forward(f);
}

std::vector<std::string> ResNet::block_paths() const {
  std::vector<std::string> out;
  const std::shared_ptr<nn::Sequential>* stages[4] = {&layer1, &layer2, &layer3, &layer4};
  for (int s = 0; s < 4; ++s)
    for (size_t b = 0; b < (*stages[s])->size(); ++b)
      out.push_back("layer" + std::to_string(s + 1) + "." + std::to_string(b));
  return out;
}

namespace {
// Runs blocks [from, to) of the four stages, counted over all stages in forward order.
Tensor run_blocks(const std::shared_ptr<nn::Sequential>* stages, Tensor h, int64_t from,
                  int64_t to) {
  int64_t i = 0;
  for (int s = 0; s < 4; ++s)
    for (size_t b = 0; b < stages[s]->size(); ++b, ++i)
      if (i >= from && i < to) h = (*stages[s])[b]->forward(h);
  return h;
}
}  // namespace

Tensor ResNet::forward_prefix(const Tensor& x, int64_t cut) {
  check_cut(cut);
  if (cut == num_blocks()) return forward_features(x);
  LETHE_CHECK(x.defined() && x.dim() == 4 && x.size(1) == opt_.in_chans, "resnet: input must be ",
              "[N, ", opt_.in_chans, ", H, W], got ", x.defined() ? shape_str(x.shape()) : "none");
  Tensor h = ops::relu(bn1->forward(conv1->forward(x)));
  if (opt_.stem == "imagenet") h = ops::max_pool2d(h, 3, 2, 1);
  const std::shared_ptr<nn::Sequential> stages[4] = {layer1, layer2, layer3, layer4};
  return run_blocks(stages, h, 0, cut);
}

Tensor ResNet::forward_suffix(const Tensor& h, int64_t cut) {
  check_cut(cut);
  if (cut == num_blocks()) return forward_head(h);
  const std::shared_ptr<nn::Sequential> stages[4] = {layer1, layer2, layer3, layer4};
  Tensor y = run_blocks(stages, h, cut, num_blocks());
  return forward_head(ops::flatten(ops::adaptive_avg_pool2d(y, 1, 1), 1));
}

}  // namespace lethe::models
