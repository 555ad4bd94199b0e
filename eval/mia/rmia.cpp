// RMIA with the Taylor soft-margin signal; see rmia.h for the definitions and choices.
#include "eval/mia/rmia.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"

namespace lethe::eval::mia {

double truncated_exp(double s, int order) {
  double term = 1, sum = 0;
  for (int i = 0; i < order; ++i) {
    sum += term;
    term *= s / (i + 1);
  }
  return sum;
}

double taylor_soft_margin_prob(const float* logits, int64_t classes, int64_t label,
                               const SoftMarginOptions& opt) {
  LETHE_CHECK(label >= 0 && label < classes, "rmia: label ", label, " outside [0, ", classes, ")");
  LETHE_CHECK(opt.temperature > 0 && opt.order >= 1, "rmia: temperature must be > 0 and order ≥ 1");
  double others = 0;
  for (int64_t j = 0; j < classes; ++j)
    if (j != label) others += truncated_exp(logits[j] / opt.temperature, opt.order);
  double own = truncated_exp(logits[label] / opt.temperature - opt.margin, opt.order);
  return own / (own + others);
}

std::vector<double> taylor_soft_margin_probs(const float* logits, int64_t rows, int64_t classes,
                                             const int64_t* labels, const SoftMarginOptions& opt) {
  std::vector<double> out(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i)
    out[i] = taylor_soft_margin_prob(logits + i * classes, classes, labels[i], opt);
  return out;
}

std::vector<double> rmia_marginal(const std::vector<double>& ref_prob,
                                  const std::vector<uint8_t>& inclusion, int64_t models,
                                  const RmiaOptions& opt) {
  LETHE_CHECK(models >= 1 && ref_prob.size() % models == 0 && inclusion.size() == ref_prob.size(),
              "rmia: reference probabilities [", ref_prob.size(), "] and inclusion [",
              inclusion.size(), "] do not fit ", models, " models");
  const int64_t pool = static_cast<int64_t>(ref_prob.size()) / models;
  std::vector<double> px(pool);
  for (int64_t p = 0; p < pool; ++p) {
    double s = 0;
    int64_t n = 0;
    for (int64_t m = 0; m < models; ++m)
      if (opt.online || inclusion[m * pool + p] == 0) {
        s += ref_prob[m * pool + p];
        ++n;
      }
    LETHE_CHECK(n > 0, "rmia: pool sample ", p,
                " is IN for every reference model (offline RMIA needs OUT models)");
    double mean = s / n;
    px[p] = opt.online ? mean : 0.5 * ((1 + opt.offline_a) * mean + (1 - opt.offline_a));
  }
  return px;
}

std::vector<double> rmia_scores(const std::vector<double>& ratio,
                                const std::vector<int64_t>& queries,
                                const std::vector<int64_t>& population, double gamma) {
  LETHE_CHECK(!population.empty(), "rmia: the population set Z is empty");
  LETHE_CHECK(gamma > 0, "rmia: gamma must be > 0, got ", gamma);
  // r_x / r_z > γ splits by the sign of r_z: r_z > 0 ⇔ r_z < r_x/γ; r_z < 0 ⇔ r_z > r_x/γ;
  // r_z = 0 gives ±inf (or NaN): counted only when r_x > 0. NaN r_z never counts.
  std::vector<double> pos, neg;
  int64_t zeros = 0;
  for (int64_t z : population) {
    double r = ratio.at(z);
    if (r > 0)
      pos.push_back(r);
    else if (r < 0)
      neg.push_back(r);
    else if (r == 0)
      ++zeros;
  }
  std::sort(pos.begin(), pos.end());
  std::sort(neg.begin(), neg.end());
  const double nz = static_cast<double>(population.size());
  std::vector<double> score(queries.size());
  for (size_t i = 0; i < queries.size(); ++i) {
    double rx = ratio.at(queries[i]);
    if (std::isnan(rx)) {
      score[i] = 0;
      continue;
    }
    double t = rx / gamma;
    int64_t c = std::lower_bound(pos.begin(), pos.end(), t) - pos.begin();  // r_z < t
    c += neg.end() - std::upper_bound(neg.begin(), neg.end(), t);           // r_z > t
    if (rx > 0) c += zeros;
    score[i] = c / nz;
  }
  return score;
}

}  // namespace lethe::eval::mia
