#include "train/numerics.h"

#include <cmath>

#include "engine/autograd/anomaly.h"
#include "engine/autograd/autograd.h"
#include "engine/core/error.h"
#include "engine/nn/detect_anomaly.h"
#include "engine/ops/ops.h"

namespace lethe::train {
namespace {}  // namespace

std::string step_prefix(const StepCheck& at) {
  return at.who + ": epoch " + std::to_string(at.epoch + 1) + " step " +
         std::to_string(at.step + 1) + ": ";
}

double checked_loss(const StepCheck& at, const Tensor& loss_t, models::Classifier& model,
                    const Tensor& x, const std::function<Tensor()>& replay) {
  if (!loss_t.is_cpu()) {
    NoGradGuard ng;
    Tensor probe = loss_t.detach();
    for (const auto& [name, p] : model.named_parameters()) {
      Tensor g = p.requires_grad() ? p.grad() : Tensor();
      if (!g.defined()) continue;
      Tensor s = ops::sum(g);
      probe = ops::add(probe, ops::sub(s, s));
    }
    const double v = probe.item();
    if (std::isfinite(v)) return v;
  }
  const double loss = loss_t.item();
  const bool loss_ok = std::isfinite(loss);
  const char* grad_bad = nullptr;
  std::string grad_name;
  if (loss_ok) {
    for (const auto& [name, p] : model.named_parameters()) {
      if (!p.requires_grad()) continue;
      if ((grad_bad = nonfinite(p.grad()))) {
        grad_name = name;
        break;
      }
    }
    if (!grad_bad) return loss;
  }
  // Something is not finite: say where it came from, most specific first (this path is rare, so
  // it may read everything back).
  const std::string what = loss_ok ? "gradient of " + grad_name + " is " + grad_bad
                                   : std::string("loss is ") + (std::isnan(loss) ? "NaN" : "Inf");
  for (const auto& [name, p] : model.named_parameters())
    if (const char* bad = nonfinite(p))
      LETHE_FAIL(step_prefix(at), what, "; parameter ", name, " is already ", bad,
                 " (an earlier update diverged: lower --lr); stopped, the last checkpoint is kept");
  if (const char* bad = nonfinite(x))
    LETHE_FAIL(step_prefix(at), what, "; the batch's input is ", bad,
               " (the data holds non-finite values); stopped, the last checkpoint is kept");
  if (replay) {
    try {
      nn::DetectAnomaly detect(model);
      Tensor objective = replay();
      if (objective.requires_grad()) objective.backward();
    } catch (const Error& e) {
      LETHE_FAIL(step_prefix(at), what, "; ", e.what(), "; stopped, the last checkpoint is kept");
    }
  }
  LETHE_FAIL(step_prefix(at), what,
             " with finite parameters and inputs; stopped, the last checkpoint is kept (rerun with "
             "--detect-anomaly to name the op)");
}

}  // namespace lethe::train
