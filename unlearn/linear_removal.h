// What newton (unlearn/newton.cpp) and fair-newton (unlearn/fair_newton.cpp) share: the Newton
// removal step on a linear head (train/linear_head.h) over the features of a frozen prefix (the
// whole of logreg, or a network's head with --layers head), repeated over --requests with the
// accumulated residual bound and the certified-removal budget.
//
// Per request: the step, the residual ||∇(n·J)|| on the rest at the new θ (of the method's own
// objective and of the training objective), Guo et al.'s bound on it, and the accumulated bound β
// (the first request's start gradient plus every step's remainder bound), which bounds the
// residual after all requests so far.
// Options (--opt): form=removal|retain (train::newton_removal), l2=λ (default: the training run's
// --wd), eps=ε and delta=δ (default 1e-4) for the certificate: a run trained with --perturb σ is
// (ε, δ)-certified while the accumulated bound β ≤ σ ε / c, c = √(2 log(1.5/δ)) (Guo et al. 2020,
// Thm. 3).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "train/linear_head.h"
#include "unlearn/method.h"

namespace lethe::unlearn {

class LinearRemoval {
 public:
  // fair: the step accounts for the fairness penalty (fair-newton); else it ignores it (newton).
  explicit LinearRemoval(bool fair) : fair_(fair) {}
  void run(UnlearnContext& ctx, const std::string& method);

 private:
  bool fair_;
  std::vector<double> theta_;           // float64 θ carried from request to request
  std::optional<train::HeadData> all_;  // features of every training row (the prefix is frozen)
  double accumulated_ = 0;
  int64_t requests_ = 0;
};

}  // namespace lethe::unlearn
