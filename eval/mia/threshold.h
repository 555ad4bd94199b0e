// Threshold membership attacks on one signal (loss, confidence, entropy, modified entropy) with
// class-conditional thresholds, after Song & Mittal ("Systematic Evaluation of Privacy Risks of
// Machine Learning Models", USENIX Security 2021), adapted to unlearning evaluation where there is
// no shadow model: the target model's own samples are split into a shadow half that chooses the
// thresholds and a disjoint target half that is scored.
//
// Protocol, per subsampling seed s (seeds base..base+seeds−1):
//  - n = min(|members|, |non-members|); n members and n non-members are drawn without
//    replacement; the first ⌊n/2⌋ of each are the shadow half, the other n − ⌊n/2⌋ the target
//    half (both halves balanced).
//  - Per class c (true label), on the shadow samples of class c: the threshold t_c maximizing the
//    balanced shadow accuracy ½·(share of members with score ≥ t + share of non-members with
//    score < t) over the candidates t = every shadow score of class c (Song & Mittal's rule);
//    among equally good candidates the smallest. A class lacking shadow members or
//    non-members uses the global threshold, chosen the same way on all shadow samples.
//  - On the target half: the class-calibrated score score − t_y gives AUC and TPR at 1% and 0.1%
//    FPR (sklearn's ROC), the chosen thresholds give the attack accuracy (member iff
//    score ≥ t_y; balanced, since the half is). The AUC of the raw score is kept too, to show what
//    the class calibration adds.
// Means and population standard deviations over the seeds are reported. With fewer than 1000
// target non-members, TPR at 0.1% FPR is the TPR at zero false positives.
#pragma once
#include <cstdint>
#include <vector>

#include "eval/mia/roc.h"

namespace lethe::eval::mia {

struct ThresholdOptions {
  int seeds = 3;
  uint64_t seed = 0;
};

struct MeanStd {
  double mean = 0, std = 0;
  std::vector<double> per_seed;
};

struct ThresholdResult {
  MeanStd auc, tpr_at_1pct_fpr, tpr_at_01pct_fpr, acc, auc_uncalibrated;
  int64_t per_side = 0;  // n: members drawn = non-members drawn, per seed
  RocCurve roc;          // the calibrated score's ROC on the first seed's target half
};

// The threshold maximizing the balanced accuracy of "member iff score ≥ t" (rule above); the
// scores need both members (label 1) and non-members (0). Exposed for tests.
double best_threshold(const std::vector<double>& scores, const std::vector<int>& member);

// Membership scores (higher = member) and true class labels in [0, classes) of the member and
// the non-member samples. Throws lethe::Error when fewer than 4 samples per side are given.
ThresholdResult threshold_attack(const std::vector<double>& member_score,
                                 const std::vector<int64_t>& member_label,
                                 const std::vector<double>& nonmember_score,
                                 const std::vector<int64_t>& nonmember_label, int64_t classes,
                                 const ThresholdOptions& o = {});

}  // namespace lethe::eval::mia
