// Robustness evaluation: attack specs parse (fractions, lists, errors), robust accuracy is
// bounded by clean accuracy and equals it at ε = 0, the minimal-ε distribution is consistent,
// adversarial training makes a model more robust than standard training, per-class accuracy
// and the SVG writers produce what they claim.
#include <doctest/doctest.h>

#include <filesystem>

#include "data/normalization.h"
#include "data/spec.h"
#include "engine/nn/init.h"
#include "eval/accuracy.h"
#include "eval/report/svg.h"
#include "eval/robust/robustness.h"
#include "models/registry.h"
#include "tests/support/learning.h"
#include "train/adversarial.h"
#include "train/trainer.h"

using namespace lethe;

namespace {

std::vector<int64_t> first_n(int64_t n, int64_t from = 0) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = from + i;
  return v;
}

// An MLP trained on 400 Fashion-MNIST images, optionally adversarially (FGSM, L∞ ε = 0.1).
std::shared_ptr<models::Classifier> train_mlp(const data::DataSplit& ds,
                                              const data::Normalization& norm,
                                              const std::string& adv) {
  nn::manual_seed(3);
  auto model = models::build_model(
      models::config_for("mlp", 1, 28, 10, {{"hidden", nlohmann::json::array({64})}}));
  optim::SgdOptions so;
  so.lr = 0.05;
  so.momentum = 0.9;
  optim::SGD opt(model->parameters(), so);
  train::EpochOptions eo;
  eo.batch = 50;
  if (!adv.empty()) eo.perturb = train::make_adversarial_perturb(*model, norm, adv, true, 0);
  for (int e = 0; e < 10; ++e)
    train::train_epoch(*model, opt, ds.train, first_n(400), norm, eo, e, nullptr);
  return model;
}

}  // namespace

TEST_SUITE("eval") {
  TEST_CASE("attack specs: fractions, defaults, lists and errors") {
    double v = 0;
    CHECK(eval::parse_fraction("8/255", v));
    CHECK(v == doctest::Approx(8.0 / 255));
    CHECK(eval::parse_fraction("0.5", v));
    CHECK(v == 0.5);
    CHECK_FALSE(eval::parse_fraction("1/0", v));
    CHECK_FALSE(eval::parse_fraction("a/2", v));

    eval::AttackSpec p = eval::parse_attack_spec("pgd:eps=8/255,steps=7");
    CHECK(p.name == "pgd-linf");
    CHECK(p.pgd.steps == 7);
    CHECK(p.pgd.eps == doctest::Approx(8.0 / 255));
    CHECK(p.pgd.step == doctest::Approx(2.5 * 8.0 / 255 / 7));  // Madry's 2.5·ε/steps
    eval::AttackSpec l2 = eval::parse_attack_spec("pgd-l2:eps=1,step=0.2,random-start=0");
    CHECK(l2.pgd.norm == eval::Norm::L2);
    CHECK(l2.pgd.step == 0.2);
    CHECK_FALSE(l2.pgd.random_start);

    auto list = eval::parse_attack_specs("fgsm:eps=8/255,pgd-linf:eps=4/255,steps=3,min-eps");
    REQUIRE(list.size() == 3);
    CHECK(list[0].kind == eval::AttackKind::Fgsm);
    CHECK(list[1].pgd.steps == 3);
    CHECK(list[1].pgd.eps == doctest::Approx(4.0 / 255));
    CHECK(list[2].kind == eval::AttackKind::MinEps);

    CHECK_THROWS_WITH_AS(eval::parse_attack_spec("cw:eps=1"), doctest::Contains("unknown attack"),
                         Error);
    CHECK_THROWS_WITH_AS(eval::parse_attack_spec("pgd:steps=0"), doctest::Contains("steps"), Error);
    CHECK_THROWS_WITH_AS(eval::parse_attack_spec("fgsm:eps=x"), doctest::Contains("eps"), Error);
    CHECK_THROWS_WITH_AS(eval::parse_attack_spec("fgsm:steps=3"), doctest::Contains("unknown key"),
                         Error);
    CHECK_THROWS_AS(eval::parse_attack_specs("eps=3"), Error);
  }

  TEST_CASE("subsample is seeded, sorted, and a subset") {
    std::vector<int64_t> idx = first_n(100, 7);
    auto a = eval::subsample(idx, 10, 1), b = eval::subsample(idx, 10, 1);
    CHECK(a == b);
    CHECK(a.size() == 10);
    CHECK(std::is_sorted(a.begin(), a.end()));
    for (int64_t i : a) CHECK((i >= 7 && i < 107));
    CHECK(eval::subsample(idx, 10, 2) != a);
    CHECK(eval::subsample(idx, 0, 1) == idx);
  }

  TEST_CASE("split accuracy: overall, per class and confidence") {
    // Rows: class 0 right, class 1 wrong, class 1 right; class 2 absent.
    Tensor logits = Tensor::from_vector({3, 3}, {2, 0, 0, 1, 0, 0, 0, 3, 0});
    eval::SplitAccuracy a = eval::split_accuracy(logits, {0, 1, 1}, 3);
    CHECK(a.acc == doctest::Approx(200.0 / 3));
    CHECK(a.per_class[0] == 100);
    CHECK(a.per_class[1] == 50);
    CHECK(a.per_class[2] == -1);
    CHECK(a.count == std::vector<int64_t>{1, 2, 0});
    double e2 = std::exp(2.0);
    CHECK(a.confidence[0] == doctest::Approx(e2 / (e2 + 2)));
    CHECK(a.confidence[1] == doctest::Approx(1 / (std::exp(1.0) + 2)));
  }

  TEST_CASE("SVG writers: one outline per set, one polyline per series, bars per value") {
    eval::svg::HistogramOptions ho;
    ho.title = "t <&>";
    std::string h = eval::svg::histogram({{"a", {0.1, 0.2, 0.9}}, {"b", {0.5}}}, ho);
    CHECK(h.rfind("<svg", 0) == 0);
    CHECK(h.find("</svg>") != std::string::npos);
    CHECK(h.find("t &lt;&amp;&gt;") != std::string::npos);  // escaped title
    size_t n = 0;
    for (size_t p = h.find("<polyline"); p != std::string::npos; p = h.find("<polyline", p + 1))
      ++n;
    CHECK(n == 2);
    eval::svg::LineOptions lo;
    lo.log_x = lo.log_y = true;
    lo.x_min = lo.y_min = 1e-3;
    lo.diagonal = true;
    std::string l = eval::svg::line_plot({{"roc", {0, 0.01, 1}, {0, 0.2, 1}}}, lo);
    n = 0;
    for (size_t p = l.find("<polyline"); p != std::string::npos; p = l.find("<polyline", p + 1))
      ++n;
    CHECK(n == 2);  // the chance line and the curve
    std::string b = eval::svg::bar_chart({"x", "y"}, {{"g1", {1, 2}}, {"g2", {3, 4}}}, {});
    n = 0;
    for (size_t p = b.find("<rect x"); p != std::string::npos; p = b.find("<rect x", p + 1)) ++n;
    CHECK(n == 1 + 4 + 2);  // frame, four bars, two legend swatches
  }

  TEST_CASE("robust accuracy: bounded by clean, equal at eps 0; adversarial training helps") {
    REQUIRE_MESSAGE(std::filesystem::exists(data::kFashionMnistDir),
                    "Fashion-MNIST is not installed in " << data::kFashionMnistDir
                                                         << " (make deps installs it)");
    data::DataSplit ds = data::load_dataset("fashion-mnist", 0);
    data::Normalization norm = data::Normalization::from_dataset(ds.train);
    auto standard = train_mlp(ds, norm, "");
    std::vector<eval::EvalSplit> splits{{"test", &ds.test, first_n(300)},
                                        {"train", &ds.train, first_n(200)}};
    auto attacks = eval::parse_attack_specs(
        "fgsm:eps=0,pgd-linf:eps=0.1,steps=5,pgd-l2:eps=1,steps=5,"
        "min-eps:steps=10,doublings=6");
    eval::RobustOptions ro;
    ro.progress = false;
    std::vector<eval::MinEpsSamples> me;
    nlohmann::json r = eval::run_robustness(*standard, norm, splits, attacks, ro, &me);
    double clean = r["fgsm"]["clean_acc"].get<double>();
    testing::learning_above("robustness: MLP clean test accuracy (%)", clean, 60);
    CHECK(r["fgsm"]["acc"].get<double>() == clean);  // ε = 0 changes nothing
    for (const char* k : {"pgd-linf", "pgd-l2"}) {
      CHECK(r[k]["acc"].get<double>() <= clean);
      CHECK(r[k]["splits"]["train"]["acc"].get<double>() <=
            r[k]["splits"]["train"]["clean_acc"].get<double>());
    }
    // ε = 0.1 breaks a standard MLP.
    testing::learning_above("robustness: clean - PGD-linf(0.1) accuracy (points)",
                            clean - r["pgd-linf"]["acc"].get<double>(), 20);
    REQUIRE(me.size() == 2);
    CHECK(me[0].split == "test");
    CHECK(me[0].eps.size() == 300);
    const nlohmann::json& mt = r["min-eps"]["splits"]["test"];
    CHECK(mt["eps_p10"].get<double>() <= mt["eps_median"].get<double>());
    CHECK(mt["eps_median"].get<double>() <= mt["eps_p90"].get<double>());
    // Flipped samples are misclassified at their adversarial point, so robust acc counts only
    // the never-flipped ones.
    CHECK(r["min-eps"]["splits"]["test"]["never_flipped"].get<int64_t>() <= 300);

    auto robust = train_mlp(ds, norm, "pgd:eps=0.1,steps=3");
    nlohmann::json r2 = eval::run_robustness(
        *robust, norm, splits, eval::parse_attack_specs("pgd-linf:eps=0.1,steps=5"), ro);
    INFO("standard ", r["pgd-linf"]["acc"], " adversarially trained ", r2["pgd-linf"]["acc"]);
    testing::learning_above(
        "robustness: PGD accuracy, adversarially trained - standard (points)",
        r2["pgd-linf"]["acc"].get<double>() - r["pgd-linf"]["acc"].get<double>(), 15);
  }
}
