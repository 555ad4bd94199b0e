// Per-layer effect (eval/layer_effect.h, lethe eval --against/--reference): the relative change
// of a layer's parameters is ‖Δθ‖/‖θ‖ exactly (a layer scaled by 1.1 reads 0.1, untouched layers
// 0), buffers are reported apart, the reference's changes stand beside, the fairness gap change
// is 0 for an unchanged model and follows a changed BatchNorm, and a different architecture is
// refused with a line naming the run.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "engine/nn/init.h"
#include "engine/ops/ops.h"
#include "eval/layer_effect.h"
#include "models/registry.h"

using namespace lethe;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<models::Classifier> resnet(int64_t width = 4) {
  nn::manual_seed(3);
  return models::build_model(models::config_for("resnet18", 1, 12, 10, {{"width", width}}));
}

// 60 random 12×12 images, labels i % 10.
data::Dataset images() {
  data::Dataset d;
  d.images = ops::mul(Tensor::uniform({60, 1, 12, 12}, 0, 255, 5), 1.0).to(DType::U8);
  std::vector<int64_t> y;
  for (int64_t i = 0; i < 60; ++i) y.push_back(i % 10);
  d.labels = Tensor::from_vector_i64({60}, y);
  d.num_classes = 10;
  return d;
}

void scale_params(nn::Module& m, double s) {
  for (auto& [n, p] : m.named_parameters()) Tensor(p).copy_(ops::mul(p, s));
}

std::map<std::string, nlohmann::json> by_layer(const nlohmann::json& j) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& row : j.at("layers")) out[row.at("layer").get<std::string>()] = row;
  return out;
}

}  // namespace

TEST_SUITE("eval") {
  TEST_CASE("relative_change is |a − b| / |b|, in double, integer buffers included") {
    Tensor b = Tensor::from_vector({2}, {3, 4});
    Tensor a = Tensor::from_vector({2}, {3, 4.5});
    CHECK(eval::relative_change({a}, {b}) == doctest::Approx(0.1).epsilon(1e-12));
    CHECK(eval::relative_change({b}, {b}) == 0);
    Tensor i0 = Tensor::from_vector_i64({1}, {10}), i1 = Tensor::from_vector_i64({1}, {12});
    CHECK(eval::relative_change({i1}, {i0}) == doctest::Approx(0.2));
  }

  TEST_CASE("layer effect: the scaled layer reads its scale, the rest 0, the reference beside") {
    auto orig = resnet(), run = resnet(), ref = resnet();
    scale_params(*run->find_module("layer4.1.conv2"), 1.1);
    scale_params(*run->find_module("fc"), 0.5);
    scale_params(*ref->find_module("layer1.0.bn1"), 2.0);  // γ, β ×2: its output, not its input
    data::Dataset d = images();
    data::Normalization norm = data::Normalization::from_dataset(d);
    const fs::path dir =
        fs::temp_directory_path() / ("lethe_test_layer_effect_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    eval::LayerEffectInputs in;
    in.run = run.get();
    in.original = orig.get();
    in.reference = ref.get();
    in.against_dir = "orig";
    in.reference_dir = "ref";
    in.data = &d;
    for (int64_t i = 0; i < 60; ++i) in.rows.push_back(i);
    in.split = "test";
    in.norm = &norm;
    nlohmann::json j = eval::layer_effect(in, dir.string());
    auto rows = by_layer(j);
    CHECK(rows.at("layer4.1.conv2").at("rel_change").get<double>() ==
          doctest::Approx(0.1).epsilon(1e-6));
    CHECK(rows.at("fc").at("rel_change").get<double>() == doctest::Approx(0.5).epsilon(1e-6));
    CHECK(rows.at("layer1.0.bn1").at("rel_change_reference").get<double>() ==
          doctest::Approx(1.0).epsilon(1e-6));
    for (const auto& [name, row] : rows) {
      CAPTURE(name);
      if (name != "layer4.1.conv2" && name != "fc" && row.contains("rel_change"))
        CHECK(row.at("rel_change").get<double>() == 0);
      if (name != "layer1.0.bn1" && row.contains("rel_change_reference"))
        CHECK(row.at("rel_change_reference").get<double>() == 0);
    }
    // BatchNorm running statistics are buffers: unchanged here (no training); the step counter
    // is not a statistic and is left out (a changed count alone reads 0).
    CHECK(rows.at("layer1.0.bn1").at("buffer_rel_change").get<double>() == 0);
    for (auto& [n, b] : run->named_buffers())
      if (n == "layer2.0.bn1.num_batches_tracked")
        Tensor(b).copy_(Tensor::from_vector_i64({}, {999}));
    // Held in a variable: a range-for over a member of the returned temporary would iterate a
    // destroyed object (ASan: heap-use-after-free; C++20 does not extend that lifetime).
    const nlohmann::json counted = eval::layer_effect(in, dir.string());
    for (const auto& row : counted.at("layers"))
      if (row.at("layer") == "layer2.0.bn1") CHECK(row.at("buffer_rel_change").get<double>() == 0);
    // Fairness gaps (of each BN layer's input): layers before the change see the same input.
    CHECK(rows.at("bn1").at("d_fairness_gap").get<double>() == 0);
    CHECK(rows.at("layer4.1.bn2").at("d_fairness_gap").get<double>() != 0);  // after conv2 ×1.1
    CHECK(rows.at("layer1.0.bn1").at("d_fairness_gap_reference").get<double>() == 0);  // its input
    CHECK(rows.at("layer1.0.conv2").contains("fairness_gap") == false);
    CHECK(fs::exists(dir / "layer_effect.csv"));

    auto other = resnet(8);  // another width: refused, naming the run
    in.original = other.get();
    in.against_dir = "the-other-run";
    CHECK_THROWS_WITH(eval::layer_effect(in, dir.string()),
                      doctest::Contains("the-other-run: tensor"));
    fs::remove_all(dir);
  }
}
