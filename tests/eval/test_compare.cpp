// lethe compare's table: accuracies, SVC efficacy in percent, the average gap to the reference,
// the details columns (MIA AUCs, robust accuracy, fairness gap), evaluation directories taking
// method and time from the run they evaluated, and the fairness plot across runs.
#include <doctest/doctest.h>

#include <filesystem>

#include "engine/io/run_dir.h"
#include "eval/compare.h"

using namespace lethe;

TEST_SUITE("eval") {
  TEST_CASE("compare: gap with MIA in percent, details, eval dirs and fairness plot") {
    namespace fs = std::filesystem;
    fs::path root = fs::temp_directory_path() / ("lethe_compare_" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "ft");
    fs::create_directories(root / "ft-eval");
    fs::create_directories(root / "retrain-eval");
    auto bn = [](double a, double b) {
      return nlohmann::json{
          {"order", {"bn1", "layer1.0.bn1"}},
          {"layers", {{"bn1", {{"fairness_gap", a}}}, {"layer1.0.bn1", {{"fairness_gap", b}}}}},
          {"mean_fairness_gap", (a + b) / 2}};
    };
    io::write_json_atomic((root / "ft/metrics.json").string(),
                          {{"method", "ft"}, {"unlearn_s", 12.5}, {"test_acc", 80}});
    io::write_json_atomic(
        (root / "ft-eval/metrics.json").string(),
        {{"from", (root / "ft").string()},
         {"forget_acc", 90},
         {"retain_acc", 99},
         {"test_acc", 85},
         {"wall_s", 3},
         {"mia", {{"svc", {{"efficacy", 0.2}}}, {"rmia-offline", {{"auc", 0.61}}}}},
         {"robust", {{"pgd-linf", {{"acc", 40}, {"spec", "pgd-linf:eps=2/255"}}}}},
         {"bn_stats", bn(0.5, 0.25)}});
    io::write_json_atomic((root / "retrain-eval/metrics.json").string(),
                          {{"method", "retrain"},
                           {"forget_acc", 86},
                           {"retain_acc", 99},
                           {"test_acc", 85},
                           {"mia", {{"svc", {{"efficacy", 0.3}}}}},
                           {"bn_stats", bn(0.4, 0.2)}});
    std::string ref = (root / "retrain-eval").string();
    auto rows = eval::compare_runs({(root / "ft-eval").string(), ref}, ref);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].method == "ft");              // from the evaluated run
    CHECK(rows[0].seconds == 12.5);             // its unlearning time, not the evaluation's
    CHECK(rows[0].mia == doctest::Approx(20));  // efficacy as a percentage
    // mean of |90−86|, |99−99|, |85−85|, |20−30|
    CHECK(rows[0].avg_gap == doctest::Approx((4 + 0 + 0 + 10) / 4.0));
    CHECK(rows[1].avg_gap == 0);
    std::string d = eval::details_markdown(rows);
    CHECK(d.find("rmia-offline AUC") != std::string::npos);
    CHECK(d.find("pgd-linf:eps=2/255 acc") != std::string::npos);
    CHECK(d.find("0.61") != std::string::npos);
    CHECK(d.find("0.375") != std::string::npos);  // ft's mean fairness gap
    std::string csv = eval::to_csv(rows);
    CHECK(csv.find("\"rmia-offline AUC\"") != std::string::npos);
    std::string svg = eval::fairness_svg(rows);
    CHECK(svg.find("layer1.0.bn1") != std::string::npos);
    size_t bars = 0;
    for (size_t p = svg.find("<rect x"); p != std::string::npos; p = svg.find("<rect x", p + 1))
      ++bars;
    CHECK(bars == 1 + 4 + 2);  // frame, 2 layers × 2 runs, 2 legend swatches
    fs::remove_all(root);
  }
}
