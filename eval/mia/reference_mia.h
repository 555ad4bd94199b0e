// The reference-model membership-inference attacks of `lethe eval --references DIR`: LiRA
// (eval/mia/lira.h) and RMIA (eval/mia/rmia.h) against a target model, on the cached logits of
// reference models trained on halves of the data pool (eval/mia/reference_set.h).
// Attack names: lira-online, lira-offline, lira-online-fixed, lira-offline-fixed (pooled
// variance), rmia-online, rmia-offline.
// Evaluation protocol:
// - Each split compares members (retain or forget rows of the target's training set; all
//   training rows when no forget set is known) with non-members (test rows). For an unlearned
//   target the reference models' IN/OUT halves are independent of the forget set: a sample's IN
//   models are those whose half contained it, whatever the target did with it.
// - Balanced sets, per subsampling seed: the test rows are shuffled; n = min(|members|,
//   ⌊|test|/2⌋); the first n test rows are the non-members, n members are drawn, and the test
//   rows left over form RMIA's population Z (known non-members never scored). All attacks see the
//   same sets. Metrics are averaged over `seeds` (3) such draws.
// - Metrics: ROC AUC and the TPR at FPR ≤ 1% and ≤ 0.1% (the largest TPR of a ROC point at or
//   below that FPR; with n < 1000 non-members the 0.1% point is the TPR at FPR 0).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/normalization.h"
#include "eval/mia/lira.h"
#include "eval/mia/reference_set.h"
#include "eval/mia/rmia.h"
#include "models/classifier.h"

namespace lethe::eval::mia {

// The names above, in that order.
const std::vector<std::string>& reference_attack_names();
bool is_reference_attack(const std::string& name);

// Splits a --mia list: the reference attacks named in it go to `reference`, the rest is
// returned for eval/mia/mia.h's parse_mia_attacks. "all" stays "all" and adds every reference
// attack when `have_references`. A reference attack without `have_references` is an error naming
// --references; with it and none named, `reference` gets all six.
std::string split_reference_attacks(const std::string& list, bool have_references,
                                    std::vector<std::string>& reference);

struct MiaSplit {
  std::string name;                 // e.g. "forget_vs_test"
  std::vector<int64_t> members;     // pool indices
  std::vector<int64_t> nonmembers;  // pool indices of candidate non-members (test rows)
};

struct ReferenceMiaOptions {
  int64_t seeds = 3;
  uint64_t seed = 0;  // of the subsampling draws
  SoftMarginOptions soft_margin;
  double gamma = 2;
  double offline_a = 0.3;
};

// target_logits: the attacked model's logits on every pool sample, [P, C] row-major.
// Returns {attack: {"auc", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr" (of the first split),
// "split": the first split's name, split name: {the same three, "auc_per_seed", "members",
// "nonmembers", "population"}}}. Unknown attack names, size mismatches and empty splits are
// one-line errors.
nlohmann::json run_reference_mia(const std::vector<float>& target_logits, const ReferenceSet& refs,
                                 const std::vector<MiaSplit>& splits,
                                 const std::vector<std::string>& attacks,
                                 const ReferenceMiaOptions& opt = {});

// What `lethe eval --references DIR` runs: reads DIR, checks that `target_pool` is its pool,
// builds the splits (forget_vs_test and retain_vs_test when `forget` is given — training
// indices, sorted — else train_vs_test) and runs the attacks (all six when `attacks` is empty)
// on the target's pool logits [P·C] (ds.train rows, then ds.test rows).
nlohmann::json run_reference_mia_on_logits(const std::vector<float>& logits,
                                           const data::DataSplit& ds, const PoolInfo& target_pool,
                                           const std::string& dir,
                                           const std::vector<int64_t>* forget,
                                           std::vector<std::string> attacks,
                                           const ReferenceMiaOptions& opt = {});
// The same, computing the model's pool logits first.
nlohmann::json run_reference_mia_on_model(models::Classifier& model, const data::DataSplit& ds,
                                          const data::Normalization& norm,
                                          const PoolInfo& target_pool, const std::string& dir,
                                          const std::vector<int64_t>* forget,
                                          std::vector<std::string> attacks,
                                          const ReferenceMiaOptions& opt = {});

}  // namespace lethe::eval::mia
