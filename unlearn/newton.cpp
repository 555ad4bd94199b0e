// newton: certified removal (Guo, Goldstein, Hannun, van der Maaten, ICML 2020): one Newton step
// on the L2-regularised logistic/softmax loss of a linear head, from the trained θ to the rest,
//   θ⁻ = θ + H_rest⁻¹ (Σ_{forget} ∇ℓ_i(θ) + k λ θ),
// with Guo's gradient-residual bound per request (unlearn/linear_removal.h). It ignores any
// fairness penalty the model was trained with: on a fair model this is the "efficient unlearning
// breaks the fairness intervention" baseline of Oesterling et al. 2024. Works on any model's head
// over frozen features (--layers head); logreg is all head.
#include "unlearn/linear_removal.h"
#include "unlearn/registry.h"

namespace lethe::unlearn {
namespace {

class Newton : public Method {
 public:
  std::string name() const override { return "newton"; }
  bool supports_no_retain() const override { return false; }
  void run(UnlearnContext& ctx) override { removal_.run(ctx, name()); }

 private:
  LinearRemoval removal_{/*fair=*/false};
};

}  // namespace

std::unique_ptr<Method> make_newton() {
  return std::make_unique<Newton>();
}

}  // namespace lethe::unlearn
