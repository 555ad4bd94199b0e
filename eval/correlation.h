// Relating two measurements across runs (lethe correlate): Spearman's rank correlation with a
// percentile-bootstrap confidence interval over runs, and Pearson's beside it. Used for Tran &
// Woo's conjecture (a larger fairness gap of the normalization layers goes with less robustness):
// x = a run's fairness gap (mean, or one layer's), y = its robust accuracy, one point per run.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lethe::eval {

// Ranks 1..n with ties given their average rank.
std::vector<double> average_ranks(const std::vector<double>& v);
// Pearson's r of paired samples (NaN when either side is constant or n < 2).
double pearson(const std::vector<double>& x, const std::vector<double>& y);
// Spearman's ρ: Pearson's r of the average ranks.
double spearman(const std::vector<double>& x, const std::vector<double>& y);

struct Correlation {
  int64_t n = 0;
  double spearman = 0, pearson = 0;
  double ci_lo = 0, ci_hi = 0;  // bootstrap percentile interval of ρ at `level`
  double level = 0.95;
  int64_t resamples = 0, degenerate = 0;  // resamples with a constant side are skipped
  nlohmann::json to_json() const;
  // "positive" / "negative" when the interval excludes 0, else "no sign (interval contains 0)".
  std::string sign() const;
};
// Resamples runs with replacement (seeded, deterministic).
Correlation correlate(const std::vector<double>& x, const std::vector<double>& y,
                      int64_t resamples = 10000, uint64_t seed = 0, double level = 0.95);

struct CorrelateRequest {
  std::vector<std::string> dirs;      // evaluated runs (lethe eval --norm-stats --attack ...)
  std::string x = "fairness gap", y;  // column names, as lethe compare's details name them
  bool per_layer = false;             // also each normalization layer's gap against y
  bool allow_different_forget = true;
  int64_t resamples = 10000;
  uint64_t seed = 0;
  std::string out;  // correlate.md / .csv / .json / .svg when set
};
// Returns the Markdown report; the JSON goes to out/correlate.json.
std::string run_correlate(const CorrelateRequest& req);

}  // namespace lethe::eval
