// --detect-anomaly (engine/nn/detect_anomaly.h): the first op producing NaN/Inf is named with the
// module whose forward recorded it; a value that was already non-finite is reported as coming
// from the data or a parameter; a backward closure producing NaN is named too.
#include <doctest/doctest.h>

#include <string>

#include "engine/nn/detect_anomaly.h"
#include "engine/nn/layers.h"
#include "engine/ops/ops.h"
#include "tests/support/error_of.h"

using namespace lethe;

using lethe::test::error_of;

TEST_SUITE("unit") {
  TEST_CASE("nonfinite tells NaN from Inf and ignores integer tensors") {
    CHECK(nonfinite(Tensor::from_vector({3}, {1, 2, 3})) == nullptr);
    CHECK(std::string(nonfinite(Tensor::from_vector({2}, {1, NAN}))) == "NaN");
    CHECK(std::string(nonfinite(Tensor::from_vector({2}, {-INFINITY, 1}))) == "Inf");
    CHECK(nonfinite(Tensor::from_vector_i64({1}, {7})) == nullptr);
  }

  TEST_CASE("the first op producing Inf is named with its module path") {
    nn::Sequential net({std::make_shared<nn::Linear>(2, 2), std::make_shared<nn::Linear>(2, 1)});
    auto* second = dynamic_cast<nn::Linear*>(net.find_module("1"));
    REQUIRE(second);
    second->weight.copy_(Tensor::full({1, 2}, 3e38));  // finite, but the sum overflows
    Tensor x = Tensor::from_vector({1, 2}, {1, 1});
    // Without anomaly mode nothing is checked: the overflow passes silently.
    CHECK(error_of([&] { (void)net.forward(x); }).empty());
    nn::Linear* first = dynamic_cast<nn::Linear*>(net.find_module("0"));
    first->weight.copy_(Tensor::full({2, 2}, 1.0));
    first->bias.copy_(Tensor::zeros({2}));
    std::string msg;
    {
      nn::DetectAnomaly detect(net);
      msg = error_of([&] { (void)net.forward(x); });
    }
    CHECK(msg.find("op linear in module 1 produced Inf from finite inputs") != std::string::npos);
    // A poisoned input is not blamed on the op that first sees it.
    Tensor bad = Tensor::from_vector({1, 2}, {NAN, 1});
    {
      nn::DetectAnomaly detect(net);
      msg = error_of([&] { (void)net.forward(bad); });
    }
    CHECK(msg.find("input 0 of op linear in module 0 is already NaN") != std::string::npos);
    // The mode ends with its scope.
    CHECK(!anomaly_mode());
    CHECK(error_of([&] { (void)net.forward(bad); }).empty());
  }

  TEST_CASE("a backward closure producing NaN is named") {
    Tensor x = Tensor::from_vector({2}, {0, 1});
    x.set_requires_grad(true);
    // d sqrt(x)/dx = 1/(2 sqrt(x)) is Inf at 0 while the forward value 0 is finite.
    Tensor y = ops::sum(ops::sqrt(x));
    std::string msg;
    {
      AnomalyMode mode;
      msg = error_of([&] { y.backward(); });
    }
    CHECK(msg.find("backward of op sqrt") != std::string::npos);
    CHECK(msg.find("produced Inf in the gradient of input 0") != std::string::npos);
  }
}
