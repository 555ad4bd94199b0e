// The comparison table of unlearning runs (AMUN's table): forget, retain and test accuracy, the
// membership column of the gap, time, and the average gap to a reference (retrained) run, as
// Markdown and CSV.
//   gap "amun" (the default): AMUN's "Avg. Gap" — mean |run − reference| over unlearn (forget)
//     accuracy, retain accuracy, test accuracy and FT AUC, the RMIA forget-vs-test AUC in % (the
//     online attack `rmia-online` when evaluated, else `rmia-offline`; AMUN's table uses online
//     RMIA with 128 reference models).
//   gap "svc": the same with SVC-MIA efficacy in % (the SalUn/ℓ1-sparse papers' MIA) in place of
//     FT AUC.
// A row (or reference) lacking any of the four columns gets no gap, and the table says which
// command produces the missing value; the gap is never averaged over fewer columns.
// Runs whose directories record forget sets (forget.txt) must all record the same one.
// A seeds group — a directory without metrics.json whose subdirectories seed-*/ hold runs (lethe
// unlearn --seeds N, or their evaluations) — is one row: the mean of every column over its runs,
// their sample standard deviation beside it, and the gap averaged over the runs' own gaps. In the
// Markdown, a gap within the spread of the best row's is marked "≈" (not distinguishable).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lethe::eval {

struct CompareRow {
  std::string dir, method;
  double forget = -1, retain = -1, test = -1, mia = -1, seconds = -1;
  double ft_auc = -1;               // RMIA forget-vs-test AUC, in %
  std::string ft_auc_attack;        // "rmia-online" or "rmia-offline"
  double avg_gap = -1;              // mean |run − reference| over the gap's four columns, or -1
  std::string gap_missing;          // why there is no gap: the missing columns and their command
  std::vector<int64_t> forget_set;  // the run's forget.txt (sorted), empty when it has none
  // Details evaluation adds, by column name in first-seen order: "<attack> AUC" (forget vs test,
  // every MIA attack but svc), "<attack> acc" (robust accuracy on test), "fairness gap" (mean
  // over normalization layers), "test DP diff", "test EOpp diff", "test EOdds diff" (group
  // fairness, eval/group_fairness.h) and, with a reference, "param dist" (||θ − θ_ref||₂).
  std::vector<std::pair<std::string, double>> details;
  std::string model;  // the run's model.safetensors ("" when absent), for "param dist"
  // Primary fairness gap per normalization layer, in forward order (from bn_stats).
  std::vector<std::pair<std::string, double>> layer_gaps;
  // A seeds group: its runs (seed-* in name order) and the sample standard deviation of each
  // column over them (-1 with fewer than two values); the columns above are their means.
  std::vector<CompareRow> members;
  double forget_sd = -1, retain_sd = -1, test_sd = -1, mia_sd = -1, ft_auc_sd = -1, seconds_sd = -1,
         avg_gap_sd = -1;
  bool within_spread = false;  // its gap is within the spread of the best row's (to_markdown)
};

// The seed-*/ subdirectories holding metrics.json of a seeds group, sorted by seed; empty when
// `dir` is not a group (it has a metrics.json itself, or no such subdirectory).
std::vector<std::string> seed_group_members(const std::string& dir);

struct CompareOptions {
  std::string gap = "amun";             // amun | svc
  bool allow_different_forget = false;  // else runs with different forget sets are refused
};

// Reads DIR/metrics.json (and config.json for the method, forget.txt for the forget set) of each
// run; `reference` may be "".
std::vector<CompareRow> compare_runs(const std::vector<std::string>& dirs,
                                     const std::string& reference, const CompareOptions& opt = {});
std::string to_markdown(const std::vector<CompareRow>& rows, const std::string& reference,
                        const CompareOptions& opt = {});
std::string to_csv(const std::vector<CompareRow>& rows);
// The details table (empty when no row has details), Markdown; and SVG bars of the fairness gap
// per layer, one group per run ("" when no row has bn_stats).
std::string details_markdown(const std::vector<CompareRow>& rows);
std::string fairness_svg(const std::vector<CompareRow>& rows);

// The `lethe compare` job: the table of `dirs` and the details table, as Markdown (returned); with
// a non-empty `out`, also written there as compare.md and compare.csv, with fairness_gap.svg when
// a run has bn_stats.
std::string run_compare(const std::vector<std::string>& dirs, const std::string& reference,
                        const std::string& out, const CompareOptions& opt = {});

}  // namespace lethe::eval
