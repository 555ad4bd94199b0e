// Robust accuracy of a model under the attacks of eval/robust/attack_spec.h on named splits
// (test, forget, retain): clean and robust accuracy per split, and for AMUN's minimal-ε search
// the distribution of the smallest flipping ε (a per-sample robustness measure). Splits larger
// than `max_samples` are attacked on a seeded subsample (attacks cost many forward/backward
// passes; the subsample size is recorded).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/normalization.h"
#include "eval/robust/attack_spec.h"
#include "models/classifier.h"

namespace lethe::eval {

struct EvalSplit {
  std::string name;  // "test", "forget", "retain", "train"
  const data::Dataset* data = nullptr;
  std::vector<int64_t> indices;
};

struct RobustOptions {
  int64_t max_samples = 1000;  // per split; 0 = all
  int64_t batch = 128;
  uint64_t seed = 0;
  bool progress = true;
};

// Per-sample minimal ε of one split (for CSV export and plots).
struct MinEpsSamples {
  std::string split;
  std::vector<int64_t> indices;
  std::vector<double> eps, dist;
  std::vector<uint8_t> flipped;
};

// metrics.json's "robust": {attack name: {"acc": robust acc on the first split (test), "eps",
// "clean_acc", "splits": {split: {"n", "clean_acc", "acc"}}, ...}}; for min-eps, per split the
// mean/median/quantiles of ε and the share never flipped. `min_eps_out` (optional) receives the
// per-sample minimal ε.
nlohmann::json run_robustness(models::Classifier& model, const data::Normalization& norm,
                              const std::vector<EvalSplit>& splits,
                              const std::vector<AttackSpec>& attacks, const RobustOptions& opt,
                              std::vector<MinEpsSamples>* min_eps_out = nullptr);

// The seeded subsample of `indices` (sorted) of at most `max` rows; all when max <= 0.
std::vector<int64_t> subsample(const std::vector<int64_t>& indices, int64_t max, uint64_t seed);

}  // namespace lethe::eval
