// lethe compare's table: AMUN's average gap (FT AUC = RMIA forget-vs-test AUC) by hand, no gap
// for a row lacking a column (never an average over fewer), forget sets checked across runs;
// with --gap svc: accuracies, SVC efficacy in percent, the average gap to the reference,
// the details columns (MIA AUCs, robust accuracy, fairness gap), evaluation directories taking
// method and time from the run they evaluated, and the fairness plot across runs.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "data/forget.h"
#include "engine/core/error.h"
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
    eval::CompareOptions svc;
    svc.gap = "svc";
    auto rows = eval::compare_runs({(root / "ft-eval").string(), ref}, ref, svc);
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

  TEST_CASE("compare: AMUN's gap by hand, missing columns, and forget sets checked") {
    namespace fs = std::filesystem;
    fs::path root =
        fs::temp_directory_path() / ("lethe_compare_amun_" + std::to_string(::getpid()));
    fs::remove_all(root);
    for (const char* d : {"retrain", "amun", "ft", "orig", "other"})
      fs::create_directories(root / d);
    auto rmia = [](double auc) {
      return nlohmann::json{{"rmia-online", {{"auc", auc}, {"forget_vs_test", {{"auc", auc}}}}},
                            {"svc", {{"efficacy", 0.5}}}};
    };
    auto dir = [&](const char* d) { return (root / d).string(); };
    io::write_json_atomic(dir("retrain") + "/metrics.json", {{"method", "retrain"},
                                                             {"forget_acc", 94.0},
                                                             {"retain_acc", 100.0},
                                                             {"test_acc", 94.5},
                                                             {"mia", rmia(0.50)}});
    io::write_json_atomic(dir("amun") + "/metrics.json", {{"method", "amun"},
                                                          {"forget_acc", 95.0},
                                                          {"retain_acc", 99.0},
                                                          {"test_acc", 93.0},
                                                          {"mia", rmia(0.53)}});
    // ft without RMIA; the original evaluated without a forget set (train accuracy only).
    io::write_json_atomic(dir("ft") + "/metrics.json", {{"method", "ft"},
                                                        {"forget_acc", 99.0},
                                                        {"retain_acc", 99.5},
                                                        {"test_acc", 93.0},
                                                        {"mia", {{"svc", {{"efficacy", 0.4}}}}}});
    io::write_json_atomic(dir("orig") + "/metrics.json",
                          {{"method", "original"}, {"train_acc", 100.0}, {"test_acc", 94.0}});
    for (const char* d : {"retrain", "amun", "ft"})
      data::write_index_file(dir(d) + "/forget.txt", {3, 7, 11});
    auto rows = eval::compare_runs({dir("amun"), dir("ft"), dir("orig")}, dir("retrain"));
    REQUIRE(rows.size() == 3);
    // AMUN's Avg. Gap: (|95−94| + |99−100| + |93−94.5| + |53−50|) / 4 = 6.5 / 4.
    CHECK(rows[0].ft_auc == doctest::Approx(53));
    CHECK(rows[0].avg_gap == doctest::Approx(6.5 / 4));
    CHECK(rows[1].avg_gap == -1);  // no FT AUC: no gap, and the reason names the command
    CHECK(rows[1].gap_missing.find("FT AUC") != std::string::npos);
    CHECK(rows[1].gap_missing.find("--references") != std::string::npos);
    CHECK(rows[2].avg_gap == -1);  // the original has no forget accuracy on this forget set
    CHECK(rows[2].gap_missing.find("forget acc") != std::string::npos);
    CHECK(rows[2].gap_missing.find("retain acc") != std::string::npos);
    std::string md = eval::to_markdown(rows, dir("retrain"));
    CHECK(md.find("FT AUC") != std::string::npos);
    CHECK(md.find("n/a [1]") != std::string::npos);
    CHECK(md.find("n/a [2]") != std::string::npos);
    CHECK(md.find("AMUN's Avg. Gap") != std::string::npos);
    // --gap svc: ft now has all four columns; (|99−94| + |99.5−100| + |93−94.5| + |40−50|) / 4.
    eval::CompareOptions svc;
    svc.gap = "svc";
    auto srows = eval::compare_runs({dir("ft")}, dir("retrain"), svc);
    CHECK(srows[0].avg_gap == doctest::Approx(17.0 / 4));
    CHECK(eval::to_markdown(srows, dir("retrain"), svc).find("SVC MIA") != std::string::npos);
    svc.gap = "auc";
    CHECK_THROWS_AS(eval::compare_runs({dir("ft")}, dir("retrain"), svc), Error);

    // A run measured on another forget set is refused, naming both runs, unless allowed.
    io::write_json_atomic(dir("other") + "/metrics.json",
                          {{"method", "ft"}, {"forget_acc", 90.0}, {"test_acc", 90.0}});
    data::write_index_file(dir("other") + "/forget.txt", {3, 7, 12});
    std::string err;
    try {
      eval::compare_runs({dir("amun"), dir("other")}, dir("retrain"));
    } catch (const Error& e) {
      err = e.what();
    }
    CHECK(err.find(dir("other")) != std::string::npos);
    CHECK(err.find("--allow-different-forget") != std::string::npos);
    eval::CompareOptions allow;
    allow.allow_different_forget = true;
    CHECK_NOTHROW(eval::compare_runs({dir("amun"), dir("other")}, dir("retrain"), allow));
    fs::remove_all(root);
  }
  TEST_CASE("compare: a seeds group is one row, mean ± sd by hand, gaps within the spread") {
    namespace fs = std::filesystem;
    fs::path root =
        fs::temp_directory_path() / ("lethe_compare_seeds_" + std::to_string(::getpid()));
    fs::remove_all(root);
    auto dir = [&](const std::string& d) { return (root / d).string(); };
    auto run = [&](const std::string& d, const char* method, double f, double r, double t,
                   double auc, double secs) {
      fs::create_directories(root / d);
      io::write_json_atomic(dir(d) + "/metrics.json",
                            {{"method", method},
                             {"forget_acc", f},
                             {"retain_acc", r},
                             {"test_acc", t},
                             {"unlearn_s", secs},
                             {"mia", {{"rmia-online", {{"forget_vs_test", {{"auc", auc}}}}}}}});
      data::write_index_file(dir(d) + "/forget.txt", {1, 2, 5});
    };
    run("retrain", "retrain", 90, 100, 90, 0.50, 10);
    // Gaps: seed-0 (|92−90| + 0 + |89−90| + |52−50|)/4 = 1.25; seed-1 (4 + 1 + 0 + 0)/4 = 1.25;
    // seed-2 (0 + 1 + 2 + 3)/4 = 1.5. Mean 4/3, sd sqrt(((−1/12)² · 2 + (1/6)²) / 2) = 0.1443.
    run("ft/seed-0", "ft", 92, 100, 89, 0.52, 1);
    run("ft/seed-1", "ft", 94, 99, 90, 0.50, 2);
    run("ft/seed-2", "ft", 90, 99, 88, 0.53, 6);
    // amun: one seed, gap (1 + 0 + 0 + 4)/4 = 1.25 < ft's mean, by less than ft's sd.
    run("amun", "amun", 91, 100, 90, 0.54, 3);
    // ga: one seed, gap (10 + 1 + 1 + 0)/4 = 3: far beyond the spread.
    run("ga", "ga", 80, 99, 89, 0.50, 1);
    fs::create_directories(root / "ft" / "seed-x");  // not a seed run (no number, no metrics)
    CHECK(eval::seed_group_members(dir("ft")).size() == 3);
    CHECK(eval::seed_group_members(dir("amun")).empty());
    // The reference's own row (gap 0) is listed but is no contender for "best".
    auto rows =
        eval::compare_runs({dir("ft"), dir("amun"), dir("ga"), dir("retrain")}, dir("retrain"));
    REQUIRE(rows.size() == 4);
    CHECK(rows[3].avg_gap == 0);
    CHECK_FALSE(rows[3].within_spread);
    const eval::CompareRow& g = rows[0];
    CHECK(g.members.size() == 3);
    CHECK(g.method == "ft");
    CHECK(g.forget == doctest::Approx(92));
    CHECK(g.forget_sd == doctest::Approx(2));  // 90, 92, 94
    CHECK(g.retain == doctest::Approx(99 + 1.0 / 3));
    CHECK(g.retain_sd == doctest::Approx(std::sqrt(1.0 / 3)));
    CHECK(g.test == doctest::Approx(89));
    CHECK(g.test_sd == doctest::Approx(1));
    CHECK(g.ft_auc == doctest::Approx(51.666666));
    CHECK(g.seconds == doctest::Approx(3));
    CHECK(g.seconds_sd == doctest::Approx(std::sqrt(7.0)));
    CHECK(g.avg_gap == doctest::Approx(4.0 / 3));
    CHECK(g.avg_gap_sd == doctest::Approx(std::sqrt((2.0 / 144 + 1.0 / 36) / 2)));
    CHECK(rows[1].avg_gap == doctest::Approx(1.25));
    CHECK(rows[1].avg_gap_sd == -1);
    // amun is the best; ft is within ft's spread of it; ga is not.
    CHECK_FALSE(rows[1].within_spread);
    CHECK(g.within_spread);
    CHECK_FALSE(rows[2].within_spread);
    std::string md = eval::to_markdown(rows, dir("retrain"));
    CHECK(md.find("ft (3 seeds)") != std::string::npos);
    CHECK(md.find("92.00 ± 2.00") != std::string::npos);
    CHECK(md.find("≈ 1.33 ± 0.14") != std::string::npos);
    CHECK(md.find("not distinguishable") != std::string::npos);
    std::string csv = eval::to_csv(rows);
    CHECK(csv.find("avg_gap_sd") != std::string::npos);
    // A group whose runs removed different forget sets is refused, naming the group.
    data::write_index_file(dir("ft/seed-2") + "/forget.txt", {1, 2, 6});
    CHECK_THROWS_WITH_AS(eval::compare_runs({dir("ft")}, dir("retrain")),
                         doctest::Contains(("seeds group " + dir("ft")).c_str()), Error);
    fs::remove_all(root);
  }
}
