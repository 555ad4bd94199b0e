// The comparison table of unlearning runs (AMUN's table): forget, retain and test accuracy, MIA
// where evaluated, time, and the average gap to a reference (retrained) run, as Markdown and CSV.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lethe::eval {

struct CompareRow {
  std::string dir, method;
  double forget = -1, retain = -1, test = -1, mia = -1, seconds = -1;
  double avg_gap = -1;  // mean |run − reference| over the columns both have
  // Details evaluation adds, by column name in first-seen order: "<attack> AUC" (forget vs test,
  // every MIA attack but svc), "<attack> acc" (robust accuracy on test), "fairness gap" (mean
  // over normalization layers), "test DP diff", "test EOpp diff", "test EOdds diff" (group
  // fairness, eval/group_fairness.h) and, with a reference, "param dist" (||θ − θ_ref||₂).
  std::vector<std::pair<std::string, double>> details;
  std::string model;  // the run's model.safetensors ("" when absent), for "param dist"
  // Primary fairness gap per normalization layer, in forward order (from bn_stats).
  std::vector<std::pair<std::string, double>> layer_gaps;
};

// Reads DIR/metrics.json (and config.json for the method) of each run; `reference` may be "".
std::vector<CompareRow> compare_runs(const std::vector<std::string>& dirs,
                                     const std::string& reference);
std::string to_markdown(const std::vector<CompareRow>& rows, const std::string& reference);
std::string to_csv(const std::vector<CompareRow>& rows);
// The details table (empty when no row has details), Markdown; and SVG bars of the fairness gap
// per layer, one group per run ("" when no row has bn_stats).
std::string details_markdown(const std::vector<CompareRow>& rows);
std::string fairness_svg(const std::vector<CompareRow>& rows);

// The `lethe compare` job: the table of `dirs` and the details table, as Markdown (returned); with
// a non-empty `out`, also written there as compare.md and compare.csv, with fairness_gap.svg when
// a run has bn_stats.
std::string run_compare(const std::vector<std::string>& dirs, const std::string& reference,
                        const std::string& out);

}  // namespace lethe::eval
