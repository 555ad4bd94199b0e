// AMUN's two halves, shared by `amun` and `amun-salun` (and usable by tests): the adversarial set
// D_A of the forget set, and the fine-tuning on one shuffled stream of D_R ∪ D_F ∪ D_A.
#pragma once
#include <nlohmann/json.hpp>
#include <vector>

#include "eval/attacks/pgd.h"
#include "unlearn/method.h"
#include "unlearn/saliency.h"

namespace lethe::unlearn {

struct AdversarialSet {
  std::vector<int64_t> sources;  // the D_F rows (dataset indices), in order
  Tensor x;                      // f32 [F, ...] adversarial points in [0,1]
  Tensor y;                      // i64 [F] the model's (wrong) predictions: D_A's labels
  eval::MinEpsResult search;     // per-sample ε, distances, flips
};

// The minimal-ε search (eval/attacks/pgd.h) on ctx.split.forget against ctx.model, as it is now.
// Options: --opt eps0=0.04, steps=50, doublings=12.
AdversarialSet amun_adversarial_set(UnlearnContext& ctx);

// The same search in feature space: on the cached prefix output of the forget rows against the
// suffix alone (models::SuffixView), unclamped, so no pass through the frozen prefix; x holds
// adversarial feature rows. `cache` must hold ctx.split.forget.
AdversarialSet amun_feature_adversarial_set(UnlearnContext& ctx, const models::PrefixCache& cache);

// Summary of the search: count, mean/median/max ε and L2 distance, never flipped.
nlohmann::json summarize_search(const eval::MinEpsResult& r);

// The whole method: the search (phase "adversarial search"), then SGD (momentum 0.9, weight decay
// 5e-4, lr decaying ×--opt lr_gamma=0.1 every --opt lr_step=1 epochs) on D_R ∪ D_F (true labels,
// the original run's augmentation) ∪ D_A (not augmented), or D_F ∪ D_A with --no-retain (phase
// "fine-tune"). With a mask, masked-out coordinates are restored after every step.
// --opt search=input (default, the paper's method) searches in input space; search=features
// searches at the scope boundary on cached features (needs a frozen prefix and no augmentation).
void run_amun(UnlearnContext& ctx, const SaliencyMask* mask);

}  // namespace lethe::unlearn
