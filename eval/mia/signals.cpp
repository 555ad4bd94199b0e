// Signals from a stable log-softmax. log(1 − p_k) is computed as log(Σ_{j≠k} e_j) − log(Σ_j e_j)
// with e_j = exp(z_j − max z): for the arg-max class the remaining mass is summed directly (1 − p
// would cancel to 0 for a confident model), for any other class e_k ≤ e_max, so subtracting e_k
// from the total loses at most a factor 2 in relative precision.
#include "eval/mia/signals.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"

namespace lethe::eval::mia {

Signals compute_signals(const std::vector<double>& logits, int64_t n, int64_t classes,
                        const std::vector<int64_t>& labels) {
  LETHE_CHECK(n >= 0 && classes >= 1 && static_cast<int64_t>(logits.size()) == n * classes,
              "mia signals: logits hold ", logits.size(), " values, not ", n, " x ", classes);
  LETHE_CHECK(static_cast<int64_t>(labels.size()) == n, "mia signals: ", labels.size(),
              " labels for ", n, " logit rows");
  Signals s;
  s.n = n;
  s.classes = classes;
  s.label = labels;
  s.pred.resize(n);
  s.loss.resize(n);
  s.confidence.resize(n);
  s.entropy.resize(n);
  s.m_entropy.resize(n);
  s.prob.resize(static_cast<size_t>(n * classes));
  std::vector<double> e(classes), logp(classes);
  for (int64_t r = 0; r < n; ++r) {
    const double* z = logits.data() + r * classes;
    const int64_t y = labels[r];
    LETHE_CHECK(y >= 0 && y < classes, "mia signals: label ", y, " of row ", r, " is outside [0, ",
                classes, ")");
    for (int64_t i = 0; i < classes; ++i)
      LETHE_CHECK(std::isfinite(z[i]), "mia signals: logit (", r, ", ", i, ") is not finite");
    const int64_t amax = std::max_element(z, z + classes) - z;
    const double m = z[amax];
    double total = 0, rest_of_max = 0;
    for (int64_t i = 0; i < classes; ++i) {
      e[i] = std::exp(z[i] - m);
      total += e[i];
      if (i != amax) rest_of_max += e[i];
    }
    const double log_total = std::log(total);
    double ent = 0;
    for (int64_t i = 0; i < classes; ++i) {
      logp[i] = z[i] - m - log_total;
      double p = std::exp(logp[i]);
      s.prob[r * classes + i] = p;
      ent -= p * logp[i];  // p = 0 (underflow) contributes 0: logp is finite
    }
    // log(1 − p_k) and 1 − p_k, accurate also when p_k ≈ 1.
    auto rest = [&](int64_t k) { return k == amax ? rest_of_max : total - e[k]; };
    auto log1m_p = [&](int64_t k) { return std::log(rest(k)) - log_total; };
    double ment = -(rest(y) / total) * logp[y];
    for (int64_t i = 0; i < classes; ++i) {
      if (i == y) continue;
      double p = s.prob[r * classes + i];
      if (p > 0) ment -= p * log1m_p(i);
    }
    s.pred[r] = amax;
    s.loss[r] = -logp[y];
    s.confidence[r] = std::exp(logp[y]);
    s.entropy[r] = ent;
    s.m_entropy[r] = ment;
  }
  return s;
}

Signals compute_signals(const Tensor& logits, const std::vector<int64_t>& labels) {
  LETHE_CHECK(logits.dim() == 2, "mia signals: logits must be [N, C], got rank ", logits.dim());
  return compute_signals(logits.to_vector_f64(), logits.size(0), logits.size(1), labels);
}

Signal parse_signal(const std::string& name) {
  if (name == "loss") return Signal::Loss;
  if (name == "confidence") return Signal::Confidence;
  if (name == "entropy") return Signal::Entropy;
  if (name == "m-entropy") return Signal::MEntropy;
  LETHE_FAIL("mia: unknown signal '", name, "' (known: loss, confidence, entropy, m-entropy)");
}

const char* signal_name(Signal s) {
  switch (s) {
    case Signal::Loss:
      return "loss";
    case Signal::Confidence:
      return "confidence";
    case Signal::Entropy:
      return "entropy";
    case Signal::MEntropy:
      return "m-entropy";
  }
  return "?";
}

std::vector<double> membership_score(const Signals& s, Signal which) {
  std::vector<double> out;
  switch (which) {
    case Signal::Loss:
      out = s.loss;
      break;
    case Signal::Confidence:
      return s.confidence;
    case Signal::Entropy:
      out = s.entropy;
      break;
    case Signal::MEntropy:
      out = s.m_entropy;
      break;
  }
  for (double& v : out) v = -v;
  return out;
}

}  // namespace lethe::eval::mia
