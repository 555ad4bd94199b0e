// RMIA, the Relative Membership Inference Attack (Zarifzadeh, Liu, Mahloujifar, Shokri,
// "Low-Cost High-Power Membership Inference Attacks", ICML 2024), on cached logits of reference
// models. Choices, with the paper's sections:
// - Pr(x|θ) (Sec. 4 and the appendix on signals; the definition of the authors' reference code,
//   privacy_meter's TaylorSoftMargin): with s_j = logit_j / T and the truncated exponential
//   e_n(s) = Σ_{i=0}^{n−1} s^i / i!,  Pr(x|θ) = e_n(s_y − m) / (e_n(s_y − m) + Σ_{j≠y} e_n(s_j)),
//   T = 2, m = 0.6, n = 4 (so e_4 is the cubic 1 + s + s²/2 + s³/6, as in that code). The cubic is
//   negative for s < −1.596, so for very confident models Pr(x|θ) can leave [0, 1]; the values
//   are used as defined, and every quotient below is the plain IEEE quotient the reference code
//   takes, so results agree with it on any input.
// - Pr(x) (Sec. 3, Eq. 5 and the offline paragraph): the mean of Pr(x|θ') over reference models.
//   Online: over all of them (for our pool-based references half are IN and half OUT for each
//   sample, the paper's setting). Offline: over the OUT models only, then corrected to
//   Pr(x) = ½((1 + a)·Pr_OUT(x) + (1 − a)), a = 0.3 (its linear approximation of the missing IN
//   half).
// - Likelihood ratio LR(x, z) = (Pr(x|θ)/Pr(x)) / (Pr(z|θ)/Pr(z)) and score(x) = the fraction of
//   population samples z with LR(x, z) > γ, γ = 2 (Eq. 4, Sec. 3). Pr(z) is computed exactly like
//   Pr(x) (online: all reference models; offline: OUT models of z with the same correction).
// - Population Z: samples known to be non-members of the target; the caller chooses them
//   (eval/mia/reference_mia.h uses the test rows not drawn into the evaluated set).
#pragma once
#include <cstdint>
#include <vector>

namespace lethe::eval::mia {

struct SoftMarginOptions {
  double temperature = 2;
  double margin = 0.6;
  int order = 4;  // n: terms s^0 .. s^(n−1)
};

// e_n(s) = Σ_{i=0}^{n−1} s^i / i!.
double truncated_exp(double s, int order);

// Pr(x|θ) of one row of `classes` logits with true label `label`.
double taylor_soft_margin_prob(const float* logits, int64_t classes, int64_t label,
                               const SoftMarginOptions& opt = {});

// Pr(x|θ) of every row of logits [rows, classes].
std::vector<double> taylor_soft_margin_probs(const float* logits, int64_t rows, int64_t classes,
                                             const int64_t* labels,
                                             const SoftMarginOptions& opt = {});

struct RmiaOptions {
  bool online = true;
  double gamma = 2;
  double offline_a = 0.3;
};

// Pr(x) of P samples from reference probabilities ref_prob [M, P] and inclusion [M, P]
// (1 = model m trained on sample p). Offline needs at least one OUT model per sample.
std::vector<double> rmia_marginal(const std::vector<double>& ref_prob,
                                  const std::vector<uint8_t>& inclusion, int64_t models,
                                  const RmiaOptions& opt);

// score(x) for each row index in `queries`: the fraction of `population` indices z with
// (ratio[x] / ratio[z]) > gamma, where ratio = Pr(·|θ)/Pr(·) per sample. O((|Q|+|Z|) log |Z|).
std::vector<double> rmia_scores(const std::vector<double>& ratio,
                                const std::vector<int64_t>& queries,
                                const std::vector<int64_t>& population, double gamma);

}  // namespace lethe::eval::mia
