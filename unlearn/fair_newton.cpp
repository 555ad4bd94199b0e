// fair-newton: fair machine unlearning (Oesterling, Ma, Calmon, Lakkaraju, AISTATS 2024): the
// Newton removal step on the fair objective (L2 logistic loss + γ (cᵀθ)², train/linear_head.h).
// Removing rows changes the pairwise penalty too (c is a mean over cross-group pairs, and the
// pairs through a removed row vanish), so the step's gradient difference includes
// ∇[n γ (c_Dᵀθ)²] − ∇[(n−k) γ (c_restᵀθ)²] beside the forget rows' loss gradients, and the
// Hessian includes 2(n−k)γ c_rest c_restᵀ. The penalty is quadratic, so Guo et al.'s residual
// bound holds unchanged. Needs a run trained with --fair.
#include "unlearn/linear_removal.h"
#include "unlearn/registry.h"

namespace lethe::unlearn {
namespace {

class FairNewton : public Method {
 public:
  std::string name() const override { return "fair-newton"; }
  bool supports_no_retain() const override { return false; }
  void run(UnlearnContext& ctx) override { removal_.run(ctx, name()); }

 private:
  LinearRemoval removal_{/*fair=*/true};
};

}  // namespace

std::unique_ptr<Method> make_fair_newton() {
  return std::make_unique<FairNewton>();
}

}  // namespace lethe::unlearn
