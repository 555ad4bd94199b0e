// The cheap numerical check every training and unlearning loop runs after backward and before the
// optimizer step (issue 20, item 3): a non-finite loss or gradient stops the run with one line
// naming the step and the tensor, before the update could spread it into the parameters, so the
// model in memory and the last checkpoint on disk are the last good ones. Finding the op that
// produced the value is --detect-anomaly's job (engine/nn/detect_anomaly.h); the message says so.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "engine/autograd/anomaly.h"
#include "engine/core/error.h"
#include "engine/core/tensor.h"
#include "models/classifier.h"

namespace lethe::train {

struct StepCheck {
  std::string who = "train";  // the loop's name in the message ("train", "unlearn ft", ...)
  int64_t epoch = 0;          // 0-based; printed 1-based
  int64_t step = 0;           // batch within the epoch, 0-based; printed 1-based
};

// "train: epoch 2 step 7: ", the start of every message about a step.
std::string step_prefix(const StepCheck& at);

// Runs the step's forward and backward `f`; an error of --detect-anomaly's search inside it is
// given the step's prefix.
template <typename F>
void anomaly_at_step(const StepCheck& at, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    if (!anomaly_mode()) throw;
    throw Error(step_prefix(at) + e.what());
  }
}

// Reads the step's loss back and returns it; throws lethe::Error when it is not finite or a
// parameter's gradient holds a NaN/Inf. On the CPU the gradients are scanned. On a device the
// check rides on the loss's own read-back: loss + Σ(s − s), s = sum(grad), is read instead of the
// loss — equal to it when everything is finite, NaN otherwise — so a device-resident step copies
// no more than before (a false alarm needs a gradient whose sum overflows float). The message names
// the first non-finite parameter when an earlier update diverged, the batch's inputs when they are
// not finite (poisoned data); otherwise `replay` (the step's objective computed again, optional) is
// run forward and backward under
// --detect-anomaly's op-level search so that the line names the op and module that produced the
// value. `x` is the batch the step trained on (may be undefined).
double checked_loss(const StepCheck& at, const Tensor& loss, models::Classifier& model,
                    const Tensor& x, const std::function<Tensor()>& replay = nullptr);

}  // namespace lethe::train
