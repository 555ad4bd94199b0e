// ROC curves of membership scores with scikit-learn's semantics (sklearn.metrics.roc_curve and
// roc_auc_score, binary case): one point per distinct score, tied scores moved together, the
// curve starting at (0, 0), the area by trapezoids. Label 1 = member (positive); a higher score
// means "more likely member".
#pragma once
#include <vector>

namespace lethe::eval::mia {

struct RocCurve {
  std::vector<double> fpr, tpr;  // non-decreasing, from (0, 0) to (1, 1)
  // thresholds[k]: the point (fpr[k], tpr[k]) predicts member for score >= thresholds[k];
  // thresholds[0] = +inf (sklearn >= 1.3 convention; the (0, 0) point predicts nothing).
  std::vector<double> thresholds;
};

// sklearn.metrics.roc_curve(labels, scores, drop_intermediate=...). The default keeps every
// distinct threshold (drop_intermediate=False); with drop_intermediate the points in the middle
// of a straight run of equal steps are dropped as sklearn does by default (the area is the same,
// but TPR at a fixed FPR can differ). Throws lethe::Error when the sizes differ, a label is not
// 0/1, a score is NaN, or one class is absent.
RocCurve roc_curve(const std::vector<double>& scores, const std::vector<int>& labels,
                   bool drop_intermediate = false);

// sklearn.metrics.roc_auc_score(labels, scores): the trapezoid area under sklearn's default
// curve, summed in numpy's order (pairwise summation) so that the result is bit-identical.
double roc_auc(const std::vector<double>& scores, const std::vector<int>& labels);

// The area under a curve's points by trapezoids (np.trapz(tpr, fpr) with numpy's summation).
double auc_of(const RocCurve& c);

// The largest TPR over the curve's points with FPR <= max_fpr (0 when none but (0, 0)).
double tpr_at_fpr(const RocCurve& c, double max_fpr);

}  // namespace lethe::eval::mia
