// Membership inference for `lethe eval`: a table of attacks by name run on the target model's
// logits for the forget, retain and test sets; the result is metrics.json's "mia" object.
//
// Attacks (mia_attack_names()): loss, confidence, entropy, m-entropy (class-conditional threshold
// attacks, eval/mia/threshold.h) and svc (SVC-MIA on confidences, eval/mia/svc.h) with its
// SalUn feature variants svc-correctness, svc-entropy, svc-m-entropy, svc-prob. The attacks
// that need reference models (LiRA, RMIA) run from eval/mia/reference_mia.h instead.
//
// JSON per threshold attack: "auc", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr", "acc" = the
// forget_vs_test numbers when a forget set is known, else train_vs_test; and one object per
// comparison ("forget_vs_test", "retain_vs_test", or "train_vs_test") with each metric, its
// "<metric>_std" over the seeds, "auc_uncalibrated", "per_side", "seeds" and "test_excluded".
// The non-members of a comparison are the test samples of the classes its members have: every
// test sample for a random forget set, those of the forgotten classes for class-wise forgetting
// ("test_excluded" counts the others).
// JSON per svc attack: "efficacy" (mean over seeds of the share of the forget set predicted
// non-member), "efficacy_std", "efficacy_per_seed", "train_acc" (the SVM's accuracy on its own
// balanced retain/test training set), "features", "per_side". SVC-MIA is a classifier, not a
// score, and the test set is its training data: no AUC is reported for it. Without a forget set
// it has nothing to score and reports only {"skipped": reason}.
#pragma once
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "eval/mia/roc.h"
#include "eval/mia/signals.h"

namespace lethe::eval::mia {

// The target model's logits [N, C] (eval mode) and true labels. Without a forget
// set (has_forget false) `retain` holds the whole training set and `forget` is empty.
struct MiaInputs {
  Tensor forget_logits, retain_logits, test_logits;
  std::vector<int64_t> forget_labels, retain_labels, test_labels;
  bool has_forget = true;
};

struct MiaOptions {
  int seeds = 3;      // subsampling seeds averaged over
  uint64_t seed = 0;  // the first seed
};

// What an attack sees: the inputs' signals, computed once.
struct MiaContext {
  Signals forget, retain, test;
  bool has_forget = true;
  int64_t classes = 0;
};

// ROC curves an attack exposes for plotting, by comparison ("forget_vs_test", ...).
using MiaCurves = std::map<std::string, RocCurve>;

using AttackFn =
    std::function<nlohmann::json(const MiaContext&, const MiaOptions&, MiaCurves* curves)>;

// Every attack of the table, in order; names are what --mia accepts.
std::vector<std::string> mia_attack_names();

// "all" → every attack; otherwise the comma-separated names, checked against the table (an
// unknown name: lethe::Error listing the known ones). Empty → none.
std::vector<std::string> parse_mia_attacks(const std::string& list);

// The --mia help text: "comma list of membership attacks, or all (loss, ...)".
std::string mia_option_help();

// Runs `attacks` in order; returns {name: result}. `curves` (optional) receives each attack's
// ROC curves as curves[name][comparison].
nlohmann::json run_mia(const MiaInputs& in, const std::vector<std::string>& attacks,
                       const MiaOptions& opt, std::map<std::string, MiaCurves>* curves = nullptr);

}  // namespace lethe::eval::mia
