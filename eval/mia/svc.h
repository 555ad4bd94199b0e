// SVC-MIA, the membership metric of the ℓ1-sparse (Jia et al., "Model Sparsity Can Simplify
// Machine Unlearning", 2023) and SalUn (Fan et al., 2024) papers: an RBF support-vector
// classifier trained on retain (member, 1) vs test (non-member, 0) features of the target model;
// its efficacy is the share of the forget set it predicts non-member. Built on libsvm, the library
// scikit-learn's SVC wraps, with SVC(C=3, gamma='auto', kernel='rbf') and sklearn's other
// defaults, so that the predictions are sklearn's.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "eval/mia/signals.h"

namespace lethe::eval::mia {

struct SvcOptions {
  double C = 3;
  double gamma = 0;  // 0 = 1 / n_features (sklearn's gamma='auto')
  double tol = 1e-3;
  double cache_mb = 200;
  bool shrinking = true;
};

// Fits an RBF C-SVC on row-major features train_x [n, d] with labels 0/1 and returns its 0/1
// predictions for target_x [m, d]. The training rows are handed to libsvm class 0 first, then
// class 1, each in their given order: the order sklearn's libsvm fork (which sorts the labels)
// trains in. (On the golden case libsvm's own first-seen order gives the same predictions too;
// the sorted order removes the dependence on which class comes first.) `decision` (optional)
// receives the decision values, positive = class 1.
std::vector<int> svc_fit_predict(const std::vector<double>& train_x,
                                 const std::vector<int>& train_y, int64_t features,
                                 const std::vector<double>& target_x, const SvcOptions& o = {},
                                 std::vector<double>* decision = nullptr);

// SalUn's feature sets: correctness (1 if argmax = y), confidence p_y, entropy, m-entropy
// (Song & Mittal's, computed correctly; SalUn's code indexes it wrongly) and prob (the softmax).
enum class SvcFeature { Correctness, Confidence, Entropy, MEntropy, Prob };
SvcFeature parse_svc_feature(const std::string& name);  // "correctness", ..., "m-entropy", "prob"
const char* svc_feature_name(SvcFeature f);
// Row-major features of every sample of `s` ([n, 1], or [n, classes] for prob).
std::vector<double> svc_features(const Signals& s, SvcFeature f, int64_t* features);

struct SvcMiaOptions {
  SvcFeature feature = SvcFeature::Confidence;
  int seeds = 3;      // balanced subsamplings averaged over
  uint64_t seed = 0;  // base seed of the subsampling
  SvcOptions svm;
};

struct SvcMiaResult {
  std::vector<double> efficacy;   // per seed: 1 − mean(pred) over the forget set
  std::vector<double> train_acc;  // per seed: accuracy on its own balanced training set
  double efficacy_mean = 0, efficacy_std = 0;
  int64_t per_class_size = 0;  // members = non-members = min(|retain|, |test|)
};

// Per seed: the larger of retain/test is subsampled (without replacement) to the size of the
// smaller, the SVM is fitted on retain (1) vs test (0) and predicts every forget sample.
// std is the population standard deviation over the seeds.
SvcMiaResult svc_mia(const Signals& retain, const Signals& test, const Signals& forget,
                     const SvcMiaOptions& o = {});

}  // namespace lethe::eval::mia
