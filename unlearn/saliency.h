// SalUn's weight saliency (Fan et al., "SalUn: Empowering Machine Unlearning via Gradient-based
// Weight Saliency", ICLR 2024): |∇θ ℓ_F| summed over the forget set in eval mode, one global
// ranking over all in-scope coordinates, top `ratio` (default 0.5) kept. Shared by salun and
// amun-salun, which both restore masked-out coordinates after every optimizer step.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/optim/optimizer.h"
#include "unlearn/method.h"

namespace lethe::unlearn {

struct SaliencyMask {
  std::vector<Tensor> params;              // the trainable (in-scope) parameters, model order
  std::vector<std::vector<uint8_t>> keep;  // per parameter, per coordinate: 1 = may change
  int64_t kept = 0, total = 0;
  double ratio = 0.5;
  nlohmann::json to_json() const;  // {"ratio","kept","total"}
};

// Gradient of the summed forget loss (cross-entropy over D_F, eval mode, no augmentation) with
// respect to every trainable parameter of ctx.model; exactly round(ratio · total) coordinates are
// kept (the largest |g|; ties go to the lower flat index, so the mask is deterministic).
SaliencyMask saliency_mask(UnlearnContext& ctx, double ratio);

// The mask from given gradients (one per mask.params entry; undefined = all zero).
void rank_saliency(SaliencyMask& mask, const std::vector<Tensor>& grads, double ratio);

// Holds masked-out coordinates fixed: after_step() puts them back to the values they had at
// construction and zeroes their SGD momentum, so the next step cannot carry them away either.
class MaskEnforcer {
 public:
  MaskEnforcer(const SaliencyMask& mask, optim::Optimizer& opt);
  void after_step();

 private:
  const SaliencyMask& mask_;
  optim::Optimizer& opt_;
  std::vector<Tensor> keep_;        // per parameter: u8 mask on the parameter's device
  std::vector<Tensor> frozen_;      // the original values (full copy; used where keep=0)
  std::map<size_t, Tensor> zeros_;  // per parameter with a momentum buffer: its zeros
};

// The "ratio" option (--opt ratio=R), checked to lie in (0, 1].
double saliency_ratio(const UnlearnContext& ctx, double def = 0.5);

}  // namespace lethe::unlearn
