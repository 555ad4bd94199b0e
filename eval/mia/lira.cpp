// LiRA online/offline with per-example or pooled variance; see lira.h for the choices.
#include "eval/mia/lira.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"

namespace lethe::eval::mia {

double logit_scaled_confidence(const float* logits, int64_t classes, int64_t label) {
  LETHE_CHECK(label >= 0 && label < classes, "lira: label ", label, " outside [0, ", classes, ")");
  if (classes == 1) return 0;
  double mx = -INFINITY;
  for (int64_t j = 0; j < classes; ++j)
    if (j != label) mx = std::max(mx, static_cast<double>(logits[j]));
  double s = 0;
  for (int64_t j = 0; j < classes; ++j)
    if (j != label) s += std::exp(static_cast<double>(logits[j]) - mx);
  return static_cast<double>(logits[label]) - (mx + std::log(s));
}

std::vector<double> logit_scaled_confidences(const float* logits, int64_t rows, int64_t classes,
                                             const int64_t* labels) {
  std::vector<double> out(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i)
    out[i] = logit_scaled_confidence(logits + i * classes, classes, labels[i]);
  return out;
}

namespace {

struct Fit {
  double mean = 0, ss = 0;  // sum of squared deviations from the mean
  int64_t n = 0;
};

Fit fit(const std::vector<double>& phi, const std::vector<uint8_t>& inc, int64_t models,
        int64_t pool, int64_t p, bool in) {
  Fit f;
  for (int64_t m = 0; m < models; ++m)
    if ((inc[m * pool + p] != 0) == in) {
      f.mean += phi[m * pool + p];
      ++f.n;
    }
  if (f.n == 0) return f;
  f.mean /= f.n;
  for (int64_t m = 0; m < models; ++m)
    if ((inc[m * pool + p] != 0) == in) f.ss += std::pow(phi[m * pool + p] - f.mean, 2);
  return f;
}

double log_normal(double x, double mu, double sigma) {
  double z = (x - mu) / sigma;
  return -0.5 * z * z - std::log(sigma) - 0.5 * std::log(2 * M_PI);
}

}  // namespace

std::vector<double> lira_scores(const std::vector<double>& target_phi,
                                const std::vector<double>& ref_phi,
                                const std::vector<uint8_t>& inclusion, int64_t models,
                                const LiraOptions& opt) {
  const int64_t pool = static_cast<int64_t>(target_phi.size());
  LETHE_CHECK(models >= 1 && ref_phi.size() == static_cast<size_t>(models * pool) &&
                  inclusion.size() == ref_phi.size(),
              "lira: reference signals [", ref_phi.size(), "] and inclusion [", inclusion.size(),
              "] do not match ", models, " models × ", pool, " samples");
  std::vector<Fit> in(pool), out(pool);
  double ss_in = 0, ss_out = 0;
  int64_t n_in = 0, n_out = 0;
  for (int64_t p = 0; p < pool; ++p) {
    out[p] = fit(ref_phi, inclusion, models, pool, p, false);
    LETHE_CHECK(out[p].n > 0, "lira: pool sample ", p,
                " is IN for every reference model (no OUT model to compare with)");
    ss_out += out[p].ss;
    n_out += out[p].n;
    if (opt.online) {
      in[p] = fit(ref_phi, inclusion, models, pool, p, true);
      LETHE_CHECK(in[p].n > 0, "lira: pool sample ", p,
                  " is OUT for every reference model (online LiRA needs IN models)");
      ss_in += in[p].ss;
      n_in += in[p].n;
    }
  }
  const double pooled_in = n_in > 0 ? std::sqrt(ss_in / n_in) : 0;
  const double pooled_out = std::sqrt(ss_out / n_out);
  std::vector<double> score(pool);
  for (int64_t p = 0; p < pool; ++p) {
    double s_out = opt.fixed_variance ? pooled_out : std::sqrt(out[p].ss / out[p].n);
    s_out = std::max(s_out, kLiraMinSigma);
    if (!opt.online) {
      score[p] = (target_phi[p] - out[p].mean) / s_out;
      continue;
    }
    double s_in = opt.fixed_variance ? pooled_in : std::sqrt(in[p].ss / in[p].n);
    s_in = std::max(s_in, kLiraMinSigma);
    score[p] =
        log_normal(target_phi[p], in[p].mean, s_in) - log_normal(target_phi[p], out[p].mean, s_out);
  }
  return score;
}

}  // namespace lethe::eval::mia
