// A short run on a Fashion-MNIST subset learns: the loss falls and accuracy ends well above
// chance (10%). Uses the real dataset installed by `make deps`.
#include <doctest/doctest.h>

#include <filesystem>

#include "data/normalization.h"
#include "data/spec.h"
#include "engine/nn/init.h"
#include "engine/optim/optimizer.h"
#include "eval/predict.h"
#include "models/registry.h"
#include "tests/support/learning.h"
#include "train/trainer.h"

using namespace lethe;

TEST_SUITE("train") {
  TEST_CASE("a small ResNet learns Fashion-MNIST from 2000 samples") {
    REQUIRE_MESSAGE(std::filesystem::exists(data::kFashionMnistDir),
                    "Fashion-MNIST is not installed in " << data::kFashionMnistDir
                                                         << " (make deps installs it)");
    data::DataSplit ds = data::load_dataset("fashion-mnist", 0);
    std::vector<int64_t> idx(2000), test_idx(1000);
    for (int64_t i = 0; i < 2000; ++i) idx[i] = i * 29 % 60000;
    for (int64_t i = 0; i < 1000; ++i) test_idx[i] = i * 7;
    nn::manual_seed(0);
    auto model = models::build_model(models::config_for("resnet18", 1, 28, 10, {{"width", 8}}));
    std::vector<Tensor> params;
    for (auto& [n, p] : model->named_parameters()) params.push_back(p);
    optim::SgdOptions so;
    so.lr = 0.05;
    so.momentum = 0.9;
    so.weight_decay = 5e-4;
    optim::SGD opt(params, so);
    data::Normalization norm = data::Normalization::from_dataset(ds.train);
    train::EpochOptions eo;
    eo.batch = 64;
    double before = eval::accuracy(*model, ds.test, test_idx, norm);
    std::vector<double> losses;
    for (int e = 0; e < 3; ++e)
      losses.push_back(train::train_epoch(*model, opt, ds.train, idx, norm, eo, e, nullptr).loss);
    double after = eval::accuracy(*model, ds.test, test_idx, norm);
    MESSAGE("test accuracy " << before << "% -> " << after << "%, losses " << losses[0] << ", "
                             << losses[1] << ", " << losses[2]);
    testing::learning_below("train: epoch-3 loss / epoch-1 loss", losses[2] / losses[0], 0.7);
    testing::learning_above("train: test accuracy after 3 epochs (%)", after, 60.0);
  }
}
