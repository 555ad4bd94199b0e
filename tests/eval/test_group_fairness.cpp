// Group-fairness metrics against confusion matrices computed by hand, including a group with no
// row, a group with no positive, a single-group split and multi-class labels; compare's columns.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "engine/io/run_dir.h"
#include "engine/io/safetensors.h"
#include "eval/compare.h"
#include "eval/group_fairness.h"

using namespace lethe;
using namespace lethe::eval;

namespace {

// Rows as (group, label, prediction).
struct Rows {
  std::vector<int64_t> g, y, p;
  void add(int64_t gi, int64_t yi, int64_t pi, int times = 1) {
    for (int t = 0; t < times; ++t) g.push_back(gi), y.push_back(yi), p.push_back(pi);
  }
};

}  // namespace

TEST_SUITE("eval") {
  TEST_CASE("group fairness: hand-computed confusion matrices, an empty group") {
    Rows r;
    // A: tp 2, fn 1, tn 1, fp 1.  B: tp 1, fn 0, tn 2, fp 1.  C: no row.
    r.add(0, 1, 1, 2), r.add(0, 1, 0), r.add(0, 0, 0), r.add(0, 0, 1);
    r.add(1, 1, 1), r.add(1, 0, 0, 2), r.add(1, 0, 1);
    GroupFairness f = group_fairness(r.y, r.p, r.g, {"A", "B", "C"}, 2);
    REQUIRE(f.binary);
    const GroupRates &a = f.groups[0], &b = f.groups[1], &c = f.groups[2];
    CHECK(a.n == 5);
    CHECK((a.tp == 2 && a.fn == 1 && a.tn == 1 && a.fp == 1));
    CHECK((b.tp == 1 && b.fn == 0 && b.tn == 2 && b.fp == 1));
    CHECK(a.accuracy == doctest::Approx(0.6));
    CHECK(a.selection_rate == doctest::Approx(0.6));
    CHECK(a.tpr == doctest::Approx(2.0 / 3));
    CHECK(a.fpr == doctest::Approx(0.5));
    CHECK(b.accuracy == doctest::Approx(0.75));
    CHECK(b.selection_rate == doctest::Approx(0.5));
    CHECK(b.tpr == doctest::Approx(1.0));
    CHECK(b.fpr == doctest::Approx(1.0 / 3));
    // The empty group: counted, every rate undefined, left out of the differences.
    CHECK(c.n == 0);
    CHECK(std::isnan(c.accuracy));
    CHECK(std::isnan(c.selection_rate));
    CHECK(std::isnan(c.tpr));
    CHECK(std::isnan(c.fpr));
    CHECK(f.demographic_parity_difference == doctest::Approx(0.1));
    CHECK(f.equal_opportunity_difference == doctest::Approx(1.0 / 3));
    CHECK(f.fpr_difference == doctest::Approx(1.0 / 6));
    CHECK(f.equalized_odds_difference == doctest::Approx(1.0 / 3));
    CHECK(f.accuracy_difference == doctest::Approx(0.15));
    // JSON: NaN becomes null, the numbers are there.
    nlohmann::json j = nlohmann::json::parse(to_json(f).dump());
    CHECK(j["per_group"][2]["tpr"].is_null());
    CHECK(j["per_group"][2]["n"] == 0);
    CHECK(j["per_group"][0]["confusion"]["fp"] == 1);
    CHECK(j["equalized_odds_difference"].get<double>() == doctest::Approx(1.0 / 3));
  }

  TEST_CASE("group fairness: undefined rates, one group, multi-class, bad input") {
    Rows r;
    // B has no positive row: its TPR is undefined, so EOpp is over A and C only.
    r.add(0, 1, 1, 3), r.add(0, 1, 0), r.add(0, 0, 0, 2);  // A: tpr 3/4, fpr 0, sel 3/6
    r.add(1, 0, 0, 3), r.add(1, 0, 1);                     // B: tpr NaN, fpr 1/4, sel 1/4
    r.add(2, 1, 1), r.add(2, 1, 0), r.add(2, 0, 1);        // C: tpr 1/2, fpr 1, sel 2/3
    GroupFairness f = group_fairness(r.y, r.p, r.g, {"A", "B", "C"}, 2);
    CHECK(std::isnan(f.groups[1].tpr));
    CHECK(f.equal_opportunity_difference == doctest::Approx(0.25));
    CHECK(f.fpr_difference == doctest::Approx(1.0));
    CHECK(f.equalized_odds_difference == doctest::Approx(1.0));
    CHECK(f.demographic_parity_difference == doctest::Approx(2.0 / 3 - 0.25));

    // One group present (a forget set drawn from one group): no difference is defined.
    Rows one;
    one.add(1, 1, 1), one.add(1, 0, 1);
    GroupFairness o = group_fairness(one.y, one.p, one.g, {"A", "B"}, 2);
    CHECK(o.groups[0].n == 0);
    CHECK(std::isnan(o.demographic_parity_difference));
    CHECK(std::isnan(o.equalized_odds_difference));
    // An empty split: nothing defined, no crash.
    GroupFairness e = group_fairness({}, {}, {}, {"A", "B"}, 2);
    CHECK(std::isnan(e.accuracy_difference));
    CHECK(nlohmann::json::parse(to_json(e).dump())["demographic_parity_difference"].is_null());

    // Three classes: per-group accuracy only.
    GroupFairness m = group_fairness({0, 1, 2, 2}, {0, 2, 2, 2}, {0, 0, 1, 1}, {"A", "B"}, 3);
    CHECK_FALSE(m.binary);
    CHECK(m.groups[0].accuracy == doctest::Approx(0.5));
    CHECK(m.accuracy_difference == doctest::Approx(0.5));
    CHECK_FALSE(to_json(m).contains("demographic_parity_difference"));

    CHECK_THROWS_WITH(group_fairness({1}, {1}, {2}, {"A", "B"}, 2),
                      doctest::Contains("group code 2"));
    CHECK_THROWS_WITH(group_fairness({1, 0}, {1}, {0, 0}, {"A", "B"}, 2),
                      doctest::Contains("must be equal"));
    CHECK_THROWS_WITH(group_fairness({3}, {1}, {0}, {"A", "B"}, 2), doctest::Contains("label 3"));
  }

  TEST_CASE("compare: group-fairness columns and parameter distance to the reference") {
    namespace fs = std::filesystem;
    fs::path root = fs::temp_directory_path() / ("lethe_fcompare_" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "a");
    fs::create_directories(root / "ref");
    auto fair = [](double dp, nlohmann::json eodds) {
      return nlohmann::json{{"splits",
                             {{"test",
                               {{"demographic_parity_difference", dp},
                                {"equal_opportunity_difference", 0.05},
                                {"equalized_odds_difference", eodds}}}}}};
    };
    io::write_json_atomic(
        (root / "a/metrics.json").string(),
        {{"method", "fair-newton"}, {"test_acc", 70}, {"fairness", fair(0.1, nullptr)}});
    io::write_json_atomic((root / "ref/metrics.json").string(),
                          {{"method", "retrain"}, {"test_acc", 71}, {"fairness", fair(0.2, 0.3)}});
    auto save = [&](const char* d, std::vector<float> w) {
      io::SafetensorsFile f;
      f.tensors["head.weight"] = io::from_f32({2, 2}, w.data());
      io::write_safetensors((root / d / "model.safetensors").string(), f);
    };
    save("a", {1, 2, 3, 4});
    save("ref", {1, 2, 3, 6});
    std::vector<CompareRow> rows =
        compare_runs({(root / "a").string(), (root / "ref").string()}, (root / "ref").string());
    auto detail = [](const CompareRow& r, const std::string& k) {
      for (const auto& [n, v] : r.details)
        if (n == k) return v;
      return -1.0;
    };
    CHECK(detail(rows[0], "test DP diff") == doctest::Approx(0.1));
    CHECK(detail(rows[0], "test EOdds diff") == -1.0);  // null: left out, shown as "–"
    CHECK(detail(rows[1], "test EOdds diff") == doctest::Approx(0.3));
    CHECK(detail(rows[0], "param dist") == doctest::Approx(2.0));
    CHECK(detail(rows[1], "param dist") == doctest::Approx(0.0));
    CHECK(details_markdown(rows).find("test EOpp diff") != std::string::npos);
    fs::remove_all(root);
  }
}
