#include "eval/group_fairness.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/core/error.h"
#include "eval/predict.h"

namespace lethe::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(int64_t a, int64_t b) {
  return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : kNaN;
}

// max − min over the defined (non-NaN) values; NaN with fewer than two.
double spread(const std::vector<GroupRates>& g, double GroupRates::*field) {
  double lo = 0, hi = 0;
  int defined = 0;
  for (const GroupRates& r : g) {
    const double v = r.*field;
    if (std::isnan(v)) continue;
    lo = defined ? std::min(lo, v) : v;
    hi = defined ? std::max(hi, v) : v;
    ++defined;
  }
  return defined >= 2 ? hi - lo : kNaN;
}

}  // namespace

GroupFairness group_fairness(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                             const std::vector<int64_t>& group,
                             const std::vector<std::string>& group_names, int64_t num_classes) {
  LETHE_CHECK(y_true.size() == y_pred.size() && y_true.size() == group.size(),
              "group fairness: ", y_true.size(), " labels, ", y_pred.size(), " predictions and ",
              group.size(), " group codes (must be equal)");
  LETHE_CHECK(num_classes >= 2, "group fairness: needs at least 2 classes, got ", num_classes);
  const auto ng = static_cast<int64_t>(group_names.size());
  LETHE_CHECK(ng >= 1, "group fairness: no protected groups");
  GroupFairness f;
  f.binary = num_classes == 2;
  f.groups.resize(group_names.size());
  for (int64_t k = 0; k < ng; ++k) f.groups[k].name = group_names[k];
  for (size_t i = 0; i < y_true.size(); ++i) {
    const int64_t g = group[i], y = y_true[i], p = y_pred[i];
    LETHE_CHECK(g >= 0 && g < ng, "group fairness: row ", i, " has group code ", g, " (", ng,
                " groups)");
    LETHE_CHECK(y >= 0 && y < num_classes && p >= 0 && p < num_classes, "group fairness: row ", i,
                " has label ", y, " and prediction ", p, " (", num_classes, " classes)");
    GroupRates& r = f.groups[g];
    ++r.n;
    r.correct += y == p;
    if (f.binary) {
      r.tp += y == 1 && p == 1;
      r.fn += y == 1 && p == 0;
      r.fp += y == 0 && p == 1;
      r.tn += y == 0 && p == 0;
    }
  }
  for (GroupRates& r : f.groups) {
    r.accuracy = ratio(r.correct, r.n);
    r.selection_rate = f.binary ? ratio(r.tp + r.fp, r.n) : kNaN;
    r.tpr = f.binary ? ratio(r.tp, r.tp + r.fn) : kNaN;
    r.fpr = f.binary ? ratio(r.fp, r.fp + r.tn) : kNaN;
  }
  f.accuracy_difference = spread(f.groups, &GroupRates::accuracy);
  f.demographic_parity_difference = spread(f.groups, &GroupRates::selection_rate);
  f.equal_opportunity_difference = spread(f.groups, &GroupRates::tpr);
  f.fpr_difference = spread(f.groups, &GroupRates::fpr);
  // Fairlearn: max of the two; undefined when either is.
  f.equalized_odds_difference =
      std::isnan(f.equal_opportunity_difference) || std::isnan(f.fpr_difference)
          ? kNaN
          : std::max(f.equal_opportunity_difference, f.fpr_difference);
  return f;
}

nlohmann::json to_json(const GroupFairness& f) {
  // nlohmann writes NaN as null, which is what a reader should see for "undefined".
  nlohmann::json groups = nlohmann::json::array();
  for (const GroupRates& r : f.groups) {
    nlohmann::json g = {{"group", r.name}, {"n", r.n}, {"accuracy", r.accuracy}};
    if (f.binary) {
      g["selection_rate"] = r.selection_rate;
      g["tpr"] = r.tpr;
      g["fpr"] = r.fpr;
      g["confusion"] = {{"tp", r.tp}, {"fp", r.fp}, {"tn", r.tn}, {"fn", r.fn}};
    }
    groups.push_back(g);
  }
  nlohmann::json j = {{"per_group", groups}, {"accuracy_difference", f.accuracy_difference}};
  if (f.binary) {
    j["demographic_parity_difference"] = f.demographic_parity_difference;
    j["equal_opportunity_difference"] = f.equal_opportunity_difference;
    j["fpr_difference"] = f.fpr_difference;
    j["equalized_odds_difference"] = f.equalized_odds_difference;
  }
  return j;
}

std::vector<int64_t> group_codes(const data::Dataset& d, const std::vector<int64_t>& rows) {
  LETHE_CHECK(d.has_protected(), d.name, ": no protected attribute (csv:FILE:protected=COL)");
  const int64_t* g = d.protected_attr.data<int64_t>();
  std::vector<int64_t> out;
  out.reserve(rows.size());
  for (int64_t i : rows) out.push_back(g[i]);
  return out;
}

nlohmann::json fairness_json(const std::vector<FairnessSplit>& splits) {
  LETHE_CHECK(!splits.empty(), "fairness: no split");
  const data::Dataset& d0 = *splits[0].data;
  nlohmann::json by_split = nlohmann::json::object();
  for (const FairnessSplit& s : splits) {
    const int64_t* lab = s.data->labels.data<int64_t>();
    std::vector<int64_t> y;
    y.reserve(s.rows.size());
    for (int64_t i : s.rows) y.push_back(lab[i]);
    by_split[s.name] = to_json(group_fairness(y, s.pred, group_codes(*s.data, s.rows),
                                              s.data->protected_names, s.data->num_classes));
  }
  nlohmann::json j = {{"groups", d0.protected_names}, {"splits", by_split}};
  if (d0.num_classes == 2 && d0.class_names.size() == 2) j["positive_class"] = d0.class_names[1];
  return j;
}

nlohmann::json model_fairness(
    models::Classifier& model, const data::DataSplit& ds,
    const std::vector<std::pair<std::string, std::vector<int64_t>>>& train_splits,
    const data::Normalization& norm) {
  if (!ds.train.has_protected() || !ds.test.has_protected()) return nullptr;
  std::vector<FairnessSplit> splits;
  std::vector<int64_t> test_rows = data::all_indices(ds.test);
  splits.push_back(
      {"test", &ds.test, test_rows, argmax_rows(predict_logits(model, ds.test, test_rows, norm))});
  for (const auto& [name, rows] : train_splits)
    splits.push_back({name, &ds.train, rows,
                      rows.empty() ? std::vector<int64_t>{}
                                   : argmax_rows(predict_logits(model, ds.train, rows, norm))});
  return fairness_json(splits);
}

}  // namespace lethe::eval
