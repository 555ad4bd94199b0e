// Cut points (Classifier::forward_prefix / forward_suffix): for every cut of ResNet-18, a ViT and
// an MLP, the suffix of the prefix computes forward() bit for bit (the same ops in the same order);
// block_paths names the modules the layer scopes call blocks; a bad cut is one clear error.
#include <doctest/doctest.h>

#include <cstring>

#include "engine/autograd/autograd.h"
#include "engine/nn/init.h"
#include "models/registry.h"

using namespace lethe;

namespace {

bool same_bits(const Tensor& a, const Tensor& b) {
  std::vector<float> x = a.to_vector(), y = b.to_vector();
  return a.shape() == b.shape() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

void check_cuts(models::Classifier& m, const Tensor& x) {
  m.eval();
  NoGradGuard ng;
  Tensor full = m.forward(x);
  std::vector<std::string> blocks = m.block_paths();
  REQUIRE(!blocks.empty());
  for (const std::string& b : blocks) CHECK(m.find_module(b) != nullptr);
  for (int64_t c = 0; c <= m.num_blocks(); ++c) {
    CAPTURE(c);
    CHECK(same_bits(m.forward_suffix(m.forward_prefix(x, c), c), full));
  }
  CHECK_THROWS_WITH_AS(m.forward_prefix(x, m.num_blocks() + 1), doctest::Contains("no cut"),
                       lethe::Error);
}

Tensor input(const Shape& s) {
  nn::Generator g(17);
  Tensor x = Tensor::zeros(s);
  nn::normal_(x, 0.0, 1.0, g);
  return x;
}

}  // namespace

TEST_SUITE("models") {
  TEST_CASE("prefix/suffix cuts compute forward() at every block") {
    nn::manual_seed(1);
    auto resnet = models::build_model(models::config_for("resnet18", 1, 12, 4, {{"width", 4}}));
    check_cuts(*resnet, input({3, 1, 12, 12}));
    CHECK(resnet->block_paths().size() == 8);
    CHECK(resnet->block_paths().back() == "layer4.1");
    auto vit = models::build_model(
        models::config_for("vit-tiny", 3, 32, 5, {{"dim", 24}, {"depth", 2}, {"heads", 2}}));
    check_cuts(*vit, input({2, 3, 32, 32}));
    auto mlp = models::build_model(models::config_for("mlp", 8, 1, 4, {{"hidden", {16, 12}}}));
    check_cuts(*mlp, input({5, 8}));
    CHECK(mlp->block_paths() == std::vector<std::string>{"layers.0", "layers.2"});
  }
}
