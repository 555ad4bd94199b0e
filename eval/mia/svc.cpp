// SVC-MIA on libsvm. libsvm's nodes are a sparse format ending in index −1; every feature is
// stored explicitly (zeros included), which gives the same dot products as sklearn's dense fork.
#include "eval/mia/svc.h"

#include <libsvm/svm.h>

#include <cmath>
#include <memory>
#include <numeric>

#include "data/random.h"
#include "engine/core/error.h"

namespace lethe::eval::mia {
namespace {

void silent(const char*) {}

// Rows of features as libsvm nodes: `features` values then the terminator, per row.
struct Nodes {
  std::vector<svm_node> pool;
  int64_t width;
  Nodes(const std::vector<double>& x, int64_t features) : width(features + 1) {
    int64_t rows = static_cast<int64_t>(x.size()) / features;
    pool.resize(static_cast<size_t>(rows * width));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < features; ++j)
        pool[r * width + j] = {static_cast<int>(j + 1), x[r * features + j]};
      pool[r * width + features] = {-1, 0.};
    }
  }
  svm_node* row(int64_t r) { return pool.data() + r * width; }
};

struct ModelDeleter {
  void operator()(svm_model* m) const { svm_free_and_destroy_model(&m); }
};

// `k` indices drawn without replacement from [0, n) (all of them, in order, when k == n).
std::vector<int64_t> subsample(int64_t n, int64_t k, uint64_t key) {
  if (k == n) {
    std::vector<int64_t> all(n);
    std::iota(all.begin(), all.end(), int64_t{0});
    return all;
  }
  std::vector<int64_t> p = data::permutation(n, key);
  p.resize(k);
  return p;
}

void mean_std(const std::vector<double>& v, double& mean, double& std) {
  mean = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  std = std::sqrt(ss / v.size());
}

}  // namespace

std::vector<int> svc_fit_predict(const std::vector<double>& train_x,
                                 const std::vector<int>& train_y, int64_t features,
                                 const std::vector<double>& target_x, const SvcOptions& o,
                                 std::vector<double>* decision) {
  LETHE_CHECK(features >= 1, "svc: needs at least one feature");
  const int64_t n = static_cast<int64_t>(train_y.size());
  LETHE_CHECK(static_cast<int64_t>(train_x.size()) == n * features, "svc: ", train_x.size(),
              " training values for ", n, " labels x ", features, " features");
  LETHE_CHECK(static_cast<int64_t>(target_x.size()) % features == 0, "svc: ", target_x.size(),
              " target values are not rows of ", features, " features");
  int64_t count1 = 0;
  for (int y : train_y) {
    LETHE_CHECK(y == 0 || y == 1, "svc: training label ", y, " is not 0/1");
    count1 += y;
  }
  LETHE_CHECK(count1 > 0 && count1 < n, "svc: the training set needs both classes (", count1,
              " of ", n, " are 1)");
  for (double v : train_x) LETHE_CHECK(std::isfinite(v), "svc: a training feature is not finite");

  // Class 0 first, then class 1 (sklearn's sorted-label order).
  std::vector<double> xs;
  std::vector<double> ys;
  xs.reserve(train_x.size());
  for (int cls = 0; cls <= 1; ++cls)
    for (int64_t i = 0; i < n; ++i)
      if (train_y[i] == cls) {
        xs.insert(xs.end(), train_x.begin() + i * features, train_x.begin() + (i + 1) * features);
        ys.push_back(cls);
      }
  Nodes train(xs, features);
  std::vector<svm_node*> rows(n);
  for (int64_t i = 0; i < n; ++i) rows[i] = train.row(i);
  svm_problem prob{};
  prob.l = static_cast<int>(n);
  prob.y = ys.data();
  prob.x = rows.data();

  svm_parameter p{};
  p.svm_type = C_SVC;
  p.kernel_type = RBF;
  p.degree = 3;
  p.gamma = o.gamma > 0 ? o.gamma : 1.0 / static_cast<double>(features);
  p.coef0 = 0;
  p.cache_size = o.cache_mb;
  p.eps = o.tol;
  p.C = o.C;
  p.nr_weight = 0;
  p.nu = 0.5;
  p.p = 0.1;
  p.shrinking = o.shrinking ? 1 : 0;
  p.probability = 0;
  if (const char* err = svm_check_parameter(&prob, &p)) LETHE_FAIL("svc: libsvm: ", err);

  svm_set_print_string_function(&silent);
  std::unique_ptr<svm_model, ModelDeleter> model(svm_train(&prob, &p));
  LETHE_CHECK(model != nullptr, "svc: libsvm training failed");
  int labels[2];
  svm_get_labels(model.get(), labels);

  const int64_t m = static_cast<int64_t>(target_x.size()) / features;
  Nodes target(target_x, features);
  std::vector<int> pred(m);
  if (decision) decision->resize(m);
  for (int64_t i = 0; i < m; ++i) {
    double dec = 0;
    pred[i] = static_cast<int>(svm_predict_values(model.get(), target.row(i), &dec));
    // libsvm's decision value is positive for labels[0].
    if (decision) (*decision)[i] = labels[0] == 1 ? dec : -dec;
  }
  return pred;
}

SvcFeature parse_svc_feature(const std::string& name) {
  if (name == "correctness") return SvcFeature::Correctness;
  if (name == "confidence") return SvcFeature::Confidence;
  if (name == "entropy") return SvcFeature::Entropy;
  if (name == "m-entropy") return SvcFeature::MEntropy;
  if (name == "prob") return SvcFeature::Prob;
  LETHE_FAIL("svc: unknown feature set '", name,
             "' (known: correctness, confidence, entropy, m-entropy, prob)");
}

const char* svc_feature_name(SvcFeature f) {
  switch (f) {
    case SvcFeature::Correctness:
      return "correctness";
    case SvcFeature::Confidence:
      return "confidence";
    case SvcFeature::Entropy:
      return "entropy";
    case SvcFeature::MEntropy:
      return "m-entropy";
    case SvcFeature::Prob:
      return "prob";
  }
  return "?";
}

std::vector<double> svc_features(const Signals& s, SvcFeature f, int64_t* features) {
  *features = f == SvcFeature::Prob ? s.classes : 1;
  switch (f) {
    case SvcFeature::Correctness: {
      std::vector<double> v(s.n);
      for (int64_t i = 0; i < s.n; ++i) v[i] = s.pred[i] == s.label[i] ? 1.0 : 0.0;
      return v;
    }
    case SvcFeature::Confidence:
      return s.confidence;
    case SvcFeature::Entropy:
      return s.entropy;
    case SvcFeature::MEntropy:
      return s.m_entropy;
    case SvcFeature::Prob:
      return s.prob;
  }
  return {};
}

SvcMiaResult svc_mia(const Signals& retain, const Signals& test, const Signals& forget,
                     const SvcMiaOptions& o) {
  LETHE_CHECK(o.seeds >= 1, "svc-mia: needs at least one seed");
  LETHE_CHECK(retain.n > 0 && test.n > 0 && forget.n > 0, "svc-mia: needs non-empty retain (",
              retain.n, "), test (", test.n, ") and forget (", forget.n, ") sets");
  int64_t d = 0;
  std::vector<double> xr = svc_features(retain, o.feature, &d);
  std::vector<double> xt = svc_features(test, o.feature, &d);
  std::vector<double> xf = svc_features(forget, o.feature, &d);
  const int64_t k = std::min(retain.n, test.n);
  SvcMiaResult res;
  res.per_class_size = k;
  for (int s = 0; s < o.seeds; ++s) {
    uint64_t key = data::stream_key(o.seed + static_cast<uint64_t>(s), data::kSvcMia);
    std::vector<int64_t> ri = subsample(retain.n, k, key);
    std::vector<int64_t> ti = subsample(test.n, k, data::mix64(key));
    std::vector<double> x;
    std::vector<int> y;
    x.reserve(static_cast<size_t>(2 * k * d));
    for (int64_t i : ri) {
      x.insert(x.end(), xr.begin() + i * d, xr.begin() + (i + 1) * d);
      y.push_back(1);
    }
    for (int64_t i : ti) {
      x.insert(x.end(), xt.begin() + i * d, xt.begin() + (i + 1) * d);
      y.push_back(0);
    }
    // The forget rows and the training rows in one target batch: one fit serves both.
    std::vector<double> target = xf;
    target.insert(target.end(), x.begin(), x.end());
    std::vector<int> pred = svc_fit_predict(x, y, d, target, o.svm);
    double forget_member = 0, correct = 0;
    for (int64_t i = 0; i < forget.n; ++i) forget_member += pred[i];
    for (size_t i = 0; i < y.size(); ++i) correct += pred[forget.n + i] == y[i];
    res.efficacy.push_back(1.0 - forget_member / static_cast<double>(forget.n));
    res.train_acc.push_back(correct / static_cast<double>(y.size()));
  }
  mean_std(res.efficacy, res.efficacy_mean, res.efficacy_std);
  return res;
}

}  // namespace lethe::eval::mia
