// Class-conditional threshold attacks: an O(n log n) sweep per class over the sorted shadow
// scores chooses each threshold; the target half is then scored with sklearn-semantics ROC.
#include "eval/mia/threshold.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "data/random.h"
#include "engine/core/error.h"

namespace lethe::eval::mia {
namespace {

void finish(MeanStd& m) {
  m.mean = std::accumulate(m.per_seed.begin(), m.per_seed.end(), 0.0) / m.per_seed.size();
  double ss = 0;
  for (double x : m.per_seed) ss += (x - m.mean) * (x - m.mean);
  m.std = std::sqrt(ss / m.per_seed.size());
}

}  // namespace

double best_threshold(const std::vector<double>& scores, const std::vector<int>& member) {
  LETHE_CHECK(scores.size() == member.size(), "mia threshold: ", scores.size(), " scores but ",
              member.size(), " labels");
  const size_t n = scores.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double pos = 0;
  for (int m : member) pos += m;
  const double neg = static_cast<double>(n) - pos;
  LETHE_CHECK(pos > 0 && neg > 0, "mia threshold: needs members and non-members");
  // Sweep ascending: at candidate t = scores[order[k]] (first of its run of ties), the samples
  // below t are order[0..k).
  double members_below = 0, nonmembers_below = 0;
  double best_acc = -1, best_t = 0;
  for (size_t k = 0; k < n;) {
    const double t = scores[order[k]];
    double acc = 0.5 * ((pos - members_below) / pos + nonmembers_below / neg);
    if (acc > best_acc) {
      best_acc = acc;
      best_t = t;
    }
    for (; k < n && scores[order[k]] == t; ++k)
      (member[order[k]] ? members_below : nonmembers_below) += 1;
  }
  return best_t;
}

ThresholdResult threshold_attack(const std::vector<double>& member_score,
                                 const std::vector<int64_t>& member_label,
                                 const std::vector<double>& nonmember_score,
                                 const std::vector<int64_t>& nonmember_label, int64_t classes,
                                 const ThresholdOptions& o) {
  LETHE_CHECK(member_score.size() == member_label.size() &&
                  nonmember_score.size() == nonmember_label.size(),
              "mia threshold: scores and labels differ in length");
  LETHE_CHECK(o.seeds >= 1, "mia threshold: needs at least one seed");
  const int64_t n = static_cast<int64_t>(std::min(member_score.size(), nonmember_score.size()));
  LETHE_CHECK(n >= 4, "mia threshold: needs at least 4 members and 4 non-members, got ",
              member_score.size(), " and ", nonmember_score.size());
  for (const auto* labels : {&member_label, &nonmember_label})
    for (int64_t y : *labels)
      LETHE_CHECK(y >= 0 && y < classes, "mia threshold: label ", y, " is outside [0, ", classes,
                  ")");
  for (const auto* scores : {&member_score, &nonmember_score})
    for (double v : *scores) LETHE_CHECK(!std::isnan(v), "mia threshold: a score is NaN");

  const int64_t shadow = n / 2;
  ThresholdResult res;
  res.per_side = n;
  for (int s = 0; s < o.seeds; ++s) {
    uint64_t key = data::stream_key(o.seed + static_cast<uint64_t>(s), data::kThresholdMia);
    std::vector<int64_t> mi = data::permutation(static_cast<int64_t>(member_score.size()), key);
    std::vector<int64_t> ni =
        data::permutation(static_cast<int64_t>(nonmember_score.size()), data::mix64(key));

    // Shadow half, grouped by class, and all of it for the global fallback.
    std::vector<std::vector<double>> cls_scores(classes);
    std::vector<std::vector<int>> cls_member(classes);
    std::vector<double> all_scores;
    std::vector<int> all_member;
    auto add_shadow = [&](double v, int64_t y, int m) {
      cls_scores[y].push_back(v);
      cls_member[y].push_back(m);
      all_scores.push_back(v);
      all_member.push_back(m);
    };
    for (int64_t k = 0; k < shadow; ++k) {
      add_shadow(member_score[mi[k]], member_label[mi[k]], 1);
      add_shadow(nonmember_score[ni[k]], nonmember_label[ni[k]], 0);
    }
    const double global_t = best_threshold(all_scores, all_member);
    std::vector<double> thr(classes, global_t);
    for (int64_t c = 0; c < classes; ++c) {
      int64_t m = std::accumulate(cls_member[c].begin(), cls_member[c].end(), int64_t{0});
      if (m > 0 && m < static_cast<int64_t>(cls_member[c].size()))
        thr[c] = best_threshold(cls_scores[c], cls_member[c]);
    }

    // Target half.
    std::vector<double> calibrated, raw;
    std::vector<int> is_member;
    double correct = 0;
    auto add_target = [&](double v, int64_t y, int m) {
      calibrated.push_back(v - thr[y]);
      raw.push_back(v);
      is_member.push_back(m);
      correct += (v >= thr[y]) == (m == 1);
    };
    for (int64_t k = shadow; k < n; ++k) {
      add_target(member_score[mi[k]], member_label[mi[k]], 1);
      add_target(nonmember_score[ni[k]], nonmember_label[ni[k]], 0);
    }
    RocCurve c = roc_curve(calibrated, is_member);
    res.auc.per_seed.push_back(roc_auc(calibrated, is_member));
    res.tpr_at_1pct_fpr.per_seed.push_back(tpr_at_fpr(c, 0.01));
    res.tpr_at_01pct_fpr.per_seed.push_back(tpr_at_fpr(c, 0.001));
    res.acc.per_seed.push_back(correct / static_cast<double>(is_member.size()));
    res.auc_uncalibrated.per_seed.push_back(roc_auc(raw, is_member));
    if (s == 0) res.roc = std::move(c);
  }
  for (MeanStd* m :
       {&res.auc, &res.tpr_at_1pct_fpr, &res.tpr_at_01pct_fpr, &res.acc, &res.auc_uncalibrated})
    finish(*m);
  return res;
}

}  // namespace lethe::eval::mia
