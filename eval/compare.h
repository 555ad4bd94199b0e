// The comparison table of unlearning runs (AMUN's table): forget, retain and test accuracy, MIA
// where evaluated, time, and the average gap to a reference (retrained) run, as Markdown and CSV.
#pragma once
#include <string>
#include <vector>

namespace lethe::eval {

struct CompareRow {
  std::string dir, method;
  double forget = -1, retain = -1, test = -1, mia = -1, seconds = -1;
  double avg_gap = -1;  // mean |run − reference| over the columns both have
};

// Reads DIR/metrics.json (and config.json for the method) of each run; `reference` may be "".
std::vector<CompareRow> compare_runs(const std::vector<std::string>& dirs,
                                     const std::string& reference);
std::string to_markdown(const std::vector<CompareRow>& rows, const std::string& reference);
std::string to_csv(const std::vector<CompareRow>& rows);

}  // namespace lethe::eval
