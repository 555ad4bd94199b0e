// Gradient attacks in [0,1] pixel space against a Classifier seen through a data::Normalization
// (logits = model.forward(norm.apply(x01))), model in eval mode: FGSM (L∞), PGD (L∞ and L2, random
// start), and AMUN's minimal-ε search (Ebrahimpour-Boroojeny et al., "AMUN: Adversarial Machine
// UNlearning", 2025): untargeted L2 PGD with ε doubling per sample until the prediction flips.
#pragma once
#include <cstdint>
#include <vector>

#include "data/normalization.h"
#include "engine/core/tensor.h"
#include "models/classifier.h"

namespace lethe::eval {

// The box inputs live in: [0,1] for images. Tabular rows (standardized features) have no box.
struct InputBox {
  bool clamp = true;
  double lo = 0, hi = 1;
};

// Per-sample L2 norm of x [B, ...] as a [B, 1, ..., 1] tensor (broadcasts against x).
Tensor per_sample_l2_norm(const Tensor& x);
// x / (‖x_b‖₂ + tiny) per sample: the direction of each sample's gradient.
Tensor per_sample_normalize(const Tensor& x, double tiny = 1e-10);

// Gradient of the summed cross-entropy w.r.t. the input pixels x01 (no graph kept, parameters'
// .grad untouched). Summing (not averaging) makes each row the gradient of its own sample's loss:
// in eval mode samples do not interact. `logits` (optional) receives the logits at x01.
Tensor input_gradient(models::Classifier& model, const data::Normalization& norm, const Tensor& x01,
                      const Tensor& y, Tensor* logits = nullptr);

// Cross-entropy per sample (no graph), and the predicted classes.
std::vector<double> per_sample_loss(models::Classifier& model, const data::Normalization& norm,
                                    const Tensor& x01, const Tensor& y);
std::vector<int64_t> predict(models::Classifier& model, const data::Normalization& norm,
                             const Tensor& x01);

// FGSM (Goodfellow et al. 2015): x + ε·sign(∇ₓ loss), then clamped to the box.
Tensor fgsm(models::Classifier& model, const data::Normalization& norm, const Tensor& x01,
            const Tensor& y, double eps, const InputBox& box = {});

enum class Norm { Linf, L2 };

struct PgdOptions {
  Norm norm = Norm::Linf;
  double eps = 8.0 / 255;
  double step = 2.0 / 255;  // absolute step size (L∞: per pixel; L2: length of the step)
  int64_t steps = 10;
  bool random_start = true;
  uint64_t seed = 0;
  InputBox box;
};

// Untargeted PGD (Madry et al. 2018) maximizing cross-entropy; after every step the point is
// projected onto the ε-ball around x01 and then onto the box (both hold at the end: the box
// contains x01, so clamping cannot leave the ball).
Tensor pgd(models::Classifier& model, const data::Normalization& norm, const Tensor& x01,
           const Tensor& y, const PgdOptions& o);

struct MinEpsOptions {
  double eps0 = 0.04;          // first ε level
  double step_frac = 0.1;      // step = ε/10 along the normalized gradient
  int64_t steps = 50;          // steps per ε level
  int64_t max_doublings = 12;  // ε levels eps0·2^0 .. eps0·2^max_doublings
  int64_t batch = 128;
  InputBox box;
  bool progress = true;  // a progress line on stderr
};

struct MinEpsResult {
  Tensor adv;                    // f32, shape of x01: the adversarial points
  std::vector<int64_t> pred;     // the model's prediction at each adversarial point
  std::vector<double> eps;       // the ε level at which each sample flipped (eps0 when it was
                                 // misclassified from the start; the last level when it never did)
  std::vector<double> dist;      // ‖adv − x‖₂
  std::vector<uint8_t> flipped;  // 1 when pred != y
  int64_t never_flipped = 0;
  int64_t gradient_rows = 0;  // rows of forward + input gradient the search ran (its work)
};

// AMUN's minimal-ε search: per sample, untargeted L2 PGD with step ε/10 along the per-sample
// normalized gradient, `steps` steps per level; samples still classified as y double their ε and
// continue from their current point. A sample stops at the first point it is misclassified at.
// Batched over `batch` samples; each sample keeps its own ε.
MinEpsResult minimal_eps_search(models::Classifier& model, const data::Normalization& norm,
                                const Tensor& x01, const Tensor& y, const MinEpsOptions& o = {});

}  // namespace lethe::eval
