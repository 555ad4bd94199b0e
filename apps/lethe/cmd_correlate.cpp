// `lethe correlate DIR... --y "pgd-linf acc" [--x "fairness gap"] [--per-layer] [--out DIR]`:
// Spearman's ρ (bootstrap interval over runs) and Pearson's r of two measurements across evaluated
// runs, per normalization layer with --per-layer, and a scatter plot: eval/correlation.h.
#include <cstdio>

#include "apps/lethe/commands.h"
#include "eval/correlation.h"

namespace lethe::app {

Command add_correlate(CLI::App& app) {
  auto* sub = app.add_subcommand("correlate", "rank correlation of two measurements across runs");
  auto r = std::make_shared<eval::CorrelateRequest>();
  sub->add_option("dirs", r->dirs, "evaluated run directories (lethe eval output)")->required();
  sub->add_option("--x", r->x,
                  "x column: forget|retain|test|mia|seconds|ft auc or a details column of lethe "
                  "compare (\"fairness gap\", \"<attack> acc\", \"<attack> AUC\")")
      ->capture_default_str();
  sub->add_option("--y", r->y, "y column, as --x (e.g. \"pgd-linf acc\")")->required();
  sub->add_flag("--per-layer", r->per_layer,
                "also each normalization layer's fairness gap against --y");
  sub->add_option("--resamples", r->resamples, "bootstrap resamples")->capture_default_str();
  sub->add_option("--seed", r->seed, "bootstrap seed")->capture_default_str();
  sub->add_option("--out", r->out,
                  "directory for correlate.md, correlate.csv, correlate.json, correlate.svg");
  return {sub, [r] {
            std::printf("%s", eval::run_correlate(*r).c_str());
            return 0;
          }};
}

}  // namespace lethe::app
