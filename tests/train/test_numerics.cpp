// The always-on numerical check of the training loop (train/numerics.h): a poisoned input, a
// diverged parameter and an op that overflows each stop the epoch with one line naming the step
// and the tensor, before the optimizer step (the parameters are left as they were).
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "data/normalization.h"
#include "engine/autograd/anomaly.h"
#include "engine/nn/init.h"
#include "engine/optim/optimizer.h"
#include "models/registry.h"
#include "tests/support/error_of.h"
#include "train/trainer.h"

using namespace lethe;

namespace {

data::Dataset tabular(int64_t n, int64_t f) {
  data::Dataset d;
  std::vector<float> x(n * f);
  std::vector<int64_t> y(n);
  for (int64_t i = 0; i < n; ++i) {
    y[i] = i % 2;
    for (int64_t j = 0; j < f; ++j) x[i * f + j] = static_cast<float>((i * 7 + j * 3) % 5) / 5;
  }
  d.images = Tensor::from_vector({n, f}, x);
  d.labels = Tensor::from_vector_i64({n}, y);
  d.num_classes = 2;
  return d;
}

struct Run {
  std::shared_ptr<models::Classifier> model;
  std::unique_ptr<optim::SGD> opt;
  explicit Run(int64_t f, double lr) {
    nn::manual_seed(0);
    model = models::build_model(models::config_for("mlp", f, 1, 2, {}));
    optim::SgdOptions so;
    so.lr = lr;
    opt = std::make_unique<optim::SGD>(model->parameters(), so);
  }
  std::string epoch_error(const data::Dataset& d, int64_t epochs = 1) {
    std::vector<int64_t> idx(d.size());
    for (int64_t i = 0; i < d.size(); ++i) idx[i] = i;
    train::EpochOptions eo;
    eo.batch = 8;
    eo.shuffle = false;
    return lethe::test::error_of([&] {
      for (int64_t e = 0; e < epochs; ++e)
        train::train_epoch(*model, *opt, d, idx, data::Normalization{}, eo, e, nullptr);
    });
  }
};

}  // namespace

TEST_SUITE("train") {
  TEST_CASE("a poisoned input stops the epoch at its batch, parameters untouched") {
    data::Dataset d = tabular(32, 4);
    d.images.data<float>()[19 * 4 + 2] = NAN;  // row 19: the third batch of 8
    Run r(4, 0.1);
    std::string msg = r.epoch_error(d);
    MESSAGE(msg);
    CHECK(msg.find("train: epoch 1 step 3: loss is NaN; the batch's input is NaN") !=
          std::string::npos);
    for (auto& [name, p] : r.model->named_parameters()) CHECK(nonfinite(p) == nullptr);
  }

  TEST_CASE("a diverging learning rate is stopped naming the op and the module") {
    data::Dataset d = tabular(32, 4);
    Run r(4, 1e30);  // the first update leaves weights near 1e29: the next forward overflows
    std::string msg = r.epoch_error(d, 3);
    MESSAGE(msg);
    // The overflow reads Inf on the AVX2/AVX-512 GEMM and NaN (inf − inf inside the sum) on
    // the scalar one: either is the fault; the op, the module and the step are what must be named.
    const std::string head =
        "train: epoch 1 step 2: loss is NaN; detect-anomaly: op linear in module layers.2 "
        "produced ";
    CHECK(msg.find(head) == 0);
    CHECK((msg.find(head + "Inf from finite inputs") == 0 ||
           msg.find(head + "NaN from finite inputs") == 0));
  }

  TEST_CASE("a parameter that is already NaN is named") {
    data::Dataset d = tabular(32, 4);
    Run r(4, 0.1);
    r.model->find_tensor("head.bias").data<float>()[1] = NAN;
    std::string msg = r.epoch_error(d);
    MESSAGE(msg);
    CHECK(msg.find("train: epoch 1 step 1: loss is NaN; parameter head.bias is already NaN") == 0);
  }
}
