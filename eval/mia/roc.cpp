// ROC curve and AUC mirroring sklearn's _binary_clf_curve / roc_curve / auc step by step (same
// cumulative counts, same divisions, numpy's pairwise summation for the trapezoids), so that the
// results match scikit-learn bit for bit rather than to a tolerance.
#include "eval/mia/roc.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

#include "engine/core/error.h"

namespace lethe::eval::mia {
namespace {

// numpy's pairwise_sum (numpy/core/src/umath/loops_utils.h): 8 accumulators per block of at most
// 128 elements, recursive halving above, a plain loop below 8 elements.
double pairwise_sum(const double* a, size_t n) {
  constexpr size_t kBlock = 128;
  if (n < 8) {
    double res = 0.;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= kBlock) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

}  // namespace

RocCurve roc_curve(const std::vector<double>& scores, const std::vector<int>& labels,
                   bool drop_intermediate) {
  LETHE_CHECK(scores.size() == labels.size(), "roc_curve: ", scores.size(), " scores but ",
              labels.size(), " labels");
  const size_t n = scores.size();
  int64_t pos = 0;
  for (size_t i = 0; i < n; ++i) {
    LETHE_CHECK(labels[i] == 0 || labels[i] == 1, "roc_curve: label ", labels[i], " at ", i,
                " is not 0/1");
    LETHE_CHECK(!std::isnan(scores[i]), "roc_curve: score ", i, " is NaN");
    pos += labels[i];
  }
  LETHE_CHECK(pos > 0 && pos < static_cast<int64_t>(n),
              "roc_curve: needs both members and non-members (", pos, " of ", n, " are members)");

  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });

  // One (fps, tps) point per distinct score, at the last sample of each run of ties.
  std::vector<double> fps, tps, thr;
  int64_t tp = 0;
  for (size_t k = 0; k < n; ++k) {
    tp += labels[order[k]];
    if (k + 1 == n || scores[order[k + 1]] != scores[order[k]]) {
      tps.push_back(static_cast<double>(tp));
      fps.push_back(static_cast<double>(static_cast<int64_t>(k) + 1 - tp));
      thr.push_back(scores[order[k]]);
    }
  }

  if (drop_intermediate && fps.size() > 2) {
    // Keep the ends and every point where either second difference is non-zero.
    std::vector<double> f2, t2, h2;
    for (size_t k = 0; k < fps.size(); ++k) {
      bool keep = k == 0 || k + 1 == fps.size() || (fps[k + 1] - 2 * fps[k] + fps[k - 1]) != 0 ||
                  (tps[k + 1] - 2 * tps[k] + tps[k - 1]) != 0;
      if (keep) {
        f2.push_back(fps[k]);
        t2.push_back(tps[k]);
        h2.push_back(thr[k]);
      }
    }
    fps.swap(f2);
    tps.swap(t2);
    thr.swap(h2);
  }

  RocCurve c;
  const double fn = fps.back(), tn = tps.back();
  c.fpr.reserve(fps.size() + 1);
  c.tpr.reserve(fps.size() + 1);
  c.thresholds.reserve(fps.size() + 1);
  c.fpr.push_back(0.);
  c.tpr.push_back(0.);
  c.thresholds.push_back(std::numeric_limits<double>::infinity());
  for (size_t k = 0; k < fps.size(); ++k) {
    c.fpr.push_back(fps[k] / fn);
    c.tpr.push_back(tps[k] / tn);
    c.thresholds.push_back(thr[k]);
  }
  return c;
}

double auc_of(const RocCurve& c) {
  LETHE_CHECK(c.fpr.size() == c.tpr.size() && c.fpr.size() >= 2,
              "auc: needs at least 2 curve points of equal-length fpr/tpr");
  // np.trapz: (d * (y[1:] + y[:-1]) / 2.0).sum() with d = diff(x).
  std::vector<double> terms(c.fpr.size() - 1);
  for (size_t i = 0; i + 1 < c.fpr.size(); ++i)
    terms[i] = (c.fpr[i + 1] - c.fpr[i]) * (c.tpr[i + 1] + c.tpr[i]) / 2.0;
  return pairwise_sum(terms.data(), terms.size());
}

double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels) {
  return auc_of(roc_curve(scores, labels, /*drop_intermediate=*/true));
}

double tpr_at_fpr(const RocCurve& c, double max_fpr) {
  double best = 0;
  for (size_t i = 0; i < c.fpr.size(); ++i)
    if (c.fpr[i] <= max_fpr) best = std::max(best, c.tpr[i]);
  return best;
}

}  // namespace lethe::eval::mia
