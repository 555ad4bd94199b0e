// LiRA, the Likelihood Ratio Attack (Carlini, Chien, Nasr, Song, Terzis, Tramèr, "Membership
// Inference Attacks From First Principles", IEEE S&P 2022), on cached logits of reference
// ("shadow") models. Choices, with the paper's sections:
// - Signal (Sec. IV-B, "logit scaling"): φ = log(p_y / (1 − p_y)) of the softmax confidence p_y,
//   computed from logits as logit_y − logsumexp_{j≠y} logit_j, which never forms p_y and so stays
//   finite when p_y rounds to 1 in float. No augmented queries (Sec. VI-C is optional here).
// - Online (Sec. IV-C, Algorithm 1): per sample, Gaussians fitted to φ of the reference models
//   that trained on it (IN) and of those that did not (OUT); score = log N(φ_t; μ_in, σ_in²) −
//   log N(φ_t; μ_out, σ_out²), the log likelihood ratio (higher = more likely a member).
// - Offline (Sec. IV-D): only OUT models; the paper's one-sided test Λ = Pr[Z < φ_t] with
//   Z ~ N(μ_out, σ_out²). Since Λ = Φ((φ_t − μ_out)/σ_out) is monotone in the z-score, the score
//   reported is the z-score itself: the same ROC, without Φ saturating at 1 for large z.
// - Means are sample means (the paper's text; its code uses medians); standard deviations are
//   population standard deviations (ddof 0, as np.std in the paper's code), floored at
//   kLiraMinSigma so that two identical reference values do not divide by zero.
// - Fixed variance (Sec. IV-C, "with few shadow models ... a global variance"): σ_in and σ_out are
//   each pooled over all samples, σ² = Σ_samples Σ_models (φ − μ_sample)² / Σ counts, i.e. the
//   within-sample spread only (the means stay per sample).
#pragma once
#include <cstdint>
#include <vector>

namespace lethe::eval::mia {

constexpr double kLiraMinSigma = 1e-4;

// φ = log(p_y/(1−p_y)) for one row of `classes` logits and true label `label`.
double logit_scaled_confidence(const float* logits, int64_t classes, int64_t label);

// φ of every row of logits [rows, classes] against labels [rows].
std::vector<double> logit_scaled_confidences(const float* logits, int64_t rows, int64_t classes,
                                             const int64_t* labels);

struct LiraOptions {
  bool online = true;
  bool fixed_variance = false;
};

// LiRA scores of P samples (higher = member). target_phi [P]: the attacked model's φ;
// ref_phi [M, P] and inclusion [M, P] (1 = reference model m trained on sample p). Online needs
// at least one IN and one OUT model per sample, offline one OUT model; a sample without them is
// an error naming it.
std::vector<double> lira_scores(const std::vector<double>& target_phi,
                                const std::vector<double>& ref_phi,
                                const std::vector<uint8_t>& inclusion, int64_t models,
                                const LiraOptions& opt);

}  // namespace lethe::eval::mia
