// Optimizers over a list of f32 parameters: SGD (momentum, dampening, Nesterov, weight decay),
// Adam (L2 weight decay) and AdamW (decoupled), each step identical to torch.optim. Updates run
// in place on the parameters' storage, outside the autograd graph. Per-parameter state is a map
// of named tensors ("momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq") that callers
// may read or edit (e.g. SalUn-style masking zeroes momentum of excluded weights).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/core/tensor.h"

namespace lethe::optim {

using ParamState = std::map<std::string, Tensor>;

class Optimizer {
 public:
  Optimizer(std::vector<Tensor> params, double lr);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that requires a gradient and has one (others are skipped
  // and their state is untouched, as in PyTorch); then tells the step observer, if any.
  void step();
  virtual std::string name() const = 0;
  // Drops the parameters' gradients (set_to_none).
  void zero_grad();

  double lr() const { return lr_; }
  void set_lr(double lr);

  const std::vector<Tensor>& params() const { return params_; }
  // State of parameter i / of a parameter of this optimizer (throws for a foreign tensor).
  ParamState& state(size_t i);
  ParamState& state(const Tensor& p);
  // A named state entry; undefined when absent (e.g. before the first step).
  Tensor state_tensor(const Tensor& p, const std::string& key);
  // Number of steps taken for a parameter (Adam's bias-correction count).
  int64_t step_count(const Tensor& p);
  // Forgets all state (momentum, moments, step counts).
  void reset_state();
  // Bytes of the state tensors of parameter i (momentum, moments; 0 before its first step).
  size_t state_bytes(size_t i) const;
  // All state as named host tensors ("<i>.<key>", and "<i>.step" as an i64 scalar for each
  // parameter i), for resumable checkpoints; load_state puts it back exactly (a missing or
  // misshapen entry is an error naming `where`), on the parameters' devices.
  std::vector<std::pair<std::string, Tensor>> state_dict() const;
  void load_state(const std::map<std::string, Tensor>& state, const std::string& where);

 protected:
  // The update rule of step().
  virtual void update() = 0;
  size_t index_of(const Tensor& p) const;
  // The gradient of params_[i] as a contiguous f32 tensor on the parameter's device, or undefined
  // when the parameter is skipped this step.
  Tensor usable_grad(size_t i) const;
  // State entry `key` of params_[i] (undefined when absent), first moved to the parameter's
  // device if the parameter moved since the state was made (module.to after some steps).
  Tensor& state_on_device(size_t i, const std::string& key);

  std::vector<Tensor> params_;
  std::vector<ParamState> state_;
  std::vector<int64_t> steps_;
  double lr_;

 private:
  std::unordered_map<const TensorImpl*, size_t> index_;
};

// Sees every optimizer step on its thread (the per-layer profiler counts optimizer-state bytes
// per parameter from it). Thread-local; with none installed a step costs one pointer test.
class StepObserver {
 public:
  virtual ~StepObserver() = default;
  virtual void optimizer_step(const Optimizer& opt) = 0;
};
StepObserver* step_observer();
// Installs `o` for a scope; restores the previous one on destruction.
class StepObserverGuard {
 public:
  explicit StepObserverGuard(StepObserver* o);
  ~StepObserverGuard();
  StepObserverGuard(const StepObserverGuard&) = delete;
  StepObserverGuard& operator=(const StepObserverGuard&) = delete;

 private:
  StepObserver* prev_;
};

struct SgdOptions {
  double lr = 0.1;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

// torch.optim.SGD: g += wd·p; buf = g on the first step, else buf = momentum·buf +
// (1 − dampening)·g; g = g + momentum·buf (Nesterov) or buf; p -= lr·g.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SgdOptions& opt);
  std::string name() const override { return "sgd"; }
  // The momentum buffer of p (undefined before its first step or without momentum).
  Tensor momentum_buffer(const Tensor& p) { return state_tensor(p, "momentum_buffer"); }
  const SgdOptions& options() const { return opt_; }

 protected:
  void update() override;

 private:
  SgdOptions opt_;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
};

// torch.optim.Adam (weight decay as L2: g += wd·p) and, with decoupled = true, torch.optim.AdamW
// (p *= 1 − lr·wd before the Adam update). m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
// denom = sqrt(v)/sqrt(1−β2^t) + eps; p −= lr/(1−β1^t) · m/denom.
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& opt);
  std::string name() const override { return decoupled_ ? "adamw" : "adam"; }
  const AdamOptions& options() const { return opt_; }

 protected:
  void update() override;
  Adam(std::vector<Tensor> params, const AdamOptions& opt, bool decoupled);

 private:
  AdamOptions opt_;
  bool decoupled_;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, const AdamOptions& opt) : Adam(std::move(params), opt, true) {}
};

// AdamOptions with AdamW's PyTorch defaults (weight decay 1e-2).
inline AdamOptions adamw_defaults() {
  AdamOptions o;
  o.weight_decay = 1e-2;
  return o;
}

}  // namespace lethe::optim
