// Per-layer effect of an unlearning run (lethe eval --against ORIGINAL [--reference RETRAIN]):
// for every module that owns parameters, how far the run moved them from the original,
//   rel_change = ‖θ_run − θ_orig‖₂ / ‖θ_orig‖₂      (its own parameters, weight and bias together)
// and, for modules with buffers (BatchNorm running mean and variance; its step counter
// num_batches_tracked is left out), the same over the buffers; for
// every normalization layer, the change of its fairness gap (eval/norm_stats.h: max_c mean_k σ −
// min_c mean_k σ of the layer input) from the original's. With a reference (the retrained model)
// the same numbers for it stand beside, so a reader sees which layers a method moves that the
// retrain also moves, and which it leaves where the retrain does not. Written as metrics.json's
// "layer_effect" and layer_effect.csv. Models must have the same architecture (names and shapes).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/normalization.h"
#include "eval/norm_stats.h"
#include "models/classifier.h"

namespace lethe::eval {

struct LayerEffectInputs {
  models::Classifier* run = nullptr;        // the evaluated model
  models::Classifier* original = nullptr;   // --against
  models::Classifier* reference = nullptr;  // --reference, may be null
  std::string against_dir, reference_dir;
  // The rows the normalization statistics are collected on (and their split's name).
  const data::Dataset* data = nullptr;
  std::vector<int64_t> rows;
  std::string split;
  const data::Normalization* norm = nullptr;
  // The run's statistics on those rows when the caller has them already (lethe eval
  // --norm-stats): not collected again.
  const NormStats* run_stats = nullptr;
};

// Returns {"against", "reference", "split", "layers": [...]} and writes `out_dir`/layer_effect.csv.
nlohmann::json layer_effect(const LayerEffectInputs& in, const std::string& out_dir);

// ‖a − b‖₂ / ‖b‖₂ over tensor lists paired by position (0 when both are zero); in double.
double relative_change(const std::vector<Tensor>& a, const std::vector<Tensor>& b);

}  // namespace lethe::eval
