// The `lethe eval` job: a run directory's model measured on test, and on forget/retain when a
// forget set is known (`forget` SPEC, `forget_file`, or the run's own forget.txt), else on train:
// accuracy overall and per class, confidence histograms (confidence.svg); membership inference
// (`mia`, eval/mia; LiRA/RMIA with `references`), ROC curves (roc.svg); robust accuracy under
// `attack` (eval/robust, min_eps.csv/svg); per-class BN/LN statistics and fairness gaps
// (`norm_stats`, --bn-stats or --norm-stats: bn_stats_*.csv, fairness_gap.svg); with `against`
// (the original run) the per-layer effect of the run beside the `reference` run's
// (eval/layer_effect.h: layer_effect.csv). Writes metrics.json (and forget.txt) to `out`.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace lethe::eval {

struct EvalRequest {
  std::string from;  // the run directory holding model.safetensors
  std::string forget, forget_file, out;
  std::string data;        // "" = the run's
  std::string mia;         // attack list (eval/mia/mia.h), may name reference attacks
  std::string references;  // reference-model directory (LiRA/RMIA)
  std::string attack;      // robustness attack specs (eval/robust/attack_spec.h)
  int64_t attack_samples = 1000;
  bool norm_stats = false;
  std::string norm_stats_split = "test";  // test | train | forget | retain
  std::string against;    // the original run: per-layer parameter and fairness-gap change
  std::string reference;  // with `against`: the retrained run, its changes beside
  int threads = 0;
  bool overwrite = false;
};

// Returns metrics.json's content.
nlohmann::json run_eval(const EvalRequest& req);

}  // namespace lethe::eval
