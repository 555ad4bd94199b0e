// Membership inference (eval/mia): ROC AUC and TPR at FPR against scikit-learn on the golden case
// (../shared/golden/metrics.safetensors, tied scores), ROC properties on small cases.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"
#include "eval/mia/roc.h"

using namespace lethe;
using namespace lethe::eval::mia;

namespace {

const io::SafetensorsFile& golden() {
  static const io::SafetensorsFile f =
      io::read_safetensors(LETHE_TEST_DATA_DIR "/golden/metrics.safetensors");
  return f;
}

const io::StTensor& tensor(const std::string& name) {
  auto it = golden().tensors.find(name);
  LETHE_CHECK(it != golden().tensors.end(), "golden metrics: missing tensor ", name);
  return it->second;
}

std::vector<double> f32_as_f64(const std::string& name) {
  std::vector<float> v = io::to_f32(tensor(name), name);
  return {v.begin(), v.end()};
}

std::vector<int> ints(const std::string& name) {
  std::vector<int64_t> v = io::to_i64(tensor(name), name);
  return {v.begin(), v.end()};
}

// An F64 scalar read from its raw bytes (to_f32 would round it).
double f64_scalar(const std::string& name) {
  const io::StTensor& t = tensor(name);
  LETHE_CHECK(t.dtype == io::StDType::F64 && t.data.size() == 8, "golden: ", name,
              " is not one F64");
  double d;
  std::memcpy(&d, t.data.data(), 8);
  return d;
}

}  // namespace

TEST_SUITE("eval") {
  TEST_CASE("mia roc: AUC and TPR at 1% FPR match sklearn on the golden tied-score case") {
    std::vector<double> s = f32_as_f64("auc.scores");
    std::vector<int> y = ints("auc.labels");
    REQUIRE(s.size() == 5000);
    // The case has ties (that is its point): fewer distinct scores than samples.
    RocCurve full = roc_curve(s, y);
    CHECK(full.fpr.size() < s.size());
    double auc = roc_auc(s, y);
    CHECK(auc == f64_scalar("auc.value"));
    CHECK(auc_of(full) == doctest::Approx(f64_scalar("auc.value")).epsilon(1e-12));
    CHECK(tpr_at_fpr(full, 0.01) == f64_scalar("auc.tpr_at_1pct_fpr"));
    CHECK(tpr_at_fpr(roc_curve(s, y, true), 0.01) == f64_scalar("auc.tpr_at_1pct_fpr"));
  }

  TEST_CASE("mia roc: perfect, reversed, tied and hand-computed curves") {
    std::vector<int> y = {1, 1, 0, 0};
    CHECK(roc_auc({4, 3, 2, 1}, y) == 1.0);
    CHECK(roc_auc({1, 2, 3, 4}, y) == 0.0);
    CHECK(roc_auc({5, 5, 5, 5}, y) == 0.5);
    RocCurve tied = roc_curve({5, 5, 5, 5}, y);
    CHECK(tied.fpr == std::vector<double>{0, 1});
    CHECK(tied.tpr == std::vector<double>{0, 1});
    CHECK(tpr_at_fpr(tied, 0.01) == 0.0);
    // scores 0.9(1) 0.8(0) 0.8(1) 0.3(0): points (0,0) (0,.5) (.5,1) (1,1); area 0.5·0.75 + 0.5
    // = 0.875 (the tie at 0.8 is a diagonal step, counted as half).
    RocCurve c = roc_curve({0.9, 0.8, 0.8, 0.3}, {1, 0, 1, 0});
    CHECK(c.fpr == std::vector<double>{0, 0, 0.5, 1});
    CHECK(c.tpr == std::vector<double>{0, 0.5, 1, 1});
    CHECK(c.thresholds[1] == 0.9);
    CHECK(c.thresholds[2] == 0.8);
    CHECK(roc_auc({0.9, 0.8, 0.8, 0.3}, {1, 0, 1, 0}) == 0.875);
    CHECK(tpr_at_fpr(c, 0.5) == 1.0);
    CHECK(tpr_at_fpr(c, 0.49) == 0.5);
    CHECK_THROWS_AS(roc_curve({1, 2}, {1, 1}), Error);
    CHECK_THROWS_AS(roc_curve({1, 2}, {1, 2}), Error);
    CHECK_THROWS_AS(roc_curve({1}, {1, 0}), Error);
  }
}
