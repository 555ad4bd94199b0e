// Membership inference (eval/mia): ROC AUC / TPR at FPR and SVC-MIA against scikit-learn on the
// golden cases (../shared/golden/metrics.safetensors), ROC properties, signals against hand
// computation, threshold attacks on synthetic member/non-member scores, run_mia's JSON.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"
#include "eval/mia/mia.h"
#include "eval/mia/roc.h"
#include "eval/mia/signals.h"
#include "eval/mia/svc.h"
#include "eval/mia/threshold.h"
#include "tests/support/learning.h"

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

TEST_SUITE("eval") {
  TEST_CASE("mia svc: libsvm predictions and efficacy match sklearn's SVC on the golden case") {
    std::vector<double> x = f32_as_f64("svc.train_x");
    std::vector<int> y = ints("svc.train_y");
    std::vector<double> tx = f32_as_f64("svc.target_x");
    std::vector<int> want = ints("svc.target_pred");
    REQUIRE(x.size() == 3000);
    REQUIRE(tx.size() == 800);
    std::vector<double> dec;
    std::vector<int> pred = svc_fit_predict(x, y, 1, tx, {}, &dec);
    REQUIRE(pred.size() == want.size());
    int64_t mismatches = 0, member = 0;
    for (size_t i = 0; i < pred.size(); ++i) {
      mismatches += pred[i] != want[i];
      member += pred[i];
      CHECK((dec[i] > 0) == (pred[i] == 1));
    }
    CHECK(mismatches == 0);
    CHECK(1.0 - static_cast<double>(member) / pred.size() == f64_scalar("svc.efficacy"));
    // Both classes are predicted (the case is not degenerate).
    CHECK(member > 0);
    CHECK(member < static_cast<int64_t>(pred.size()));
  }
}

namespace {

// n scores ~ N(mean + offset[label], sd) with labels cycling over the classes.
void draw(std::mt19937_64& rng, int64_t n, double mean, double sd,
          const std::vector<double>& offset, std::vector<double>& score,
          std::vector<int64_t>& label) {
  std::normal_distribution<double> nd(0, sd);
  for (int64_t i = 0; i < n; ++i) {
    int64_t y = i % static_cast<int64_t>(offset.size());
    score.push_back(mean + offset[y] + nd(rng));
    label.push_back(y);
  }
}

}  // namespace

TEST_SUITE("eval") {
  TEST_CASE("mia signals: loss, confidence, entropy and modified entropy by hand") {
    const double l2 = std::log(2.0);
    // Rows: [0, 0, 0] y=0 → p = 1/3 each; [ln 2, 0, 0] y=1 → p = (.5, .25, .25);
    // [100, 0, 0] y=0 and y=1: a confident model, right and wrong.
    std::vector<double> z = {0, 0, 0, l2, 0, 0, 100, 0, 0, 100, 0, 0};
    Signals s = compute_signals(z, 4, 3, {0, 1, 0, 1});
    const double l3 = std::log(3.0);
    CHECK(s.loss[0] == doctest::Approx(l3).epsilon(1e-14));
    CHECK(s.confidence[0] == doctest::Approx(1.0 / 3).epsilon(1e-14));
    CHECK(s.entropy[0] == doctest::Approx(l3).epsilon(1e-14));
    // −(2/3)·log(1/3) − 2·(1/3)·log(2/3)
    CHECK(s.m_entropy[0] ==
          doctest::Approx(-(2.0 / 3) * std::log(1.0 / 3) - (2.0 / 3) * std::log(2.0 / 3))
              .epsilon(1e-14));
    CHECK(s.loss[1] == doctest::Approx(2 * l2).epsilon(1e-14));
    CHECK(s.confidence[1] == doctest::Approx(0.25).epsilon(1e-14));
    CHECK(s.entropy[1] == doctest::Approx(1.5 * l2).epsilon(1e-14));
    // −.75·log .25 − .5·log .5 − .25·log .75
    CHECK(s.m_entropy[1] == doctest::Approx(2 * l2 - 0.25 * std::log(0.75)).epsilon(1e-14));
    CHECK(s.pred[1] == 0);
    CHECK(s.prob[3] == doctest::Approx(0.5).epsilon(1e-14));
    // Confident and right: loss = log(1 + 2e−100) ≈ 2e−100, m-entropy ≈ 0 (not NaN).
    CHECK(s.loss[2] == doctest::Approx(2 * std::exp(-100.0)).epsilon(1e-12));
    CHECK(s.m_entropy[2] >= 0);
    CHECK(s.m_entropy[2] < 1e-80);
    // Confident and wrong: log(1 − p_0) = log(2e−100 / (1 + 2e−100)) must not round to log 0;
    // m-entropy = −(1−p_1)·log p_1 − p_0·log(1−p_0) − p_2·log(1−p_2) ≈ 100 + (100 − ln 2).
    CHECK(s.loss[3] == doctest::Approx(100.0).epsilon(1e-12));
    CHECK(std::isfinite(s.m_entropy[3]));
    CHECK(s.m_entropy[3] == doctest::Approx(200.0 - l2).epsilon(1e-12));
    // Membership orientation: higher = more member.
    std::vector<double> ms = membership_score(s, Signal::Loss);
    CHECK(ms[2] > ms[0]);
    CHECK(membership_score(s, Signal::MEntropy)[3] == -s.m_entropy[3]);
    CHECK(membership_score(s, Signal::Confidence)[1] == s.confidence[1]);
    CHECK_THROWS_AS(compute_signals(z, 4, 3, {0, 1, 0, 3}), Error);
    CHECK_THROWS_AS(parse_signal("lira"), Error);
  }

  TEST_CASE("mia threshold: the balanced-accuracy threshold rule") {
    CHECK(best_threshold({1, 2, 3, 4}, {0, 0, 1, 1}) == 3);
    // t = 1: ½(2/2 + 0/1) = .5; t = 2: ½(1/2 + 1/1) = .75.
    CHECK(best_threshold({1, 1, 2}, {1, 0, 1}) == 2);
    // Reversed: no threshold beats predicting everyone member (the smallest candidate).
    CHECK(best_threshold({1, 2, 3, 4}, {1, 1, 0, 0}) == 1);
  }

  TEST_CASE("mia threshold: separated vs identical distributions, class calibration") {
    std::mt19937_64 rng(7);
    const std::vector<double> ten_classes(10, 0.0);
    {
      // Members ~ N(5, 1), non-members ~ N(0, 1): the true AUC is Φ(5/√2) ≈ 0.9998.
      std::vector<double> ms, ns;
      std::vector<int64_t> ml, nl;
      draw(rng, 2000, 5, 1, ten_classes, ms, ml);
      draw(rng, 2000, 0, 1, ten_classes, ns, nl);
      ThresholdResult r = threshold_attack(ms, ml, ns, nl, 10);
      CHECK(r.per_side == 2000);
      CHECK(r.auc.per_seed.size() == 3);
      testing::learning_above("mia: separated AUC", r.auc.mean, 0.85);
      testing::learning_above("mia: separated accuracy (Bayes 0.994)", r.acc.mean, 0.85);
      testing::learning_above("mia: separated TPR at 1% FPR", r.tpr_at_1pct_fpr.mean, 0.8);
      CHECK(r.roc.fpr.front() == 0.0);
      CHECK(r.roc.tpr.back() == 1.0);
    }
    {
      // Identical distributions: on 1000 + 1000 target samples the AUC's null standard deviation
      // is √((m+n+1)/(12mn)) ≈ 0.013, the accuracy's ≈ 0.011; ±0.05 is about 4σ.
      std::vector<double> ms, ns;
      std::vector<int64_t> ml, nl;
      draw(rng, 2000, 0, 1, ten_classes, ms, ml);
      draw(rng, 2000, 0, 1, ten_classes, ns, nl);
      ThresholdResult r = threshold_attack(ms, ml, ns, nl, 10);
      CHECK(std::abs(r.auc.mean - 0.5) < 0.05);
      CHECK(std::abs(r.acc.mean - 0.5) < 0.05);
      CHECK(r.auc.std < 0.05);
    }
    {
      // Two classes offset by 10, members 1 above non-members within each class (σ = 0.3): the
      // per-class AUC is Φ(1/(0.3·√2)) ≈ 0.99, but pooled raw scores put class-1 non-members
      // above class-0 members (pooled AUC ≈ (0.99 + 0.99 + 1 + 0)/4 ≈ 0.75). Class thresholds
      // recover the per-class separation.
      std::vector<double> ms, ns;
      std::vector<int64_t> ml, nl;
      draw(rng, 2000, 1, 0.3, {0.0, 10.0}, ms, ml);
      draw(rng, 2000, 0, 0.3, {0.0, 10.0}, ns, nl);
      ThresholdResult r = threshold_attack(ms, ml, ns, nl, 2);
      testing::learning_below("mia: pooled (uncalibrated) AUC", r.auc_uncalibrated.mean, 0.85);
      testing::learning_above("mia: class-calibrated AUC", r.auc.mean, 0.88);
      testing::learning_above("mia: class-calibrated accuracy", r.acc.mean, 0.8);
    }
    std::vector<double> few = {1, 2, 3};
    std::vector<int64_t> fl = {0, 0, 0};
    CHECK_THROWS_AS(threshold_attack(few, fl, few, fl, 1), Error);
  }

  TEST_CASE("mia run_mia: keys per attack, headline = forget_vs_test, unknown names") {
    // 3 classes; the model is confident on retain and forget, less on test.
    std::mt19937_64 rng(3);
    std::normal_distribution<double> nd(0, 1);
    auto logits = [&](int64_t n, double margin, std::vector<int64_t>& labels, int64_t classes = 3) {
      std::vector<float> v;
      for (int64_t i = 0; i < n; ++i) {
        int64_t y = i % classes;
        labels.push_back(y);
        for (int64_t c = 0; c < 3; ++c)
          v.push_back(static_cast<float>((c == y ? margin : 0) + nd(rng)));
      }
      return Tensor::from_vector({n, 3}, v);
    };
    MiaInputs in;
    in.forget_logits = logits(60, 4, in.forget_labels);
    in.retain_logits = logits(300, 4, in.retain_labels);
    in.test_logits = logits(200, 1, in.test_labels);
    std::map<std::string, MiaCurves> curves;
    nlohmann::json j = run_mia(in, parse_mia_attacks("all"), {}, &curves);
    for (const char* a : {"loss", "confidence", "entropy", "m-entropy"}) {
      CAPTURE(a);
      REQUIRE(j.contains(a));
      for (const char* k : {"auc", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr", "acc"}) {
        CAPTURE(k);
        CHECK(j[a].contains(k));
        CHECK(j[a][k] == j[a]["forget_vs_test"][k]);
        CHECK(j[a]["retain_vs_test"].contains(std::string(k) + "_std"));
      }
      CHECK(j[a]["forget_vs_test"]["per_side"] == 60);
      CHECK(j[a]["retain_vs_test"]["per_side"] == 200);
      // Members are clearly more confident.
      testing::learning_above((std::string("mia: run_mia AUC ") + a).c_str(),
                              j[a]["auc"].get<double>(), 0.8);
      CHECK(curves[a].count("forget_vs_test") == 1);
      CHECK(curves[a].count("retain_vs_test") == 1);
    }
    for (const char* a : {"svc", "svc-correctness", "svc-entropy", "svc-m-entropy", "svc-prob"}) {
      CAPTURE(a);
      REQUIRE(j.contains(a));
      CHECK(j[a].contains("efficacy"));
      CHECK(j[a]["efficacy_per_seed"].size() == 3);
      CHECK(j[a]["per_side"] == 200);
    }
    // Forget samples look like retain (members): the SVM calls most of them members.
    CHECK(j["svc"]["features"] == "confidence");
    testing::learning_below("mia: SVC efficacy on member-like forget rows",
                            j["svc"]["efficacy"].get<double>(), 0.5);

    CHECK(j["loss"]["forget_vs_test"]["test_excluded"] == 0);

    // Class-wise forgetting (all forget samples of class 0): the non-members are the 67 class-0
    // test samples, the other 133 are excluded; retain_vs_test still uses all classes.
    MiaInputs cw = in;
    cw.forget_labels.clear();
    cw.forget_logits = logits(60, 4, cw.forget_labels, 1);
    nlohmann::json c = run_mia(cw, {"loss"}, {});
    CHECK(c["loss"]["forget_vs_test"]["test_excluded"] == 133);
    CHECK(c["loss"]["forget_vs_test"]["per_side"] == 60);
    CHECK(c["loss"]["retain_vs_test"]["test_excluded"] == 0);

    // Without a forget set: train_vs_test, and svc is skipped.
    MiaInputs tr = in;
    tr.has_forget = false;
    nlohmann::json k = run_mia(tr, parse_mia_attacks("loss,svc"), {});
    CHECK(k["loss"].contains("train_vs_test"));
    CHECK(!k["loss"].contains("forget_vs_test"));
    CHECK(k["loss"]["auc"] == k["loss"]["train_vs_test"]["auc"]);
    CHECK(k["svc"].contains("skipped"));

    CHECK(parse_mia_attacks("").empty());
    CHECK_THROWS_WITH_AS(parse_mia_attacks("loss,lira"), doctest::Contains("m-entropy"), Error);
  }
}
