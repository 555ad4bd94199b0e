// Group-fairness metrics of predictions against a protected attribute, with Fairlearn's
// definitions (fairlearn.metrics): per group accuracy, selection rate P(ŷ=1), true positive rate
// and false positive rate; demographic_parity_difference = max − min over groups of the selection
// rate; equal opportunity difference = max − min of the TPR; equalized_odds_difference = the
// larger of the TPR and the FPR differences ("between_groups"). The positive class is label 1.
//
// Undefined values are NaN (JSON null), never 0: a group with no row in the split has every rate
// undefined; a group with no positive (negative) row has an undefined TPR (FPR). A difference is
// taken over the groups where its rate is defined and is NaN when fewer than two are (e.g. a forget
// set drawn from one group). Fairlearn 0.15 instead returns 0 for a 0/0 rate (and so a difference
// of 0.93 for a forget split whose young applicants include no positive) and 0 for a single group;
// everywhere a rate is defined the two agree exactly (scripts/check_fairlearn.py: 2535 values of
// the fair-unlearning runs equal, none different). Labels with more than two classes get
// per-group accuracy only.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "data/normalization.h"
#include "models/classifier.h"

namespace lethe::eval {

struct GroupRates {
  std::string name;
  int64_t n = 0, tp = 0, fp = 0, tn = 0, fn = 0;  // confusion counts (binary labels)
  int64_t correct = 0;
  double accuracy = 0, selection_rate = 0, tpr = 0, fpr = 0;  // shares in [0, 1] or NaN
};

struct GroupFairness {
  bool binary = false;  // rates and differences exist only for binary labels
  std::vector<GroupRates> groups;
  double demographic_parity_difference = 0;
  double equal_opportunity_difference = 0;
  double fpr_difference = 0;
  double equalized_odds_difference = 0;
  double accuracy_difference = 0;  // max − min of per-group accuracy
};

// y_true, y_pred and group have one entry per row; group codes in [0, group_names.size()) and
// labels in [0, num_classes) (a lethe::Error names the first value out of range).
GroupFairness group_fairness(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                             const std::vector<int64_t>& group,
                             const std::vector<std::string>& group_names, int64_t num_classes);

nlohmann::json to_json(const GroupFairness& f);

// The rows' group codes in `d` (which must have a protected attribute).
std::vector<int64_t> group_codes(const data::Dataset& d, const std::vector<int64_t>& rows);

// metrics.json's "fairness" for named splits: {"groups": names, "positive_class": name,
// "splits": {split: to_json(...)}}. Each split is (name, dataset, rows, predicted classes).
struct FairnessSplit {
  std::string name;
  const data::Dataset* data;
  std::vector<int64_t> rows;
  std::vector<int64_t> pred;
};
nlohmann::json fairness_json(const std::vector<FairnessSplit>& splits);

// fairness_json of a model's predictions on the test set and on named row sets of the training
// set (e.g. {"train", all} or {"forget", F}, {"retain", R}); null when the data has no protected
// attribute. Training and unlearning runs put it in their metrics.json.
nlohmann::json model_fairness(
    models::Classifier& model, const data::DataSplit& ds,
    const std::vector<std::pair<std::string, std::vector<int64_t>>>& train_splits,
    const data::Normalization& norm);

}  // namespace lethe::eval
