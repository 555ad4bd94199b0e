// Numerical faults caught where they happen. `nonfinite()` is the cheap question the training
// loops ask of the loss, gradients and parameters every step (train/numerics.h). Anomaly mode
// (`--detect-anomaly`) is the op-level search: while an AnomalyMode is alive on a thread, every
// op's output (autograd record(), the one point every op passes) and every backward closure's
// input gradients are scanned, and the first non-finite value stops the run with one line naming
// the op, the module whose forward recorded it, and whether its inputs were already non-finite
// (then the fault came from outside any op: the data, or a parameter). It costs a read-back of
// every tensor: for finding a fault, not for production runs.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace lethe {

// "NaN" or "Inf" for the first non-finite element of a floating tensor (any device, any layout),
// nullptr when all are finite or the tensor is not floating / undefined.
const char* nonfinite(const Tensor& t);

// Names a recording scope (the module pointer the forward observer set); "" = outside modules.
using ScopeNamer = std::function<std::string(const void* scope)>;

class AnomalyMode {
 public:
  explicit AnomalyMode(ScopeNamer namer = nullptr);
  ~AnomalyMode();
  AnomalyMode(const AnomalyMode&) = delete;
  AnomalyMode& operator=(const AnomalyMode&) = delete;

 private:
  bool prev_on_;
  ScopeNamer prev_namer_;
};

bool anomaly_mode();

// Called by record() for every op's forward and by the backward walk for every node's input
// gradients; throw lethe::Error when anomaly mode is on and a value is not finite.
void anomaly_check_forward(const char* op, const Tensor& out, const std::vector<Tensor>& inputs,
                           const void* scope);
void anomaly_check_backward(const char* op, const std::vector<Tensor>& grads_in,
                            const Tensor& grad_out, const void* scope);

}  // namespace lethe
